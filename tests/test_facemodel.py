import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from inversefacenet import FaceModel, FaceModelError
from inversefacenet.facemodel.model import DEFAULT_MODEL_PATH

ARKIT_SAMPLE = [
    "jawOpen",
    "mouthSmileLeft",
    "mouthSmileRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "browInnerUp",
    "mouthPucker",
    "cheekPuff",
    "tongueOut",
]


def test_shipped_model_sizes_and_provenance(model):
    assert DEFAULT_MODEL_PATH.stat().st_size <= 20e6
    assert model.n_shape >= 80 and model.n_albedo >= 40 and model.n_expression == 52
    assert set(ARKIT_SAMPLE) <= set(model.expression_names)
    assert model.landmarks_mediapipe.shape == (478,) and model.landmarks_ibug68.shape == (68,)
    assert model.n_vertices > 10_000
    assert "CC0" in model.metadata["license"]["data"]
    assert model.metadata["shape_variance_explained"] > 0.95
    assert len(model.sha256) == 64


def test_bases_are_orthonormal_and_sigmas_sorted(model):
    for basis in (model.shape_basis, model.albedo_basis):
        flat = basis.reshape(len(basis), -1).astype(np.float64)
        np.testing.assert_allclose(flat @ flat.T, np.eye(len(basis)), atol=2e-2)  # stored as float16
    assert np.all(np.diff(model.shape_std) <= 0) and np.all(np.diff(model.albedo_std) <= 0)
    norms = np.linalg.norm(model.expression_basis.reshape(model.n_expression, -1), axis=1)
    np.testing.assert_allclose(norms, 1, atol=1e-2)


def test_geometry_is_mm_sized_and_roughly_symmetric(model):
    mean = model.vertices_mean
    width = np.ptp(mean[model.mask_face, 0])
    assert 100 < width < 200, width  # a face is 12-16 cm wide
    eyes = mean[model.landmarks_ibug68[[36, 45]]]  # outer eye corners
    assert abs(eyes[0, 0] + eyes[1, 0]) < 3 and abs(eyes[0, 1] - eyes[1, 1]) < 3
    assert 80 < abs(eyes[0, 0] - eyes[1, 0]) < 110  # outer canthal distance ~ 90 mm
    nose_tip = mean[model.landmarks_ibug68[30]]
    assert nose_tip[2] > eyes[:, 2].max() + 10  # the nose points at the camera (+z)


def test_numpy_and_torch_geometry_agree(model):
    rng = np.random.default_rng(0)
    shape = rng.normal(size=(2, model.n_shape)).astype(np.float32)
    expression = rng.uniform(0, 1, (2, model.n_expression)).astype(np.float32)
    albedo = rng.normal(size=(2, model.n_albedo)).astype(np.float32)
    np.testing.assert_allclose(
        model.geometry(torch.tensor(shape), torch.tensor(expression)).numpy(),
        model.geometry(shape, expression),
        atol=1e-3,
    )
    np.testing.assert_allclose(model.albedo(torch.tensor(albedo)).numpy(), model.albedo(albedo), atol=1e-5)


def test_shape_sigma_is_the_displacement_norm(model):
    shape = np.zeros((1, model.n_shape), np.float32)
    shape[0, 3] = 1
    displacement = model.geometry(shape, np.zeros((1, model.n_expression), np.float32))[0] - model.vertices_mean
    assert np.linalg.norm(displacement) == pytest.approx(model.shape_std[3], rel=1e-2)


def expression(model, **weights):
    out = np.zeros((1, model.n_expression), np.float32)
    for name, value in weights.items():
        out[0, model.expression_names.index(name)] = value
    zero_shape = np.zeros((1, model.n_shape), np.float32)
    return model.geometry(zero_shape, out)[0]


def test_jaw_open_drops_chin_and_mouth_interior_follows(model):
    neutral, opened = expression(model), expression(model, jawOpen=1.0)
    chin = model.landmarks_ibug68[8]
    assert neutral[chin, 1] - opened[chin, 1] > 5
    inner = model.mask_mouth_interior
    assert inner.any()
    # the interior moves with the jaw, and stays behind the lips
    assert np.abs(opened[inner] - neutral[inner]).max() > 2
    lips_z = opened[model.landmarks_ibug68[48:60], 2].min()
    assert np.median(opened[inner, 2]) < lips_z


def test_blink_closes_exactly_one_eye(model):
    lids = [(159, 145), (386, 374)]  # MediaPipe upper/lower lid centres of both eyes

    def gaps(v):
        return np.array(
            [np.linalg.norm(v[model.landmarks_mediapipe[a]] - v[model.landmarks_mediapipe[b]]) for a, b in lids]
        )

    neutral, blink = gaps(expression(model)), gaps(expression(model, eyeBlinkLeft=1.0))
    ratio = np.sort(blink / neutral)
    assert ratio[0] < 0.5 and ratio[1] > 0.9


def test_ibug_jaw_points_follow_the_silhouette(model):
    mean = model.vertices_mean[None]
    pixels = mean[..., :2].copy()
    visible = np.ones((1, model.n_vertices), bool)
    points = model.ibug68_points(pixels, visible)
    fixed = pixels[0, model.landmarks_ibug68]
    # frontal: every jaw point is at or outside its fixed vertex, inner points unchanged
    assert np.all(np.abs(points[0, :17, 0]) >= np.abs(fixed[:17, 0]) - 1e-6)
    np.testing.assert_array_equal(points[0, 17:], fixed[17:])

    # push one candidate per jaw level (not the fixed vertex) far out sideways: that one must be taken, unless hidden
    pushed = pixels.copy()
    levels, chosen = [], []
    for k, candidates in enumerate(model.ibug68_contour_candidates):
        others = [c for c in candidates if c != model.landmarks_ibug68[k]]
        if others:
            pushed[0, others[0], 0] += 500.0 * np.sign(pixels[0, others[0], 0] - fixed[27:36, 0].mean())
            levels.append(k)
            chosen.append(others[0])
    assert len(levels) >= 10
    np.testing.assert_array_equal(model.ibug68_points(pushed, visible)[0, levels], pushed[0, chosen])
    hidden = visible.copy()
    hidden[0, chosen] = False
    taken = model.ibug68_points(pushed, hidden)[0, levels]
    assert np.all(np.abs(taken[:, 0] - pushed[0, chosen, 0]) > 100)


def test_the_region_cut_is_one_value_per_vertex_on_every_level(model):
    cut = model.region_cut()
    assert cut.shape == (model.n_vertices,) and cut.dtype == np.float32
    outside = model.vertices_mean[cut < 0]
    top, bottom = outside[:, 1] > 60, outside[:, 1] < -5  # the top of the forehead, the strip under the chin and jaw
    assert (top | bottom).all() and top.any() and bottom.any() and len(outside) < 0.015 * model.n_vertices
    coarse = model.coarse()  # its vertices are the full model's first ones, then the landmarks
    n_control = int(model.triangles_coarse.max()) + 1
    np.testing.assert_array_equal(coarse.region_cut()[:n_control], cut[:n_control])
    region = coarse.region_mesh()
    assert (region.vertex[: coarse.n_vertices] == np.arange(coarse.n_vertices)[:, None]).all()
    assert len(region.vertex) > coarse.n_vertices and region.triangles.max() < len(region.vertex)  # points appended


def test_the_coarse_region_mesh_blends_the_full_models_vertices_as_the_coarse_level_does(model):
    rng = np.random.default_rng(3)
    shape, expression = rng.normal(size=(1, model.n_shape)), rng.uniform(0, 1, (1, model.n_expression))
    coarse = model.coarse()
    own = coarse.closed().region_mesh()  # the coarse level's own closed points, over its own vertex list
    mesh = model.coarse_region_mesh()
    used = np.unique(own.triangles)
    np.testing.assert_allclose(mesh.blend(model.geometry(shape, expression)[0]),
                               own.blend(coarse.geometry(shape, expression)[0])[used], atol=1e-4)  # fmt: skip
    np.testing.assert_array_equal(mesh.triangles, np.searchsorted(used, own.triangles))
    assert mesh.triangles.max() == len(mesh.vertex) - 1  # every point is used
    assert len(mesh.triangles) < len(model.region_mesh().triangles) / 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing", "pickle"])
def test_corrupt_model_files_raise_face_model_error(tmp_path, damage):
    path = tmp_path / "bad.npz"
    raw = DEFAULT_MODEL_PATH.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"this is not a face model")
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 3])
    elif damage == "missing":
        np.savez(path, vertices_mean=np.zeros((3, 3)))
    else:  # every array of the real model, plus one pickled object that would run code when unpickled
        with np.load(DEFAULT_MODEL_PATH) as data:
            arrays = {name: data[name] for name in data.files}
        arrays["metadata"] = np.array([_WritesWhenUnpickled(tmp_path / "pwned")], dtype=object)
        np.savez(path, **arrays)
    with pytest.raises(FaceModelError):
        FaceModel.load(path)
    assert not (tmp_path / "pwned").exists()


class _WritesWhenUnpickled:
    """Unpickling this object creates a file: proof that a loader executed pickled code."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (Path.touch, (self.sentinel,))


def test_missing_file_says_how_to_rebuild(tmp_path):
    with pytest.raises(FaceModelError, match="tools.facemodel.build"):
        FaceModel.load(tmp_path / "nothing.npz")


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "copy.npz"
    model.save(path)
    again = FaceModel.load(path)
    np.testing.assert_array_equal(again.triangles, model.triangles)
    np.testing.assert_allclose(again.shape_basis, model.shape_basis, atol=1e-3)
    assert again.expression_names == model.expression_names
    assert zipfile.is_zipfile(path)


@pytest.mark.parametrize("level", ["full", "coarse"])
def test_the_mouth_cap_closes_the_throat_wound_as_the_mesh(model, level):
    """The model's mouth interior ends in open loops (the throat), which a wide-open mouth showed the background
    through; the closed mesh has no open edge left at the mouth's interior, every edge runs one way once (the cap is
    wound as its neighbours), and nothing else of the model changes (vertices, hash, landmarks)."""
    mesh = model if level == "full" else model.coarse()
    closed = mesh.closed()

    def open_interior_vertices(triangles):
        directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
        assert len(np.unique(directed, axis=0)) == len(directed)
        edges, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
        return int(mesh.mask_mouth_interior[np.unique(edges[counts == 1])].sum())

    assert open_interior_vertices(mesh.triangles) > 20
    assert open_interior_vertices(closed.triangles) == 0
    np.testing.assert_array_equal(closed.triangles[: mesh.n_triangles], mesh.triangles)
    assert mesh.mask_mouth_interior[closed.triangles[mesh.n_triangles :]].all()
    assert closed.sha256 == mesh.sha256 and closed.vertices_mean is mesh.vertices_mean
    assert closed.closed().n_triangles == closed.n_triangles  # nothing left to close


def test_open_loops_takes_simple_loops_of_the_given_vertices_only():
    """Two triangles sharing one vertex leave open edges that are no simple loop: refused. A loop with a vertex
    outside ``among`` is not capped."""
    from inversefacenet.facemodel.region import fan, open_loops

    square = np.array([[0, 1, 2], [0, 2, 3]])  # one open loop 0-1-2-3
    loops = open_loops(square, np.ones(4, bool))
    assert len(loops) == 1 and sorted(loops[0].tolist()) == [0, 1, 2, 3]
    cap = fan(loops, np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float))
    edges = {tuple(e) for t in cap.tolist() for e in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0]))}
    assert {(1, 0), (2, 1), (3, 2), (0, 3)} <= edges  # the cap runs against the square's open edges: one winding
    assert open_loops(square, np.array([True, True, True, False])) == []
    with pytest.raises(ValueError, match="not simple loops"):
        open_loops(np.array([[0, 1, 2], [0, 3, 4]]), np.ones(5, bool))  # a bow tie: vertex 0 on both
