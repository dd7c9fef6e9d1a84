"""A video file through the tracker: wall seconds for a 10 s clip, without an overlay, with the command line's MP4
overlay and with the app's WebM one.

    python benchmarks/video.py [--repeats 3] [--seconds 10]

The clip: the example photo at 0.8 of its size in a 640 x 480 frame, moving 40 px side to side and turning up to 8
degrees in the image plane, 25 fps, written as MPEG-4 part 2 (OpenCV). Each mode runs ``--repeats`` times in turn
(interleaved) after one warm-up run; medians of wall seconds and of the tracker's own ms a frame (decoding and the
overlay excluded). Prints the load average before and after and a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.video_tab import OVERLAY_SIDE  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.video import track_video  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FPS = 25


def clip(path: Path, seconds: float) -> Path:
    """The benchmark's clip (see the module docstring) at ``path``."""
    photo = cv2.cvtColor(load_image(ROOT / "assets" / "examples" / "astronaut.jpg"), cv2.COLOR_RGB2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    for k in range(round(seconds * FPS)):
        turn = cv2.getRotationMatrix2D((256, 256), 8 * np.sin(k / 33), 0.8)
        turn[0, 2] += 64 + 40 * np.sin(k / 20)
        writer.write(cv2.warpAffine(photo, turn, (640, 480), borderMode=cv2.BORDER_REFLECT))
    writer.release()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    reconstructor = Reconstructor.load(fit_mode=None)
    with tempfile.TemporaryDirectory() as folder:
        video = clip(Path(folder) / "clip.mp4", args.seconds)
        modes = {"no overlay": (None, None), "command line (MP4 overlay)": (Path(folder) / "overlay.mp4", None),
                 "app (WebM overlay)": (Path(folder) / "overlay.webm", OVERLAY_SIDE)}  # fmt: skip
        track_video(reconstructor, video, progress=False)  # warm-up
        runs: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
        for _ in range(args.repeats):
            for mode, (overlay, side) in modes.items():
                start = time.perf_counter()
                tracked = track_video(reconstructor, video, progress=False, overlay=overlay, overlay_side=side)
                runs[mode].append((time.perf_counter() - start, tracked.ms_per_frame))
    reconstructor.detector.close()
    summary = {mode: {"wall_s": round(float(np.median([s for s, _ in r])), 2),
                      "tracker_ms_per_frame": round(float(np.median([m for _, m in r])), 2)}
               for mode, r in runs.items()}  # fmt: skip
    for mode, row in summary.items():
        print(f"{mode}: {row['wall_s']} s for {args.seconds:g} s of video, tracker {row['tracker_ms_per_frame']} ms")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(json.dumps({"seconds_of_video": args.seconds, "frames": round(args.seconds * FPS), **summary}))


if __name__ == "__main__":
    main()
