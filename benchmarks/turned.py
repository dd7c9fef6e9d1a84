"""Faces turned past the corpus's yaw range: the realistic row with the heads turned further, per band of yaw.

    python benchmarks/turned.py [CHECKPOINT ...] [--faces 40] [--bands 0 40 50 60 70] [--fit] [--browser]
        [--report FILE.json]

The corpus draws yaw from U(-40, 40) degrees (the paper's range); photos of three-quarter views are turned further,
and a network trained on that range reads them at about 40 degrees. For each band of yaw (lo, hi) the first
``--faces`` faces of ``training.evaluate``'s realistic row (the same photo-like renders: background, camera effects,
JPEG) with the yaw redrawn from U(lo, hi) either way go through the real photo path (MediaPipe detection and mesh,
crop, mask, network; with ``--fit`` also the full fit), for each checkpoint (default: the shipped network). Metrics
as ``training.evaluate``'s (the yaw's own mean error among them), over the faces detected (fewer as the yaw grows,
so each band scores its own subset), and the share detected; the detector's own points are scored too (the share
found, and their placement error: mean distance from the true points over the true eye distance), and with
``--browser`` the built page's detector on the same photos (``make web-build``; Chromium). Writes ``--report`` (default
reports/turned/report.json) and a plot beside it (yaw error, geometric error and share detected per band).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.detection import browser_faces  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from training.evaluate import (  # noqa: E402
    PLACEMENT,
    nearest_face,
    placement_error,
    real_path,
    realistic_photos,
    turned_faces,
)

YAW_SEED = 40
DETECTOR = "MediaPipe's points, as detected"
PAGE = "the page's detector (Chromium)"
OUTCOMES = ("rotation_error_deg", "yaw_error_deg", "geometric_rmse_mm", "photometric_rmse", "mask_iou", "detected")


def band_scores(model: FaceModel, predictor: Predictor, faces: int, band: tuple[float, float],
                fit: bool) -> dict[str, dict[str, float]]:  # fmt: skip
    """The real path's rows (network, and network + full fit with ``fit``) on faces turned U(lo, hi) degrees, and
    where MediaPipe's points as detected land (the Python detector's share found and placement error)."""
    truth = turned_faces(model, faces, 1, band, YAW_SEED)
    found = real_path(model, predictor, truth, fit)
    rows = ("network", "network + full fit")[: 1 + fit]
    scores = {row: {key: found[f"{row} (real path)"][key] for key in OUTCOMES} for row in rows}
    return scores | {DETECTOR: {key: found[f"{DETECTOR} (real path)"][key] for key in (PLACEMENT, "detected")}}


def page_scores(model: FaceModel, faces: int, band: tuple[float, float]) -> dict[str, float]:
    """The built page's detector (``make web-build``, in Chromium) on the same photos: the share of faces it finds
    and the placement error of its points, as :data:`DETECTOR`'s row scores the Python detector's."""
    photos, truths = zip(*realistic_photos(model, turned_faces(model, faces, 1, band, YAW_SEED)), strict=True)
    errors = []
    for found, points in zip(browser_faces(list(photos)), truths, strict=True):
        nearest = nearest_face(found, points)
        if nearest is not None:
            errors.append(placement_error(found[nearest], points))
    return {PLACEMENT: float(np.mean(errors)) if errors else float("nan"), "detected": len(errors) / faces}


def plot(report: dict, path: Path) -> None:
    """Each checkpoint's rows against the middle of each band of yaw (yaw error, geometric error, share detected),
    and the detectors' placement error (the Python one's, and the page's with ``--browser``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    middles = [np.mean(band) for band in report["bands"]]
    for name, bands in report["checkpoints"].items():
        for row in (row for row in bands[0]["rows"] if row != DETECTOR):
            label, style = f"{name}: {row}", "o-" if row == "network" else "s--"
            for axis, key in zip(axes[:3], ("yaw_error_deg", "geometric_rmse_mm", "detected"), strict=True):
                axis.plot(middles, [band["rows"][row][key] for band in bands], style, label=label)
    detectors = {DETECTOR: [band["rows"][DETECTOR] for band in next(iter(report["checkpoints"].values()))]}
    detectors |= {PAGE: report["page"]} if "page" in report else {}
    for (name, bands), colour in zip(detectors.items(), ("black", "tab:purple"), strict=False):
        axes[2].plot(middles, [band["detected"] for band in bands], "^:", color=colour, label=name)
        axes[3].plot(middles, [band[PLACEMENT] for band in bands], "^:", color=colour, label=name)
    titles = ("yaw error (deg)", "geometric RMSE (mm)", "share of faces detected",
              "detector's points off (/ eye dist.)")
    for axis, title in zip(axes, titles, strict=True):
        axis.set_title(title)
        axis.set_xlabel("true yaw, middle of the band (deg)")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[3].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", default=[str(DEFAULT_CHECKPOINT)])
    parser.add_argument("--faces", type=int, default=40, help="faces per band")
    parser.add_argument("--bands", type=float, nargs="+", default=[0.0, 40.0, 50.0, 60.0, 70.0],
                        help="edges of the bands of |yaw| (deg)")  # fmt: skip
    parser.add_argument("--fit", action="store_true", help="also the network + full fit")
    parser.add_argument("--browser", action="store_true", help="also the built page's detector, in Chromium")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "turned" / "report.json")
    args = parser.parse_args()
    model = FaceModel.load()
    bands = list(zip(args.bands[:-1], args.bands[1:], strict=True))
    report = {"faces": args.faces, "bands": bands, "fit": args.fit, "checkpoints": {}}
    for checkpoint in args.checkpoints:
        predictor = Predictor.load(checkpoint, model)
        path = Path(checkpoint).resolve()
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        report["checkpoints"][name] = scored = []
        for band in bands:
            scored.append({"band_deg": band, "rows": band_scores(model, predictor, args.faces, band, args.fit)})
            for row, scores in scored[-1]["rows"].items():
                print(f"{name} yaw {band[0]:g}-{band[1]:g}: {row:>20}: "
                      + ", ".join(f"{key} {value:.3f}" for key, value in scores.items()), flush=True)  # fmt: skip
    if args.browser:
        report["page"] = [page_scores(model, args.faces, band) for band in bands]
        for band, scores in zip(bands, report["page"], strict=True):
            print(f"yaw {band[0]:g}-{band[1]:g}: {PAGE}: "
                  + ", ".join(f"{key} {value:.3f}" for key, value in scores.items()), flush=True)  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))
    plot(report, args.report.with_suffix(".png"))


if __name__ == "__main__":
    main()
