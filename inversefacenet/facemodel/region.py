"""Where the face ends: smooth curves instead of the mesh's own saw-tooth top and bottom edges.

The model's edges are the coarse MakeHuman cut's: 15 teeth on the forehead (up to 10.7 mm), and
under the chin and jaw steps where the edge runs back towards the neck (turning by up to 48 degrees at
a vertex). On the mean face (head frame, mm; azimuth = atan2(x, z)) the face region is the surface
below the forehead curve y = c - k * (azimuth / 100 deg)^2 and above the jaw curve y = jaw(|azimuth|),
a cubic spline that runs just inside every step of the bottom edge, from the back edge behind one ear
(which it crosses at the jaw's corner) under the chin to the other. Both run just inside the model's
edge, so the chin and jaw line stay. The jaw curve trims the skin only: the mouth interior and the eyes
lie inside the head, the throat lower than the curve.

Each vertex carries one cut value, how far its mean position lies inside the region: the smaller of its
depth below the forehead curve and its height above the jaw curve (mm). Their sum is over 60 mm on the
skin, so wherever one of them is near zero the other is large, and no triangle has corners cut by both.
The value is fixed per vertex, so the cut follows the skin through shape and expression. Interpolated
linearly across a triangle it is zero along one straight line, so a rasterizer drops fragments where
the interpolated value is negative, and a mesh (exports, the OpenGL preview) is clipped along the same
line by :func:`clip_mesh`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FOREHEAD_CURVE_MM = (75.5, 8.0)
"""(c, k) of the forehead curve y = c - k * (azimuth / 100 deg)^2, mm, head frame."""
JAW_CURVE_KNOTS = (
    (0, -79.0), (20, -77.9), (40, -73.6), (60, -69.7), (80, -59.1), (95, -52.0),
    (110, -48.3), (122, -44.4), (130, -36.0), (135, -24.1), (138, -13.8), (141, -2.0),
)  # fmt: skip
"""(|azimuth| deg, y mm) knots of the jaw curve, head frame: a cubic spline, level at the chin's middle
(azimuth 0), natural at 141 deg and constant beyond (no skin lies there). Fitted as smooth as it goes
while it passes at least 0.75 mm above the model's bottom edge (median 1.8 mm, 6.8 mm at the deepest
step) and below every landmark vertex (MediaPipe, iBUG-68) but the two that lie on that edge itself at
the chin (taken by under 1 mm)."""
SNAP = 0.05
"""A cut closer than this (fraction of the edge) to a vertex moves onto it: no sliver triangles."""


def jaw_curve(azimuth_deg: np.ndarray) -> np.ndarray:
    """Height (mm) of the jaw curve at azimuths (deg), float64."""
    from scipy.interpolate import CubicSpline  # here: scipy.interpolate takes a quarter second to import

    knots = np.array(JAW_CURVE_KNOTS, np.float64)
    spline = CubicSpline(knots[:, 0], knots[:, 1], bc_type=((1, 0.0), "natural"))
    return spline(np.clip(np.abs(azimuth_deg), 0, knots[-1, 0]))


def edge_cut(vertices: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Cut values (V,) mm of head-frame vertices (V, 3) mm, >= 0 on the face: the depth below the
    forehead curve or, where smaller, the height above the jaw curve (not on ``inner`` (V,) bool
    vertices: the mouth interior and eyes, which the jaw curve leaves).

    Computed in the vertices' float dtype.
    """
    x, y, z = vertices[:, 0], vertices[:, 1], vertices[:, 2]
    azimuth = np.degrees(np.arctan2(x, z))
    c, k = FOREHEAD_CURVE_MM
    below_forehead = (c - k * (azimuth / 100) ** 2) - y
    above_jaw = y - jaw_curve(azimuth).astype(vertices.dtype)
    return np.where(inner, below_forehead, np.minimum(below_forehead, above_jaw))


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
    the triangles on both sides of it). A cut within ``snap`` of an edge's end moves onto that vertex:
    an outside vertex that close to the line on any of its edges is moved onto it (kept, on every
    edge alike, so no triangle keeps it on one edge and cuts it off on the other), a cut that close to
    an inside vertex ends at it. triangles: (T, 3) vertex indices.
    """
    cut = np.asarray(cut, np.float64).copy()
    n_vertices = len(cut)
    edges = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    edges = np.concatenate([edges, edges[:, ::-1]])  # (inside, outside) both ways round
    crossing = (cut[edges[:, 0]] > 0) & (cut[edges[:, 1]] < 0)
    i, j = edges[crossing].T
    near = cut[i] / (cut[i] - cut[j]) > 1 - snap
    cut[j[near]] = 0.0
    inside = cut >= 0
    points: list[tuple[int, int, float]] = []
    crossings: dict[tuple[int, int], int] = {}

    def on_edge(i: int, j: int) -> int:
        """The point where edge (inside i, outside j) meets the zero line; i when that close to it."""
        t = cut[i] / (cut[i] - cut[j])
        if t < snap:
            return i
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


__all__ = ["FOREHEAD_CURVE_MM", "JAW_CURVE_KNOTS", "ClippedMesh", "clip_mesh", "edge_cut", "fan", "jaw_curve",
           "open_loops"]


def open_loops(triangles: np.ndarray, among: np.ndarray) -> list[np.ndarray]:
    """The mesh's open edges (triangles (T, 3), counter-clockwise from outside) as closed loops of vertex indices,
    those made of ``among`` (V,) bool vertices only; each loop runs against its triangles' edges, so a triangle (a, b,
    c) of consecutive loop vertices is wound as the mesh is. Raises ValueError where open edges do not form simple
    loops (a vertex on two of them, or an edge of three triangles)."""
    directed = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]).tolist()
    edges = set(map(tuple, directed))
    following: dict[int, int] = {}
    for a, b in directed:
        if (b, a) not in edges:
            if b in following:
                raise ValueError(f"vertex {b} ends two open edges: the mesh's open edges there are not simple loops")
            following[b] = a
    loops, seen = [], set()
    for start in sorted(following):
        if start in seen:
            continue
        loop, vertex = [], start
        while vertex not in seen:
            seen.add(vertex)
            loop.append(vertex)
            vertex = following.get(vertex, -1)
        if vertex != start:
            raise ValueError(f"the mesh's open edge through vertex {start} is not a simple loop")
        if among[loop].all():
            loops.append(np.array(loop))
    return loops


def fan(loops: list[np.ndarray], vertices: np.ndarray) -> np.ndarray:
    """(K, 3) triangles closing each loop of :func:`open_loops`: a fan from the loop vertex whose fan is flattest on
    ``vertices`` (V, 3), the one whose triangles turn least from the loop's own normal (a loop is neither flat nor
    convex, and a fan from a poor vertex folds)."""
    fans = [max((_fan(loop, start) for start in range(len(loop))), key=lambda t: _flatness(vertices[t]))
            for loop in loops]  # fmt: skip
    return np.concatenate(fans) if fans else np.zeros((0, 3), np.int64)


def _fan(loop: np.ndarray, start: int) -> np.ndarray:
    """(len(loop) - 2, 3) the fan over ``loop`` from its vertex ``start``."""
    ring = np.roll(loop, -start)
    return np.stack([np.full(len(ring) - 2, ring[0]), ring[1:-1], ring[2:]], axis=1)


def _flatness(corners: np.ndarray) -> float:
    """The least cosine between a fan's triangles' normals ((K, 3, 3) corners) and the fan's own (area-weighted)."""
    corners = corners.astype(np.float64)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    return float((normals @ normals.sum(axis=0) / np.linalg.norm(normals, axis=1).clip(1e-12)).min())
