"""Build assets/facemodel_uv.npz, the face model's UV atlas (see inversefacenet/atlas.py).

    python tools/build_uv_atlas.py [--model assets/facemodel.npz] [--out assets/facemodel_uv.npz]

- Region: the model's mesh between a smooth forehead curve and a smooth jaw curve (the model's own
  top and bottom edges are the saw-tooth of the coarse MakeHuman cut); triangles across a curve are
  clipped along it (``FaceModel.region_mesh``, the cut the renderers use too).
- Skin: one island, a Floater mean-value (convex-combination) map of the skin, a disk with three
  holes (eyes, mouth) that are fan-filled while solving. With the boundary on a strictly convex
  curve such a map is provably one-to-one: no flips, no overlaps. Boundary vertices keep the
  polar angle they have in a cylindrical view of the face, so the face stays upright and centred.
- Eyes and mouth interior: closed or folded surfaces, so xatlas cuts them into charts.
- Packing: xatlas packs all charts as given (``use_input_mesh_uvs``), each scaled to its surface
  area times a weight that gives the skin most of the texture (hidden eye sockets, eyeball backs
  and the mouth interior need few texels).
xatlas is a build-time dependency only (requirements-build.txt).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg
import trimesh
import xatlas

from inversefacenet.atlas import DEFAULT_ATLAS_PATH, ISLANDS, UVAtlas
from inversefacenet.facemodel.model import DEFAULT_MODEL_PATH, FaceModel

SQUIRCLE_POWER = 4.0
"""Skin boundary curve |u/a|^p + |v/b|^p = 1: strictly convex, and fills a rectangle better than an ellipse."""
DENSITY = {"skin": 1.0, "eyes": 0.6, "mouth interior": 0.35}
"""Texel density (texels per mm) of each island relative to the skin."""
RESOLUTION = 1024
PADDING = 4


def model_islands(model: FaceModel) -> np.ndarray:
    """(T,) island of each model triangle: eyes or mouth interior when all three vertices are, else skin."""
    island = np.zeros(model.n_triangles, np.int64)
    island[model.mask_eyes[model.triangles].all(axis=1)] = ISLANDS.index("eyes")
    island[model.mask_mouth_interior[model.triangles].all(axis=1)] = ISLANDS.index("mouth interior")
    return island


def boundary_loops(triangles: np.ndarray, n_vertices: int) -> list[np.ndarray]:
    """Closed boundary loops of a manifold triangle mesh, each ordered along its directed edges."""
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    key = edges[:, 0] * n_vertices + edges[:, 1]
    reverse = edges[:, 1] * n_vertices + edges[:, 0]
    border = edges[~np.isin(key, reverse)]
    successor = dict(zip(border[:, 0].tolist(), border[:, 1].tolist(), strict=True))
    if len(successor) != len(border):
        raise ValueError("a boundary vertex is on two boundary loops (non-manifold cut)")
    loops = []
    while successor:
        start = next(iter(successor))
        loop = [start]
        while successor[loop[-1]] != start:
            loop.append(successor.pop(loop[-1]))
        successor.pop(loop[-1])
        loops.append(np.array(loop))
    return loops


def mean_value_weights(points: np.ndarray, triangles: np.ndarray) -> scipy.sparse.csr_matrix:
    """Floater's mean-value weights w_ij = (tan(a/2) + tan(b/2)) / |p_i - p_j|: positive on any mesh."""
    rows, cols, values = [], [], []
    for k in range(3):
        i, j, h = triangles[:, k], triangles[:, (k + 1) % 3], triangles[:, (k + 2) % 3]
        a, b = points[j] - points[i], points[h] - points[i]
        length_a, length_b = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        half_tan = np.tan(np.arccos(np.clip((a * b).sum(1) / (length_a * length_b), -1, 1)) / 2)
        rows += [i, i]
        cols += [j, h]
        values += [half_tan / length_a, half_tan / length_b]
    n = len(points)
    return scipy.sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), (n, n))


def skin_island(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 2) uv of a disk-with-holes mesh in mm-like units, one-to-one (see the module docstring)."""
    loops = boundary_loops(triangles, len(points))
    outer = max(loops, key=len)
    # Fill each hole with a fan around a new centre vertex: the mesh becomes a disk.
    fans, centres = [triangles], []
    for hole in (loop for loop in loops if loop is not outer):
        centre = len(points) + len(centres)
        centres.append(points[hole].mean(axis=0))
        fans.append(np.stack([np.roll(hole, -1), hole, np.full(len(hole), centre)], axis=1))
    disk_points = np.concatenate([points, *[c[None] for c in centres]])
    weights = mean_value_weights(disk_points, np.concatenate(fans))
    # Boundary: polar angle in a cylindrical view (azimuth * radius, height), kept increasing.
    x, y, z = points[outer].T
    radius = np.median(np.hypot(points[:, 0], points[:, 2]))
    flat = np.stack([np.arctan2(x, z) * radius, y], axis=1)
    centre = (flat.min(axis=0) + flat.max(axis=0)) / 2
    polar = np.unwrap(np.arctan2(flat[:, 1] - centre[1], flat[:, 0] - centre[0]))
    turn = np.sign(polar[-1] - polar[0])  # +1 when the loop runs counter-clockwise in this view
    swept = np.maximum.accumulate(turn * (polar - polar[0])) + 1e-3 * np.arange(len(polar))  # strictly increasing
    angle = polar[0] + turn * swept * (2 * np.pi * (len(swept) - 1) / len(swept)) / swept[-1]
    half = np.ptp(flat, axis=0) / 2
    direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    scale = ((np.abs(direction) / half) ** SQUIRCLE_POWER).sum(axis=1) ** (-1 / SQUIRCLE_POWER)
    boundary_uv = direction * scale[:, None]
    # Convex-combination map: every free vertex is the weighted mean of its neighbours.
    laplacian = scipy.sparse.diags(np.asarray(weights.sum(axis=1)).ravel()) - weights
    free = np.setdiff1d(np.arange(len(disk_points)), outer)
    solve = scipy.sparse.linalg.splu(laplacian[free][:, free].tocsc()).solve
    rhs = -(laplacian[free][:, outer] @ boundary_uv)
    uv = np.zeros((len(disk_points), 2))
    uv[outer] = boundary_uv
    uv[free] = np.stack([solve(rhs[:, 0]), solve(rhs[:, 1])], axis=1)
    return uv[: len(points)]


def interior_charts(points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """xatlas charts of the eyes and mouth interior: (vertex (W,), triangles (T, 3), uv (W, 2)).

    xatlas may hand charts back mirrored; those are mirrored again so every triangle keeps
    the mesh's counter-clockwise orientation in uv.
    """
    vertex, chart_triangles, uv = xatlas.parametrize(points.astype(np.float32), triangles.astype(np.uint32))
    chart_triangles = chart_triangles.astype(np.int64)
    uv = uv.astype(np.float64)
    _, chart = scipy.sparse.csgraph.connected_components(
        trimesh.Trimesh(np.zeros((len(uv), 3)), chart_triangles, process=False).edges_sparse, directed=False
    )
    area = signed_areas(uv, chart_triangles)
    mirrored = np.bincount(chart[chart_triangles[:, 0]], weights=area) < 0
    uv[mirrored[chart], 0] *= -1
    return vertex.astype(np.int64), chart_triangles, uv


def signed_areas(uv: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T,) signed uv areas, positive for counter-clockwise triangles."""
    a, b, c = uv[triangles[:, 0]], uv[triangles[:, 1]], uv[triangles[:, 2]]
    return ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])) / 2


def build(model: FaceModel) -> UVAtlas:
    """The atlas of ``model``: region clipped, islands parameterized, charts packed by xatlas."""
    region = model.region_mesh()  # clipped at the forehead and jaw curves
    vertex, weight, triangles, parent = region.vertex, region.weight, region.triangles, region.parent
    mean = model.vertices_mean.astype(np.float64)
    points = mean[vertex[:, 0]] * (1 - weight[:, None]) + mean[vertex[:, 1]] * weight[:, None]
    island = model_islands(model)[parent]
    charts = []  # (triangle ids, point of each chart vertex, chart triangles, uv)
    skin = np.flatnonzero(island == 0)
    used, local = np.unique(triangles[skin], return_inverse=True)
    charts.append((skin, used, local.reshape(-1, 3), skin_island(points[used], local.reshape(-1, 3))))
    rest = np.flatnonzero(island > 0)
    charts.append((rest, *interior_charts(points, triangles[rest])))
    # Pack: xatlas scales each chart to its surface area, so the positions it sees are scaled
    # per island to set the texel densities.
    density = np.array([DENSITY[name] for name in ISLANDS])
    point_of, chart_triangles, chart_uv, chart_points, offset = [], [], [], [], 0
    for ids, point, local_triangles, uv in charts:
        chart_triangles.append(local_triangles + offset)
        point_of.append(point)
        chart_uv.append(uv)
        scale = np.zeros(len(point))
        scale[local_triangles.ravel()] = np.repeat(density[island[ids]], 3)
        chart_points.append(points[point] * scale[:, None])
        offset += len(point)
    atlas = xatlas.Atlas()
    atlas.add_mesh(np.concatenate(chart_points).astype(np.float32), np.concatenate(chart_triangles).astype(np.uint32),
                   uvs=np.concatenate(chart_uv).astype(np.float32))  # fmt: skip
    chart_options = xatlas.ChartOptions()
    chart_options.use_input_mesh_uvs = True
    pack_options = xatlas.PackOptions()
    pack_options.resolution, pack_options.padding, pack_options.bilinear = RESOLUTION, PADDING, True
    # No rotation: xatlas "rotates" by swapping u and v, which mirrors a chart, and turning charts
    # to their smallest box could put the face upside down.
    pack_options.rotate_charts = pack_options.rotate_charts_to_axis = False
    atlas.generate(chart_options, pack_options)
    packed_vertex, packed_triangles, packed_uv = atlas[0]
    point = np.concatenate(point_of)[packed_vertex.astype(np.int64)]
    ids = np.concatenate([ids for ids, *_ in charts])
    order = np.argsort(parent[ids], kind="stable")  # in the model's triangle order
    result = UVAtlas(
        vertex=vertex[point].astype(np.int32), weight=weight[point].astype(np.float32),
        uv=packed_uv.astype(np.float32), triangles=packed_triangles.astype(np.int32)[order],
        face_triangles=parent[ids][order].astype(np.int32), island=island[ids][order].astype(np.uint8),
        face_model_sha256=model.sha256,
    )  # fmt: skip
    flipped = int((signed_areas(result.uv.astype(np.float64), result.triangles) <= 0).sum())
    if flipped:
        raise ValueError(f"{flipped} atlas triangles are flipped or degenerate")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--out", type=Path, default=DEFAULT_ATLAS_PATH)
    args = parser.parse_args()
    model = FaceModel.load(args.model)
    atlas = build(model)
    atlas.save(args.out)
    counts = np.bincount(atlas.island, minlength=len(ISLANDS))
    print(f"{args.out}: {len(atlas.vertex)} vertices ({model.n_vertices} in the model), "
          f"{len(atlas.triangles)} triangles ({model.n_triangles} in the model); "
          + ", ".join(f"{name} {n}" for name, n in zip(ISLANDS, counts, strict=True)))  # fmt: skip


if __name__ == "__main__":
    main()
