"""The face's edges (issue #12): one smooth forehead curve on top and one smooth jaw curve under the chin and
jaw, in every preview and export, not the model mesh's saw-tooth. Expectations are stated here, not taken
from the code: the curves' formulas, a clip of a plane along a known line, smoothness measured on the
files and on the rendered masks."""

import numpy as np
import pytest
import torch
import trimesh
from scipy.interpolate import CubicSpline
from scipy.signal import savgol_filter
from scipy.spatial import cKDTree

from inversefacenet import FaceParameters
from inversefacenet.export import export_face
from inversefacenet.facemodel.region import FOREHEAD_CURVE_MM, JAW_CURVE_KNOTS, clip_mesh
from inversefacenet.render import render
from inversefacenet.render.raster_numba import rasterize
from tests.test_render import to_torch

POSES_DEG = [(0, 0, 0), (0, 25, 0), (0, -25, 0), (15, 0, 0), (-15, 0, 0), (10, 15, 10), (-10, -20, -10)]
"""Pitch, yaw, roll of the mean face in the preview checks."""
BOTTOM_POSES_DEG = [(-10, 0, 0), (-20, 0, 0), (-25, 0, 0), (-15, 10, 0), (-20, 8, -5), (-10, 10, 10), (-15, -10, -10)]
"""Pitch (chin up), yaw, roll of the mean face in the checks of its bottom edge: seen from a little below, where the
model's own steps under the chin show. Turned further, the bottom row ends on the jaw's side, where the cut turns
away from the camera into the silhouette and the fit measures that corner rather than the cut."""
SIZE = 512


def height_above_curve(points: np.ndarray) -> np.ndarray:
    """(N,) mm above the forehead curve y = c - k (azimuth / 100 deg)^2 of head-frame points (N, 3) mm."""
    c, k = FOREHEAD_CURVE_MM
    return points[:, 1] - (c - k * (np.degrees(np.arctan2(points[:, 0], points[:, 2])) / 100) ** 2)


def height_above_jaw_curve(points: np.ndarray) -> np.ndarray:
    """(N,) mm above the jaw curve of head-frame points (N, 3) mm: y minus a cubic spline in |azimuth| (deg) through
    the knots, level at azimuth 0 and natural at the last knot, constant beyond it."""
    knots = np.array(JAW_CURVE_KNOTS, np.float64)
    jaw = CubicSpline(knots[:, 0], knots[:, 1], bc_type=((1, 0.0), "natural"))
    azimuth = np.abs(np.degrees(np.arctan2(points[:, 0], points[:, 2])))
    return points[:, 1] - jaw(np.minimum(azimuth, knots[-1, 0]))


def outer_loop(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The longest boundary loop of a mesh (the face's outline), (N, 3) in order."""
    loop = max(trimesh.Trimesh(vertices, triangles, process=False).outline().entities, key=lambda e: len(e.points))
    return vertices[loop.points[:-1]]


def run_of(points: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """The selected points of a closed loop (N, 3) as one run in order (the selection is one stretch of it)."""
    order = np.roll(np.arange(len(points)), -(np.flatnonzero(~selected)[-1] + 1))
    return points[order[selected[order]]]


def top_edge(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The top run of a face mesh's outer boundary loop (above y = 40 mm, in front of the ears), (N, 3) in order."""
    points = outer_loop(vertices, triangles)
    return run_of(points, (points[:, 1] > 40) & (np.abs(np.degrees(np.arctan2(points[:, 0], points[:, 2]))) < 110))


def bottom_edge(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The bottom run of a face mesh's outer boundary loop: under the chin and jaw and up the jaw's corners behind
    the ears (below y = -15 mm), (N, 3) in order."""
    points = outer_loop(vertices, triangles)
    return run_of(points, points[:, 1] < -15)


def resampled(points: np.ndarray, step_mm: float) -> np.ndarray:
    """A polyline (N, D) resampled every ``step_mm`` of its length."""
    length = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.arange(0, length[-1], step_mm)
    return np.stack([np.interp(at, length, points[:, i]) for i in range(points.shape[1])], axis=1)


def turning_deg(points: np.ndarray, step_mm: float = 2.0) -> np.ndarray:
    """Turning angles (deg) of a polyline (N, 2) resampled every ``step_mm`` of its length."""
    direction = np.diff(resampled(points, step_mm), axis=0)
    return np.degrees(np.abs(np.diff(np.unwrap(np.arctan2(direction[:, 1], direction[:, 0])))))


def turning_3d_deg(points: np.ndarray, step_mm: float = 2.0) -> np.ndarray:
    """Angles (deg) between successive steps of a space curve (N, 3) resampled every ``step_mm`` of its length."""
    direction = np.diff(resampled(points, step_mm), axis=0)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip((direction[1:] * direction[:-1]).sum(axis=1), -1, 1)))


@pytest.fixture(scope="module")
def exported(model, tmp_path_factory):
    """The mean face, unposed, as OBJ, PLY and GLB."""
    params = FaceParameters.neutral(model.layout)
    vertices = model.geometry(params.shape, params.expression)[0]
    albedo = np.clip(model.albedo(params.albedo)[0], 0, 1)
    folder = tmp_path_factory.mktemp("edge")
    for suffix in (".obj", ".ply", ".glb"):
        export_face(folder / f"face{suffix}", model, vertices, albedo)
    scale = {".obj": 1.0, ".ply": 1.0, ".glb": 1e3}  # the GLB is in metres
    return {
        suffix: trimesh.load(folder / f"face{suffix}", process=False, force="mesh").apply_scale(factor)
        for suffix, factor in scale.items()
    }


def test_the_curve_runs_just_under_every_tooth_of_the_models_edge(model):
    height = height_above_curve(top_edge(model.vertices_mean.astype(np.float64), model.triangles))
    assert height.min() > 0.5  # nothing of the saw-tooth survives ...
    assert height.min() < 1.5  # ... and the curve takes no more of the forehead than that



def test_the_jaw_curve_runs_just_inside_every_step_of_the_models_bottom_edge(model):
    """The model's bottom edge steps back towards the neck (turning by over 40 degrees within 2 mm); the jaw curve
    passes above every point of it, by little where the edge is smooth (the middle of the chin)."""
    edge = bottom_edge(model.vertices_mean.astype(np.float64), model.triangles)
    height = height_above_jaw_curve(edge)
    assert height.max() < -0.7  # nothing of the steps survives ...
    chin = np.abs(np.degrees(np.arctan2(edge[:, 0], edge[:, 2]))) < 30
    assert chin.sum() > 10 and height[chin].max() > -1.5  # ... the chin's smooth middle keeps all but a sliver ...
    assert np.median(height) > -3  # ... and the strip taken is narrow


def test_the_cut_is_the_nearer_curve_and_the_jaw_curve_leaves_the_inside_of_the_head(model):
    """Skin vertices carry the smaller of their depth below the forehead curve and height above the jaw curve; the
    mouth interior and eyes only the forehead's: the throat lies inside the head, lower than the jaw curve."""
    mean = model.vertices_mean.astype(np.float64)
    inner = model.mask_mouth_interior | model.mask_eyes
    below_forehead, above_jaw = -height_above_curve(mean), height_above_jaw_curve(mean)
    assert (above_jaw[model.mask_mouth_interior] < -5).any()  # the throat
    expected = np.where(inner, below_forehead, np.minimum(below_forehead, above_jaw))
    np.testing.assert_allclose(model.region_cut(), expected, atol=1e-4)
    # the curves are far apart: no triangle that the cut crosses has a corner nearer each of them
    crossed = (expected[model.triangles] < 0).any(axis=1)
    nearer_jaw = (above_jaw < below_forehead) & ~inner
    assert (nearer_jaw[model.triangles[crossed]].all(axis=1) | ~nearer_jaw[model.triangles[crossed]].any(axis=1)).all()
    assert nearer_jaw[model.triangles[crossed]].all(axis=1).sum() > 100  # the jaw curve cuts, and where it does ...
    assert (~nearer_jaw[model.triangles[crossed]]).all(axis=1).sum() > 100  # ... the forehead curve plays no part


def test_the_jaw_curve_keeps_the_chin_and_jaw_line(model):
    """Only a strip along the model's bottom edge goes: every landmark vertex (MediaPipe, iBUG-68) stays but the two
    that lie on the edge itself at the chin, each taken by under 1.2 mm."""
    mean = model.vertices_mean.astype(np.float64)
    cut = model.region_cut()
    landmarks = np.unique(np.concatenate([model.landmarks_mediapipe, model.landmarks_ibug68]))
    edge = outer_loop(mean, model.triangles)
    on_edge = cKDTree(edge).query(mean[landmarks])[0] < 1e-6
    assert on_edge.sum() == 2 and (cut[landmarks[on_edge]] > -1.2).all()
    assert cut[landmarks[~on_edge]].min() > 0.4
    taken = (height_above_jaw_curve(mean) < 0) & ~(model.mask_mouth_interior | model.mask_eyes)
    assert cKDTree(outer_loop(mean, model.triangles)).query(mean[taken])[0].max() < 6  # mm from the model's edge


def test_clip_mesh_cuts_a_plane_along_its_zero_line():
    """A 5 x 5 grid on the unit square, cut by the line y = 0.62 - 0.1 x (kept below): area 0.57 exactly."""
    x, y = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 5))
    points = np.stack([x.ravel(), y.ravel(), np.zeros(25)], axis=1)
    corner = (np.arange(4)[:, None] * 5 + np.arange(4)[None, :]).ravel()
    triangles = np.concatenate(
        [np.stack([corner, corner + 1, corner + 6], 1), np.stack([corner, corner + 6, corner + 5], 1)]
    )
    cut = 0.62 - points[:, 1] - 0.1 * points[:, 0]
    clipped = clip_mesh(cut, triangles, snap=0.0)
    assert (clipped.vertex[:25] == np.arange(25)[:, None]).all() and (clipped.weight[:25] == 0).all()  # appended
    blended = clipped.blend(points)
    mesh = trimesh.Trimesh(blended, clipped.triangles, process=False)
    assert mesh.area == pytest.approx(0.57, abs=1e-12)
    assert (mesh.face_normals[:, 2] > 0).all()  # orientation kept
    new = blended[25:]
    np.testing.assert_allclose(new[:, 1], 0.62 - 0.1 * new[:, 0], atol=1e-12)  # on the line
    assert len(new) == 5 + 4  # one point per cut edge (5 vertical, 4 diagonal), shared by the triangles on both sides
    np.testing.assert_allclose(clipped.blend(cut)[clipped.triangles].min(), 0, atol=1e-12)


def test_clip_mesh_snaps_near_vertices_instead_of_making_slivers():
    points = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    cut = np.array([1.0, 1.0, -0.02])  # crosses the edges to vertex 2 at 98 % of their length
    assert len(clip_mesh(cut, np.array([[0, 1, 2]]), snap=0.0).triangles) == 2
    snapped = clip_mesh(cut, np.array([[0, 1, 2]]))
    np.testing.assert_array_equal(snapped.triangles, [[0, 1, 2]])  # the whole triangle, no sliver
    assert len(snapped.vertex) == len(points)


def test_clip_mesh_moves_a_vertex_near_the_line_onto_it_for_every_edge():
    """Vertex 2 lies just outside, within 5 % of its edge from vertex 1 but not from vertex 0: it moves onto the line
    for both edges, so the triangle stays whole instead of gaining a zero-area piece along the edge from vertex 0."""
    clipped = clip_mesh(np.array([0.2, 1.0, -0.02]), np.array([[0, 1, 2]]))
    np.testing.assert_array_equal(clipped.triangles, [[0, 1, 2]])
    assert len(clipped.vertex) == 3


def test_the_clipped_model_mesh_has_no_cracks_and_no_slivers(model):
    region = model.region_mesh()
    vertices = region.blend(model.vertices_mean.astype(np.float64))
    clipped = trimesh.Trimesh(vertices, region.triangles, process=False)
    whole = trimesh.Trimesh(model.vertices_mean.astype(np.float64), model.triangles, process=False)
    # neighbours share their cut points: as many boundary loops as the model's, none more
    assert len(clipped.outline().entities) == len(whole.outline().entities)
    assert clipped.area_faces.min() > 0.01  # mm^2
    assert (clipped.area_faces / whole.area_faces[region.parent]).min() > 0.002
    assert (clipped.face_normals * whole.face_normals[region.parent]).sum(axis=1).min() > 0.99  # not flipped


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_no_exported_vertex_lies_above_the_curve(model, exported, suffix):
    assert height_above_curve(model.vertices_mean).max() > 10  # the model's own teeth
    mesh = exported[suffix]
    assert height_above_curve(mesh.vertices[np.unique(mesh.faces)]).max() < 0.01  # snapped points: within 0.01 mm


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_the_exported_top_edge_turns_smoothly(model, exported, suffix):
    """Frontal projection of the top boundary, every 2 mm: the model's saw-tooth turns by over 90 degrees."""
    assert turning_deg(top_edge(model.vertices_mean.astype(np.float64), model.triangles)[:, :2]).max() > 90
    mesh = exported[suffix]
    assert turning_deg(top_edge(mesh.vertices, mesh.faces)[:, :2]).max() < 10


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_no_exported_skin_lies_below_the_jaw_curve(model, exported, suffix):
    """Exported vertices below the jaw curve are the mouth interior's (the throat), each a model vertex; the skin's
    lie above it (a model vertex moved onto the cut, within 5 % of its edge, may lie up to 0.1 mm under it)."""
    mean = model.vertices_mean.astype(np.float64)
    assert height_above_jaw_curve(mean[~model.mask_mouth_interior]).min() < -3  # the model's own steps
    mesh = exported[suffix]
    points = mesh.vertices[np.unique(mesh.faces)]
    below = points[height_above_jaw_curve(points) < -0.1]
    inside = mean[model.mask_mouth_interior]
    assert len(below) > 0 and cKDTree(inside).query(below)[0].max() < 0.01  # mm: GLB floats in metres


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".glb"])
def test_the_exported_bottom_edge_turns_smoothly(model, exported, suffix):
    """The bottom boundary in space, every 2 mm: the model's steps turn by over 40 degrees; the jaw curve bends
    with the chin and jaw, and across the mesh's facets, by under 12."""
    assert turning_3d_deg(bottom_edge(model.vertices_mean.astype(np.float64), model.triangles)).max() > 40
    mesh = exported[suffix]
    edge = bottom_edge(mesh.vertices, mesh.faces)
    assert (height_above_jaw_curve(edge) > -0.1).all()  # the cut, not the model's edge
    assert turning_3d_deg(edge).max() < 12


def edge_roughness_px(mask: np.ndarray, columns: np.ndarray) -> float:
    """How far the top row of a (H, W) face mask strays from a smooth fit (px) over ``columns`` (the bottom row:
    pass the mask upside down)."""
    rows = np.argmax(mask[:, columns], axis=0).astype(float)
    return float(np.abs(rows - savgol_filter(rows, 21, 2))[10:-10].max())


def cut_columns(model, triangle_id: np.ndarray, crossed: np.ndarray | None = None) -> np.ndarray:
    """Columns between the first and last whose top pixel lies in a triangle the cut crosses (the bottom pixel: pass
    the triangle ids upside down), or in one of ``crossed`` (T,) bool."""
    if crossed is None:
        crossed = (model.region_cut()[model.triangles] < 0).any(axis=1)
    columns = np.flatnonzero((triangle_id >= 0).any(axis=0))
    top = triangle_id[np.argmax(triangle_id[:, columns] >= 0, axis=0), columns]
    on_cut = columns[crossed[top]]
    return np.arange(on_cut.min(), on_cut.max() + 1)


def jaw_crossed(model) -> np.ndarray:
    """(T,) bool: the model's skin triangles with a corner below the jaw curve."""
    below = height_above_jaw_curve(model.vertices_mean.astype(np.float64)) < 0
    return (below & ~(model.mask_mouth_interior | model.mask_eyes))[model.triangles].any(axis=1)


def posed_mean_face(model, poses_deg: list[tuple[int, int, int]] = POSES_DEG) -> FaceParameters:
    """The mean face in each of the poses (pitch, yaw, roll, deg; :data:`POSES_DEG` by default)."""
    params = FaceParameters.neutral(model.layout, batch=len(poses_deg))
    params.rotation[:] = np.radians(poses_deg)
    return params


def test_numba_preview_top_edge_is_smooth(model):
    out = render(model, posed_mean_face(model), SIZE)
    uncut, _, _ = rasterize(out.pixels, -out.vertices[..., 2], model.triangles, SIZE)  # the mesh as it is
    for b in range(len(POSES_DEG)):
        columns = cut_columns(model, out.raster.triangle_id[b])
        assert len(columns) > SIZE / 3
        assert edge_roughness_px(uncut.mask[b], columns) > 2.5, POSES_DEG[b]
        assert edge_roughness_px(out.raster.mask[b], columns) < 1.25, POSES_DEG[b]


def test_numba_preview_bottom_edge_is_smooth(model):
    out = render(model, posed_mean_face(model, BOTTOM_POSES_DEG), SIZE)
    uncut, _, _ = rasterize(out.pixels, -out.vertices[..., 2], model.triangles, SIZE)
    for b, pose in enumerate(BOTTOM_POSES_DEG):
        columns = cut_columns(model, out.raster.triangle_id[b, ::-1], jaw_crossed(model))
        assert len(columns) > SIZE / 2, pose
        assert edge_roughness_px(uncut.mask[b, ::-1], columns) > 2.5, pose
        assert edge_roughness_px(out.raster.mask[b, ::-1], columns) < 1.25, pose


def test_torch_preview_cuts_where_numba_does(model):
    params = posed_mean_face(model).select(slice(0, 4))
    fast = render(model, params, SIZE)
    slow = render(model, to_torch(params), SIZE)
    assert (slow.raster.mask.numpy() != fast.raster.mask).sum() <= 2 * len(params.rotation)
    ids = slow.raster.triangle_id.numpy()
    for b in range(len(params.rotation)):
        assert edge_roughness_px(ids[b] >= 0, cut_columns(model, ids[b])) < 1.25
    below = posed_mean_face(model, BOTTOM_POSES_DEG).select(slice(0, 4))
    fast, slow = render(model, below, SIZE), render(model, to_torch(below), SIZE)
    assert (slow.raster.mask.numpy() != fast.raster.mask).sum() <= 2 * len(below.rotation)
    ids = slow.raster.triangle_id.numpy()[:, ::-1]
    for b in range(len(below.rotation)):
        assert edge_roughness_px(ids[b] >= 0, cut_columns(model, ids[b], jaw_crossed(model))) < 1.25


def test_cut_values_of_the_wrong_length_are_refused(model):
    pixels = np.zeros((1, model.n_vertices, 2), np.float32)
    depth = np.ones((1, model.n_vertices), np.float32)
    with pytest.raises(
        ValueError, match=rf"expected cut values \({model.n_vertices},\), one per vertex, got shape \(3,\)"
    ):
        rasterize(pixels, depth, model.triangles, 8, cut=np.zeros(3))
    from inversefacenet.render.raster_torch import rasterize as rasterize_torch

    with pytest.raises(ValueError, match="one per vertex"):
        rasterize_torch(torch.tensor(pixels), torch.tensor(depth), torch.tensor(model.triangles), 8, cut=torch.zeros(3))
