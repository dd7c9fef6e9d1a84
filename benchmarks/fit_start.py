"""Where the full fit should start, and what it should follow: the network or the mean face, the photo's
colours or MediaPipe's points.

    python benchmarks/fit_start.py [CHECKPOINT] [--photos runs/devset] [--faces 40] [--fractions 1 0.5 0.25]
                                   [--landmark-weights 0.3 0.1] [--anchors 0.05 0.2] [--realistic-only]
                                   [--report FILE.json]

Issue #13 asks whether the fit started from the network is better than the fit from the mean face,
or as good in fewer iterations. Rows: the full fit from the mean face (``DEFAULT_FIT``); from the network
the pipeline's fit (``NETWORK_START_FIT``: led by the colours, MediaPipe's points a weak pull) and, per
fraction, the fit led by the points (``DEFAULT_FIT``'s landmark stage and refinement, iterations scaled), on
- the realistic row's photo-like renders of known faces (``training.evaluate``'s real path, same
  seed and faces): rotation and geometric error against the truth, as ``training.evaluate`` reports;
- the development set's real photos, scored like ``training.evaluate_photos``: the fit's landmark
  residual against MediaPipe's points and its photometric RMSE (what the fit minimises: residuals,
  not accuracies).
``--landmark-weights`` and ``--anchors`` add rows from the network with ``NETWORK_START_FIT``'s
``FitConfig.landmark_weight`` or ``FitConfig.start_anchor`` set: how much the fit should trust MediaPipe's points
against the network it starts from.
Time: wall ms per face of the whole ``reconstruct_faces`` call (network, crop, fit; detection
excluded), after one warm-up face per row; median on the realistic row, mean on the development set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from crop_scatter import HELD_OUT, faces_of_the_realistic_row  # noqa: E402

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.detection import DetectedFace, LandmarkDetector  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from inversefacenet.fitting import DEFAULT_FIT, NETWORK_START_FIT  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.pipeline import Reconstructor  # noqa: E402
from training.bootstrap import photo_faces  # noqa: E402
from training.corpus import held_out_set  # noqa: E402
from training.evaluate import metrics  # noqa: E402
from training.evaluate_photos import score  # noqa: E402

MEAN_FACE = "full fit from the mean face"


def fitters(model: FaceModel, predictor: Predictor, detector: LandmarkDetector, fractions: list[float],
            landmark_weights: list[float], anchors: list[float]) -> dict[str, Reconstructor]:  # fmt: skip
    """The rows: the fit from the mean face, then from the network: the pipeline's, the one led by the points at
    each fraction of the iterations, each landmark weight and each start anchor."""
    configs = {"network + full fit (the pipeline's, led by the colours)": NETWORK_START_FIT}
    for fraction in fractions:
        configs[f"network + full fit led by the points, {fraction:g} x the iterations"] = replace(
            DEFAULT_FIT, landmark_iterations=round(DEFAULT_FIT.landmark_iterations * fraction),
            refine_iterations=round(DEFAULT_FIT.refine_iterations * fraction))  # fmt: skip
    for weight in landmark_weights:
        configs[f"network + full fit, landmark weight {weight:g}"] = replace(NETWORK_START_FIT, landmark_weight=weight)
    for anchor in anchors:
        configs[f"network + full fit, start anchor {anchor:g}"] = replace(NETWORK_START_FIT, start_anchor=anchor)
    rows = {MEAN_FACE: Reconstructor(model, detector, None, fit_mode="full")}
    for name, config in configs.items():
        rows[name] = Reconstructor(model, detector, predictor, fit_mode="full", fit_config=config)
    return rows


def realistic(model: FaceModel, rows: dict[str, Reconstructor], count: int) -> dict[str, dict[str, float]]:
    """Outcomes against the truth on the realistic row's detected faces, and the median ms per face."""
    found = faces_of_the_realistic_row(model, count)
    truth = held_out_set(model, HELD_OUT).select(np.array([k for k, *_ in found]))
    results = {}
    for name, reconstructor in rows.items():
        params, ms = [], []
        for _, photo, detected, _ in found:
            start = time.perf_counter()
            params.append(reconstructor.reconstruct_faces(photo, [DetectedFace(detected, 1.0)])[0].params)
            ms.append((time.perf_counter() - start) * 1000)
        outcome = metrics(model, truth, FaceParameters.concatenate(params))
        results[name] = {**outcome, "ms_per_face": float(np.median(ms[1:])), "faces": len(found)}
    return results


def development(folder: Path, rows: dict[str, Reconstructor]) -> dict[str, dict[str, float]]:
    """Residuals on the real photos (``training.evaluate_photos.score``) and the mean ms per face."""
    faces = photo_faces(folder, next(iter(rows.values())).detector)
    results = {}
    image, face = faces[0]
    for name, reconstructor in rows.items():
        reconstructor.reconstruct_faces(image, [face])  # warm-up
        start = time.perf_counter()
        scores = score(reconstructor, faces, name)
        results[name] = {**scores, "ms_per_face": (time.perf_counter() - start) * 1000 / len(faces)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--photos", type=Path, default=ROOT / "runs" / "devset")
    parser.add_argument("--faces", type=int, default=40, help="of the realistic row")
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.5])
    parser.add_argument("--landmark-weights", type=float, nargs="*", default=[])
    parser.add_argument("--anchors", type=float, nargs="*", default=[])
    parser.add_argument("--realistic-only", action="store_true", help="skip the development set")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    model = FaceModel.load()
    predictor = Predictor.load(args.checkpoint, model)
    rows = fitters(model, predictor, LandmarkDetector(), args.fractions, args.landmark_weights, args.anchors)
    parts = {"realistic row": realistic(model, rows, args.faces)}
    if not args.realistic_only:
        parts["development set"] = development(args.photos, rows)
    results = {f"{part}: {name}": values for part, named in parts.items() for name, values in named.items()}
    for name, values in results.items():
        print(f"{name:>60}: " + ", ".join(f"{key} {value:.4g}" for key, value in values.items()))
    report = {"checkpoint": args.checkpoint, "results": results}
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
