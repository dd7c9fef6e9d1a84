"""Whether MediaPipe's depth (z) of its mesh points says more about a face's 3D shape than the network does.

    python benchmarks/mediapipe_depth.py [--faces 40] [--report reports/realphotos/mediapipe_depth.json]

The fit's landmark term uses MediaPipe's points in the image plane only (x, y). Its points also carry a relative
depth z. On the realistic row's photo-like renders of known faces (``training.evaluate``'s real path: same seed and
faces, MediaPipe's detection and mesh), each face's true depth of the 468 landmark vertices (camera frame, mm) is
explained, by least squares with a scale and an offset, from
- MediaPipe's z of its points;
- the depth of the network's face (the shipped network alone, ``Reconstructor`` without the fit);
- the depth of the mean face (no shape, no expression) at the true pose, for scale.
Prints and writes the median over faces of R^2 and of the RMS residual (mm). A depth term in the fit would only help
if MediaPipe's z explained the truth better than the network's face already does.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet import FaceModel, Reconstructor  # noqa: E402
from inversefacenet.facemodel.model import MESH_POINTS  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.render.renderer import project_face  # noqa: E402
from training.corpus import held_out_set  # noqa: E402
from training.evaluate import nearest_face, realistic_photos  # noqa: E402

REPORT = ROOT / "reports" / "realphotos" / "mediapipe_depth.json"


def explained(source: np.ndarray, depth: np.ndarray) -> tuple[float, float]:
    """R^2 and RMS residual (depth's units) of ``depth`` (N,) fitted as scale * ``source`` (N,) + offset."""
    design = np.stack([source, np.ones_like(source)], axis=1)
    coefficients, *_ = np.linalg.lstsq(design, depth, rcond=None)
    residual = depth - design @ coefficients
    return float(1 - residual.var() / depth.var()), float(np.sqrt((residual**2).mean()))


def landmark_depth(model: FaceModel, params: FaceParameters) -> np.ndarray:
    """(468,) camera-frame depth (mm) of the model's MediaPipe landmark vertices."""
    return project_face(model, params, 256).in_camera[0][model.landmarks_mediapipe[:MESH_POINTS], 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=40)
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    model = FaceModel.load()
    reconstructor = Reconstructor.load(fit_mode=None)
    truth = held_out_set(model, args.faces)
    rows: dict[str, list[tuple[float, float]]] = {"MediaPipe's z": [], "network's face": [], "mean face, true pose": []}
    photos = realistic_photos(model, truth)
    for k, (photo, points) in enumerate(tqdm(photos, total=args.faces, desc="faces")):
        faces = reconstructor.detector(photo)
        nearest = nearest_face([face.landmarks for face in faces], points)
        if nearest is None:
            continue
        true = truth.select(slice(k, k + 1))
        depth = landmark_depth(model, true)
        network = reconstructor.reconstruct_faces(photo, [faces[nearest]])[0].params
        mean = replace(true, shape=np.zeros_like(true.shape), expression=np.zeros_like(true.expression))
        rows["MediaPipe's z"].append(explained(faces[nearest].landmarks[:MESH_POINTS, 2].astype(float), depth))
        rows["network's face"].append(explained(landmark_depth(model, network), depth))
        rows["mean face, true pose"].append(explained(landmark_depth(model, mean), depth))
    summary = {name: dict(zip(("r2", "rms_mm"), np.median(values, axis=0).tolist(), strict=True))
               for name, values in rows.items()}  # fmt: skip
    for name, row in summary.items():
        print(f"{name:>22}: R^2 {row['r2']:.3f}, RMS residual {row['rms_mm']:.2f} mm")
    args.report.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/mediapipe_depth.py " + " ".join(sys.argv[1:])
    report = {"command": command.strip(), "faces": len(rows["MediaPipe's z"]), "summary": summary}
    args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
