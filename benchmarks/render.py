"""Corpus-renderer throughput against pyrender on the same meshes, and the app's preview times with each.

    python benchmarks/render.py [--sizes 128 160 240] [--batch 64] [--seconds 3] [--preview-repeats 20]
                                [--preview-gap 0.2]

"Complete images" = geometry from parameters + normals + SH shading + perspective + raster +
colour interpolation, on both sides, for the full mesh and its coarse level (the corpus's):
numba is ``render()`` (which also finds the crop and the visible vertices); pyrender is
``render_gl.GLRenderer.render()``: the same numba shading, then one OpenGL draw per image
(upload, rasterize with 4x MSAA, read back) at the crop numba found (computed beforehand).
Both are warmed up first. pyrender's first batch is checked against numba's: its face masks
must overlap numba's (mean IoU >= 0.95), so an empty read-back cannot pass for speed.

Preview: the app's slider renders at 512 px of one corpus face, through ``demo.views``:
a light slider re-renders the relit view, an expression slider the relit, geometry and
albedo views (the composite into the photo is not included). Renders are ``--preview-gap``
seconds apart, as slider events are: on a CPU shared with other work, back-to-back renders
time the scheduler's share of this process more than the renderer (measured here, with a
nice-0 training run on both cores: numba's relit view took 42 ms back to back, 18 ms with
0.15 s gaps; pyrender's 38 and 41 ms).
Prints tables and ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo import views  # noqa: E402
from inversefacenet import FaceModel, FaceParameters  # noqa: E402
from inversefacenet.render.render_gl import GLRenderer, probe  # noqa: E402
from inversefacenet.render.renderer import render, to_uint8  # noqa: E402
from training.corpus import sample_parameters  # noqa: E402

MIN_MASK_IOU = 0.95


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


def pyrender_throughput(gl: GLRenderer, model: FaceModel, size: int, batch: int, seconds: float) -> dict[str, float]:
    """pyrender's images/s on corpus faces at numba's crops, and its first batch against numba's.

    Parity on that batch: pixels covered, mask IoU and mean colour |difference| (0-255, over
    the pixels either mask covers) per image, averaged.
    """
    rng = np.random.default_rng(0)
    outputs = [(params, render(model, params, size)) for params in (corpus_parameters(model, batch, rng) for _ in "ab")]
    batches = [(params, (out.crop_scale, out.crop_offset)) for params, out in outputs]
    masks, images = outputs[0][1].raster.mask, to_uint8(outputs[0][1].image)
    images_gl, coverage = gl.render(model, batches[0][0], size, batches[0][1])  # warm up: context, shaders
    drawn = coverage >= 0.5
    union = drawn | masks
    iou = ((drawn & masks).sum((1, 2)) / np.maximum(union.sum((1, 2)), 1)).mean()
    if iou < MIN_MASK_IOU:
        raise RuntimeError(f"pyrender's faces overlap numba's by mean IoU {iou:.3f} at {size} px: not the same images")
    diff = np.abs(images_gl.astype(np.int16) - images).mean(-1)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        params, crop = batches[count // batch % len(batches)]
        gl.render(model, params, size, crop)
        count += batch
    return {"img_per_s": count / (time.perf_counter() - start), "px_covered": float(drawn.sum((1, 2)).mean()),
            "numba_px_covered": float(masks.sum((1, 2)).mean()), "mask_iou": float(iou),
            "mean_abs_diff": float(np.mean([d[u].mean() for d, u in zip(diff, union, strict=True)]))}  # fmt: skip


def preview_times(model: FaceModel, renderer: str, repeats: int, gap_s: float) -> dict[str, list[float]]:
    """Milliseconds of the app's light and expression slider renders with ``renderer``, ``gap_s`` apart."""
    if views.use_preview(renderer) != renderer:
        raise RuntimeError(f"the previews cannot use {renderer} here")
    params = corpus_parameters(model, 1, np.random.default_rng(1))
    face = views.FaceViews(model, params)
    actions: dict[str, Callable[[], object]] = {
        "light slider (relit)": lambda: face.relit(params),
        "expression slider (relit + geometry + albedo)": lambda: (face.relit(params), face.geometry(params),
                                                                   face.albedo(params)),
    }  # fmt: skip
    times: dict[str, list[float]] = {}
    for name, action in actions.items():
        action()  # warm up
        times[name] = []
        for _ in range(repeats):
            time.sleep(gap_s)
            start = time.perf_counter()
            action()
            times[name].append(1000 * (time.perf_counter() - start))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[128, 160, 240], help="none: previews only")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--preview-repeats", type=int, default=20, help="slider renders per renderer (0: skip)")
    parser.add_argument("--preview-gap", type=float, default=0.2, help="seconds between slider renders")
    args = parser.parse_args()
    model = FaceModel.load()
    meshes = {"full": model, "coarse": model.coarse()}
    print(f"face model: {model.n_vertices} vertices / {model.n_triangles} triangles; coarse level: "
          f"{meshes['coarse'].n_vertices} / {meshes['coarse'].n_triangles}; cores: {os.cpu_count()}")  # fmt: skip
    problem = probe()
    gl = GLRenderer() if problem is None else None
    if problem is not None:
        print(f"pyrender unavailable: {problem}")
    header = (f"{'size':>5} | {'mesh':>6} | {'numba img/s':>11} | {'pyrender img/s':>14} | {'numba/pyrender':>14} | "
              f"{'px covered, pyrender / numba':>28} | {'mask IoU':>8} | {'mean |diff|':>11}")  # fmt: skip
    if args.sizes:
        print(header)
        print("-" * len(header))
    summary: dict[str, object] = {}
    for size in args.sizes:
        for name, mesh in meshes.items():
            numba = throughput(mesh, size, args.batch, args.seconds)
            row = pyrender_throughput(gl, mesh, size, args.batch, args.seconds) if gl else {}
            covered = f"{row['px_covered']:.0f} / {row['numba_px_covered']:.0f} of {size * size}" if row else "n/a"
            shown = (f"{row['img_per_s']:14.1f} | {numba / row['img_per_s']:13.1f}x | {covered:>28} | "
                     f"{row['mask_iou']:8.4f} | {row['mean_abs_diff']:11.2f}" if row else f"{'n/a':>14}")  # fmt: skip
            print(f"{size:>5} | {name:>6} | {numba:11.0f} | {shown}")
            summary[f"{size} {name}"] = {"numba_img_per_s": round(numba, 1),
                                         "pyrender": {k: round(v, 4) for k, v in row.items()}}  # fmt: skip
    if args.preview_repeats:
        print(f"\npreview at {views.PREVIEW_SIZE} px, ms (median / min / max of {args.preview_repeats}, "
              f"{args.preview_gap} s apart)")  # fmt: skip
        for renderer in ("numba", "pyrender") if gl else ("numba",):
            for action, values in preview_times(model, renderer, args.preview_repeats, args.preview_gap).items():
                print(f"{renderer:>8} | {action:<46} | {statistics.median(values):6.1f} / {min(values):6.1f} / "
                      f"{max(values):6.1f}")  # fmt: skip
                summary[f"preview {renderer} {action}"] = round(statistics.median(values), 1)
    print(json.dumps({"benchmark": "render", "batch": args.batch, "results": summary}))


if __name__ == "__main__":
    main()
