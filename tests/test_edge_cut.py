"""The face's top edge (issue #12): one smooth forehead curve in every preview and export, not the
model mesh's saw-tooth. Expectations are stated here, not taken from the code: the curve's formula,
a clip of a plane along a known line, smoothness measured on the files and on the rendered masks."""

import numpy as np
import pytest
import torch
import trimesh
from scipy.signal import savgol_filter

from inversefacenet import FaceParameters
from inversefacenet.export import export_face
from inversefacenet.facemodel.region import FOREHEAD_CURVE_MM, clip_mesh
from inversefacenet.render import render
from inversefacenet.render.raster_numba import rasterize
from tests.test_render import to_torch

POSES_DEG = [(0, 0, 0), (0, 25, 0), (0, -25, 0), (15, 0, 0), (-15, 0, 0), (10, 15, 10), (-10, -20, -10)]
"""Pitch, yaw, roll of the mean face in the preview checks."""
SIZE = 512


def height_above_curve(points: np.ndarray) -> np.ndarray:
    """(N,) mm above the forehead curve y = c - k (azimuth / 100 deg)^2 of head-frame points (N, 3) mm."""
    c, k = FOREHEAD_CURVE_MM
    return points[:, 1] - (c - k * (np.degrees(np.arctan2(points[:, 0], points[:, 2])) / 100) ** 2)


def top_edge(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The top run of a face mesh's outer boundary loop (above y = 40 mm, in front of the ears), (N, 3) in order."""
    loop = max(trimesh.Trimesh(vertices, triangles, process=False).outline().entities, key=lambda e: len(e.points))
    points = vertices[loop.points[:-1]]
    top = (points[:, 1] > 40) & (np.abs(np.degrees(np.arctan2(points[:, 0], points[:, 2]))) < 110)
    order = np.roll(np.arange(len(points)), -(np.flatnonzero(~top)[-1] + 1))  # the top in one run
    return points[order[top[order]]]


def turning_deg(points: np.ndarray, step_mm: float = 2.0) -> np.ndarray:
    """Turning angles (deg) of a polyline (N, 2) resampled every ``step_mm`` of its length."""
    length = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    at = np.arange(0, length[-1], step_mm)
    resampled = np.stack([np.interp(at, length, points[:, 0]), np.interp(at, length, points[:, 1])], axis=1)
    direction = np.diff(resampled, axis=0)
    return np.degrees(np.abs(np.diff(np.unwrap(np.arctan2(direction[:, 1], direction[:, 0])))))


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
    np.testing.assert_allclose(model.forehead_cut(), -height_above_curve(model.vertices_mean), atol=1e-4)


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


def edge_roughness_px(mask: np.ndarray, columns: np.ndarray) -> float:
    """How far the top row of a (H, W) face mask strays from a smooth fit (px) over ``columns``."""
    rows = np.argmax(mask[:, columns], axis=0).astype(float)
    return float(np.abs(rows - savgol_filter(rows, 21, 2))[10:-10].max())


def cut_columns(model, triangle_id: np.ndarray) -> np.ndarray:
    """Columns between the first and last whose top pixel lies in a triangle the cut crosses."""
    crossed = (model.forehead_cut()[model.triangles] < 0).any(axis=1)
    columns = np.flatnonzero((triangle_id >= 0).any(axis=0))
    top = triangle_id[np.argmax(triangle_id[:, columns] >= 0, axis=0), columns]
    on_cut = columns[crossed[top]]
    return np.arange(on_cut.min(), on_cut.max() + 1)


def posed_mean_face(model) -> FaceParameters:
    """The mean face in each of :data:`POSES_DEG`."""
    params = FaceParameters.neutral(model.layout, batch=len(POSES_DEG))
    params.rotation[:] = np.radians(POSES_DEG)
    return params


def test_numba_preview_top_edge_is_smooth(model):
    out = render(model, posed_mean_face(model), SIZE)
    uncut, _, _ = rasterize(out.pixels, -out.vertices[..., 2], model.triangles, SIZE)  # the mesh as it is
    for b in range(len(POSES_DEG)):
        columns = cut_columns(model, out.raster.triangle_id[b])
        assert len(columns) > SIZE / 3
        assert edge_roughness_px(uncut.mask[b], columns) > 2.5, POSES_DEG[b]
        assert edge_roughness_px(out.raster.mask[b], columns) < 1.25, POSES_DEG[b]


def test_torch_preview_cuts_where_numba_does(model):
    params = posed_mean_face(model).select(slice(0, 4))
    fast = render(model, params, SIZE)
    slow = render(model, to_torch(params), SIZE)
    assert (slow.raster.mask.numpy() != fast.raster.mask).sum() <= 2 * len(params.rotation)
    ids = slow.raster.triangle_id.numpy()
    for b in range(len(params.rotation)):
        assert edge_roughness_px(ids[b] >= 0, cut_columns(model, ids[b])) < 1.25


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
