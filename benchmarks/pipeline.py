"""Photo -> 3D face, by stage, on the example photos.

    python benchmarks/pipeline.py [PHOTO ...] [--repeats 5]

Configurations: the shipped network alone, network + fast fit, network + full fit, and the
full fit from the mean face. For each: median milliseconds per stage over the repeats
(decode, detection, mesh, crop, network, fit stages, export of OBJ+PLY+GLB), the landmark
error of the result (photo pixels and over the inter-ocular distance of the detected points)
and the photometric RMSE (0-255) inside the face mask. Ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversefacenet import FaceModel, Reconstructor  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.detection import LandmarkDetector  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "assets" / "examples").glob("*.jpg"))


def run(reconstructor: Reconstructor, photos: list[Path], repeats: int) -> dict[str, object]:
    stages: dict[str, list[float]] = {}
    landmark_px, landmark_iod, rmse = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(repeats + 1):  # the first round warms up (JIT, graph set-up)
            for photo in photos:
                start = time.perf_counter()
                faces = reconstructor(photo)
                total = (time.perf_counter() - start) * 1000
                export_start = time.perf_counter()
                for k, face in enumerate(faces):
                    for suffix in (".obj", ".ply", ".glb"):
                        face.export(Path(folder) / f"{photo.stem}_{k}{suffix}")
                export_ms = (time.perf_counter() - export_start) * 1000 / len(faces)
                if repeat == 0:
                    continue
                for face in faces:
                    for stage, ms in {**face.ms, "export": export_ms}.items():
                        stages.setdefault(stage, []).append(ms)
                    stages.setdefault("photo_total", []).append(total / len(faces))
                    iod = np.linalg.norm(face.detected_landmarks[33, :2] - face.detected_landmarks[263, :2])
                    landmark_px.append(face.landmark_error_px)
                    landmark_iod.append(face.landmark_error_px / iod)
                    rmse.append(face.photometric_rmse)
    fit_stages = [s for s in stages if s.startswith("fit_")]
    if fit_stages:
        stages["fit_total"] = list(np.sum([stages[s] for s in fit_stages], axis=0))
    return {
        "ms": {stage: float(np.median(values)) for stage, values in stages.items()},
        "landmark_error_px": float(np.mean(landmark_px)),
        "landmark_error_over_iod": float(np.mean(landmark_iod)),
        "photometric_rmse": float(np.mean(rmse)),
        "faces": len(rmse) // repeats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, default=EXAMPLES)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    model = FaceModel.load()
    detector = LandmarkDetector()
    predictor = Predictor.load(DEFAULT_CHECKPOINT, model) if DEFAULT_CHECKPOINT.is_file() else None
    setups = {"fit only (full)": (None, "full")}
    if predictor is not None:
        setups = {"network": (predictor, None), "network+fast": (predictor, "fast"),
                  "network+full": (predictor, "full"), **setups}  # fmt: skip
    results = {name: run(Reconstructor(model, detector, predictor=p, fit_mode=mode), args.photos, args.repeats)
               for name, (p, mode) in setups.items()}  # fmt: skip
    stages = list(dict.fromkeys(stage for r in results.values() for stage in r["ms"]))
    print(f"photos: {', '.join(p.name for p in args.photos)}; {args.repeats} repeats; median ms per face")
    print(f"{'':>24} | " + " | ".join(f"{name:>15}" for name in results))
    for stage in stages:
        print(f"{stage:>24} | " + " | ".join(f"{r['ms'].get(stage, float('nan')):15.1f}" for r in results.values()))
    for key in ("landmark_error_px", "landmark_error_over_iod", "photometric_rmse"):
        print(f"{key:>24} | " + " | ".join(f"{r[key]:15.4f}" for r in results.values()))
    print(json.dumps({"benchmark": "pipeline", "photos": [p.name for p in args.photos], "results": results}))


if __name__ == "__main__":
    main()
