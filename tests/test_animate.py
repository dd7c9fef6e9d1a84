"""The animatable GLB (inversefacenet.animate): morph targets decoded by hand from the file's bytes
against the face model's own geometry, the static GLB's mesh, a session's animation and JSON
round trips, and three.js's GLTFLoader in Chromium morphing the face to jawOpen = 1."""

import base64
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pygltflib
import pytest
import trimesh
from scipy.spatial.transform import Rotation, Slerp

from inversefacenet import FaceParameters, rotation_matrix
from inversefacenet.animate import animated_glb, frame_dict, main, read_session, session_dict
from inversefacenet.atlas import UVAtlas
from inversefacenet.export import bake_face_texture, export_face, face_normals
from tests.conftest import known_face

THREE = Path(__file__).resolve().parents[1] / "webassets" / "node_modules" / "three"
PAGE = Path(__file__).resolve().parent / "fixtures" / "three_morph.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TIMES = np.array([0.0, 0.1, 0.25, 0.4, 0.5])
TOLERANCE_MM = 0.1


@pytest.fixture(scope="module")
def face(model):
    """A posed face with an open jaw and a half smile, its baked texture and its morphable GLB."""
    params = known_face(model, 4)
    texture = bake_face_texture(model, np.clip(model.albedo(params.albedo)[0], 0, 1))
    return params, texture, pygltflib.GLTF2.load_from_bytes(animated_glb(model, params, texture=texture))


@pytest.fixture(scope="module")
def session(model, face):
    """Five frames: the jaw opening and closing, the head turning, the identity of ``face``."""
    params, texture, _ = face
    frames = FaceParameters.concatenate([params] * len(TIMES))
    jaw = model.expression_names.index("jawOpen")
    frames.expression[:, jaw] = [0.0, 0.5, 1.0, 0.4, 0.1]
    # -80 -> -100 deg yaw: scipy's quaternions of the two have opposite signs, the writer must flip one
    frames.rotation[:, 1] = np.radians([-30, -10, 20, -80, -100])
    return frames, pygltflib.GLTF2.load_from_bytes(animated_glb(model, frames, TIMES, texture))


def accessor(gltf: pygltflib.GLTF2, index: int) -> np.ndarray:
    """Decode a float accessor by the glTF spec (dense or sparse over zeros), independently of the writer."""
    acc = gltf.accessors[index]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc.type]
    assert acc.componentType == pygltflib.FLOAT
    blob = gltf.binary_blob()

    def view(view_index: int, dtype: str, count: int) -> np.ndarray:
        start = gltf.bufferViews[view_index].byteOffset or 0
        return np.frombuffer(blob, dtype, count, start)

    data = np.zeros((acc.count, width), np.float32)
    if acc.bufferView is not None:
        data[:] = view(acc.bufferView, "<f4", acc.count * width).reshape(-1, width)
    if acc.sparse is not None:
        assert acc.sparse.indices.componentType == pygltflib.UNSIGNED_INT
        rows = view(acc.sparse.indices.bufferView, "<u4", acc.sparse.count)
        data[rows] = view(acc.sparse.values.bufferView, "<f4", acc.sparse.count * width).reshape(-1, width)
    return data


def morphed(gltf: pygltflib.GLTF2, weights: np.ndarray, attribute: str = "POSITION") -> np.ndarray:
    """base + sum_i w_i delta_i, as a glTF viewer computes it (positions in metres)."""
    (primitive,) = gltf.meshes[0].primitives
    out = accessor(gltf, getattr(primitive.attributes, attribute)).astype(np.float64)
    for weight, target in zip(weights, primitive.targets, strict=True):
        out += weight * accessor(gltf, target[attribute])
    return out


def one_hot(model, name: str) -> np.ndarray:
    return np.eye(model.n_expression, dtype=np.float32)[[model.expression_names.index(name)]]


def test_trimesh_and_pygltflib_load_it_with_the_arkit_names_and_the_recovered_weights(model, face):
    params, _, gltf = face
    mesh = gltf.meshes[0]
    assert mesh.extras["targetNames"] == model.expression_names and len(model.expression_names) == 52
    assert len(mesh.primitives[0].targets) == 52
    assert all(set(target) == {"POSITION", "NORMAL"} for target in mesh.primitives[0].targets)
    np.testing.assert_array_equal(np.float32(mesh.weights), params.expression[0])
    loaded = trimesh.load(io.BytesIO(b"".join(gltf.save_to_bytes())), file_type="glb")
    (geometry,) = loaded.geometry.values()
    atlas = UVAtlas.for_model(model)
    assert len(geometry.vertices) == len(atlas.vertex)
    np.testing.assert_array_equal(geometry.faces, atlas.triangles)
    assert geometry.visual.material.baseColorTexture.size == (1024, 1024)


def test_it_is_the_static_glb_at_the_default_weights(model, face, tmp_path):
    """Same split vertices, triangles, uvs, texture and pose as export_face's GLB."""
    params, texture, gltf = face
    vertices = model.geometry(params.shape, params.expression)[0]
    albedo = np.clip(model.albedo(params.albedo)[0], 0, 1)
    export_face(tmp_path / "face.glb", model, vertices, albedo, rotation_matrix(params.rotation)[0], texture)
    static = pygltflib.GLTF2.load(tmp_path / "face.glb")
    (base,), (primitive,) = static.meshes[0].primitives, gltf.meshes[0].primitives
    np.testing.assert_allclose(morphed(gltf, params.expression[0]), accessor(static, base.attributes.POSITION),
                               atol=1e-7)  # fmt: skip
    np.testing.assert_array_equal(accessor(gltf, primitive.attributes.TEXCOORD_0),
                                  accessor(static, base.attributes.TEXCOORD_0))  # fmt: skip
    np.testing.assert_allclose(static.nodes[0].rotation, gltf.nodes[0].rotation, atol=1e-7)
    assert gltf.images[0].mimeType == "image/png" and len(gltf.images) == len(static.images) == 1
    assert gltf.animations == []


@pytest.mark.parametrize("name", ["jawOpen", "mouthSmileLeft"])
def test_one_target_at_one_gives_the_face_models_own_geometry(model, face, name):
    params, _, gltf = face
    weights = one_hot(model, name)
    expected = model.geometry(params.shape, weights)[0]
    error_mm = np.abs(morphed(gltf, weights[0]) * 1e3 - UVAtlas.for_model(model).split(expected)).max()
    assert error_mm < TOLERANCE_MM / 100  # float32 metres: about 1e-5 mm
    normals = morphed(gltf, weights[0], "NORMAL")
    np.testing.assert_allclose(normals, face_normals(model, expected), atol=1e-4)  # float32 unit vectors
    assert np.abs(morphed(gltf, 0 * weights[0]) * 1e3 - UVAtlas.for_model(model).split(expected)).max() > 5
    assert np.abs(morphed(gltf, 0 * weights[0], "NORMAL") - normals).max() > 0.3  # the normal deltas matter


def test_a_sessions_animation_round_trips(model, session):
    frames, gltf = session
    (animation,) = gltf.animations
    assert animation.name == "session"
    paths = {channel.target.path: animation.samplers[channel.sampler] for channel in animation.channels}
    assert {channel.target.node for channel in animation.channels} == {0} and set(paths) == {"weights", "rotation"}
    for sampler in paths.values():
        assert sampler.interpolation == "LINEAR"
        np.testing.assert_array_equal(accessor(gltf, sampler.input)[:, 0], TIMES.astype(np.float32))
    weights = accessor(gltf, paths["weights"].output).reshape(len(TIMES), model.n_expression)
    np.testing.assert_array_equal(weights, frames.expression)
    quaternions = accessor(gltf, paths["rotation"].output)
    assert (np.sum(quaternions[1:] * quaternions[:-1], axis=1) > 0).all()  # the short way between frames
    matrices = Rotation.from_quat(quaternions).as_matrix()
    np.testing.assert_allclose(matrices, rotation_matrix(frames.rotation.astype(np.float64)), atol=1e-6)
    np.testing.assert_allclose(gltf.meshes[0].weights, frames.expression[0])


def test_session_json_round_trips_in_every_input_form(model, session):
    frames, _ = session
    data = json.loads(json.dumps(session_dict(model, frames, TIMES)))
    assert data["frames"][2]["expression"]["jawOpen"] == 1.0 and data["frames"][1]["time_s"] == 0.1
    packed = {"times_s": TIMES.tolist(), "parameters": frames.pack().tolist()}
    for source in (data, packed):
        read, times = read_session(model, source)
        np.testing.assert_array_equal(times, TIMES)
        np.testing.assert_allclose(read.pack(), frames.pack(), atol=1e-6)
    single, times = read_session(model, data["frames"][0])  # params.json: one frame, no animation
    assert times is None and single.batch_size == 1


def test_params_json_writes_the_numbers_a_user_set_not_float32_noise(model):
    """A pose set to 12.3 degrees and an ambient of 0.88 read so in params.json (float32 makes them
    12.299999237060547 and 0.8799999952316284 as plain floats), and read back to the same float32 values."""
    params = FaceParameters.neutral(model.layout, ambient=0.88)
    params.rotation[0] = np.radians(np.float32([12.3, -4.88, 0.5]))
    text = json.dumps(frame_dict(model, params, 0))
    assert '"pitch": 12.3, "yaw": -4.88, "roll": 0.5' in text and '"sh": [[0.88, 0.88, 0.88]' in text
    read, _ = read_session(model, json.loads(text))
    np.testing.assert_array_equal(read.sh, params.sh)
    np.testing.assert_allclose(read.rotation, params.rotation, atol=1e-6)


def test_bad_sessions_say_what_is_wrong(model, session):
    frames, _ = session
    with pytest.raises(ValueError, match="times must increase"):
        animated_glb(model, frames, TIMES[::-1])
    with pytest.raises(ValueError, match="one per frame"):
        animated_glb(model, frames, TIMES[1:])
    with pytest.raises(ValueError, match="one parameter set"):
        animated_glb(model, frames)
    data = session_dict(model, frames, TIMES)
    data["frames"][0]["expression"]["jawOpenn"] = 1.0
    with pytest.raises(ValueError, match="jawOpenn"):
        read_session(model, data)
    with pytest.raises(ValueError, match="another face model"):
        read_session(model, {**data, "face_model_sha256": "0" * 64})


def test_bad_numbers_in_a_session_are_named(model, session):
    """A trial's shortened shape, empty frames and NaN yaw came out as numpy's broadcast, concatenate and SVD
    errors."""
    frames, _ = session
    good = session_dict(model, frames, TIMES)

    def fails(change, words: str) -> None:
        data = json.loads(json.dumps(good))
        change(data)
        with pytest.raises(ValueError, match=words):
            read_session(model, data)

    fails(lambda d: d["frames"][1].update(shape=d["frames"][1]["shape"][:10]),
          f"frame 2: shape has 10 values in shape \\(10,\\), expected {model.layout.n_shape}")
    half = model.layout.n_shape // 2
    fails(lambda d: d["frames"][0].update(shape=[d["frames"][0]["shape"][:half], d["frames"][0]["shape"][half:]]),
          f"frame 1: shape has {model.layout.n_shape} values in shape \\(2, {half}\\)")  # the count right, nested
    fails(lambda d: d.update(frames={"a": 1}), "frames is not a list of frames")
    fails(lambda d: d["frames"][0]["rotation_deg"].update(yaw=float("nan")), "frame 1: rotation holds a value that")
    fails(lambda d: d["frames"][0].update(sh="bright"), "frame 1: sh is not a list of numbers")
    fails(lambda d: d.update(frames=[]), "no frames")
    with pytest.raises(ValueError, match="not a finite number"):
        read_session(model, {"times_s": [0.0], "parameters": [[float("inf")] * model.layout.size]})
    with pytest.raises(ValueError, match="parameters is not a list of numbers"):  # ragged rows
        read_session(model, {"times_s": [0.0, 1.0], "parameters": [[0.0] * model.layout.size, [0.0]]})
    assert read_session(model, good)[0].batch_size == len(TIMES)  # the control: unchanged, it reads


def test_command_line_writes_the_glb_and_the_frames(model, session, tmp_path):
    frames, _ = session
    packed = tmp_path / "session.json"
    packed.write_text(json.dumps({"times_s": TIMES.tolist(), "parameters": frames.pack().tolist()}))
    assert main([str(packed), "--out", str(tmp_path / "anim.glb"), "--json", str(tmp_path / "frames.json")]) == 0
    assert len(pygltflib.GLTF2.load(tmp_path / "anim.glb").animations) == 1
    assert len(json.loads((tmp_path / "frames.json").read_text())["frames"]) == len(TIMES)
    assert main([str(tmp_path / "missing.json"), "--out", str(tmp_path / "x.glb")]) == 2


def test_command_line_says_in_plain_words_what_is_wrong(session, tmp_path, capsys):
    """A trial read "KeyError('expression')", and a traceback for a GLB it could not write."""
    wrong, broken, good = tmp_path / "wrong.json", tmp_path / "broken.json", tmp_path / "good.json"
    wrong.write_text(json.dumps({"sh": 1}))
    broken.write_text("nope")
    good.write_text(json.dumps({"times_s": TIMES.tolist(), "parameters": session[0].pack().tolist()}))
    listed = tmp_path / "listed.json"
    listed.write_text("[]")
    cases = [(tmp_path / "missing.json", "cannot read it: No such file or directory"), (broken, "not JSON"),
             (wrong, "no 'expression' field: not a recorded session, params.json or packed vectors"),
             (listed, "not a JSON object")]  # fmt: skip
    for path, words in cases:
        assert main([str(path), "--out", str(tmp_path / "x.glb")]) == 2
        assert capsys.readouterr().err.startswith(f"error: {path}: {words}")
    (tmp_path / "taken").write_text("a file, not a folder")
    out = tmp_path / "taken" / "x.glb"
    assert main([str(good), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write {out}: a file is in the way of its folder")


@pytest.fixture(scope="module")
def three_page():
    if CHROMIUM is None or not THREE.is_dir():
        pytest.skip("needs Debian chromium and webassets/node_modules (make web-build)")
    from playwright.sync_api import sync_playwright

    files = {"/page.html": PAGE}

    def serve(route):  # the page and three's modules from disk: nothing leaves the machine
        path = route.request.url.split("fixture.test", 1)[1]
        route.fulfill(path=files.get(path) or THREE / path.removeprefix("/three/"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.route("http://fixture.test/**", serve)
        page.goto("http://fixture.test/page.html")
        page.wait_for_function("window.ready === true")
        yield page
        browser.close()


def test_three_js_morphs_jaw_open_to_the_face_models_geometry(model, session, three_page):
    frames, gltf = session
    glb = base64.b64encode(b"".join(gltf.save_to_bytes())).decode()
    result = three_page.evaluate("([glb, time]) => window.morphed(glb, {jawOpen: 1}, time)", [glb, 0.45])
    assert result["names"] == model.expression_names and result["textured"]
    np.testing.assert_allclose(result["defaults"], frames.expression[0], atol=1e-7)
    expected = UVAtlas.for_model(model).split(model.geometry(frames.shape[:1], one_hot(model, "jawOpen"))[0])
    error_mm = np.abs(np.reshape(result["positions"], (-1, 3)) * 1e3 - expected).max()
    assert error_mm < TOLERANCE_MM, error_mm
    (clip,) = result["clips"]
    assert clip["name"] == "session" and {track["name"] for track in clip["tracks"]} == {
        "face.morphTargetInfluences", "face.quaternion"}  # fmt: skip
    np.testing.assert_allclose(clip["tracks"][0]["times"], TIMES, atol=1e-7)
    jaw = model.expression_names.index("jawOpen")
    assert result["sampled"]["influences"][jaw] == pytest.approx(0.25, abs=1e-6)  # halfway from 0.4 to 0.1
    halfway = Slerp(TIMES[3:], Rotation.from_matrix(rotation_matrix(frames.rotation[3:].astype(np.float64))))(0.45)
    assert (halfway.inv() * Rotation.from_quat(result["sampled"]["quaternion"])).magnitude() < 1e-5  # yaw -90
