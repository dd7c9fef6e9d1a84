"""The page's TypeScript re-implementations against Python, by golden data (Node, no browser).

export/goldens.py writes inputs and Python's outputs; ``npm run parity`` runs the page's own
functions (rotation matrix, lamp -> SH and back, vertex normals, crop rule, face mask, photo texture, the live
tracker's identity hold, its identity through a lost face) on the same inputs.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.goldens import write_goldens
from inversefacenet.render.camera import Camera
from inversefacenet.tracking import RETURN_SIZE_RATIO, TrackerConfig

WEB = Path(__file__).resolve().parents[1] / "webassets"


@pytest.fixture(scope="module")
def parity(model, tmp_path_factory):
    if shutil.which("npm") is None or not (WEB / "node_modules" / "vite").is_dir():
        pytest.skip("Node.js and webassets/node_modules are needed (make web-build installs them)")
    folder = tmp_path_factory.mktemp("goldens")
    path = write_goldens(model, Camera(crop_scale=1.4), folder)  # not the default crop scale: nothing assumed
    result = subprocess.run(["npm", "run", "--silent", "parity", "--", str(path)], cwd=WEB, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(path.read_text()), json.loads(result.stdout)


def test_rotation_matrices_and_lamp_sh(parity):
    golden, page = parity
    np.testing.assert_allclose(page["rotation"], golden["rotation"]["matrices"], atol=1e-12)
    np.testing.assert_allclose(page["lamp_sh"], golden["lamp_sh"]["sh"], atol=1e-6)


def test_the_lamp_read_from_sh(parity):
    """Where the page's lamp sliders start for a face's light: the lamp Python reads from the same SH."""
    golden, page = parity
    lights = golden["light_from_sh"]["lights"]
    expected = [[g["azimuth_deg"], g["elevation_deg"], g["intensity"], g["ambient"], *g["colour"]] for g in lights]
    page_lights, expected = np.array(page["light_from_sh"]), np.array(expected)
    turn = np.remainder(page_lights[:, 0] - expected[:, 0] + 180, 360) - 180  # azimuths a full turn apart agree
    np.testing.assert_allclose(turn, 0, atol=1e-9)
    np.testing.assert_allclose(page_lights[:, 1:], expected[:, 1:], atol=1e-9)
    assert golden["light_from_sh"]["lights"][-1]["intensity"] == 0  # the light without a lamp that adds light
    assert page["light_from_broken_sh"] == [0, 20, 0, 0, 1, 1, 1]  # a NaN: nothing, not an exception
    matched = [[g["intensity"], g["ambient"]] for g in golden["light_from_sh"]["matched"]]  # the presets' exposure rule
    np.testing.assert_allclose(page["matched"], matched, rtol=1e-6)  # Python sums float32 SH
    np.testing.assert_allclose(page["matched_sh"], golden["light_from_sh"]["matched_sh"], atol=1e-6)  # + balance


def test_params_json_numbers_are_pythons(parity):
    """The page's params.json (and recording.json) numbers from a network vector: the angles to 1e-4 degrees and
    the rest as the shortest decimals of their float32, exactly what Python writes."""
    golden, page = parity
    assert page["params_json"] == golden["params_json"]["json"]


def test_vertex_normals(parity):
    golden, page = parity
    np.testing.assert_allclose(page["normals"], golden["normals"]["normals"], atol=1e-5)


def test_crop_rule(parity):
    golden, page = parity
    assert page["crop"]["scale"] == pytest.approx(golden["crop"]["scale"], rel=1e-6)
    np.testing.assert_allclose(page["crop"]["offset"], golden["crop"]["offset"], atol=1e-3)  # float32 landmarks
    np.testing.assert_allclose(page["aligned"], golden["aligned"]["crops"], rtol=1e-9)  # the same float64 arithmetic
    np.testing.assert_allclose(page["alignment_to"], golden["alignment_to"]["alignments"], atol=1e-12)


def test_network_input_under_each_rule(parity):
    """The page's input for a face network, masked, whole or split (colours and mask), as Python builds it (float32
    there, float64 then rounded here)."""
    golden, page = parity
    expected = golden["network_input"]["inputs"]
    assert sorted(page["network_input"]) == sorted(expected) == ["face", "none", "split"]
    for rule, values in expected.items():
        np.testing.assert_allclose(page["network_input"][rule], values, atol=1e-6, err_msg=rule)


def test_face_mask_follows_cv2_up_to_its_outline(parity):
    """cv2.fillPoly fills pixel centres and draws the outline with fixed-point lines; the page does the
    same in floating point, so pixels may differ only where an edge passes within a pixel of their centre."""
    golden, page = parity
    size = golden["mask"]["size"]
    ours, theirs = (np.array(m, bool).reshape(size, size) for m in (page["mask"], golden["mask"]["mask"]))
    assert (ours & theirs).sum() / (ours | theirs).sum() > 0.98
    points = np.array(golden["mask"]["landmarks"]).reshape(-1, 2)
    rule = golden["mask"]["rule"]
    starts, ends = [], []
    for polygon in (rule["oval"], rule["inner_lips"], *rule["eyes"]):
        starts.append(points[polygon])
        ends.append(points[np.roll(polygon, -1)])
    starts, ends = np.concatenate(starts), np.concatenate(ends)
    centres = np.argwhere(ours != theirs)[:, ::-1] + 0.5  # x, y
    along = ends - starts
    t = np.clip(np.einsum("pkd,kd->pk", centres[:, None] - starts, along) / np.einsum("kd,kd->k", along, along), 0, 1)
    distance = np.linalg.norm(centres[:, None] - (starts + t[..., None] * along), axis=2).min(axis=1)
    assert distance.max() < 1.0


@pytest.fixture(scope="module")
def photo_texture(parity):
    golden, page = parity
    return golden["photo_texture"], page["photo_texture"]


def test_texel_map_matches_python(photo_texture):
    """The atlas raster is the numba rasterizer's float32 arithmetic: the same texels. The zones come from
    texel points on the mean face, blended in float64 here and float32 in scipy: a texel within ~1e-5 mm
    of a zone's border may fall on the other side, so a few in a thousand may differ (none did when written)."""
    golden, page = photo_texture
    assert page["texels"]["pixel"] == golden["texels"]["pixel"]
    assert page["texels"]["skin"] == golden["texels"]["skin"]
    for name in ("mirror", "cheeks", "bridge", "outer"):
        differ = np.not_equal(page["texels"][name], golden["texels"][name]).mean()
        assert differ <= 1e-3, (name, differ)


def test_photo_texture_matches_python(photo_texture):
    """The painted render of export/goldens.py (cheek mark kept, hair and a highlight rejected, the turned
    face's hidden side mirrored). The page computes in float64 where Python has float32 and OpenCV's
    filters, so values differ by float rounding (written: 2e-4 at most per vertex, 2e-5 in the weights);
    the texture is uint8, where such a difference can round to the next level."""
    golden, page = photo_texture
    size = golden["size"]
    np.testing.assert_allclose(page["vertex_albedo"], golden["vertex_albedo"], atol=1e-3)
    np.testing.assert_allclose(page["seen"], golden["seen"], atol=1e-4)
    ours, theirs = (np.array(t, int).reshape(size * size, 3) for t in (page["texture"], golden["texture"]))
    covered = np.array(golden["texels"]["pixel"])
    difference = np.abs(ours - theirs)[covered]
    assert difference.max() <= 1 and (difference == 0).all(axis=1).mean() > 0.999


def test_photo_texture_gutters_take_a_neighbouring_texel(photo_texture):
    """Gutters: Python takes the Euclidean-nearest covered texel, the page grows rings of neighbours (as its
    model-albedo bake does); ties make the choice differ. What look-ups at chart borders read, the empty
    texels next to the atlas, must carry the colour of one of their covered neighbours."""
    golden, page = photo_texture
    size = golden["size"]
    ours, theirs = (np.array(t, int).reshape(size, size, 3) for t in (page["texture"], golden["texture"]))
    covered = np.zeros((size, size), bool)
    covered.flat[golden["texels"]["pixel"]] = True
    empty = -1000  # far from any colour
    padded = np.pad(np.where(covered[..., None], theirs, empty), ((1, 1), (1, 1), (0, 0)), constant_values=empty)
    neighbours = np.stack([padded[1:-1, :-2], padded[1:-1, 2:], padded[:-2, 1:-1], padded[2:, 1:-1]])
    border = ~covered & (neighbours >= 0).all(axis=3).any(axis=0)
    assert border.sum() > 100
    closest = np.abs(neighbours - ours[None]).max(axis=3).min(axis=0)
    assert closest[border].max() <= 1


def test_the_live_identity_hold(parity):
    """The page holds a track's shape and albedo as tracking.py does: the mean of the first readings, then kept;
    the rest of each frame's parameters pass as filtered."""
    golden, page = parity
    np.testing.assert_allclose(page["identity"], golden["identity"]["held"], atol=1e-6)
    held, frames = np.array(page["identity"]), golden["identity"]["frames"]
    for start, stop in golden["identity"]["ranges"]:  # shape, albedo: held after the first frames
        assert np.all(held[frames:, start:stop] == held[-1, start:stop])
        assert not np.all(held[frames - 1, start:stop] == held[frames - 2, start:stop])  # ... and not before


def test_the_live_tracker_keeps_a_lone_faces_identity_through_a_short_loss(parity):
    """The page's tracker on a timeline where the face is lost for 0.9, 1.9 and 2.07 s and then comes back at half
    its size: the identity goes on from the lost face's mean after a loss up to tracking.py's identity_keep_s of a face
    where it was (RETURN_SIZE_RATIO), and starts afresh otherwise."""
    golden, page = parity
    timeline, readings = golden["identity"]["timeline"], np.array(golden["identity"]["readings"])
    assert [row is None for row in page["kept"]] == [size is None for _, size in timeline]
    outputs = np.array([row for row in page["kept"] if row is not None])
    starts, seen, size_seen, k = [], None, None, 0  # the readings where an identity starts, from the timeline
    for seconds, size in timeline:
        if size is None:
            continue
        returned = seen is not None and seconds - seen <= TrackerConfig().identity_keep_s
        if not returned or not 1 / RETURN_SIZE_RATIO <= size / size_seen <= RETURN_SIZE_RATIO:
            starts.append(k)
        seen, size_seen, k = seconds, size, k + 1
    assert starts == [0, 8, 10]  # the timeline has each case: kept after 0.9 and 1.9 s, not after 2.07 s nor halved
    for start, stop in golden["identity"]["ranges"]:
        for k in range(len(outputs)):
            first = max(s for s in starts if s <= k)
            np.testing.assert_allclose(outputs[k, start:stop], readings[first : k + 1, start:stop].mean(0), atol=1e-5)


def test_a_face_grey_in_its_photo(parity):
    """The page's grey test and desaturation (main.ts: grey faces show the model albedo without colour)."""
    golden, page = parity
    assert golden["grey"]["grey"] == [True, True, False]  # the golden spans both sides of the test's level
    assert page["grey"]["grey"] == golden["grey"]["grey"]
    np.testing.assert_allclose(page["grey"]["desaturated"], golden["grey"]["desaturated"], atol=1e-6)


def test_the_mirror_image_of_a_reading_and_the_batch_read_both_ways(parity, model):
    """The page's reading both ways (mirror.ts) against ParameterMirror, and a reading of the same crop twice: its
    answer is the mean of a face and its mirror image, symmetric in yaw."""
    golden, page = parity
    np.testing.assert_allclose(page["mirror"]["mirrored"], golden["mirror"]["mirrored"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(page["mirror"]["with_flipped"], golden["mirror"]["with_flipped"])
    vectors, mirrored = np.array(golden["mirror"]["vectors"]), np.array(golden["mirror"]["mirrored"])
    np.testing.assert_allclose(page["mirror"]["both_ways"], (vectors + mirrored) / 2, rtol=1e-5, atol=1e-5)
    yaw = model.layout.slices["rotation"].start + 1
    np.testing.assert_allclose(np.array(page["mirror"]["both_ways"])[:, yaw], 0, atol=1e-7)
