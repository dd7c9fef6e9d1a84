"""The app's logic without a server: lighting maths, per-session edits, views, composite and downloads."""

import json
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import SimpleNamespace

import cv2
import gradio as gr
import numpy as np
import pytest
import scipy.ndimage
import trimesh
from PIL import Image
from pygltflib import GLTF2

from demo.session import EXPRESSION_CONTROLS, Edit, Session, file_stem
from demo.ui import (
    CUSTOM,
    EXAMPLES,
    MAX_UPLOAD_MB,
    NO_PHOTO,
    SMALL_EYES_PX,
    PhotoLoader,
    _edit_face,
    _edit_table,
    _fit_words,
    _light_values,
    _mesh_preview,
    _photo_for_browser,
    _preview,
    _relight,
    _reset,
    _show_face,
    _shown_3d,
    _slider_lamp,
    _typed_colour,
)
from demo.views import (
    HEAD_RAISE,
    HEAD_SIZE,
    OWN_SKIN_FADE,
    FaceViews,
    composite,
    head_coordinates,
    head_normals,
    over_the_face,
    own_skin_in_photo,
    relight_in_photo,
    shading_ratio,
)
from inversefacenet import FaceParameters, FaceResult, Reconstructor
from inversefacenet.atlas import UVAtlas
from inversefacenet.detection import LandmarkDetector
from inversefacenet.lighting import PRESETS, Light, hex_to_rgb, light_from_sh, preset_sh, rgb_to_hex, sh_from_light
from inversefacenet.pipeline import LOOSE_FIT
from inversefacenet.preprocess import FACE_OVAL, Crop, eye_distance, face_mask
from inversefacenet.render.camera import rotation_matrix
from inversefacenet.render.renderer import render, to_uint8
from inversefacenet.render.sh import sh_basis
from tests.conftest import random_parameters, two_face_photo


def sphere_points(count: int, seed: int = 0) -> np.ndarray:
    points = np.random.default_rng(seed).normal(size=(count, 3))
    return points / np.linalg.norm(points, axis=1, keepdims=True)


@pytest.mark.parametrize("light", [Light(), PRESETS["side light"], PRESETS["sunset"], Light(30, -70, 2.0, 0.1)])
def test_sh_of_a_lamp_is_the_least_squares_projection_of_its_irradiance(light):
    # Independent route: fit the 9 basis functions to the exact clamped-cosine irradiance over the sphere.
    normals = sphere_points(200_000)
    exact = light.ambient + light.intensity * np.maximum(normals @ light.direction, 0)[:, None] * light.colour
    projected, *_ = np.linalg.lstsq(sh_basis(normals), exact, rcond=None)
    np.testing.assert_allclose(sh_from_light(light), projected, atol=6e-3)


def test_the_lamp_lights_the_side_it_comes_from():
    sh = sh_from_light(Light(azimuth_deg=90, elevation_deg=0, intensity=1.0, ambient=0.0))
    right, left, front = (sh_basis(np.array(n, float)) @ sh for n in ([1, 0, 0], [-1, 0, 0], [0, 0, 1]))
    # clamped cosine to band 2: 1/4 + t/2 + 5/16 (3t^2 - 1)/2 at t = 1, -1, 0
    assert right == pytest.approx([1.0625] * 3) and left == pytest.approx([0.0625] * 3)
    assert front == pytest.approx([0.09375] * 3)


@pytest.mark.parametrize("light", [PRESETS["studio"], PRESETS["side light"], Light(-170, 45, 0.3, 0.9)])
def test_sliders_recover_the_white_lamp_that_made_the_sh(light):
    found = light_from_sh(sh_from_light(light))
    np.testing.assert_allclose(found.direction, light.direction, atol=1e-5)
    np.testing.assert_allclose(found.colour, (1, 1, 1), atol=1e-6)
    assert (found.intensity, found.ambient) == pytest.approx((light.intensity, light.ambient), abs=1e-5)


@pytest.mark.parametrize("light", [PRESETS["rim"], PRESETS["sunset"], Light(-170, 45, 0.3, 0.9, (0.2, 1.0, 0.5))])
def test_the_lamp_colour_read_from_sh_is_the_light_arriving_from_the_lamp(light):
    """Not the lamp's own colour: a weak bluish lamp over white ambient (as the fit often finds) looks near white."""
    found = light_from_sh(sh_from_light(light))
    np.testing.assert_allclose(found.direction, light.direction, atol=1e-5)
    # facing the lamp: ambient + the clamped cosine to band 2 at t = 1 (1/4 + 1/2 + 5/16) times the lamp
    arriving = light.ambient + 1.0625 * light.intensity * np.asarray(light.colour)
    np.testing.assert_allclose(found.colour, arriving / arriving.max(), atol=1e-6)


def test_colour_strings():
    assert hex_to_rgb("#ff8000") == pytest.approx((1.0, 128 / 255, 0.0))
    assert hex_to_rgb("#f80") == hex_to_rgb("#ff8800")
    assert hex_to_rgb("rgba(255, 0, 51, 1)") == pytest.approx((1.0, 0.0, 0.2))
    assert rgb_to_hex(hex_to_rgb("#12abef")) == "#12abef"
    with pytest.raises(ValueError, match="not a colour"):
        hex_to_rgb("blue-ish")


@pytest.fixture(scope="module")
def reconstructor(model):
    detector = LandmarkDetector()
    yield Reconstructor(model, detector, fit_mode="fast")
    detector.close()


@pytest.fixture(scope="module")
def two_faces(model, reconstructor):
    return Session(two_face_photo(model), reconstructor.reconstruct_image(two_face_photo(model)))


def test_session_selects_faces_and_edits_from_the_recovered_values(two_faces):
    session = two_faces
    assert len(session.faces) == 2
    session.select(1)
    recovered = session.recovered_edit
    assert np.array_equal(session.parameters(recovered).expression, session.face.params.expression)
    jaw = session.face.model.expression_names.index("jawOpen")
    edited = session.parameters(Edit(recovered.sh, {**recovered.expression, "jawOpen": 0.9}, (0.0, 25.0, 0.0)))
    assert edited.expression[0, jaw] == pytest.approx(0.9)
    assert np.degrees(edited.rotation[0]) == pytest.approx([0.0, 25.0, 0.0], abs=1e-4)
    assert np.array_equal(session.face.params.expression, session.faces[1].params.expression)  # recovered untouched
    with pytest.raises(IndexError):
        session.select(2)
    session.select(0)


def test_a_face_chosen_again_shows_its_kept_edit_in_every_view_and_the_3d_view(two_faces):
    """A face's last previewed edit comes back with the face (sliders, previews and the 3D view alike); the other
    face keeps its own recovered values."""
    session = Session(two_faces.photo, two_faces.faces)
    recovered = session.recovered_edit
    opened = Edit(recovered.sh, {**recovered.expression, "jawOpen": 1.0}, recovered.rotation_deg)
    session.preview(opened)
    _show_face(1, session, False)
    other, own = session.edit, session.recovered_edit  # the other face: its own values
    assert np.array_equal(other.sh, own.sh) and other.expression == own.expression
    outputs = _show_face(0, session, False)  # session, overlay, choice, lamp (5), SH table, preset, edit sliders, ...
    assert outputs[10 + EXPRESSION_CONTROLS.index("jawOpen")] == 1.0
    vertices = []
    for view in (lambda: _shown_3d(session), lambda: _mesh_preview(session, opened),
                 lambda: _mesh_preview(session, recovered)):  # fmt: skip
        vertices.append(trimesh.load(view(), force="mesh").vertices.copy())  # each written to the same file
    np.testing.assert_allclose(vertices[0], vertices[1], atol=1e-9)
    assert np.abs(vertices[0] - vertices[2]).max() > 1e-3  # the mouth open, not the recovered face
    session.close()


def test_a_face_chosen_again_shows_its_lamp_sliders_as_they_were_left(two_faces):
    """A trial typed an azimuth of -60, looked at another face and back, and read -61.89 (the sliders were set to
    the kept light's own best lamp, which includes the rest of the light they started from); Reset forgets it."""
    session = Session(two_faces.photo, two_faces.faces)
    lamp = slice(3, 8)  # outputs: session, overlay, choice, lamp (5), SH table, preset, edit sliders, ...
    shown = _show_face(0, session, False)
    edits = shown[10 : 10 + len(EXPRESSION_CONTROLS) + 3]
    typed = [-60.0, 10.0, 0.9, 0.1, shown[lamp][4]]
    relit = _relight(session, *typed, *edits, False)
    _show_face(1, session, False)
    back = _show_face(0, session, False)
    assert back[lamp] == typed
    np.testing.assert_allclose(back[8], relit[0], atol=1e-6)  # the same light in the SH table
    table = np.asarray(relit[0], np.float32) * 0.8  # a script's /edit: the light alone, the sliders left as they are
    _edit_face(session, table, *edits, False)
    _show_face(1, session, False)
    back = _show_face(0, session, False)
    assert back[lamp] == _light_values(_slider_lamp(table)[0])  # the sliders make the light shown, not the last
    assert _reset(session, False)[lamp] == shown[lamp]
    session.close()


def test_the_overlay_marks_the_box_of_the_face_shown(two_faces):
    """A trial: the overlay drew every face's box alike, so nothing said which face the previews showed. The shown
    face's box is green (the contour's colour), the other's grey, and the mark follows the selection."""
    session = two_faces
    green = np.array([40, 220, 60])

    def green_on_box(face) -> float:
        x0, y0, x1, y1 = (round(v) for v in face.box)  # the photo is shown unshrunk (two_face_photo is small)
        edge = np.concatenate([overlay[y0, x0:x1], overlay[y1, x0:x1], overlay[y0:y1, x0], overlay[y0:y1, x1]])
        return float((np.abs(edge.astype(int) - green).max(-1) < 30).mean())

    shares = []
    for index in (0, 1):
        session.select(index)
        overlay = session.overlay()
        assert overlay.shape == session.photo.shape
        shares.append([green_on_box(face) for face in session.faces])
    session.select(0)
    assert shares[0][0] > 0.8 and shares[0][1] < 0.2 and shares[1][1] > 0.8 and shares[1][0] < 0.2, shares


def test_relighting_changes_only_the_relit_view(two_faces):
    session = two_faces
    recovered = session.recovered_edit
    first = session.preview(recovered)
    # the sliders send the shape back rounded to what they show: still the same shape
    shown = replace(recovered, expression={k: round(v, 3) for k, v in recovered.expression.items()},
                    rotation_deg=tuple(round(v, 2) for v in recovered.rotation_deg))  # fmt: skip
    side = session.preview(replace(shown, sh=sh_from_light(PRESETS["side light"])))
    assert np.abs(first.relit.astype(int) - side.relit).mean() > 5
    assert side.geometry is first.geometry and side.albedo is first.albedo  # cached: the shape did not change
    opened = session.preview(replace(recovered, expression={**recovered.expression, "jawOpen": 1.0}))
    assert np.abs(opened.geometry.astype(int) - first.geometry).mean() > 0.2


def test_an_sh_table_edited_by_hand_moves_the_lamp_sliders_to_its_light(two_faces):
    """An edited SH table shows as a custom light whose lamp sliders hold it: a slider moved next changes the table's
    light a little, not the light the sliders showed before the edit."""
    session = two_faces
    recovered = session.recovered_edit
    edits = [*recovered.expression.values(), *recovered.rotation_deg]
    table = recovered.sh.astype(np.float64)
    table[0] = [2.5, 0.8, 0.4]  # a warm, bright ambient
    rest = session.light_rest
    lamp, session.light_rest = _slider_lamp(recovered.sh)
    shown = _light_values(lamp)  # the lamp controls at the recovered light, as a new face shows them
    try:
        # a cell that is not a number: the table goes back to the light the lamp controls hold, nothing else moves
        garbled = [["abc", *row[1:]] if k == 0 else row for k, row in enumerate(table.tolist())]
        kept = _edit_table(session, garbled, *shown, *edits, False)
        np.testing.assert_allclose(kept[0], recovered.sh, atol=1e-4)
        assert all(output == gr.skip() for output in kept[1:-1]) and "not a number" in kept[-1]
        outputs = _edit_table(session, table.tolist(), *shown, *edits, False)
        assert outputs[0] == gr.skip() and outputs[6] == CUSTOM
        azimuth, *others = outputs[1:6]
        moved = np.asarray(_relight(session, azimuth + 1, *others, *edits, False)[0])
        assert np.abs(moved - table).max() < 0.05
        # the colour picker closed: nothing changes while its colour is the one shown, a typed colour relights
        assert _typed_colour(session, moved.tolist(), azimuth + 1, *others, *edits, False) == gr.skip()
        blue = _typed_colour(session, moved.tolist(), azimuth + 1, *others[:3], "#2040ff", *edits, False)
        bluer = np.asarray(blue[0])[:, 2] - np.asarray(blue[0])[:, 0] - (moved[:, 2] - moved[:, 0])
        assert blue[1] == CUSTOM and bluer[0] > 0.1
        assert _typed_colour(None, moved.tolist(), azimuth, *others, *edits, False) == gr.skip()  # no face yet
    finally:
        session.light_rest = rest  # the module's session, as the other tests find it


def test_the_status_calls_a_loose_fit_loose(two_faces):
    """A fit whose landmarks sit LOOSE_FIT eye distances or more from MediaPipe's says so in words, naming the face's
    size among the reasons when its eyes are under SMALL_EYES_PX apart."""
    face = two_faces.face
    eyes = eye_distance(face.detected_landmarks)
    assert face.landmark_error_px < LOOSE_FIT * eyes and not face.loose_fit and "loose" not in _fit_words(face)
    stand_in = replace(face, _evaluation=replace(face.evaluation, landmark_error_px=1.2 * LOOSE_FIT * eyes))
    loose = _fit_words(stand_in)
    assert stand_in.loose_fit and "a loose fit" in loose and "9% of the eye distance" in loose
    assert eyes >= SMALL_EYES_PX and "small in the photo" not in loose
    shrink = 0.9 * SMALL_EYES_PX / eyes  # the same face with its eyes under SMALL_EYES_PX apart: its size is named
    small = replace(
        stand_in,
        detected_landmarks=face.detected_landmarks * shrink,
        _evaluation=replace(stand_in.evaluation, landmark_error_px=1.2 * LOOSE_FIT * eyes * shrink),
    )
    assert small.loose_fit and "(small in the photo, turned away" in _fit_words(small)


def test_an_animated_photo_says_its_first_frame_is_the_one_reconstructed(model, reconstructor, tmp_path):
    """The app's photo box plays an animated GIF's frames while the views show the first (a trial: three people in
    turn beside one reconstruction): the status line says so, and a still photo's does not."""
    first, second = two_face_photo(model), np.full((420, 900, 3), 90, np.uint8)
    animated, still = tmp_path / "animated.gif", tmp_path / "still.gif"
    Image.fromarray(first).save(animated, save_all=True, append_images=[Image.fromarray(second)], duration=500)
    Image.fromarray(first).save(still)
    sessions = [Session.reconstruct(reconstructor, str(path)) for path in (animated, still)]
    try:
        statuses = [_preview(session, session.recovered_edit, False)[-1] for session in sessions]
        assert [session.frames for session in sessions] == [2, 1] and len(sessions[0].faces) == 2
        assert "an animated image of 2 frames: the first is reconstructed" in statuses[0]
        assert "animated" not in statuses[1]
    finally:
        for session in sessions:
            session.close()


def test_composite_keeps_the_recovered_pose_while_the_preview_turns(two_faces):
    session = two_faces
    recovered = session.recovered_edit
    lit = replace(recovered, sh=sh_from_light(PRESETS["studio"]))
    pitch, yaw, roll = recovered.rotation_deg
    turned = session.preview(replace(lit, rotation_deg=(pitch, yaw + 30, roll)), with_composite=True)
    still = session.preview(lit, with_composite=True)
    assert np.abs(turned.relit.astype(int) - still.relit).mean() > 2  # the preview shows the turn
    # the photo keeps the face where it is (up to the sliders' rounding of the recovered angles)
    assert np.abs(turned.composite.astype(int) - still.composite).mean() < 0.2


def test_views_keep_the_recovered_framing_and_show_albedo_unlit(model):
    params = FaceParameters.neutral(model.layout)
    views = FaceViews(model, params, size=160)
    _, mask = views.relit(params)
    turned = replace(params, rotation=np.radians([[0.0, 30.0, 0.0]]).astype(np.float32))
    _, turned_mask = views.relit(turned)
    columns = np.nonzero(mask.any(0))[0]
    turned_columns = np.nonzero(turned_mask.any(0))[0]
    assert turned_columns.mean() != pytest.approx(columns.mean(), abs=2)  # the head turns inside a still frame
    albedo = views.albedo(params).astype(float) / 255
    expected = np.clip(model.albedo(params.albedo)[0], 0, 1).mean(0)
    np.testing.assert_allclose(albedo[mask].mean(0), expected, atol=0.03)


def test_a_wide_open_smile_shows_no_background_inside_the_mouth(model):
    """The face model's mouth is open at the throat: a wide-open smile showed the white behind the face at the mouth's
    corners (761 px at 512 px, a trial). The views draw the closed mesh, so the mouth is dark there, about as its
    interior's drawn pixels around it."""
    params = FaceParameters.neutral(model.layout)
    for name in ("jawOpen", "mouthSmileLeft", "mouthSmileRight"):
        params.expression[0, model.expression_names.index(name)] = 1.0
    views = FaceViews(model, params, size=256)
    out = render(model, params, 256, crop=views.framing.at(256))  # the open mesh at the views' framing
    raw = out.raster.mask[0]
    holes = scipy.ndimage.binary_fill_holes(raw) & ~raw
    assert holes.sum() > 50  # the model's own holes, which the views must close
    interior = raw & model.mask_mouth_interior[model.triangles[np.maximum(out.raster.triangle_id[0], 0)]].all(-1)
    image, mask = views.relit(params)
    assert mask[holes].all()
    assert np.median(image[holes].astype(float).sum(-1)) < 1.5 * np.median(image[interior].astype(float).sum(-1))
    assert image[holes].max(axis=1).mean() < 120  # dark: not the white (255) nor the lips


def test_composite_pastes_the_face_inside_its_crop():
    photo = np.zeros((300, 400, 3), np.uint8)
    face = np.full((64, 64, 3), 200, np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    crop = Crop(scale=0.5, offset=(-50.0, -25.0), size=64)  # crop covers photo x 100..228, y 50..178
    out = composite(photo, face, mask, crop, feather_px=0)
    painted = np.argwhere(out[..., 0] > 100)
    assert painted.min(0) == pytest.approx([82, 132], abs=1) and painted.max(0) == pytest.approx([145, 195], abs=1)


def grey_lit(params: FaceParameters) -> FaceParameters:
    """The parameters under their own light made grey (each coefficient the mean of its channels)."""
    return replace(params, sh=params.sh.mean(axis=-1, keepdims=True).repeat(3, axis=-1))


def photo_of_a_render(model, params, background: int):
    """The face of ``params`` rendered at 160 px (old) and under the side light (new), its crop (photo x 70..230, y
    40..200), and the photo (260 x 300, grey ``background``) with each pasted in: the photo and the expected relit."""
    old = render(model, params, 160)
    new = render(model, replace(params, sh=sh_from_light(PRESETS["side light"])[None]), 160)
    crop = Crop(scale=1.0, offset=(-70.0, -40.0), size=160)
    plain = np.full((260, 300, 3), background, np.uint8)
    photo, expected = (composite(plain, to_uint8(out.image[0], 0.0), old.raster.mask[0], crop, feather_px=0)
                       for out in (old, new))  # fmt: skip
    return old, new, crop, photo, expected


def test_relighting_a_photo_by_the_shading_ratio_gives_the_render_under_the_new_light(model):
    """A photo that is a render of known parameters, relit by the ratio of the face's renders under the new and the
    old light, is the render under the new light (the albedo cancels), and stays itself under the old light."""
    old, new, crop, photo, expected = photo_of_a_render(model, random_parameters(model, 1, seed=5, max_angle=15), 90)
    mask = old.raster.mask[0]
    relit = relight_in_photo(photo, shading_ratio(new.image[0], old.image[0]), mask, crop, feather_px=0)
    inside = np.zeros(photo.shape[:2], bool)
    inside[40:200, 70:230] = scipy.ndimage.binary_erosion(mask, iterations=2)
    assert inside.sum() > 5000 and np.abs(relit.astype(float) - expected)[inside].mean() < 1.5
    assert np.abs(relit.astype(float) - photo)[inside].mean() > 10  # the side light does change the face
    unchanged = relight_in_photo(photo, shading_ratio(old.image[0], old.image[0]), mask, crop)
    assert np.abs(unchanged.astype(int) - photo).max() <= 1
    np.testing.assert_array_equal(relit[~inside & (photo == 90).all(-1)], 90)  # the background stays


def test_an_open_mouth_in_the_relit_photo_takes_the_skins_change_around_it(model):
    """The mouth's interior (its walls, the throat's cap) has a shading of its own, dark and turned every way, which
    the photo's teeth and tongue do not share: its ratio gave the photo's mouth corners dark or glowing red patches
    under the side light (a trial). The opening takes the change of the skin around it: here the interior's own
    ratio is made three times the skin's (its albedo tripled in the new render only), and the opening's change stays
    within the range of the lips' and cheeks' nearby."""
    params = grey_lit(random_parameters(model, 1, seed=5, max_angle=15))
    for name in ("jawOpen", "mouthSmileLeft", "mouthSmileRight"):
        params.expression[0, model.expression_names.index(name)] = 1.0
    closed = model.closed()  # as the views draw it
    old, _, crop, photo, _ = photo_of_a_render(closed, params, 150)
    albedo = closed.albedo(params.albedo)
    albedo[0, closed.mask_mouth_interior] *= 3
    new = render(closed, replace(params, sh=sh_from_light(PRESETS["side light"])[None]), 160, albedo=albedo)
    lights = (sh_from_light(PRESETS["side light"]), params.sh[0])
    relit = own_skin_in_photo(photo, closed, new, old, crop, lights)[40:200, 70:230].astype(float).mean(-1)
    ratio = relit / np.maximum(photo[40:200, 70:230].astype(float).mean(-1), 1)
    triangle = old.raster.triangle_id[0]
    interior = (triangle >= 0) & closed.mask_mouth_interior[closed.triangles[np.maximum(triangle, 0)]].all(-1)
    opening = scipy.ndimage.binary_erosion(interior, iterations=1)
    near, nearest = (scipy.ndimage.binary_dilation(interior, iterations=n) for n in (8, 3))
    around = near & ~nearest  # the lips and the cheeks by the corners
    assert opening.sum() > 200
    low, high = np.percentile(ratio[around], [1, 99])
    assert low - 0.05 < np.percentile(ratio[opening], 1) and np.percentile(ratio[opening], 99) < high + 0.05


def test_where_a_new_light_reaches_the_photos_deep_shade_the_composite_draws_the_de_lit_skin(model):
    """A face lit hard from one side (the other in deep shade, as in a film still), relit from the other side: the
    photo's shaded pixels times the change of shading (clipped at MAX_SHADING_RATIO) stayed far too dark; with the
    de-lit skin (here the model's albedo itself) the composite there is the render under the new light."""
    params = grey_lit(random_parameters(model, 1, seed=5, max_angle=10))
    params.sh[0] = sh_from_light(Light(azimuth_deg=-80, elevation_deg=10, intensity=1.4, ambient=0.05))
    views = FaceViews(model, params, size=256)
    frame = views.framing.at(256)
    photo = to_uint8(render(views.model, params, 256, crop=frame).image[0], 1.0)  # the photo is the preview frame
    new = replace(params, sh=sh_from_light(Light(azimuth_deg=80, elevation_deg=10, intensity=1.4, ambient=0.05))[None])
    expected = to_uint8(render(views.model, new, 256, crop=frame).image[0], 1.0).astype(float)
    crop = Crop(scale=1.0, offset=(0.0, 0.0), size=256)
    skin = views.model.albedo(params.albedo)
    drawn = views.relit(new, skin)
    with_skin, photo_only = (views.own_skin(photo, new, crop, drawn=d).astype(float) for d in (drawn, None))
    reached = views.lit_shade(new) > 0.99  # where the new light gives at least 3 times the old
    reached &= scipy.ndimage.binary_erosion(render(views.model, params, 256, crop=frame).raster.mask[0], iterations=4)
    assert reached.sum() > 1000
    assert np.abs(with_skin - expected)[reached].mean() < 3
    assert (expected - photo_only)[reached].mean() > 20  # the photo's shade times at most 3: far too dark


def test_the_own_skin_composite_is_the_render_under_the_new_light_and_fades_out_beyond_the_face(model):
    """A photo that is a render under a grey light, relit through its own pixels: inside the face it is the render
    under the new light; beyond the face model's edge the change dies away over the fade, without a step at the edge;
    farther out the photo is as it was."""
    params = grey_lit(random_parameters(model, 1, seed=5, max_angle=15))  # a grey light: the side light's balance
    old, new, crop, photo, expected = photo_of_a_render(model, params, 150)
    mask = old.raster.mask[0]
    lights = (sh_from_light(PRESETS["side light"]), params.sh[0])
    relit = own_skin_in_photo(photo, model, new, old, crop, lights).astype(float)
    in_crop = np.zeros(photo.shape[:2], bool)
    in_crop[40:200, 70:230] = True
    skin = face_mask(new.pixels[0][model.landmarks_mediapipe], 160) & mask  # the eyes and mouth take the skin's
    face = np.zeros(photo.shape[:2], bool)
    face[40:200, 70:230] = scipy.ndimage.binary_erosion(skin, iterations=3)
    assert face.sum() > 5000 and np.abs(relit - expected)[face].mean() < 1.5
    changed = np.abs(relit - photo).sum(-1) > 3
    assert changed[face].mean() > 0.5  # the side light does change the face
    distance = scipy.ndimage.distance_transform_edt(~mask)  # crop px from the face model's edge
    far = np.zeros(photo.shape[:2], bool)
    far[40:200, 70:230] = distance > OWN_SKIN_FADE * 160 + 1
    assert not changed[far | ~in_crop].any()
    near = np.zeros(photo.shape[:2], bool)
    near[40:200, 70:230] = (distance > 0) & (distance < 3)
    ring = np.zeros(photo.shape[:2], bool)
    ring[40:200, 70:230] = mask & ~scipy.ndimage.binary_erosion(mask, iterations=3)
    step = np.abs(relit / np.maximum(photo, 1) - 1).mean(-1)  # the change of shading in the photo
    assert step[near].mean() > 0.5 * step[ring].mean()  # it carries on past the edge


def test_the_heads_stand_in_has_the_normals_of_an_ellipsoid_turning_to_the_viewer_beyond_it():
    """On the ellipsoid (here a sphere of radius 60 px around (100, 90) once the oval's box is scaled and raised by
    :data:`HEAD_SIZE` and :data:`HEAD_RAISE`) the normal is (x, y, sqrt(1 - x^2 - y^2)) in radii, the camera's y up;
    one radius beyond its outline it faces the viewer; half a radius beyond, halfway between."""
    height = 120 / HEAD_SIZE[1]
    centre_y = 90 + HEAD_RAISE * height
    half_width = 60 / HEAD_SIZE[0]
    oval = np.array([[100 - half_width, centre_y - height / 2], [100 + half_width, centre_y + height / 2]])
    normals = head_normals(head_coordinates(oval, 300))
    np.testing.assert_allclose(normals[90, 100], [0, 0, 1], atol=0.01)  # pixel (x 100.5, y 90.5): the centre
    np.testing.assert_allclose(normals[90, 136], [0.6, 0, 0.8], atol=0.01)  # 36 px right: x = 0.6 radii
    np.testing.assert_allclose(normals[54, 100], [0, 0.6, 0.8], atol=0.01)  # 36 px up
    np.testing.assert_allclose(normals[90, 190], [2**-0.5, 0, 2**-0.5], atol=0.02)  # 1.5 radii: halfway turned
    np.testing.assert_allclose(normals[90, 299], [0, 0, 1], atol=0.01)  # beyond 2 radii: facing the viewer


def test_with_a_person_mask_the_head_around_the_face_is_relit_and_the_background_is_not(model):
    """A render under a grey light, relit to the side light with a person mask that reaches beyond the face (hair,
    ears, neck): inside the face it is the render under the new light, as without; beyond it the person brightens
    on the lamp's side (the viewer's right) and darkens on the other, as a head would; the background beyond the
    mask and the frame's edge stay as shot. A mask that missed the person is as none."""
    params = grey_lit(random_parameters(model, 1, seed=5, max_angle=15))
    old, new, crop, photo, expected = photo_of_a_render(model, params, 150)
    person = np.zeros(photo.shape[:2], np.float32)
    person[40:200, 75:225] = 1.0  # the frame (x 70..230, y 40..200) but its left and right 5 px
    lights = (sh_from_light(PRESETS["side light"]), params.sh[0])
    relit = own_skin_in_photo(photo, model, new, old, crop, lights, person=person).astype(float)
    mask = old.raster.mask[0]
    skin = face_mask(new.pixels[0][model.landmarks_mediapipe], 160) & mask
    face = np.zeros(photo.shape[:2], bool)
    face[40:200, 70:230] = scipy.ndimage.binary_erosion(skin, iterations=3)
    assert np.abs(relit - expected)[face].mean() < 1.5
    change = relit.sum(-1) / photo.sum(-1)
    beyond = np.zeros(photo.shape[:2], bool)
    beyond[40:200, 70:230] = ~scipy.ndimage.binary_dilation(mask, iterations=3)
    left, right = beyond.copy(), beyond.copy()
    left[:, 150:], right[:, :150] = False, False
    left[:, : 75 + 13] = right[:, 225 - 13 :] = False  # inside the frame's fade at its edges
    assert left.sum() > 300 and right.sum() > 300
    assert change[right].mean() > change[left].mean() + 0.2
    assert (relit[person == 0] == photo[person == 0]).all()
    missed = own_skin_in_photo(photo, model, new, old, crop, lights, person=np.zeros_like(person))
    np.testing.assert_array_equal(missed, own_skin_in_photo(photo, model, new, old, crop, lights))  # as without


def test_with_the_photo_texture_the_composite_relights_the_photos_own_pixels(two_faces):
    """The photo texture's composite is the photo's own face times the change of shading: under the recovered light
    the photo itself; under a side light one side darker, the photo's detail kept (not a render pasted in); with an
    edited expression (which the photo does not show) the render is pasted in where the edit moves the face only
    (before, over the whole face: the person's eyes, brows and lipstick gave way to the model's, a trial)."""
    session = two_faces
    session.use_photo_texture(True)
    try:
        recovered = session.recovered_edit
        same = session.preview(recovered, with_composite=True).composite
        assert np.abs(same.astype(int) - session.display).max() <= 1
        side = session.preview(replace(recovered, sh=sh_from_light(PRESETS["side light"])), True).composite
        factor = session.display.shape[1] / session.photo.shape[1]
        x0, y0, x1, y1 = (round(v * factor) for v in session.face.box)
        ratio = side[y0:y1, x0:x1].astype(float).sum(-1) / np.maximum(session.display[y0:y1, x0:x1].sum(-1), 1)
        middle = (x1 - x0) // 2
        assert ratio[:, middle:].mean() > ratio[:, :middle].mean() + 0.1  # lit from the viewer's right
        opened = session.preview(replace(recovered, expression={**recovered.expression, "jawOpen": 1.0}), True)
        assert np.abs(opened.composite[y0:y1, x0:x1].astype(int) - session.display[y0:y1, x0:x1]).mean() > 2
        # an edited expression moves the mouth and the chin: the eyes and the brows stay the photo's own pixels
        top = slice(y0, y0 + (y1 - y0) // 4)
        assert np.abs(opened.composite[top, x0:x1].astype(int) - same[top, x0:x1]).max() <= 1
        mouth = slice(y0 + 2 * (y1 - y0) // 3, y1)
        assert np.abs(opened.composite[mouth, x0:x1].astype(int) - same[mouth, x0:x1]).mean() > 5
    finally:
        session.use_photo_texture(False)


def test_the_convex_face_mask_closes_the_notch_the_models_point_58_cuts(model):
    """The face model's vertex for MediaPipe's point 58 lies inside the jaw, near the mouth's corner (at 0.47 of the
    oval's median radius from its centre; MediaPipe puts it at 0.85-0.87 on real faces): the oval drawn from the
    model's points has a notch there, which left a wedge of unrelit cheek in the relit photo (a trial). The convex
    mask holds the oval mask and the notch."""
    points = render(model, FaceParameters.neutral(model.layout), 256).pixels[0][model.landmarks_mediapipe]
    oval = points[FACE_OVAL]
    radius = np.linalg.norm(oval - oval.mean(axis=0), axis=1)
    assert radius[FACE_OVAL.index(58)] < 0.6 * np.median(radius)
    notched, convex = face_mask(points, 256), face_mask(points, 256, convex=True)
    assert (convex | notched).sum() == convex.sum() and (convex & ~notched).sum() > 200


def test_a_black_and_white_photo_stays_black_and_white_in_the_composite(model, reconstructor):
    """A grey photo relit by the sunset preset with an opened jaw (the model's red mouth pasted in): the composite
    changes in brightness only (it was orange and red, a trial); the relit view may show the lamp's colour."""
    grey = np.repeat(two_face_photo(model).mean(axis=-1, keepdims=True).astype(np.uint8), 3, axis=-1)
    session = Session(grey, reconstructor.reconstruct_image(grey))
    try:
        assert session.face.grey
        session.use_photo_texture(True)
        recovered = session.recovered_edit
        sunset = preset_sh("sunset", session.face.params.sh[0])
        for expression in (recovered.expression, {**recovered.expression, "jawOpen": 0.8}):
            shown = session.preview(replace(recovered, sh=sunset, expression=expression), True).composite
            assert np.ptp(shown.astype(int), axis=-1).max() == 0
            assert np.abs(shown.astype(int) - session.display).mean() > 0.5
    finally:
        session.close()


def test_where_an_edit_moves_the_face(model):
    """:meth:`FaceViews.moved` is 0 everywhere for the recovered expression and, with the jaw opened, 1 just below
    the closed jaw's chin (where the dropped chin now lies) and 0 at the forehead (which does not move)."""
    params = FaceParameters.neutral(model.layout)
    views = FaceViews(model, params, size=256)
    assert views.moved(params).max() == 0
    opened = replace(params, expression=params.expression.copy())
    opened.expression[0, model.expression_names.index("jawOpen")] = 1.0
    weight = views.moved(opened)
    out = render(model, params, 256, crop=views.framing.at(256))
    chin, forehead = (np.round(out.pixels[0][model.landmarks_mediapipe[k]]).astype(int) for k in (152, 10))
    assert weight[chin[1] : chin[1] + 8, chin[0]].min() > 0.95 and weight[forehead[1] + 3, forehead[0]] == 0


def test_the_eyes_and_mouth_take_the_shading_ratio_of_the_skin_around_them():
    """The model's own eyes and dark mouth interior give ratios of their own (the teeth glowed): inside the face
    mask's holes the ratio is the skin's around them (a smooth average: the nearest pixel's gave the teeth blocky
    patches), and the region relit is the whole oval."""
    y, x = np.mgrid[0:64, 0:64]
    oval = (x - 32) ** 2 + (y - 32) ** 2 < 28**2
    mouth = (np.abs(x - 32) < 8) & (np.abs(y - 44) < 3)
    skin = oval & ~mouth
    ratio = np.where(skin[..., None], 0.5 + x[..., None] / 128.0, 3.0).repeat(3, axis=-1)
    filled, region = over_the_face(ratio, skin)
    np.testing.assert_array_equal(region, oval)
    np.testing.assert_array_equal(filled[skin], ratio[skin])
    # the skin's ratio a few pixels away (above, below or beside the 15 x 5 mouth), not the hole's own 3
    np.testing.assert_allclose(filled[mouth][:, 0], 0.5 + x[mouth] / 128.0, atol=8 / 128)
    # lips darker above than below: down the mouth's middle the ratio goes from one to the other without a step
    lips = np.where(y < 44, 0.6, 1.0)[..., None].repeat(3, axis=-1)
    column = over_the_face(np.where(skin[..., None], lips, 3.0), skin)[0][37:52, 32, 0]
    assert 0.6 <= column.min() and column.max() <= 1.0 and np.abs(np.diff(column)).max() < 0.15


def test_downloads_are_named_after_the_photo_and_the_face(two_faces, tmp_path):
    """A trial: every download was face.glb, params.json, ... whatever the photo and face, so a group photo's faces
    saved as face (1).glb, face (2).glb, ..."""
    assert file_stem("/uploads/My photo (1).final.JPG") == "My_photo_1_final" and file_stem("/uploads/.png") == "photo"
    assert file_stem("/uploads/" + "x" * 60 + ".png") == "x" * 40
    two_faces.select(1)
    try:
        names = {p.name for p in two_faces.export(two_faces.recovered_edit, tmp_path)}
    finally:
        two_faces.select(0)  # the module's session, as the other tests find it
    assert names == {"photo_face2_obj.zip", "photo_face2.ply", "photo_face2.glb", "photo_face2_relit_photo.jpg",
                     "photo_face2_params.json"}  # fmt: skip


@pytest.mark.parametrize("grey", [False, True])
def test_the_relit_photo_download_is_the_composite_at_the_photo_s_own_size(model, reconstructor, grey, tmp_path,
                                                                           monkeypatch):  # fmt: skip
    """A trial: the composite panel's download was 1024 px wide for a 1920 px photo, whose composite the README said
    was at the photo's resolution. The download holds it at the file's size: shrunk to the panel's, it is the panel's
    composite (the same rule at two sizes), with the photo texture and with the model albedo, in colour and in a
    black-and-white photo (which stays so), and the edit shows in it."""
    monkeypatch.setattr("demo.session.DISPLAY_PIXELS", 160)  # the two-face photo is 320 px wide: shown at half size
    photo = two_face_photo(model)
    if grey:
        photo = np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    session = Session(photo, reconstructor.reconstruct_image(photo))
    try:
        for photo_texture in (True, False):
            session.use_photo_texture(photo_texture)
            edit = replace(session.recovered_edit, sh=preset_sh("sunset", session.face.params.sh[0]))
            (path,) = [p for p in session.export(edit, tmp_path, formats=("photo",)) if p.suffix == ".jpg"]
            relit = np.asarray(Image.open(path).convert("RGB"), np.float64)
            shown = session.preview(edit, with_composite=True).composite.astype(np.float64)
            assert relit.shape == session.photo.shape and shown.shape[1] == 160
            shrunk = cv2.resize(relit, shown.shape[1::-1], interpolation=cv2.INTER_AREA)
            assert np.abs(shrunk - shown).mean() < 2, photo_texture
            assert np.abs(relit - session.photo).mean() > 1, photo_texture
            if grey:  # JPEG's chroma aside, no colour
                assert np.abs(relit - relit.mean(axis=2, keepdims=True)).max() < 6, photo_texture
    finally:
        session.close()


def test_a_face_chosen_during_an_export_waits_for_it(two_faces, tmp_path, monkeypatch):
    """A review: the app serves two requests at once, and a face chosen while an export ran mixed two faces in its
    files (the relit photo, written last, was the other face's). The choice now waits for the export."""
    session = two_faces
    serial = session.export(session.recovered_edit, tmp_path / "serial", formats=("glb", "photo"))
    original = FaceResult.export

    def slow(face, path):  # the GLB, written first: the choice arrives meanwhile
        time.sleep(0.5)
        return original(face, path)

    monkeypatch.setattr(FaceResult, "export", slow)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(session.export, session.recovered_edit, tmp_path / "raced", ("glb", "photo"))
        time.sleep(0.2)
        session.select(1)
        raced = running.result()
    session.select(0)  # the module's session, as the other tests find it
    assert [path.name for path in raced] == [path.name for path in serial]
    for one, other in zip(serial, raced, strict=True):
        assert one.read_bytes() == other.read_bytes(), one.name


def test_export_reflects_the_edits(two_faces, tmp_path):
    session = two_faces
    recovered = session.recovered_edit
    edit = Edit(recovered.sh, {**recovered.expression, "jawOpen": 1.0}, (0.0, 10.0, 0.0))
    default = {p.name for p in session.export(edit, tmp_path / "default")}
    names = {"photo_face1_obj.zip", "photo_face1.ply", "photo_face1.glb", "photo_face1_relit_photo.jpg",
             "photo_face1_params.json"}  # fmt: skip
    assert default == names  # the animatable GLB only on request
    files = {p.name.removeprefix("photo_face1"): p
             for p in session.export(edit, tmp_path, formats=("obj", "ply", "glb", "animated"))}  # fmt: skip
    assert set(files) == {"_obj.zip", ".ply", ".glb", "_animated.glb", "_params.json"}
    with zipfile.ZipFile(files["_obj.zip"]) as bundle:
        assert {"face.obj", "face.mtl"} <= set(bundle.namelist()) and any(n.endswith(".png") for n in bundle.namelist())
        bundle.extractall(tmp_path / "obj")
    obj = trimesh.load(tmp_path / "obj" / "face.obj", process=False)
    ply = trimesh.load(files[".ply"], process=False)
    glb = trimesh.load(files[".glb"], force="mesh", process=False)
    model = session.face.model
    edited_vertices = UVAtlas.for_model(model).split(
        model.geometry(session.face.params.shape, session.parameters(edit).expression)[0]
    )
    np.testing.assert_allclose(ply.vertices, edited_vertices, atol=1e-3)  # OBJ and PLY: head frame
    np.testing.assert_allclose(obj.vertices, edited_vertices, atol=1e-3)
    posed = edited_vertices @ rotation_matrix(np.radians([[0.0, 10.0, 0.0]]))[0].T  # GLB: the edited pose
    np.testing.assert_allclose(glb.vertices * 1000, posed, atol=1e-2)
    saved = json.loads(files["_params.json"].read_text())
    assert saved["expression"]["jawOpen"] == pytest.approx(1.0) and saved["rotation_deg"]["yaw"] == pytest.approx(10.0)
    animated = json.loads(GLTF2().load(files["_animated.glb"]).to_json())["meshes"][0]  # the edits as defaults
    assert animated["weights"][model.expression_names.index("jawOpen")] == pytest.approx(1.0)
    assert animated["extras"]["targetNames"] == model.expression_names
    assert set(EXPRESSION_CONTROLS) <= set(saved["expression"])


def test_session_files_live_in_its_own_folder_until_closed(model, reconstructor):
    session = Session(two_face_photo(model), reconstructor.reconstruct_image(two_face_photo(model)))
    files = session.export(session.recovered_edit, formats=("ply",))
    again = session.export(session.recovered_edit, formats=("ply",))
    assert files == again and all(f.is_relative_to(session.folder) for f in files)  # overwritten, not piled up
    session.close()
    assert not session.folder.exists()


class CountingReconstructor:
    """The test's reconstructor, counting the photos it reconstructs."""

    def __init__(self, reconstructor: Reconstructor) -> None:
        self.reconstructor, self.calls = reconstructor, 0

    def reconstruct_image(self, image: np.ndarray) -> list:
        self.calls += 1
        time.sleep(0.5)  # the second call arrives while the first still loads, however fast the machine
        return self.reconstructor.reconstruct_image(image)


def test_one_browsers_upload_loading_twice_at_once_is_reconstructed_once(reconstructor, model, tmp_path):
    """Gradio fires an image's change twice, at once and with the same state, when a photo is dropped onto the one
    shown: one reconstruction, one session; another browser's same file is its own."""
    photo = tmp_path / "two.png"
    Image.fromarray(two_face_photo(model)).save(photo)
    counting = CountingReconstructor(reconstructor)
    loader = PhotoLoader(counting, twin_s=0.0)  # type: ignore[arg-type]  # a finished load answers no later call
    browser = SimpleNamespace(session_hash="browser-1")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: loader.load(str(photo), None, False, browser), range(2)))
    first, second = (loaded.session for loaded in results)
    assert first is second and counting.calls == 1 and first.folder.exists()
    other = loader.load(str(photo), None, False, SimpleNamespace(session_hash="browser-2")).session
    assert other is not first and counting.calls == 2
    again = loader.load(str(photo), first, False, browser).session  # a later upload of the same file loads anew
    assert again is not first and not first.folder.exists() and counting.calls == 3
    with ThreadPoolExecutor(2) as pool:  # the second call came with another session in its state: it closes it
        loading = pool.submit(loader.load, str(photo), again, False, browser)
        time.sleep(0.1)  # the first call is loading (CountingReconstructor waits 0.5 s)
        waiting = pool.submit(loader.load, str(photo), other, False, browser)
        latest, same = loading.result().session, waiting.result().session
    assert same is latest and counting.calls == 4 and not again.folder.exists() and not other.folder.exists()
    latest.close()


def test_a_rejected_upload_warns_once_though_gradio_asks_twice(reconstructor, tmp_path, monkeypatch):
    """A file that is not an image fails at once, so Gradio's second change event for it comes after the first is
    done: it gets the first's answer (one toast, not two); the same file chosen again later is read again."""
    import demo.ui

    warnings = []
    monkeypatch.setattr(demo.ui.gr, "Warning", warnings.append)
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    loader, browser = PhotoLoader(reconstructor, twin_s=1.0), SimpleNamespace(session_hash="browser-1")
    answers = [loader.load(str(notes), None, False, browser) for _ in range(2)]
    assert answers[0] == answers[1] and answers[0].session is None and "not an image" in answers[0].message
    assert answers[0].unreadable  # the page takes it out of the photo box
    assert len(warnings) == 1
    time.sleep(1.1)
    assert loader.load(str(notes), None, False, browser) == answers[0] and len(warnings) == 2


def test_the_page_empties_the_photo_box_of_a_file_that_is_no_image_and_keeps_its_message(reconstructor, tmp_path):
    """A file the browser cannot show either would stay in the box as a broken-image icon; a photo without a face
    stays shown. Emptying the box comes back as a change with no photo and no session: the message stays."""
    notes, blank = tmp_path / "notes.jpg", tmp_path / "blank.png"
    notes.write_text("not a photo")
    Image.fromarray(np.full((240, 320, 3), 120, np.uint8)).save(blank)
    loader = PhotoLoader(reconstructor)
    session, message, box, emptied, kept, fresh, loaded = loader.upload(str(notes), None, False)
    assert session is None and "not an image" in message and box is None and emptied and kept == message
    assert fresh and loaded == str(notes)  # the views follow: cleared
    # the box's emptying comes back: the message stays, and fresh too (the file's own steps still to come read it)
    assert loader.upload(None, None, False, emptied) == (None, gr.skip(), gr.skip(), False, gr.skip(), gr.skip(), None)
    session, message, box, emptied, kept, *_ = loader.upload(str(blank), None, False)
    assert session is None and "no face" in message.lower() and box == gr.skip() and not emptied and kept == message


def test_a_tiff_is_shown_as_its_sessions_png_whose_change_back_changes_nothing(reconstructor, tmp_path):
    """Browsers draw no TIFF: the box gets the session's PNG of the photo, unless a newer photo is in it by then; the
    PNG coming back as the box's change (Gradio keeps its name) keeps the session and makes no view again."""
    tiff = tmp_path / "portrait.tif"
    Image.open(EXAMPLES[0]).save(tiff)
    loader = PhotoLoader(reconstructor)
    session, _, box, _, _, fresh, loaded = loader.upload(str(tiff), None, False)
    assert session is not None and box == gr.skip() and fresh and loaded == str(tiff)
    shown, _ = _photo_for_browser(str(tiff), loaded, session)
    with Image.open(shown) as png:
        assert png.format == "PNG" and np.array_equal(np.asarray(png), session.display)
    echo = loader.upload(shown, session, False)
    assert echo[0] is session and echo[1:3] == (gr.skip(), gr.skip()) and echo[5] is False
    assert _photo_for_browser(EXAMPLES[0], loaded, session) == (gr.skip(), gr.skip())  # a newer photo stays
    session.close()


def test_an_emptied_photo_box_says_there_is_no_photo_and_the_size_limit(reconstructor, tmp_path):
    """The box is emptied by the user, or by an upload Gradio refused for its size (its notice soon passes): the
    status line says there is no photo and how large a file may be, and the last face's files go."""
    loader = PhotoLoader(reconstructor)
    session, message, *_ = loader.upload(EXAMPLES[0], None, False)
    assert session is not None and message == "" and session.folder.exists()
    assert loader.upload(None, session, False) == (None, NO_PHOTO, gr.skip(), False, NO_PHOTO, True, None)
    assert f"up to {MAX_UPLOAD_MB} MB" in NO_PHOTO and not session.folder.exists()
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((240, 320, 3), 120, np.uint8)).save(blank)
    _, message, _, emptied, *_ = loader.upload(str(blank), None, False)  # a photo without a face stays, no session
    assert "no face" in message.lower()
    assert loader.upload(None, None, False, emptied) == (None, NO_PHOTO, gr.skip(), False, NO_PHOTO, True, None)


def test_previews_leave_room_for_an_edited_pose_and_the_composite_still_lands(two_faces):
    session = two_faces
    recovered = session.recovered_edit
    pitch, yaw, roll = recovered.rotation_deg
    for turn in (-40, 40):
        _, mask = session.views.relit(session.parameters(replace(recovered, rotation_deg=(pitch, yaw + turn, roll))))
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())  # not clipped
    # the zoomed-out preview pasted back lands on the recovered face: inside the face's photo crop
    preview = session.preview(recovered, with_composite=True)
    changed = np.abs(preview.composite.astype(int) - session.display).sum(-1) > 30
    rows, columns = np.nonzero(changed)
    factor = session.display.shape[1] / session.photo.shape[1]
    x0, y0, x1, y1 = (v * factor for v in session.face.box)
    assert x0 - 2 <= columns.min() and columns.max() <= x1 + 2 and y0 - 2 <= rows.min() and rows.max() <= y1 + 2


def test_thumbnails_show_each_face_in_the_selector_order(two_faces):
    thumbnails = two_faces.thumbnails(64)
    assert [label for _, label in thumbnails] == ["Face 1", "Face 2"]
    for image, _ in thumbnails:
        assert image.shape == (64, 64, 3)
        centre = image[24:40, 24:40].astype(float)
        assert np.abs(centre - 140).mean() > 10  # a face, not the grey canvas around it
    assert np.abs(thumbnails[0][0].astype(int) - thumbnails[1][0]).mean() > 5  # two different faces


def test_the_photo_texture_switch_changes_previews_and_downloads_and_back(model, reconstructor, tmp_path):
    photo = two_face_photo(model)
    session = Session(photo, reconstructor.reconstruct_image(photo))
    edit = session.recovered_edit
    plain = session.preview(edit)
    session.use_photo_texture(True)
    textured = session.preview(edit)
    assert np.abs(textured.albedo.astype(float) - plain.albedo.astype(float)).mean() > 0.5
    ply = trimesh.load(session.export(edit, tmp_path / "on", formats=("ply",))[0], process=False)
    expected = np.round(session.shown.skin * 255)  # the PLY carries the de-lit skin per vertex
    np.testing.assert_allclose(ply.visual.vertex_colors[:, :3], UVAtlas.for_model(model).split(expected), atol=1.5)
    session.use_photo_texture(False)
    np.testing.assert_array_equal(session.preview(edit).albedo, plain.albedo)
    session.close()
