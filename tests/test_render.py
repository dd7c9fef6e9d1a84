import numpy as np
import pytest
import torch
import trimesh

from inversefacenet import FaceModel, FaceParameters
from inversefacenet.render import render
from inversefacenet.render.camera import DEFAULT_CAMERA
from inversefacenet.render.raster_numba import rasterize as rasterize_numba
from inversefacenet.render.raster_torch import rasterize as rasterize_torch
from inversefacenet.render.raster_torch import vertex_normals
from tests.conftest import random_parameters


def to_torch(params: FaceParameters) -> FaceParameters:
    return FaceParameters(
        *(torch.tensor(getattr(params, f)) for f in ("rotation", "shape", "expression", "albedo", "sh"))
    )


@pytest.mark.parametrize("size", [64, 128])
def test_numba_and_torch_renderers_agree(model, size):
    params = random_parameters(model, 3, seed=size)
    fast = render(model, params, size)
    slow = render(model, to_torch(params), size)
    np.testing.assert_allclose(slow.pixels.numpy(), fast.pixels, atol=1e-3)
    same = slow.raster.triangle_id.numpy() == fast.raster.triangle_id
    assert same.mean() > 0.998
    # raster.py's promise: one coverage rule, so both cover the same pixels (float32 ties at edges aside)
    assert (slow.raster.mask.numpy() != fast.raster.mask).sum() <= 2 * len(params.rotation)
    both = same & fast.raster.mask
    np.testing.assert_allclose(slow.image.numpy()[both], fast.image[both], atol=2e-3)
    np.testing.assert_allclose(slow.raster.depth.numpy()[both], fast.raster.depth[both], rtol=1e-5)
    assert (slow.vertex_visible.numpy() != fast.vertex_visible).mean() < 0.01


def reference_rasterize(pixels, depth, triangles, size, cut=None):
    """Slow per-pixel oracle: test every triangle at every pixel centre (and the interpolated cut value)."""
    cut = np.zeros(len(pixels)) if cut is None else cut
    ids = np.full((size, size), -1)
    best = np.full((size, size), np.inf)
    jj, ii = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    for t, (a, b, c) in enumerate(triangles):
        (x0, y0), (x1, y1), (x2, y2) = pixels[a], pixels[b], pixels[c]
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area >= 0:
            continue
        w0 = ((x2 - x1) * (ii - y1) - (y2 - y1) * (jj - x1)) / area
        w1 = ((x0 - x2) * (ii - y2) - (y0 - y2) * (jj - x2)) / area
        w2 = 1 - w0 - w1
        z = w0 * depth[a] + w1 * depth[b] + w2 * depth[c]
        kept = w0 * cut[a] + w1 * cut[b] + w2 * cut[c] >= 0
        win = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & kept & (z < best)
        ids[win], best[win] = t, z[win]
    return ids


@pytest.mark.parametrize("with_cut", [False, True])
def test_both_rasterizers_match_a_slow_reference(with_cut):
    rng = np.random.default_rng(3)
    size = 24
    pixels = rng.uniform(-2, size + 2, (30, 2)).astype(np.float32)
    depth = rng.uniform(1, 10, 30).astype(np.float32)
    triangles = rng.integers(0, 30, (40, 3)).astype(np.int32)
    cut = rng.uniform(-1, 1, 30).astype(np.float32) if with_cut else None
    expected = reference_rasterize(pixels.astype(np.float64), depth, triangles, size, cut)
    fast = rasterize_numba(pixels[None], depth[None], triangles, size, cut=cut)[0].triangle_id[0]
    slow, _, _ = rasterize_torch(torch.tensor(pixels[None]), torch.tensor(depth[None]), torch.tensor(triangles), size,
                                 cut=None if cut is None else torch.tensor(cut))  # fmt: skip
    assert (fast == expected).mean() > 0.995
    assert (slow.triangle_id[0].numpy() == expected).mean() > 0.995
    if with_cut:  # the cut drops fragments and shows what lies behind them
        uncut = reference_rasterize(pixels.astype(np.float64), depth, triangles, size)
        assert ((expected != uncut) & (expected >= 0)).sum() > 5 and ((uncut >= 0) & (expected < 0)).sum() > 5


def test_a_cut_triangle_keeps_the_part_where_the_cut_value_interpolates_to_zero_or_more():
    """A right triangle with cut values (1, 1, -1): kept below its mid-height, 3/4 of its area."""
    size = 200
    pixels = np.array([[[0.0, 200.0], [200.0, 200.0], [0.0, 0.0]]], np.float32)  # x right, y down
    depth = np.ones((1, 3), np.float32)
    triangles = np.array([[0, 1, 2]], np.int32)  # front-facing (negative signed area in image coordinates)
    cut = np.array([1.0, 1.0, -1.0], np.float32)  # zero at y = 100
    whole = rasterize_numba(pixels, depth, triangles, size)[0].mask[0]
    assert whole.sum() > 0.49 * size**2
    for raster in (rasterize_numba(pixels, depth, triangles, size, cut=cut)[0],
                   rasterize_torch(torch.tensor(pixels), torch.tensor(depth), torch.tensor(triangles), size,
                                   cut=torch.tensor(cut))[0]):  # fmt: skip
        mask = np.asarray(raster.mask[0])
        assert mask.sum() == pytest.approx(0.75 * whole.sum(), rel=0.01)
        assert not mask[:100].any() and mask[100:].sum() == whole[100:].sum()  # rows below y = 100 all kept


def sphere_model(radius: float = 80.0) -> FaceModel:
    """A sphere dressed as a face model with empty bases, for analytic checks."""
    mesh = trimesh.creation.icosphere(subdivisions=5, radius=radius)
    v = len(mesh.vertices)
    empty = np.zeros((0, v, 3), np.float32)
    return FaceModel(
        vertices_mean=mesh.vertices.astype(np.float32),
        triangles=mesh.faces.astype(np.int32),
        triangles_coarse=mesh.faces.astype(np.int32),
        uv=np.zeros((v, 2), np.float32),
        shape_basis=empty,
        shape_std=np.zeros(0, np.float32),
        expression_basis=empty,
        expression_std=np.zeros(0, np.float32),
        expression_names=[],
        albedo_mean=np.ones((v, 3), np.float32),
        albedo_basis=empty,
        albedo_std=np.zeros(0, np.float32),
        landmarks_mediapipe=np.arange(478) % v,
        landmarks_ibug68=np.arange(68),
        ibug68_contour_candidates=np.zeros((17, 1), int),
        mask_face=np.ones(v, bool),
        mask_mouth_interior=np.zeros(v, bool),
        mask_eyes=np.zeros(v, bool),
    )


def sphere_parameters(sh_front: float) -> FaceParameters:
    sh = np.zeros((1, 9, 3), np.float32)
    sh[0, 0], sh[0, 2] = 0.5, sh_front
    z = np.zeros((1, 0), np.float32)
    return FaceParameters(np.zeros((1, 3), np.float32), z, z, z, sh)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_sphere_silhouette_and_shading(backend):
    sphere = sphere_model()
    params = sphere_parameters(0.4)
    params = to_torch(params) if backend == "torch" else params
    size = 128
    out = render(sphere, params, size, crop_vertices=np.arange(sphere.n_vertices))
    mask = np.asarray(out.raster.mask[0])
    image = np.asarray(out.image[0])
    # The projected outline of a sphere is a circle; the crop box is its bounding square.
    expected_fraction = np.pi / 4 / DEFAULT_CAMERA.crop_scale**2
    assert mask.mean() == pytest.approx(expected_fraction, rel=0.02)
    # Centre pixel: normal (0, 0, 1) -> irradiance 0.5 + 0.4; the rim sees only ambient +- tiny.
    centre = image[size // 2, size // 2]
    np.testing.assert_allclose(centre, 0.9, atol=0.01)
    depth = np.asarray(out.raster.depth[0])
    assert depth[size // 2, size // 2] == pytest.approx(DEFAULT_CAMERA.distance_mm - 80, abs=0.5)


def test_torch_renderer_gradients_flow_to_all_groups(model):
    params = to_torch(random_parameters(model, 1, seed=5))
    for name in ("rotation", "shape", "expression", "albedo", "sh"):
        getattr(params, name).requires_grad_(True)
    out = render(model, params, 48)
    out.image.sum().backward()
    for name in ("rotation", "shape", "expression", "albedo", "sh"):
        grad = getattr(params, name).grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_vertex_normals_gradient_is_the_same_every_time_on_several_threads(model):
    """The fit's gradient through the vertex normals sums each vertex's triangles; summed in the order threads
    finish, the same photo's fit differed from run to run (19 of 20 repeats here, before)."""
    coarse = model.coarse()
    params = random_parameters(coarse, 1, seed=3)
    vertices = torch.tensor(coarse.geometry(params.shape, params.expression), dtype=torch.float32)
    triangles = torch.as_tensor(coarse.triangles.astype(np.int64))
    weights = torch.randn_like(vertices, generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        grads = []
        for _ in range(20):
            moved = vertices.clone().requires_grad_(True)
            (vertex_normals(moved, triangles) * weights).sum().backward()
            grads.append(moved.grad)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(grad, grads[0]) for grad in grads)
    nudge = torch.zeros_like(vertices)
    nudge[0, 100, 2] = 1e-3  # and it is the gradient: a finite difference agrees
    ahead, behind = ((vertex_normals(vertices + s * nudge, triangles) * weights).sum() for s in (1, -1))
    assert float((ahead - behind) / 2e-3) == pytest.approx(float(grads[0][0, 100, 2]), rel=1e-2, abs=1e-3)


def test_barycentric_gradcheck():
    pixels = torch.tensor(
        [[[2.0, 2.0], [2.5, 13.0], [14.0, 3.0], [13.0, 14.0]]], dtype=torch.float64, requires_grad=True
    )
    depth = torch.tensor([[5.0, 6.0, 7.0, 5.5]], dtype=torch.float64)
    triangles = torch.tensor([[0, 2, 1], [2, 3, 1]])

    values = torch.rand(1, 4, 2, dtype=torch.float64, requires_grad=True)

    def image_and_depth(p, v):
        raster, image, _ = rasterize_torch(p, depth, triangles, 16, v)
        return image, raster.depth.clamp_max(100)

    assert torch.autograd.gradcheck(image_and_depth, (pixels, values))


def test_numba_shading_matches_the_sh_formula(model):
    from inversefacenet.render.raster_numba import shade_vertices
    from inversefacenet.render.raster_torch import vertex_normals
    from inversefacenet.render.sh import sh_irradiance

    params = random_parameters(model, 2, seed=9)
    vertices = model.geometry(params.shape, params.expression).astype(np.float32)
    albedo = model.albedo(params.albedo).astype(np.float32)
    normals, colour = shade_vertices(vertices, albedo, params.sh, model.triangles)
    expected_normals = vertex_normals(torch.tensor(vertices), torch.tensor(model.triangles)).numpy()
    np.testing.assert_allclose(normals, expected_normals, atol=1e-4)
    np.testing.assert_allclose(colour, albedo * sh_irradiance(expected_normals, params.sh), atol=1e-4)


def test_coarse_level_renders_the_same_face(model):
    params = random_parameters(model, 2, seed=11)
    full = render(model, params, 128)
    coarse = render(model.coarse(), params, 128)
    assert model.coarse().n_triangles < model.n_triangles / 3
    np.testing.assert_allclose(coarse.crop_scale, full.crop_scale, rtol=1e-5)  # same landmarks, same crop
    a, b = full.raster.mask, coarse.raster.mask
    assert (a & b).sum() / (a | b).sum() > 0.97
    both = a & b
    assert np.abs(full.image[both] - coarse.image[both]).mean() < 0.03


@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_a_closed_model_is_shaded_as_the_open_one_and_covers_its_throat(model, backend):
    """The mouth's cap shares the walls' vertices at the throat's rim: the closed model keeps the open mesh's normals
    and colours at every vertex (the cap's fan had turned the rim's normals by up to about 117 degrees), and it
    covers what the open one leaves uncovered inside the mouth."""
    params = random_parameters(model, 1, seed=2)
    for name in ("jawOpen", "mouthSmileLeft", "mouthSmileRight"):
        params.expression[0, model.expression_names.index(name)] = 1.0
    if backend == "torch":
        params = FaceParameters(*(torch.as_tensor(getattr(params, f)) for f in ("rotation", "shape", "expression",
                                                                               "albedo", "sh")))  # fmt: skip
    open_, closed = render(model, params, 128), render(model.closed(), params, 128)
    as_numpy = (lambda x: x.detach().cpu().numpy()) if backend == "torch" else np.asarray
    np.testing.assert_allclose(as_numpy(closed.normals), as_numpy(open_.normals), atol=1e-6)
    np.testing.assert_allclose(as_numpy(closed.vertex_colour), as_numpy(open_.vertex_colour), atol=1e-6)
    assert as_numpy(closed.raster.mask).sum() > as_numpy(open_.raster.mask).sum()
