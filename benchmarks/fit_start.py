"""Where the full fit should start, and what it should follow: the network or the mean face, the photo's
colours or MediaPipe's points.

    python benchmarks/fit_start.py [CHECKPOINT] [--photos runs/devset] [--faces 40] [--fractions 1 0.5 0.25]
                                   [--landmark-weights 0.3 0.1] [--anchors 0.05 0.2] [--prior-scales 0.1]
                                   [--iterations 60 120] [--from-truth] [--clean 40] [--realistic-only]
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
against the network it starts from; ``--prior-scales`` sets its three priors (shape, expression, albedo) to
that many times the mean face's fit's (``DEFAULT_FIT``; the pipeline's are 0.3 x),
``--iterations`` sets its refinement iterations. ``--from-truth`` also runs each fit from a network's start
rows from the true parameters on the realistic row (same crop, mask and points; the true framing as the start's
place): how far the fit's own objective leads away from the truth, whatever it starts from. ``--clean N`` runs the
same fits from the truth on clean renders of the realistic row's first N faces (no background, camera or MediaPipe:
the crop, mask and points from the model's own landmark vertices): how far the objective leads from the truth when
nothing in the photo misleads it.
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

from crop_scatter import faces_of_the_realistic_row  # noqa: E402

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.detection import DetectedFace, LandmarkDetector  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from inversefacenet.fitting import DEFAULT_FIT, NETWORK_START_FIT, FitConfig, fit  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.pipeline import FIT_SIZE, Reconstructor  # noqa: E402
from inversefacenet.preprocess import crop_for_landmarks, face_mask  # noqa: E402
from inversefacenet.render.renderer import render, to_uint8  # noqa: E402
from training.bootstrap import photo_faces  # noqa: E402
from training.corpus import held_out_set  # noqa: E402
from training.evaluate import REALISTIC_OF, metrics  # noqa: E402
from training.evaluate_photos import score  # noqa: E402

MEAN_FACE = "full fit from the mean face"


def fitters(model: FaceModel, predictor: Predictor, detector: LandmarkDetector, args: argparse.Namespace,
            ) -> dict[str, Reconstructor]:  # fmt: skip
    """The rows: the fit from the mean face, then from the network: the pipeline's, the one led by the points at
    each fraction of the iterations, and the pipeline's with each landmark weight, start anchor, prior scale and
    number of refinement iterations."""
    configs = {"network + full fit (the pipeline's, led by the colours)": NETWORK_START_FIT}
    for fraction in args.fractions:
        configs[f"network + full fit led by the points, {fraction:g} x the iterations"] = replace(
            DEFAULT_FIT, landmark_iterations=round(DEFAULT_FIT.landmark_iterations * fraction),
            refine_iterations=round(DEFAULT_FIT.refine_iterations * fraction))  # fmt: skip
    for weight in args.landmark_weights:
        configs[f"network + full fit, landmark weight {weight:g}"] = replace(NETWORK_START_FIT, landmark_weight=weight)
    for anchor in args.anchors:
        configs[f"network + full fit, start anchor {anchor:g}"] = replace(NETWORK_START_FIT, start_anchor=anchor)
    for scale in args.prior_scales:
        configs[f"network + full fit, priors {scale:g} x the mean face's"] = scaled_priors(NETWORK_START_FIT, scale)
    for iterations in args.iterations:
        configs[f"network + full fit, {iterations} iterations"] = replace(
            NETWORK_START_FIT, refine_iterations=iterations
        )
    rows = {MEAN_FACE: Reconstructor(model, detector, None, fit_mode="full")}
    for name, config in configs.items():
        rows[name] = Reconstructor(model, detector, predictor, fit_mode="full", fit_config=config)
    return rows


def scaled_priors(config: FitConfig, scale: float) -> FitConfig:
    """``config`` with its shape, expression and albedo priors ``scale`` times those of ``DEFAULT_FIT``."""
    return replace(config, shape_prior=DEFAULT_FIT.shape_prior * scale,
                   expression_prior=DEFAULT_FIT.expression_prior * scale,
                   albedo_prior=DEFAULT_FIT.albedo_prior * scale)  # fmt: skip


def realistic(model: FaceModel, rows: dict[str, Reconstructor], count: int,
              from_truth: bool = False) -> dict[str, dict[str, float]]:  # fmt: skip
    """Outcomes against the truth on the realistic row's detected faces, and the median ms per face; with
    ``from_truth``, also each fit from a network's start run from the true parameters instead."""
    found = faces_of_the_realistic_row(model, count)
    truth = held_out_set(model, REALISTIC_OF).select(np.array([k for k, *_ in found]))
    results = {}
    for name, reconstructor in rows.items():
        params, ms = [], []
        for _, photo, detected, _ in found:
            start = time.perf_counter()
            params.append(reconstructor.reconstruct_faces(photo, [DetectedFace(detected, 1.0)])[0].params)
            ms.append((time.perf_counter() - start) * 1000)
        outcome = metrics(model, truth, FaceParameters.concatenate(params))
        results[name] = {**outcome, "ms_per_face": float(np.median(ms[1:])), "faces": len(found)}
        if from_truth and reconstructor.predictor is not None:
            fitted = [reconstructor.reconstruct_face(photo, DetectedFace(detected, 1.0), truth.select(slice(k, k + 1)),
                                                     crop_for_landmarks(points, FIT_SIZE, reconstructor.camera), {})
                      for k, (_, photo, detected, points) in enumerate(found)]  # fmt: skip
            outcome = metrics(model, truth, FaceParameters.concatenate([face.params for face in fitted]))
            results[name.replace("network +", "the truth +", 1)] = {**outcome, "faces": len(found)}
    return results


def clean_from_truth(model: FaceModel, rows: dict[str, Reconstructor], count: int) -> dict[str, dict[str, float]]:
    """Outcomes of each fit from a network's start, run from the truth on clean renders (see the docstring)."""
    truth = held_out_set(model, REALISTIC_OF).select(slice(0, count))
    from_network = {name: reconstructor for name, reconstructor in rows.items() if reconstructor.predictor}
    camera = next(iter(from_network.values())).camera  # the network's, for every row
    crops = []  # each face's (photo, mask, points) at the fit's size, rendered once for every row
    for k in range(count):
        out = render(model, truth.select(slice(k, k + 1)), FIT_SIZE, camera=camera)
        points = out.pixels[0, model.landmarks_mediapipe]
        crops.append((to_uint8(out.image[0]), face_mask(points, FIT_SIZE), points))
    results = {}
    for name, reconstructor in from_network.items():
        fitted = [fit(model, photo, mask, points, truth.select(slice(k, k + 1)), reconstructor.fit_mode,
                      reconstructor.fit_config, camera, np.zeros(3)).params
                  for k, (photo, mask, points) in enumerate(crops)]  # fmt: skip
        outcome = metrics(model, truth, FaceParameters.concatenate(fitted))
        results[name.replace("network +", "the truth +", 1)] = {**outcome, "faces": count}
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
    parser.add_argument("--fractions", type=float, nargs="*", default=[0.5])
    parser.add_argument("--landmark-weights", type=float, nargs="*", default=[])
    parser.add_argument("--anchors", type=float, nargs="*", default=[])
    parser.add_argument("--prior-scales", type=float, nargs="*", default=[])
    parser.add_argument("--iterations", type=int, nargs="*", default=[], help="of the pipeline's refinement")
    parser.add_argument("--from-truth", action="store_true", help="also fit from the truth on the realistic row")
    parser.add_argument("--clean", type=int, default=0, help="also fit from the truth on this many clean renders")
    parser.add_argument("--realistic-only", action="store_true", help="skip the development set")
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    model = FaceModel.load()
    predictor = Predictor.load(args.checkpoint, model)
    rows = fitters(model, predictor, LandmarkDetector(), args)
    parts = {"realistic row": realistic(model, rows, args.faces, args.from_truth)}
    if args.clean:
        parts["clean renders"] = clean_from_truth(model, rows, args.clean)
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
