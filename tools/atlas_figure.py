"""Figure and numbers of the face model's UV atlas: layout, baked texture, the exported GLB seen by pyrender.

    python tools/atlas_figure.py [--figure assets/facemodel_uv.png] [--files out/x_face1/face.glb ...]

Prints, for the model's own cylindrical ``uv`` and for the atlas (or for exported OBJ/GLB files),
the share of covered texels claimed by two or more triangles and of flipped uv triangles, measured
by a rasterizer of its own (texel centres strictly inside a triangle), independent of the bake's.
The tests use :func:`uv_quality` and :func:`render_glb` too.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

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


def layout_panel(ax: Any, uv: np.ndarray, triangles: np.ndarray, island: np.ndarray, title: str) -> None:
    """Draw uv triangles coloured by island, half transparent so that overlaps show darker."""
    from matplotlib.collections import PolyCollection

    colours = np.array([[0.35, 0.5, 0.85, 0.5], [0.95, 0.75, 0.1, 0.5], [0.85, 0.3, 0.25, 0.5]])[island]
    ax.add_collection(PolyCollection(uv[triangles], facecolors=colours, edgecolors="none"))
    ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=9)


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from inversefacenet import FaceModel, FaceParameters
    from inversefacenet.atlas import ISLANDS, UVAtlas
    from inversefacenet.export import bake_face_texture, bake_texture, export_face, export_mesh
    from inversefacenet.render import render
    from inversefacenet.render.camera import rotation_matrix

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figure", type=Path, default=Path("assets/facemodel_uv.png"))
    parser.add_argument("--files", type=Path, nargs="*", default=[], help="exported OBJ/GLB files to measure")
    args = parser.parse_args()
    if args.files:
        import trimesh

        for path in args.files:
            mesh = trimesh.load(path, process=False, force="mesh")
            print(path, uv_quality(np.asarray(mesh.visual.uv), mesh.faces))
        return

    model = FaceModel.load()
    atlas = UVAtlas.for_model(model)
    params = FaceParameters.neutral(model.layout)
    params.rotation[0, 1] = np.radians(30)
    params.sh[0, 0] = 1.0  # ambient light only: the image is the albedo
    vertices = model.geometry(params.shape, params.expression)[0]
    albedo = np.clip(model.albedo(params.albedo)[0], 0, 1)
    rotation = rotation_matrix(params.rotation)[0]
    size = 384
    own = render(model, params, size)
    model_island = np.zeros(model.n_triangles, np.int64)
    model_island[model.mask_eyes[model.triangles].all(axis=1)] = ISLANDS.index("eyes")
    model_island[model.mask_mouth_interior[model.triangles].all(axis=1)] = ISLANDS.index("mouth interior")
    rows = {
        "model uv (cylindrical)": (model.uv, model.triangles, model_island,
                                       bake_texture(model.uv, model.triangles, albedo)),
        "UV atlas": (atlas.uv, atlas.triangles, atlas.island, bake_face_texture(model, albedo)),
    }  # fmt: skip
    fig, axes = plt.subplots(2, 3, figsize=(12, 8.4))
    with tempfile.TemporaryDirectory() as folder:
        for row, (name, (uv, triangles, island, texture)) in zip(axes, rows.items(), strict=True):
            measured = triangles if uv is model.uv else atlas.triangles[: atlas.cap_first]  # the cap: one uv per loop
            quality = uv_quality(uv, measured)
            print(name, quality)
            title = (f"{name}: {quality['overlap']:.1%} of covered texels claimed twice,\n"
                     f"{quality['flipped']:.1%} of triangles flipped, {quality['degenerate']:.1%} degenerate")
            layout_panel(row[0], uv, triangles, island, title)
            row[1].imshow(texture)
            row[1].set_title("mean face's albedo baked at it (1024 px)", fontsize=9)
            glb = Path(folder) / f"{len(uv)}.glb"
            if uv is model.uv:
                export_mesh(glb, vertices, triangles, albedo, uv, texture, rotation)
            else:
                export_face(glb, model, vertices, albedo, rotation, texture)
            colour, _ = render_glb(glb, size, float(own.crop_scale[0]), own.crop_offset[0])
            row[2].imshow(colour)
            row[2].set_title("the exported GLB in pyrender (flat, textured, node pose)", fontsize=9)
            for ax in row[1:]:
                ax.set(xticks=[], yticks=[])
    axes[0, 0].legend(handles=[Patch(color=c, label=n) for c, n in zip(("#5a80d9", "#f2bf1a", "#d94c40"), ISLANDS,
                                                                       strict=True)],  # fmt: skip
                      loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.figure, dpi=100)
    print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
