"""Photo -> parameters and tracked video frames, timed against MediaPipe alone; and the pipeline by stage.

    python benchmarks/pipeline.py [PHOTO ...] [--repeats 5] [--stages]

Speed (always): per photo, interleaved in one loop so that all columns share the machine's load,
the wall time of photo -> parameters without the fit (``Reconstructor.reconstruct_image``: detection,
mesh, crops, network; decoding excluded) with the network as a CPU runs it by default (ONNX Runtime,
the shipped int8 graph), in ONNX Runtime as float and in torch, next to
``LandmarkDetector.detect`` alone (MediaPipe detection + mesh, what ours starts with) and
MediaPipe's own whole-image FaceMesh alone (its short-range detector + mesh), each divided by the
number of faces it found (MediaPipe's FaceMesh misses small faces). Photos: the examples and, when
``python -m training.devset --out runs/devset`` has been run, the development set, reported as
one-face and group (2+ faces) photos. Then ms per
tracked frame (``inversefacenet.tracking``) on a synthetic video of each photo (shifted and rotated
a little each frame), with the mesh on every frame and on every third (the default), the mean over frames.

Stages (``--stages``): the shipped network alone, network + fast fit, network + full fit, and the
full fit from the mean face; median ms per stage (decode, detection, mesh, crop, network, fit
stages, export of OBJ+PLY+GLB), the fit residual (photo pixels and over the inter-ocular
distance) and the photometric RMSE (0-255) inside the face mask.
Prints the load average before and after, and ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversefacenet import FaceModel, Reconstructor  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.detection import LandmarkDetector  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.predictor import load_predictor  # noqa: E402
from inversefacenet.tracking import Tracker, TrackerConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "assets" / "examples").glob("*.jpg"))
DEVSET = sorted(p for p in (ROOT / "runs" / "devset").glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
VIDEO_FRAMES = 60


def speed(model: FaceModel, detector: LandmarkDetector, photos: list[Path], repeats: int) -> dict[str, dict]:
    """Per photo: median wall ms per face of each column, measured interleaved (see the module docstring)."""
    import mediapipe as mp

    whole = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=16, refine_landmarks=True)
    ours = {f"ours ({backend})": Reconstructor(model, detector, load_predictor(DEFAULT_CHECKPOINT, model, backend),
                                               fit_mode=None)
            for backend in ("onnxruntime-int8", "onnxruntime", "torch")}  # fmt: skip
    columns = {  # each returns how many faces it found: its time is divided by its own count
        **{name: (lambda image, ours=reconstructor: len(ours.reconstruct_image(image)))
           for name, reconstructor in ours.items()},
        "detection + mesh alone": lambda image: len(detector.detect(image).faces),
        "MediaPipe FaceMesh alone": lambda image: len(whole.process(image).multi_face_landmarks or []),
    }
    results = {}
    for photo in photos:
        image = load_image(photo)
        faces = len(detector(image))
        if not faces:
            continue
        times: dict[str, list[float]] = {name: [] for name in columns}
        for repeat in range(repeats + 1):  # the first round warms up
            order = list(columns) if repeat % 2 else list(columns)[::-1]
            for name in order:
                start = time.perf_counter()
                found = columns[name](image)
                if repeat and found:
                    times[name].append((time.perf_counter() - start) * 1000 / found)
        results[photo.name] = {"faces": faces, **{name: float(np.median(t)) if t else float("nan")
                                                  for name, t in times.items()}}  # fmt: skip
    whole.close()
    return results


def video(image: np.ndarray, frames: int = VIDEO_FRAMES) -> list[np.ndarray]:
    """The photo shifted (up to 6 px) and rotated (up to 3 deg) a little more each frame, at 30 fps."""
    height, width = image.shape[:2]
    out = []
    for k in range(frames):
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 3 * np.sin(k / 7), 1.0)
        matrix[:, 2] += (6 * np.sin(k / 5), 4 * np.cos(k / 6))
        out.append(cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT))
    return out


def shifted_video(image: np.ndarray, frames: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The photo moved by a known shift per frame (px, up to ~12 px), never turned: frames and (frames, 2) shifts."""
    shifts = np.stack([12 * np.sin(np.arange(frames) / 4), 8 * np.cos(np.arange(frames) / 5) - 8], axis=1)
    size = image.shape[1::-1]
    video = [cv2.warpAffine(image, np.float32([[1, 0, dx], [0, 1, dy]]), size, borderMode=cv2.BORDER_REFLECT)
             for dx, dy in shifts]  # fmt: skip
    return video, shifts


def tracked(reconstructor: Reconstructor, photos: list[Path], repeats: int) -> dict[str, dict]:
    """Per photo's video: mean ms per tracked frame per face (detector frames excluded), the mesh on every frame and on
    every 3rd (the default): the mean, not the median, which would be the frames between meshes alone."""
    results = {}
    for photo in photos:
        image = load_image(photo)
        faces = len(reconstructor.detector(image))
        if not faces:
            continue
        frames, row = video(image), {"faces": faces}
        for every in (1, 3):
            tracker = Tracker(reconstructor, TrackerConfig(max_faces=faces, mesh_every=every))
            times = []
            for repeat in range(max(1, repeats // 2) + 1):
                tracker.reset()
                for k, frame in enumerate(frames):
                    start = time.perf_counter()
                    found, _ = tracker(frame, k / 30)
                    ms = (time.perf_counter() - start) * 1000
                    if repeat and found and all(face.source != "detector" for face in found):
                        times.append(ms / len(found))
            tracker.close()
            row[f"mesh every {every}"] = float(np.mean(times)) if times else float("nan")
        results[photo.name] = row
    return results


def faceless_frames(reconstructor: Reconstructor, repeats: int) -> dict[str, float]:
    """Median wall ms of a 640 x 480 camera frame without a face: the tracker's (its quick look, the short-range
    detector on the whole frame; the whole search, upright only, which it runs at most once every
    ``search_every_s``), and the photo search (with its turned passes) that it ran on every such frame before."""
    blank = np.full((480, 640, 3), 90, np.uint8)
    tracker, detector = Tracker(reconstructor), reconstructor.detector
    calls = {"tracker (quick look)": lambda: tracker(blank, 0.0),  # the clock stands still: the search ran once
             "tracker's search (upright)": lambda: detector.detect(blank, rotations=False),
             "photo search (with turned passes)": lambda: detector.detect(blank, rotations=True)}  # fmt: skip
    medians = {}
    for name, call in calls.items():
        call()  # warms the graphs up
        times = []
        for _ in range(4 * repeats):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        medians[name] = float(np.median(times))
    tracker.close()
    return medians


def summary(rows: dict[str, dict], group: Callable[[str, dict], bool]) -> dict[str, float]:
    """Median over the photos selected by ``group`` (photo name, row) of each column; photos where a column
    found no face are left out of it."""
    chosen = [row for name, row in rows.items() if group(name, row)]
    if not chosen:
        return {}
    names = [name for name in chosen[0] if name != "faces"]
    return {"photos": len(chosen), "faces": sum(r["faces"] for r in chosen),
            **{name: float(np.nanmedian([r[name] for r in chosen])) for name in names}}  # fmt: skip


def print_table(title: str, rows: dict[str, dict]) -> None:
    names = [name for name in next(iter(rows.values())) if name not in ("faces", "photos")]
    print(f"\n{title}")
    print(f"{'':>34} | {'faces':>5} | " + " | ".join(f"{name:>24}" for name in names))
    for label, row in rows.items():
        print(f"{label:>34} | {row['faces']:5d} | " + " | ".join(f"{row[name]:24.2f}" for name in names))


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
    parser.add_argument("photos", nargs="*", type=Path, default=EXAMPLES + DEVSET)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--stages", action="store_true", help="also the per-stage table with the fits (slow)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {os.cpu_count()} CPUs")
    model = FaceModel.load()
    detector = LandmarkDetector()
    per_photo = speed(model, detector, args.photos, args.repeats)
    groups = {"example (astronaut)": lambda name, r: name == EXAMPLES[0].name,
              "one-face photos": lambda name, r: r["faces"] == 1,
              "group photos (2+ faces)": lambda name, r: r["faces"] > 1,
              "all photos": lambda name, r: True}  # fmt: skip
    speeds = {name: s for name, group in groups.items() if (s := summary(per_photo, group))}
    print_table("photo -> parameters without the fit, wall ms per face (decoding excluded; median over photos of "
                f"each photo's median over {args.repeats} repeats)", speeds)  # fmt: skip
    network = Reconstructor(model, detector, load_predictor(DEFAULT_CHECKPOINT, model), fit_mode=None)
    per_video = tracked(network, args.photos, args.repeats)
    videos = {name: s for name, group in groups.items() if (s := summary(per_video, group))}
    print_table(f"tracked frame, mean ms per face ({VIDEO_FRAMES}-frame synthetic video of each photo, "
                "detector frames excluded; One Euro smoothing on; median over photos)", videos)  # fmt: skip
    faceless = faceless_frames(network, args.repeats)
    print("\nno face in view, ms per frame: " + ", ".join(f"{name} {ms:.1f}" for name, ms in faceless.items()))
    report = {"benchmark": "pipeline", "photos": [p.name for p in args.photos], "speed": speeds, "tracked": videos,
              "faceless": faceless, "per_photo": per_photo, "per_video": per_video}  # fmt: skip
    if args.stages:
        report["stages"] = stages(model, detector, args.photos, args.repeats)
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(json.dumps(report))


def stages(model: FaceModel, detector: LandmarkDetector, photos: list[Path], repeats: int) -> dict[str, dict]:
    """The per-stage table of the network alone and with the fits (the torch network, as the fit runs in torch)."""
    predictor = Predictor.load(DEFAULT_CHECKPOINT, model) if DEFAULT_CHECKPOINT.is_file() else None
    setups = {"fit only (full)": (None, "full")}
    if predictor is not None:
        setups = {"network": (predictor, None), "network+fast": (predictor, "fast"),
                  "network+full": (predictor, "full"), **setups}  # fmt: skip
    results = {name: run(Reconstructor(model, detector, predictor=p, fit_mode=mode), photos, repeats)
               for name, (p, mode) in setups.items()}  # fmt: skip
    names = list(dict.fromkeys(stage for r in results.values() for stage in r["ms"]))
    print(f"\nby stage: {len(photos)} photos; {repeats} repeats; median ms per face")
    print(f"{'':>24} | " + " | ".join(f"{name:>15}" for name in results))
    for stage in names:
        print(f"{stage:>24} | " + " | ".join(f"{r['ms'].get(stage, float('nan')):15.1f}" for r in results.values()))
    for key in ("landmark_error_px", "landmark_error_over_iod", "photometric_rmse"):
        print(f"{key:>24} | " + " | ".join(f"{r[key]:15.4f}" for r in results.values()))
    return results


if __name__ == "__main__":
    main()
