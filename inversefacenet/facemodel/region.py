"""Where the face ends: a smooth forehead curve instead of the mesh's own saw-tooth top edge.

The model's top edge is the coarse MakeHuman cut's saw-tooth (15 teeth, up to 10.7 mm). The face
region is the surface below the curve y = c - k * (azimuth / 100 deg)^2 on the mean face (head
frame, mm; azimuth = atan2(x, z)), which runs under every tooth's valley. Each vertex carries its
cut value, how far its mean position lies below the curve: fixed per vertex, so the cut follows the
skin through shape and expression. Interpolated linearly across a triangle it is zero along one
straight line, so a rasterizer drops fragments where the interpolated value is negative, and a mesh
(exports, the OpenGL preview) is clipped along the same line by :func:`clip_mesh`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOREHEAD_CURVE_MM = (75.5, 8.0)
"""(c, k) of the forehead curve y = c - k * (azimuth / 100 deg)^2, mm, head frame."""
SNAP = 0.05
"""A cut closer than this (fraction of the edge) to a vertex moves onto it: no sliver triangles."""


def forehead_cut(vertices: np.ndarray) -> np.ndarray:
    """Cut values (V,) mm of head-frame vertices (V, 3) mm: height below the forehead curve, >= 0 on the face.

    Computed in the vertices' float dtype.
    """
    x, y, z = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    c, k = FOREHEAD_CURVE_MM
    return (c - k * (np.degrees(np.arctan2(x, z)) / 100) ** 2) - y


@dataclass(frozen=True)
class ClippedMesh:
    """A triangle mesh clipped where its cut value is zero.

    vertex: (W, 2) int64 and weight: (W,) float64, each point a blend
        ``(1 - weight) * x[vertex[:, 0]] + weight * x[vertex[:, 1]]`` of two mesh vertices; the
        first V points are the mesh's own vertices in order (weight 0), the points on cut edges
        come after them, so per-vertex indices (landmarks, masks) stay valid.
    triangles: (T', 3) int64 point indices, oriented like their parents.
    parent: (T',) int64 the mesh triangle each one lies in.
    """

    vertex: np.ndarray
    weight: np.ndarray
    triangles: np.ndarray
    parent: np.ndarray

    def blend(self, per_vertex: np.ndarray) -> np.ndarray:
        """Per-vertex values (V, ...) -> per-point values (W, ...) (positions, normals, colours, uvs)."""
        weight = self.weight.reshape(-1, *[1] * (per_vertex.ndim - 1)).astype(per_vertex.dtype)
        return per_vertex[self.vertex[:, 0]] * (1 - weight) + per_vertex[self.vertex[:, 1]] * weight


def clip_mesh(cut: np.ndarray, triangles: np.ndarray, snap: float = SNAP) -> ClippedMesh:
    """Keep the part of a mesh where the linearly interpolated cut (V,) is >= 0.

    Triangles with all corners kept stay as they are, those with none are dropped, and the others
    are cut along the zero line into one or two triangles, with a point on each cut edge (shared by
    the triangles on both sides of it). A cut within ``snap`` of an edge's end moves onto that vertex.
    triangles: (T, 3) vertex indices.
    """
    cut = np.asarray(cut, np.float64)
    n_vertices = len(cut)
    inside = cut >= 0
    points: list[tuple[int, int, float]] = []
    crossings: dict[tuple[int, int], int] = {}

    def on_edge(i: int, j: int) -> int:
        """The point where edge (inside i, outside j) meets the zero line; i or j when that close to them."""
        t = cut[i] / (cut[i] - cut[j])
        if t < snap or t > 1 - snap:
            return i if t < snap else j
        if (i, j) not in crossings:
            crossings[i, j] = n_vertices + len(points)
            points.append((i, j, float(t)))
        return crossings[i, j]

    count = inside[triangles].sum(axis=1)
    kept, parent = [triangles[count == 3]], [np.flatnonzero(count == 3)]
    for index in np.flatnonzero((count == 1) | (count == 2)):
        a, b, c = triangles[index]
        while not (inside[a] and (count[index] == 1 or inside[b])):  # rotate: a inside; for two, a and b
            a, b, c = b, c, a
        if count[index] == 1:
            pieces = [(a, on_edge(a, b), on_edge(a, c))]
        else:
            pieces = [(a, b, on_edge(b, c)), (a, on_edge(b, c), on_edge(a, c))]
        pieces = [piece for piece in pieces if len(set(piece)) == 3]  # snapping can collapse a piece
        kept.append(np.array(pieces, np.int64).reshape(-1, 3))
        parent.append(np.full(len(pieces), index))
    own = np.arange(n_vertices)
    new = np.array(points, np.float64).reshape(-1, 3)
    return ClippedMesh(
        vertex=np.concatenate([np.stack([own, own], axis=1), new[:, :2].astype(np.int64)]),
        weight=np.concatenate([np.zeros(n_vertices), new[:, 2]]),
        triangles=np.concatenate(kept).astype(np.int64), parent=np.concatenate(parent).astype(np.int64),
    )  # fmt: skip


__all__ = ["FOREHEAD_CURVE_MM", "ClippedMesh", "clip_mesh", "forehead_cut"]
