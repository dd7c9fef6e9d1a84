"""Figure and numbers of the face model's UV atlas: layout, baked texture, the exported GLB seen by pyrender.

    python tools/atlas_figure.py [--figure assets/facemodel_uv.png] [--files out/x_face0/face.glb ...]

Prints, for the model's own cylindrical ``uv`` and for the atlas (or for exported OBJ/GLB files),
the share of covered texels claimed by two or more triangles and of flipped uv triangles, measured
by a rasterizer of its own (texel centres strictly inside a triangle), independent of the bake's.
The tests use :func:`uv_quality` and :func:`render_glb` too.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")  # headless OpenGL for pyrender; set before it loads

UV_CHECK_SIZE = 1024


def uv_quality(uv: np.ndarray, triangles: np.ndarray, size: int = UV_CHECK_SIZE) -> dict[str, float]:
    """Overlap and flips of a uv layout (uv: (V, 2), v up; triangles: (T, 3) counter-clockwise in 3D).

    overlap: covered texels whose centre lies strictly inside two or more triangles, over all
    covered texels; flipped / degenerate: triangles with negative / zero signed uv area.
    """
    corners = uv[triangles].astype(np.float64) * size - 0.5  # texel (i, j) centre at integer (j, i)
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    low = np.clip(np.ceil(corners.min(axis=1)), 0, size - 1).astype(np.int64)
    high = np.clip(np.floor(corners.max(axis=1)), 0, size - 1).astype(np.int64)
    extent = np.maximum(high - low + 1, 0)
    count = extent[:, 0] * extent[:, 1]
    owner = np.repeat(np.arange(len(triangles)), count)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    x = low[owner, 0] + local % extent[owner, 0]
    y = low[owner, 1] + local // extent[owner, 0]
    point = np.stack([x, y], axis=1).astype(np.float64)
    sides = []
    for p, q in ((a, b), (b, c), (c, a)):
        p, q = p[owner], q[owner]
        sides.append((q[:, 0] - p[:, 0]) * (point[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (point[:, 0] - p[:, 0]))
    sides = np.stack(sides, axis=1)
    inside = (sides > 0).all(axis=1) | (sides < 0).all(axis=1)
    claims = np.bincount(y[inside] * size + x[inside], minlength=size * size)
    covered = int((claims > 0).sum())
    return {
        "covered_texels": covered,
        "overlap": float((claims > 1).sum() / max(covered, 1)),
        "flipped": float((area < 0).mean()),
        "degenerate": float((area == 0).mean()),
    }


def render_glb(path: str | Path, size: int, focal_px: float, centre_px: np.ndarray, distance_mm: float = 600.0
               ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Render a GLB flat (texture only, no light) with pyrender, as the project's camera sees it.

    The camera sits at ``distance_mm`` on +z looking down -z; focal_px and centre_px (x, y) are
    the crop's pixels per unit of normalised image coordinates and its principal point.
    Returns (size, size, 3) uint8 colour and (size, size) bool coverage.
    """
    import pyrender
    import trimesh

    scene = pyrender.Scene.from_trimesh_scene(trimesh.load(path), bg_color=np.zeros(4), ambient_light=np.ones(3))
    camera = pyrender.IntrinsicsCamera(focal_px, focal_px, centre_px[0], centre_px[1], znear=0.05, zfar=10.0)
    pose = np.eye(4)
    pose[2, 3] = distance_mm / 1000  # the GLB is in metres
    scene.add(camera, pose=pose)
    renderer = pyrender.OffscreenRenderer(size, size)
    try:
        colour, depth = renderer.render(scene, flags=pyrender.RenderFlags.FLAT)
    finally:
        renderer.delete()
    return colour[..., :3], depth > 0
