"""How the landmarks between meshes change the tracked faces: the mesh on every frame, on every 2nd with optical flow
(Python's option) and on every 2nd or 3rd with the landmarks held (the browser page's rule; it has no optical flow);
and the parallel mesh (Python's default: on a mesh frame the network reads the crop optical flow gives while the mesh
runs in a second thread) against the network waiting for the mesh.

    python benchmarks/tracking.py [--photos runs/dev_b] [--report reports/tracking/between.json]

Videos: the page's live benchmark video (``benchmarks/live_video.py``, every 2nd of 150 frames: the page processes
about every other camera frame) and, for each one-face photo of --photos, the pipeline benchmark's video of it
(shifted and turned a little each frame). Per mode, smoothing off, medians over each video's frames:
- agreement: mean distance of the network's 468 projected landmarks from MediaPipe's mesh on the same frame (the
  every-frame run's points), over MediaPipe's outer-eye-corner distance;
- rotation spread, on shift-only videos of the same photos (``benchmarks.pipeline.shifted_video``: the true head
  rotation is the same on every frame): the standard deviation of the tracked rotation, degrees, largest axis.
Prints the medians over videos and writes every video's rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.live_video import moving_frames  # noqa: E402
from benchmarks.pipeline import shifted_video, video  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.tracking import TrackedFace, Tracker, TrackerConfig  # noqa: E402
from training.evaluate import placement_error, projected  # noqa: E402

MODES = {"mesh every frame": TrackerConfig(mesh_every=1, parallel_mesh=False),
         "mesh every frame, parallel": TrackerConfig(mesh_every=1),
         "every 2nd, flow": TrackerConfig(mesh_every=2, parallel_mesh=False),
         "every 3rd, flow, parallel": TrackerConfig(mesh_every=3),
         "every 2nd, hold": TrackerConfig(mesh_every=2, between="hold"),
         "every 3rd, hold": TrackerConfig(mesh_every=3, between="hold")}  # fmt: skip
"""The first is the reference: its mesh's points on each frame are what the others' faces are compared with."""


def track(reconstructor: Reconstructor, frames: list[np.ndarray], config: TrackerConfig) -> list[TrackedFace | None]:
    """Per frame: the largest tracked face, or None (smoothing off)."""
    tracker = Tracker(reconstructor, replace(config, smoothing=False))
    try:
        return [next(iter(tracker(frame, k / 30)[0]), None) for k, frame in enumerate(frames)]
    finally:
        tracker.close()


def agreement(reconstructor: Reconstructor, frames: list[np.ndarray]) -> dict[str, float]:
    runs = {name: track(reconstructor, frames, mode) for name, mode in MODES.items()}
    model, camera = reconstructor.model, reconstructor.camera

    def error(face: TrackedFace, mesh: TrackedFace) -> float:
        return placement_error(projected(model, face.params, face.crop, camera), mesh.landmarks[:, :2])

    pairs = {name: zip(run, runs["mesh every frame"], strict=True) for name, run in runs.items()}
    return {name: float(np.median([error(face, mesh) for face, mesh in pair if face and mesh]))
            for name, pair in pairs.items()}  # fmt: skip


def rotation_spread(reconstructor: Reconstructor, frames: list[np.ndarray]) -> dict[str, float]:
    spread = {}
    for name, mode in MODES.items():
        rotations = [np.degrees(face.params.rotation[0]) for face in track(reconstructor, frames, mode) if face]
        spread[name] = float(np.std(rotations, axis=0).max())
    return spread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=ROOT / "runs" / "dev_b")
    parser.add_argument("--count", type=int, default=8, help="first photos of --photos (one-face ones are used)")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "tracking" / "between.json")
    args = parser.parse_args()
    reconstructor = Reconstructor.load(fit_mode=None)
    rows = {"live video": {"agreement": agreement(reconstructor, moving_frames(150)[::2])}}
    for photo in sorted(args.photos.iterdir())[: args.count]:
        image = load_image(photo)
        if len(reconstructor.detector(image)) == 1:
            rows[photo.name] = {"agreement": agreement(reconstructor, video(image)),
                                "rotation_spread_deg": rotation_spread(reconstructor, shifted_video(image, 30)[0])}
            print(photo.name, json.dumps(rows[photo.name]), flush=True)
    summary = {metric: {name: float(np.median([row[metric][name] for row in rows.values() if metric in row]))
                        for name in MODES} for metric in ("agreement", "rotation_spread_deg")}  # fmt: skip
    summary["live video agreement"] = rows["live video"]["agreement"]
    print(json.dumps(summary, indent=1))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/tracking.py", *sys.argv[1:]])
    args.report.write_text(json.dumps({"command": command, "summary": summary, "videos": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
