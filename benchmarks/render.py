"""Corpus-renderer throughput against pyrender on the same meshes.

    python benchmarks/render.py [--sizes 128 160 240] [--batch 64] [--seconds 3]

"Complete images" = geometry from parameters + normals + SH shading + perspective + crop +
z-buffer raster + colour interpolation + visibility, i.e. everything `render()` does.
pyrender gets the already shaded vertex colours (so it only uploads and rasterizes) and
renders one image per call, as it must for per-image geometry.
Prints a table and ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversefacenet import FaceModel, FaceParameters, render  # noqa: E402
from training.corpus import sample_parameters  # noqa: E402


def corpus_parameters(model: FaceModel, batch: int, rng: np.random.Generator) -> FaceParameters:
    """The paper's corpus distribution (section 5), as the training corpus draws it."""
    return sample_parameters(model, batch, rng)


def throughput(model: FaceModel, size: int, batch: int, seconds: float) -> float:
    rng = np.random.default_rng(0)
    params = corpus_parameters(model, batch, rng)
    render(model, params, size)  # compile / warm up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        render(model, corpus_parameters(model, batch, rng), size)
        count += batch
    return count / (time.perf_counter() - start)


def pyrender_throughput(model: FaceModel, size: int, count: int) -> float | str:
    """Images/s of pyrender (EGL, software GL here) on the same meshes and vertex colours."""
    try:
        import pyrender
        import trimesh

        renderer = pyrender.OffscreenRenderer(size, size)
    except Exception as error:  # noqa: BLE001 - report why the baseline is missing
        return f"unavailable: {type(error).__name__}: {error}"
    rng = np.random.default_rng(0)
    params = corpus_parameters(model, count, rng)
    out = render(model, params, size)
    camera = pyrender.IntrinsicsCamera(fx=out.crop_scale[0], fy=out.crop_scale[0], cx=size / 2, cy=size / 2)
    start = time.perf_counter()
    for i in range(count):
        colours = np.clip(out.vertex_colour[i], 0, 1)
        mesh = trimesh.Trimesh(out.vertices[i], model.triangles, vertex_colors=colours, process=False)
        scene = pyrender.Scene(ambient_light=np.ones(3))
        scene.add(pyrender.Mesh.from_trimesh(mesh, smooth=True))
        scene.add(camera, pose=np.eye(4))
        renderer.render(scene, flags=pyrender.RenderFlags.FLAT)
    rate = count / (time.perf_counter() - start)
    renderer.delete()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 160, 240])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pyrender-images", type=int, default=40)
    args = parser.parse_args()
    model = FaceModel.load()
    coarse = model.coarse()
    print(f"face model: {model.n_vertices} vertices / {model.n_triangles} triangles; "
          f"coarse level: {coarse.n_vertices} / {coarse.n_triangles}; cores: {os.cpu_count()}")  # fmt: skip
    header = (f"{'size':>5} | {'full mesh img/s':>15} | {'coarse img/s':>12} | {'pyrender img/s':>14} | "
              f"{'full/pyrender':>13} | {'coarse/pyrender':>15}")  # fmt: skip
    print(header)
    print("-" * len(header))
    summary = {}
    for size in args.sizes:
        full = throughput(model, size, args.batch, args.seconds)
        fast = throughput(coarse, size, args.batch, args.seconds)
        baseline = pyrender_throughput(model, size, args.pyrender_images)
        ratio = full / baseline if isinstance(baseline, float) else float("nan")
        coarse_ratio = fast / baseline if isinstance(baseline, float) else float("nan")
        shown = f"{baseline:14.1f}" if isinstance(baseline, float) else f"{'n/a':>14}"
        print(f"{size:>5} | {full:15.0f} | {fast:12.0f} | {shown} | {ratio:12.1f}x | {coarse_ratio:14.1f}x")
        if not isinstance(baseline, float):
            print(f"      pyrender {baseline}")
        summary[str(size)] = {
            "full_img_per_s": round(full, 1), "coarse_img_per_s": round(fast, 1),
            "pyrender_img_per_s": round(baseline, 1) if isinstance(baseline, float) else None,
            "full_over_pyrender": round(ratio, 1), "coarse_over_pyrender": round(coarse_ratio, 1),
        }  # fmt: skip
    print(json.dumps({"benchmark": "render", "batch": args.batch, "results": summary}))


if __name__ == "__main__":
    main()
