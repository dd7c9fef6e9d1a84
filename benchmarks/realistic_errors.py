"""Where the realistic row's geometric error lies: shape or expression, and whether more readings would cut it.

    python benchmarks/realistic_errors.py [assets/inversefacenet.safetensors] [--faces 100] [--shift 0.03 --scale 0.04]

On the realistic row's first ``--faces`` faces (``training.evaluate``'s photos, MediaPipe's detection and mesh, the
pipeline's network reading as it runs, the int8 graph on a CPU, no fit), the geometric RMSE (mm, face vertices,
unposed) of:
- the network's shape and expression (the row's number);
- its shape with the true expression, and its expression with the true shape (each part's own error);
- the mean shape with the true expression (how much identity a network that reads no shape would miss);
- the mean of nine readings on crops moved around the one the network pointed to (``--shift`` of the crop's side,
  ``--scale`` in log scale): if the error were the crop's noise, averaging readings would cut it;
- one reading with the crop, the face mask or both cut by the crop rule from the true points instead of MediaPipe's
  (which of the two the network loses the face by).
- one reading with the mask cut from the model's points of the pipeline's reading (on MediaPipe's crop, or on the
  crop that reading pointed to): whether a mask in the model's own convention, which the oracle row reads,
  would do what the true mask does.
The same parts for the oracle row (300 clean renders cropped and masked from the true landmark vertices, the float
network as ``training.evaluate`` reads them), and the
shape coefficients' RMS error beside their spread in the truth (units of the prior's sd), on both rows. Writes
reports/realphotos/realistic_errors.json (``--report`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor, to_parameters  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from inversefacenet.metrics import geometric_rmse_mm, rotation_error_deg  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.predictor import load_predictor  # noqa: E402
from inversefacenet.preprocess import crop_for_landmarks, crop_input  # noqa: E402
from training.corpus import held_out_set  # noqa: E402
from training.evaluate import REALISTIC_OF, nearest_face, predict, projected, realistic_photos  # noqa: E402


def jitters(shift: float, scale: float) -> np.ndarray:
    """(9, 3) crop alignments (dx, dy, log scale): none, each axis both ways, and two diagonals."""
    return np.array([[0, 0, 0], [shift, 0, 0], [-shift, 0, 0], [0, shift, 0], [0, -shift, 0], [0, 0, scale],
                     [0, 0, -scale], [shift, shift, scale], [-shift, -shift, -scale]])  # fmt: skip


def readings(reconstructor: Reconstructor, truth: FaceParameters, moves: np.ndarray) -> tuple[list[int], dict]:
    """The found faces' indices, and per row the (F, P) parameters: the pipeline's reading, the mean over ``moves``
    of readings around the crop it pointed to, and single readings with the crop or mask from the true points or
    with the mask from the model's points of the pipeline's reading."""
    found, rows = [], {"network": [], "mean of nine crops": []}
    config = reconstructor.predictor.config
    for k, (photo, points) in enumerate(tqdm(realistic_photos(reconstructor.model, truth), total=truth.batch_size)):
        faces = reconstructor.detector(photo)
        nearest = nearest_face([face.landmarks for face in faces], points)
        if nearest is None:
            continue
        found.append(k)
        landmarks = faces[nearest].landmarks
        params, crops = reconstructor.predict(photo, [landmarks])
        moved = reconstructor._read(photo, [landmarks] * len(moves), [crops[0].aligned(move) for move in moves])
        rows["network"].append(params.pack()[0])
        rows["mean of nine crops"].append(to_parameters(moved, config).pack().mean(0))
        rule, exact = (crop_for_landmarks(p, config.input_size, config.camera) for p in (landmarks, points))
        own = projected(reconstructor.model, params, crops[0], config.camera)
        for name, (masked_by, crop) in {"MediaPipe's crop and mask": (landmarks, rule),
                                        "true crop, MediaPipe's mask": (landmarks, exact),
                                        "MediaPipe's crop, true mask": (points, rule),
                                        "true crop and mask": (points, exact),
                                        "MediaPipe's crop, mask from its own reading": (own, rule),
                                        "the crop it pointed to, mask from its own reading": (own, crops[0]),
                                        }.items():  # fmt: skip
            read = reconstructor.predictor(crop_input(photo, masked_by, crop, config.input_mask)[None])
            rows.setdefault(name, []).append(read.pack()[0])
    return found, rows


def parts(model: FaceModel, true: FaceParameters, read: FaceParameters) -> dict[str, object]:
    """Rotation error (deg) and geometric RMSE (mm) of ``read`` against ``true``, the latter whole and by part, and
    the shape coefficients' errors."""
    truth = (true.shape, true.expression)
    return {
        "rotation_error_deg": rotation_error_deg(true, read),
        "geometric_rmse_mm": geometric_rmse_mm(model, truth, (read.shape, read.expression)),
        "shape read, true expression": geometric_rmse_mm(model, truth, (read.shape, true.expression)),
        "true shape, expression read": geometric_rmse_mm(model, truth, (true.shape, read.expression)),
        "mean shape, true expression": geometric_rmse_mm(model, truth, (np.zeros_like(true.shape), true.expression)),
        "shape_coefficient_rms_error_first_10": np.sqrt(((read.shape - true.shape) ** 2).mean(0))[:10].tolist(),
        "shape_coefficient_truth_sd_first_10": true.shape.std(0)[:10].tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, nargs="?", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--shift", type=float, default=0.03)
    parser.add_argument("--scale", type=float, default=0.04)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "realphotos" / "realistic_errors.json")
    args = parser.parse_args()
    model = FaceModel.load()
    reconstructor = Reconstructor(model, predictor=load_predictor(args.checkpoint, model), fit_mode=None)
    truth = held_out_set(model, REALISTIC_OF).select(slice(0, args.faces))
    found, rows = readings(reconstructor, truth, jitters(args.shift, args.scale))
    reconstructor.detector.close()
    read = {name: FaceParameters.unpack(model.layout, np.stack(vectors)) for name, vectors in rows.items()}
    oracle_truth = held_out_set(model, 300)
    oracle = predict(Predictor.load(args.checkpoint, model), model, oracle_truth)  # as training.evaluate reads it
    shown = truth.select(np.array(found))
    report = {
        "command": " ".join(["python benchmarks/realistic_errors.py", *sys.argv[1:]]), "faces": len(found),
        "realistic": parts(model, shown, read["network"]),
        **{f"realistic, {name}": parts(model, shown, read[name]) for name in list(read)[1:]},
        "oracle": parts(model, oracle_truth, oracle),
    }  # fmt: skip
    print(json.dumps(report, indent=1))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
