"""Preprocessing, detection, fitting and the Reconstructor on synthetic faces with known answers."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import onnx
import pygltflib
import pytest
import torch
import trimesh
from PIL import Image

from inversefacenet import FaceParameters, InputError, NoFaceError, Reconstructor, pipeline
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, CheckpointError, NetworkConfig, Predictor, save_checkpoint
from inversefacenet.cli import _named, main
from inversefacenet.detection import LandmarkDetector
from inversefacenet.fitting import DEFAULT_FIT, NETWORK_START_FIT, FitConfig, fit, is_grey
from inversefacenet.images import load_image
from inversefacenet.landmark_offsets import measured_offsets, moved
from inversefacenet.lighting import face_highlight, face_irradiance
from inversefacenet.metrics import outcomes
from inversefacenet.networks import build_network
from inversefacenet.photo_texture import delight
from inversefacenet.predictor import QUANTIZED_FROM_KEY, export_onnx, int8_path, load_predictor
from inversefacenet.preprocess import (
    INPUT_CHANNELS,
    Crop,
    crop_for_landmarks,
    crop_image,
    face_input,
    face_mask,
    network_input,
)
from inversefacenet.render.camera import Camera
from inversefacenet.render.renderer import project_face, render, to_uint8
from tests.conftest import known_face, photo_of, two_face_photo

EXAMPLE = "assets/examples/astronaut.jpg"


@pytest.fixture(scope="module")
def detector():
    detector = LandmarkDetector()
    yield detector
    detector.close()


def test_crop_of_a_big_render_matches_a_small_render(model):
    """Photo crops and corpus crops follow one rule: cropping a 512 px render by its landmarks
    must give the 128 px render of the same face."""
    params = known_face(model, 1)
    photo, big = photo_of(model, params, 512)
    landmarks = big.pixels[0, model.landmarks_mediapipe]
    crop = crop_for_landmarks(landmarks, 128)
    assert crop.scale == pytest.approx(0.25, rel=1e-4)
    np.testing.assert_allclose(crop.offset, [0, 0], atol=1e-3)
    small = render(model, params, 128)
    cropped = crop_image(photo, crop).astype(float)
    expected = to_uint8(small.image[0]).astype(float)
    inner = small.raster.mask[0] & np.roll(small.raster.mask[0], 2, 0) & np.roll(small.raster.mask[0], -2, 1)
    assert np.abs(cropped[inner] - expected[inner]).mean() < 4
    np.testing.assert_allclose(crop.to_photo(crop.to_crop(landmarks)), landmarks, atol=1e-6)


def test_mask_keeps_the_face_and_drops_the_open_mouth(model):
    params = FaceParameters.neutral(model.layout)
    params.expression[0, model.expression_names.index("jawOpen")] = 1.0
    out = render(model, params, 128)
    mask = face_mask(out.pixels[0, model.landmarks_mediapipe], 128)
    triangle_ids = out.raster.triangle_id[0]
    covered = triangle_ids >= 0
    mouth = covered & model.mask_mouth_interior[model.triangles[np.maximum(triangle_ids, 0)]].all(-1)
    skin = covered & model.mask_face[model.triangles[np.maximum(triangle_ids, 0)]].all(-1)
    assert mouth.sum() > 50
    assert (mask & mouth).sum() / mouth.sum() < 0.15
    assert (mask & skin).sum() / skin.sum() > 0.9


def test_detector_finds_a_rendered_face_where_the_model_put_its_landmarks(model, detector):
    params = known_face(model, 2)
    photo, out = photo_of(model, params, 384)
    faces = detector(photo)
    assert len(faces) == 1
    truth = out.pixels[0, model.landmarks_mediapipe[:468]]
    error = np.linalg.norm(faces[0].landmarks[:468, :2] - truth, axis=1).mean()
    assert error < 0.04 * 384, error


def test_two_faces_are_found_largest_first(model, detector):
    faces = detector(two_face_photo(model))
    assert len(faces) == 2
    assert faces[0].area > faces[1].area
    assert faces[0].box[0] > 450 and faces[1].box[2] < 260


def test_no_face_raises(model, detector):
    with pytest.raises(NoFaceError):
        Reconstructor(model, detector)(np.full((200, 200, 3), 128, np.uint8))


def test_fit_recovers_known_parameters(model):
    params = known_face(model, 3)
    image, out = photo_of(model, params, 128, background=0.0)
    landmarks = out.pixels[0, model.landmarks_mediapipe]
    result = fit(model, image, face_mask(landmarks, 128), landmarks, mode="full")
    assert np.abs(np.degrees(result.params.rotation - params.rotation)).max() < 2.0
    assert result.landmark_error_px < 0.6
    assert result.photometric_rmse < 15
    truth = model.geometry(params.shape, params.expression)[0][model.mask_face]
    fitted = model.geometry(result.params.shape, result.params.expression)[0][model.mask_face]
    mean = model.vertices_mean[model.mask_face]

    def rmse(a):
        return np.sqrt(((a - truth) ** 2).sum(1).mean())

    assert rmse(fitted) < 0.8 * rmse(mean)
    jaw = model.expression_names.index("jawOpen")
    assert abs(result.params.expression[0, jaw] - 0.3) < 0.2


def test_coloured_marks_on_the_cheeks_barely_move_the_fitted_light(model, monkeypatch):
    """Saturated marks on the face (paint, a sticker) are outliers to the appearance's closed-form solve: reweighted
    least squares keeps the light near the unmarked face's; with every weight held at 1 (plain least squares) the
    same marks move it several times as far."""
    params = known_face(model, 3)
    image, out = photo_of(model, params, 128, background=0.0)
    landmarks = out.pixels[0, model.landmarks_mediapipe]
    mask = face_mask(landmarks, 128)
    marked = image.copy()
    for cheek, colour in ((205, (40, 60, 255)), (425, (255, 40, 40))):  # MediaPipe's cheek points, blue and red
        cv2.circle(marked, tuple(int(round(v)) for v in landmarks[cheek, :2]), 9, colour, -1)

    def light(photo: np.ndarray) -> np.ndarray:
        return fit(model, photo, mask, landmarks, init=params, mode="fast").params.sh[0]

    clean = light(image)
    robust = np.abs(light(marked) - clean).max()
    monkeypatch.setattr("inversefacenet.fitting.robust_weights", np.ones_like)
    plain = np.abs(light(marked) - clean).max()
    assert robust < 0.4 * plain, (robust, plain)


def test_on_a_grayscale_photo_the_fitted_light_is_grey(model, monkeypatch):
    """A warm light on a colour photo is recovered as warm; the same photo in black and white gets one grey light,
    not a tint that paints the photo texture the other way (as it does with the rule switched off)."""
    params = known_face(model, 3)
    params.sh[0] *= np.array([1.25, 1.0, 0.75], np.float32)
    image, out = photo_of(model, params, 128, background=0.0)
    landmarks = out.pixels[0, model.landmarks_mediapipe]
    mask = face_mask(landmarks, 128)
    colour = fit(model, image, mask, landmarks, mode="full").params.sh[0, 0]
    assert colour[0] > 1.3 * colour[2]
    grey = np.repeat(np.asarray(Image.fromarray(image).convert("L"))[..., None], 3, axis=2)
    assert is_grey(grey[mask].astype(float)) and not is_grey(image[mask].astype(float))

    def texture_tint(result) -> float:
        """Red over blue of the photo texture where it comes from the photo: 1 is grey."""
        texture = delight(model, result.params, grey, mask, 128)
        red, _, blue = texture.texture[texture.seen > 0.5].mean(axis=0)
        return float(red / blue)

    result = fit(model, grey, mask, landmarks, mode="full")
    np.testing.assert_array_equal(result.params.sh[0, :, 0], result.params.sh[0, :, 2])
    np.testing.assert_array_equal(result.params.sh[0, :, 0], result.params.sh[0, :, 1])
    shown = result.render.image[0] @ np.array([0.299, 0.587, 0.114]) * 255  # what the photo shows: brightness
    inside = mask & result.render.raster.mask[0]
    assert np.sqrt(((shown - grey[..., 0])[inside] ** 2).mean()) < 8
    monkeypatch.setattr("inversefacenet.fitting.is_grey", lambda colours: False)
    tinted = fit(model, grey, mask, landmarks, mode="full")
    assert abs(texture_tint(result) - 1) < 0.05 < abs(texture_tint(tinted) - 1)


def test_the_start_anchor_holds_the_fit_at_its_start_against_scattered_points(model):
    """Points 5 px off to the right pull a landmark fit started at the truth away by over 4 degrees; the start
    anchor holds it there (the mean-centred priors alone would not: a lower landmark weight moves it further)."""
    params = known_face(model, 3)
    image, out = photo_of(model, params, 128, background=0.0)
    landmarks = out.pixels[0, model.landmarks_mediapipe] + np.array([5.0, 0.0])

    def moved(config: FitConfig) -> float:
        fitted = fit(model, image, face_mask(landmarks, 128), landmarks, params, mode="fast", config=config)
        return float(np.degrees(np.abs(fitted.params.rotation - params.rotation)).max())

    led_by_points = replace(NETWORK_START_FIT, landmark_iterations=60, landmark_weight=1.0, placement_rates=None)
    free = moved(led_by_points)
    assert free > 3.0
    assert moved(replace(led_by_points, start_anchor=30.0)) < 0.15 * free
    assert moved(replace(led_by_points, landmark_weight=0.1)) > free


def test_the_fit_finds_where_the_face_lies_in_a_crop_not_framed_by_its_box(model):
    """A face rendered 6 px right, 4 px up and 8 % larger than the crop rule frames it: the fit recovers that
    placement (the truth's alignment, analytic) and the pose, where a fit held to the rule's framing cannot."""
    params = known_face(model, 3)
    shift, log_scale = np.array([6.0, -4.0]), 0.08
    rule = project_face(model, params, 128)
    crop = (rule.scale * np.exp(log_scale), (rule.offset - 64) * np.exp(log_scale) + 64 + shift)
    out = render(model, params, 128, crop=crop)
    image = to_uint8(out.image[0] + (~out.raster.mask[0])[..., None] * 0.55)
    landmarks = out.pixels[0, model.landmarks_mediapipe]
    mask = face_mask(landmarks, 128)

    def rotation_error(result) -> float:
        return float(np.degrees(np.abs(result.params.rotation - params.rotation)).max())

    placed = fit(model, image, mask, landmarks, mode="fast")
    assert np.abs(placed.alignment[:2] * 128 - shift).max() < 0.6  # crop pixels
    assert abs(placed.alignment[2] + log_scale) < 0.01
    assert rotation_error(placed) < 2.0
    held = fit(model, image, mask, landmarks, mode="fast", config=replace(DEFAULT_FIT, placement_rates=None))
    np.testing.assert_array_equal(held.alignment, 0.0)
    assert held.landmark_error_px > 2.5 * placed.landmark_error_px
    assert rotation_error(held) > 2 * rotation_error(placed)


def test_the_fit_from_a_network_keeps_its_start_against_mediapipes_scatter(model):
    """Started at the truth, with the points moved by a pattern MediaPipe put on a face of that pose (the shipped
    measurement): the fit from a network, led by the colours, stays there; a fit led by the points follows them."""
    params = known_face(model, 3)
    image, out = photo_of(model, params, 128)
    truth = out.pixels[0, model.landmarks_mediapipe]
    pose = np.degrees(params.rotation[0, :2])
    pattern = measured_offsets().sample(pose, np.random.default_rng(0)) - measured_offsets().mean(pose)
    landmarks = moved(truth, pattern)
    vertices = model.geometry(params.shape, params.expression)[0][model.mask_face]

    def errors(config: FitConfig) -> tuple[float, float]:
        fitted = fit(model, image, face_mask(landmarks, 128), landmarks, params, config=config).params
        geometry = model.geometry(fitted.shape, fitted.expression)[0][model.mask_face]
        rotation = float(np.degrees(np.abs(fitted.rotation - params.rotation)).max())
        return rotation, float(np.sqrt(((geometry - vertices) ** 2).sum(1).mean()))

    kept, followed = errors(NETWORK_START_FIT), errors(replace(NETWORK_START_FIT, landmark_iterations=60,
                                                                landmark_weight=1.0))
    assert kept[0] < 1.5 < followed[0] / 2 and kept[1] < 0.6 * followed[1]


def test_reconstructor_on_the_example_photo(model, detector, tmp_path):
    faces = Reconstructor(model, detector, fit_mode="fast")(EXAMPLE)
    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    assert 120 < x0 < x1 < 330 and 20 < y0 < y1 < 230  # the astronaut's face
    inter_ocular = np.linalg.norm(face.detected_landmarks[33, :2] - face.detected_landmarks[263, :2])
    assert face.landmark_error_px < 0.1 * inter_ocular
    assert face.landmarks68.shape == (68, 2) and face.landmarks478.shape == (478, 2)
    assert {"decode", "detection", "mesh", "crop", "fit_landmarks", "fit_appearance"} <= set(face.ms)
    params = face.parameters_dict()
    assert set(params["expression"]) == set(model.expression_names)
    assert abs(params["rotation_deg"]["yaw"]) < 20
    json.dumps(params)
    assert face.render(64).shape == (64, 64, 3)
    side = face.lit_by("side light")  # at the photo's exposure (or its lit side's), lit from the viewer's right
    assert face_irradiance(side.sh[0]) < face_irradiance(face.params.sh[0]) + 1e-4
    assert abs(face_highlight(side.sh[0]) - face_highlight(face.params.sh[0])) < 1e-4  # the bright example's
    assert np.array_equal(side.shape, face.params.shape) and side.sh[0, 3].mean() > 0.2  # sh[3]: the x band
    image = face.render(64, side).astype(float)
    assert image[20:44, 40:52].mean() > image[20:44, 12:24].mean() + 20  # lit from the viewer's right
    own = face.with_photo_texture(load_image(EXAMPLE))
    assert np.abs(own.render(64).astype(float) - face.render(64)).mean() > 1  # the photo's own skin, not the model's
    assert np.array_equal(face.with_photo_texture(EXAMPLE).skin, own.skin)  # a path, as the reconstructor takes it
    with pytest.raises(InputError, match=r"found in \(512 x 512 px\); this photo is 100 x 80 px"):
        face.with_photo_texture(np.zeros((80, 100, 3), np.uint8))  # not this face's photo


def test_cli_keeps_mediapipe_native_log_lines_out_of_the_terminal_unless_verbose(tmp_path):
    """Also when no photo could be read: MediaPipe's graphs, never used, wrote their start-up warnings past the
    silenced block as the process ended (a trial, with a missing file)."""
    def stderr_of(*extra: str, photo: str = EXAMPLE) -> str:
        command = [sys.executable, "-m", "inversefacenet", photo, "--no-fit", "--out", str(tmp_path), *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=300).stderr

    quiet, verbose = stderr_of(), stderr_of("--verbose")
    (tmp_path / "note.jpg").write_text("not a photo")  # the graphs are built, then never used
    unread = stderr_of(photo=str(tmp_path / "note.jpg"))
    native = ("W0000", "XNNPACK", "absl::InitializeLog")
    assert any(line in verbose for line in native)  # MediaPipe does write them (so the quiet run is a real check)
    assert not any(line in quiet for line in native), quiet
    assert "not an image" in unread and not any(line in unread for line in native), unread
    for ours in ("using network", "1 face(s)"):  # Python's own messages still reach the terminal
        assert ours in quiet and ours in verbose


def test_cli_writes_files_reports_json_and_survives_bad_photos(tmp_path, capsys):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a photo")
    status = main([EXAMPLE, str(bad), "--out", str(tmp_path / "out"), "--fit", "fast", "--json"])
    captured = capsys.readouterr()
    assert status == 1
    assert "bad.jpg" in captured.err
    # a trial: stderr, written to a file, was full of the progress bar's redraws, and the run said nothing at its end
    assert "\r" not in captured.err and captured.err.rstrip().endswith("\n1 of 2 files done, 1 failed")
    report, failed = (json.loads(line) for line in captured.out.strip().splitlines())  # one object per photo
    assert failed["image"] == str(bad) and "not an image" in failed["error"]
    assert report["image"] == EXAMPLE and len(report["faces"]) == 1
    face = report["faces"][0]
    assert len(face["landmarks68"]) == 68 and len(face["box"]) == 4
    assert face["loose_fit"] is False and 0 < face["landmark_error_iod"] < pipeline.LOOSE_FIT  # it fits well
    files = face["files"]
    assert set(files) == {"params", "obj", "mtl", "png", "ply", "glb", "overlay"}
    meshes = {key: trimesh.load(files[key], force="mesh", process=False) for key in ("obj", "ply", "glb")}
    assert len({len(mesh.vertices) for mesh in meshes.values()}) == 1 and len(meshes["glb"].vertices) > 10_000
    assert Path(files["png"]).name in Path(files["mtl"]).read_text()  # the OBJ's material points at its texture
    assert Image.open(files["png"]).size[0] >= 512 and Image.open(files["overlay"]).size == (512, 512)
    params = json.loads(open(files["params"]).read())
    assert params["rotation_deg"].keys() == {"pitch", "yaw", "roll"}
    assert params["source"] == {"image": EXAMPLE, "face": 1, "box": face["box"]}  # which photo and face it is


def test_cli_exports_the_photo_texture(tmp_path, capsys):
    """--photo-texture: the downloads wear the person's skin de-lit from the photo, not the model's albedo; with
    --animated, also the animatable GLB (its 52 morph targets)."""
    reports = {}
    for name, extra in (("model", []), ("photo", ["--photo-texture", "--animated"])):
        assert main([EXAMPLE, "--out", str(tmp_path / name), "--no-fit", "--json", *extra]) == 0
        reports[name] = json.loads(capsys.readouterr().out.strip())["faces"][0]["files"]
    colours = {name: trimesh.load(files["ply"], process=False).visual.vertex_colors[:, :3].astype(float)
               for name, files in reports.items()}  # fmt: skip
    textures = {name: np.asarray(Image.open(files["png"]), float) for name, files in reports.items()}
    assert np.abs(colours["photo"] - colours["model"]).mean() > 3  # another skin, in PLY
    assert np.abs(textures["photo"] - textures["model"]).mean() > 3  # and in the OBJ/GLB texture
    assert "animated_glb" not in reports["model"]
    animated = pygltflib.GLTF2().load(reports["photo"]["animated_glb"])
    assert len(animated.meshes[0].primitives[0].targets) == 52


def test_cli_run_again_into_the_same_folder_leaves_no_stale_files(tmp_path, capsys):
    """A trial ran with --animated, then without: the old animated GLB stayed beside parameters it no longer matched;
    a face the earlier run found and this one did not kept its folder. The user's own files stay."""
    out = tmp_path / "out"
    assert main([EXAMPLE, "--out", str(out), "--no-fit", "--animated"]) == 0
    face, stale = out / "astronaut_face1", out / "astronaut_face2"
    assert (face / "face_animated.glb").is_file()
    shutil.copytree(face, stale)  # as if an earlier run had found a second face
    (stale / "notes.txt").write_text("mine")
    assert main([EXAMPLE, "--out", str(out), "--no-fit"]) == 0
    capsys.readouterr()
    assert not (face / "face_animated.glb").exists() and (face / "face.glb").is_file()
    assert [path.name for path in stale.iterdir()] == ["notes.txt"]
    blank = tmp_path / "blank" / "astronaut.jpg"  # the same name, now a photo without a face (a trial's)
    blank.parent.mkdir()
    Image.new("RGB", (200, 200), (120, 120, 120)).save(blank)
    assert main([str(blank), "--out", str(out), "--no-fit"]) == 1
    assert "No face" in capsys.readouterr().err
    assert sorted(path.name for path in out.iterdir()) == ["astronaut_face2"]  # the user's notes kept it


def test_cli_into_its_photos_own_folder_twice_does_not_read_its_overlays(tmp_path, capsys):
    """A trial ran the command twice with --out the photos' folder: the second run read astronaut_overlay.png as a
    photo, and each run after it one level deeper. Named one by one (a shell's photos/*), the overlay and the face's
    folder in --out are not read either; a folder that is not --out is read whole."""
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "astronaut.jpg")
    for _ in range(2):
        assert main([str(folder), "--out", str(folder), "--no-fit", "--json"]) == 0
        reports = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
        assert [Path(report["image"]).name for report in reports] == ["astronaut.jpg"]
    named = sorted(str(path) for path in folder.iterdir())
    assert [Path(path).name for path in named] == ["astronaut.jpg", "astronaut_face1", "astronaut_overlay.png"]
    assert main([*named, "--out", str(folder), "--no-fit", "--json"]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [Path(report["image"]).name for report in reports] == ["astronaut.jpg"]
    assert main([str(folder), "--out", str(tmp_path / "elsewhere"), "--no-fit", "--json"]) == 0
    reports = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [Path(report["image"]).name for report in reports] == ["astronaut.jpg", "astronaut_overlay.png"]


def test_cli_refuses_an_empty_out_and_missing_photos_before_loading(tmp_path, capsys, monkeypatch):
    """``--out ""`` (an unset variable) wrote into the current folder; a missing photo loaded the pipeline for
    seconds and made --out first. Ctrl-C ends the run with a line, not a traceback."""
    with pytest.raises(SystemExit):
        main([EXAMPLE, "--out", ""])
    assert "the output folder is empty" in capsys.readouterr().err
    out = tmp_path / "new"
    monkeypatch.setattr("inversefacenet.pipeline.Reconstructor.load", lambda *a, **k: pytest.fail("loaded"))
    assert main([str(tmp_path / "missing.jpg"), "--out", str(out), "--json"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: no such file: {tmp_path / 'missing.jpg'}\n" and not out.exists()
    assert json.loads(captured.out) == {"image": str(tmp_path / "missing.jpg"),
                                        "error": f"no such file: {tmp_path / 'missing.jpg'}"}  # fmt: skip

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("inversefacenet.cli._run", interrupted)
    assert main([EXAMPLE, "--out", str(out)]) == 130
    assert capsys.readouterr().err.startswith("interrupted (Ctrl-C)")


def test_cli_reports_a_reduced_photo_in_the_file_s_own_pixels(tmp_path, capsys, monkeypatch):
    """A photo over the working size is reconstructed reduced; its box and points are still the file's pixels."""
    large = tmp_path / "large.jpg"
    Image.open(EXAMPLE).resize((1024, 1024), Image.LANCZOS).save(large, quality=95)
    assert main([str(large), "--out", str(tmp_path / "full"), "--no-fit", "--json"]) == 0
    full = json.loads(capsys.readouterr().out.strip())
    monkeypatch.setattr("inversefacenet.images.MAX_PIXELS", 300_000)  # 1 MP: read at half size
    assert main([str(large), "--out", str(tmp_path / "reduced"), "--no-fit", "--json"]) == 0
    reduced = json.loads(capsys.readouterr().out.strip())
    assert "reduced_by" not in full and reduced["reduced_by"] == 2
    points = [np.array(report["faces"][0]["landmarks68"]) for report in (full, reduced)]
    assert np.abs(points[1] - points[0]).mean() < 6  # file pixels both (half-size points would be ~130 px off)


def test_cli_reads_folders_keeps_same_named_photos_apart_and_checks_out_first(tmp_path, capsys):
    for folder in ("a", "b", "empty"):
        (tmp_path / folder).mkdir()
    for folder in ("a", "b"):
        shutil.copy(EXAMPLE, tmp_path / folder / "same.jpg")
    out = tmp_path / "out"
    arguments = [str(tmp_path / "a"), str(tmp_path / "b" / "same.jpg"), str(tmp_path / "empty")]
    assert main([*arguments, "--out", str(out), "--no-fit", "--json"]) == 1  # the empty folder fails
    captured = capsys.readouterr()
    assert "empty holds no image files" in captured.err
    reports = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [Path(r["image"]).parent.name for r in reports] == ["a", "b"]
    assert [Path(r["faces"][0]["files"]["glb"]).parent.name for r in reports] == ["same_face1", "same_2_face1"]
    with pytest.raises(SystemExit):  # argparse's usage error: the two options contradict each other
        main([EXAMPLE, "--out", str(out), "--no-fit", "--fit", "fast"])
    assert "--no-fit and --fit exclude each other" in capsys.readouterr().err
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    assert main([EXAMPLE, "--out", str(a_file)]) == 2  # refused before the model loads
    assert "it is a file" in capsys.readouterr().err
    assert main([EXAMPLE, "--out", "/proc"]) == 2  # a folder it cannot write in (a trial's ran, then crashed)
    assert "cannot use --out /proc as the output folder" in capsys.readouterr().err


def test_the_api_refuses_what_it_would_misread(model, detector, tmp_path):
    """A trial: reconstruct_image took a float or grey array into MediaPipe's and numpy's errors, fit_mode="medium"
    ran without the refinement, and export_animated wrote GLB bytes into anim.obj."""
    reconstructor = Reconstructor(model, detector, fit_mode=None, predictor=load_predictor(DEFAULT_CHECKPOINT, model))
    for array in (np.zeros((64, 64, 3)), np.zeros((64, 64), np.uint8), np.zeros((64, 64, 4), np.uint8)):
        with pytest.raises(InputError, match="takes an \\(H, W, 3\\) uint8 RGB array"):
            reconstructor.reconstruct_image(array)
    with pytest.raises(ValueError, match="unknown fit_mode 'medium'"):
        Reconstructor(model, detector, fit_mode="medium")
    face = reconstructor(EXAMPLE)[0]
    with pytest.raises(ValueError, match="GLB only"):
        face.export_animated(tmp_path / "anim.obj")
    assert not (tmp_path / "anim.obj").exists() and face.export_animated(tmp_path / "anim.GLB").is_file()


def test_cli_names_each_photo_s_outputs_once():
    photos = [Path("a/x.jpg"), Path("b/x.jpg"), Path("x_2.png"), Path("y.jpg")]
    assert [name for _, name in _named(photos)] == ["x", "x_2", "x_2_2", "y"]


def test_cli_reports_an_unreadable_checkpoint(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    assert main([EXAMPLE, "--out", str(tmp_path), "--checkpoint", str(bad)]) == 2
    assert "checkpoint" in capsys.readouterr().err


def test_onnxruntime_predictor_matches_torch_and_is_cached(model, tmp_path, monkeypatch):
    monkeypatch.setenv("INVERSEFACENET_CACHE", str(tmp_path))
    config = Predictor.load(DEFAULT_CHECKPOINT, model).config
    shape = (3, config.input_size, config.input_size, INPUT_CHANNELS[config.input_mask])
    inputs = np.random.default_rng(0).uniform(-0.5, 0.5, shape).astype(np.float32)
    torch_params = Predictor.load(DEFAULT_CHECKPOINT, model)(inputs)
    onnx = load_predictor(DEFAULT_CHECKPOINT, model, backend="onnxruntime")
    assert onnx.backend == "onnxruntime" and onnx.config == Predictor.load(DEFAULT_CHECKPOINT, model).config
    np.testing.assert_allclose(onnx(inputs).pack(), torch_params.pack(), atol=1e-4)
    (cached,) = tmp_path.glob("network-*.onnx")
    other = build_network("compact", 128, model.layout.size, split=config.input_mask == "split")
    cached.write_bytes(export_onnx(other, onnx.config))
    served = load_predictor(DEFAULT_CHECKPOINT, model, "onnxruntime")(inputs)  # the cached graph, not a new export
    assert np.abs(served.pack() - torch_params.pack()).max() > 0.1
    with pytest.raises(ValueError, match="expected network inputs"):
        onnx(inputs[:, :64])


def test_on_a_cpu_the_shipped_int8_graph_reads_faces_as_the_float_network_does(model, monkeypatch):
    """"auto" without a GPU runs the int8 graph shipped beside the checkpoint (quantized from these very weights,
    which it records, so a stale graph cannot ship unnoticed); on real faces its readings stay within a fraction of
    a degree and a millimetre of the float network's."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    quantized, exact = load_predictor(DEFAULT_CHECKPOINT, model), load_predictor(DEFAULT_CHECKPOINT, model, "torch")
    assert quantized.backend == "onnxruntime-int8" and quantized.config == exact.config
    config = exact.config
    photos = [load_image(EXAMPLE), two_face_photo(model)]
    detector = LandmarkDetector()
    points = [(photo, face.landmarks) for photo in photos for face in detector(photo)]
    detector.close()
    inputs = np.stack([face_input(photo, landmarks, config.input_size, config.camera, config.input_mask)
                       for photo, landmarks in points])  # fmt: skip
    apart = outcomes(model, exact(inputs), quantized(inputs))
    assert len(points) == 3 and apart["rotation_error_deg"] < 0.5 and apart["geometric_rmse_mm"] < 0.5, apart
    assert apart["mask_iou"] > 0.97, apart


def test_an_int8_graph_of_other_weights_is_not_used(model, tmp_path, caplog, monkeypatch):
    """A checkpoint replaced without a new ``export.quantize``, or a damaged graph: "auto" says so and runs the float
    network; asking for int8 fails in plain words, as it does where no graph ships."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("INVERSEFACENET_CACHE", str(tmp_path / "cache"))
    checkpoint = Path(shutil.copy(DEFAULT_CHECKPOINT, tmp_path / "net.safetensors"))
    assert load_predictor(checkpoint, model).backend == "onnxruntime"  # none ships beside it
    with pytest.raises(CheckpointError, match="no int8 graph"):
        load_predictor(checkpoint, model, "onnxruntime-int8")
    stale = onnx.load(int8_path(DEFAULT_CHECKPOINT))
    onnx.helper.set_model_props(stale, {QUANTIZED_FROM_KEY: "0" * 64})
    onnx.save(stale, int8_path(checkpoint))
    with caplog.at_level("WARNING"):
        assert load_predictor(checkpoint, model).backend == "onnxruntime"
    assert "quantized from other weights" in caplog.text
    with pytest.raises(CheckpointError, match="no int8 graph quantized from"):
        load_predictor(checkpoint, model, "onnxruntime-int8")
    int8_path(checkpoint).write_bytes(int8_path(DEFAULT_CHECKPOINT).read_bytes()[:100_000])  # cut short
    assert load_predictor(checkpoint, model).backend == "onnxruntime"


def test_onnxruntime_threads_are_set_per_predictor(model, tmp_path, monkeypatch):
    """One per usable core by default (one user's latency), idle threads sleeping; fewer when asked (the app's share),
    also through ``Reconstructor.load``."""
    monkeypatch.setenv("INVERSEFACENET_CACHE", str(tmp_path))
    for threads, expected in ((None, len(os.sched_getaffinity(0))), (1, 1), (3, 3)):
        options = load_predictor(DEFAULT_CHECKPOINT, model, "onnxruntime", threads).session.get_session_options()
        assert options.intra_op_num_threads == expected
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    served = Reconstructor.load(fit_mode=None, backend="onnxruntime", threads=1)
    assert served.predictor.session.get_session_options().intra_op_num_threads == 1


class Recording:
    """A predictor that records the inputs it was given; it predicts the mean face (and, with crop alignment,
    a fixed ``alignment``)."""

    def __init__(self, config: NetworkConfig, alignment: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> None:
        self.config, self.backend, self.inputs, self.alignment = config, "recording", [], np.array(alignment)

    def __call__(self, inputs: np.ndarray) -> FaceParameters:
        return FaceParameters.unpack(self.config.layout, self.outputs(inputs)[:, : self.config.layout.size])

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        self.inputs.append(inputs)
        params = FaceParameters.neutral(self.config.layout, len(inputs)).pack()
        if not self.config.crop_alignment:
            return params
        return np.concatenate([params, np.tile(self.alignment, (len(inputs), 1))], axis=1)


def test_a_network_with_crop_alignment_reads_the_crop_it_points_to(model, detector):
    """Its first pass says where the crop should be; the second pass and the result use that crop."""
    config = replace(NetworkConfig.for_model(model, "compact", 64), crop_alignment=True)
    shift = (0.05, -0.03, np.log(1.1))
    recording = Recording(config, shift)
    photo = two_face_photo(model)
    faces = Reconstructor(model, detector, predictor=recording, fit_mode=None).reconstruct_image(photo)
    first, second = recording.inputs  # two passes, each with both faces in one batch
    assert first.shape == second.shape == (2, 64, 64, 3)
    landmarks = faces[0].detected_landmarks
    seen = crop_for_landmarks(landmarks, 64)
    np.testing.assert_array_equal(first[0], face_input(photo, landmarks, 64))
    target = seen.aligned(np.array(shift))
    mask = face_mask(target.to_crop(landmarks[:, :2]), 64)
    np.testing.assert_array_equal(second[0], network_input(crop_image(photo, target), mask))
    # the target crop: 1.1x the scale (a 10 % smaller square of the photo), centred 5 % of the side right, 3 % up
    assert target.scale == pytest.approx(seen.scale * 1.1)
    centre = np.mean(np.reshape(target.box, (2, 2)), axis=0)
    np.testing.assert_allclose(centre, np.mean(np.reshape(seen.box, (2, 2)), axis=0) + np.array([0.05, -0.03]) * 64
                               / seen.scale, atol=1e-9)  # fmt: skip
    # the result is framed by the network's crop (at the evaluation's size), so its renders sit where it read the face
    np.testing.assert_allclose(faces[0].box, target.box, atol=1e-9)


def test_crop_alignment_round_trips():
    rng = np.random.default_rng(3)
    for _ in range(20):
        seen = Crop(rng.uniform(0.2, 3), tuple(rng.uniform(-300, 300, 2)), 128)
        target = Crop(seen.scale * rng.uniform(0.8, 1.25), tuple(rng.uniform(-300, 300, 2)), 128)
        aligned = seen.aligned(seen.alignment_to(target))
        assert aligned.scale == pytest.approx(target.scale)
        np.testing.assert_allclose(aligned.offset, target.offset, atol=1e-9)
    np.testing.assert_allclose(seen.alignment_to(seen), 0, atol=1e-12)
    np.testing.assert_allclose(seen.resized(256).box, seen.box, atol=1e-9)


def test_network_crops_follow_the_checkpoints_crop_scale(model, detector, tmp_path):
    """A checkpoint trained at another crop scale gets its inputs cut at that scale (#16)."""
    config = replace(NetworkConfig.for_model(model, "compact", 64), crop_scale=1.6, camera_distance_mm=800.0)
    path = save_checkpoint(tmp_path / "wide.safetensors", build_network("compact", 64, model.layout.size), config)
    predictor = load_predictor(path, model, backend="torch")
    assert predictor.config.camera == Camera(distance_mm=800.0, crop_scale=1.6)
    recording = Recording(predictor.config)
    photo = two_face_photo(model)
    faces = Reconstructor(model, detector, predictor=recording, fit_mode=None).reconstruct_image(photo)
    (batch,) = recording.inputs  # both faces in one batch
    assert len(faces) == 2 and batch.shape == (2, 64, 64, 3)
    landmarks = faces[0].detected_landmarks
    np.testing.assert_array_equal(batch[0], face_input(photo, landmarks, 64, Camera(crop_scale=1.6)))
    assert not np.array_equal(batch[0], face_input(photo, landmarks, 64))
    assert faces[0].camera.distance_mm == 800.0
    # the fit works in the network's camera too: its crop and its renders share the 1.6 rule and 800 mm
    # (the result's renders, e.g. the overlay and the app's views, use faces[0].camera: they must show the fit's face)
    fitted = Reconstructor(model, detector, predictor=predictor, fit_mode="fast").reconstruct_image(photo)[0]
    assert fitted.camera == predictor.config.camera
    shown = render(model, fitted.params, fitted.crop.size, camera=fitted.camera).pixels[0, model.landmarks_mediapipe]
    np.testing.assert_allclose(fitted.crop.to_photo(shown), fitted.landmarks478, atol=0.05)


def test_without_the_fit_the_evaluation_waits_until_asked(model, detector, monkeypatch):
    """Nothing the parameters do not need: no evaluation render and no landmark correction until the evaluation is
    read; then the same residuals as with the points corrected at once."""
    reconstructor = Reconstructor(model, detector, predictor=Predictor.load(DEFAULT_CHECKPOINT, model), fit_mode=None)
    corrected = []
    offsets = pipeline.measured_offsets()
    monkeypatch.setattr(pipeline, "measured_offsets", lambda: corrected.append(1) or offsets)
    face = reconstructor(EXAMPLE)[0]
    assert face._evaluation is None and set(face.ms) == {"decode", "detection", "mesh", "network", "crop"}
    assert not corrected
    assert face.landmarks68.shape == (68, 2) and np.isfinite(face.photometric_rmse)
    assert face._evaluation is not None and len(corrected) == 1
    pose = np.degrees(face.params.rotation[0, :2])
    pixels, mask, points = pipeline.fit_input(np.asarray(Image.open(EXAMPLE).convert("RGB")),
                                              offsets.correct(face.detected_landmarks, pose), face.crop)  # fmt: skip
    error, rmse, out = pipeline.evaluate_fit(model, face.params, pixels, mask, points, face.camera)
    eager = pipeline.Evaluation.of(model, face.crop, out, error, rmse)
    assert face.photometric_rmse == pytest.approx(eager.photometric_rmse)
    assert face.evaluation.landmark_error_px == pytest.approx(eager.landmark_error_px)


def test_the_overlay_of_a_face_without_the_fit_does_not_render_it_twice(model, detector, monkeypatch):
    """draw_overlay takes such a face's 68 points from its silhouette's render, not from an evaluation (a second
    render, 24 ms a frame of a video's overlay): the same picture as once the evaluation is read, one render."""
    reconstructor = Reconstructor(model, detector, predictor=Predictor.load(DEFAULT_CHECKPOINT, model), fit_mode=None)
    photo = np.asarray(Image.open(EXAMPLE).convert("RGB"))
    face = reconstructor.reconstruct_image(photo)[0]
    renders = []
    monkeypatch.setattr(pipeline, "render", lambda *args, **kwargs: renders.append(1) or render(*args, **kwargs))
    before = pipeline.draw_overlay(photo, [face])
    assert len(renders) == 1 and not face.evaluated
    face.evaluation  # noqa: B018 (read: the evaluation is made)
    assert face.evaluated and np.array_equal(pipeline.draw_overlay(photo, [face]), before)


def test_a_face_in_a_black_and_white_photo_is_grey_in_every_albedo_it_shows(model, detector, tmp_path):
    """The example photo in black and white: the face is found grey, and the model albedo (previews, PLY, texture)
    and the photo texture (where the photo does not show the face too) carry no skin colour; in colour they do."""
    reconstructor = Reconstructor(model, detector, predictor=Predictor.load(DEFAULT_CHECKPOINT, model), fit_mode=None)
    colour_photo = np.asarray(Image.open(EXAMPLE).convert("RGB"))
    grey_photo = np.asarray(Image.open(EXAMPLE).convert("L").convert("RGB"))
    colour, grey = reconstructor(colour_photo)[0], reconstructor(grey_photo)[0]
    assert grey.grey and not colour.grey
    assert np.ptp(colour.albedo, axis=1).mean() > 0.1  # a skin tone: red well above blue
    assert np.ptp(grey.albedo, axis=1).max() < 1e-6
    assert np.ptp(grey.params.sh, axis=-1).max() < 1e-6  # and a grey light, as the fit's rule makes it
    textured = grey.with_photo_texture(grey_photo)
    assert np.ptp(textured.skin, axis=1).max() < 1e-3  # grey photo over grey light; unseen parts desaturated
    ply = trimesh.load(textured.export(tmp_path / "face.ply")[0], process=False).visual.vertex_colors[:, :3]
    assert np.ptp(ply.astype(int), axis=1).max() <= 5


def test_a_small_faces_number_in_a_big_photo_is_readable_when_the_photo_is_shown_small():
    """On a 4000 px photo shown 1000 px wide, a small face's number was a white blot (a tiny font under strokes
    sized for the photo): now at least 12 display px tall, and a glyph with background inside its box."""
    canvas = np.zeros((3000, 4000, 3), np.uint8)
    pipeline._label(canvas, "2", (1000.0, 2000.0, 1080.0, 2080.0), thickness=round(4000 / 400))
    ys, xs = np.nonzero((canvas == 255).all(-1))
    glyph = (canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] == 255).all(-1)
    assert glyph.shape[0] >= 12 * 4000 / 1000 and glyph.mean() < 0.6, (glyph.shape, glyph.mean())
