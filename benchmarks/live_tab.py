"""Server time per frame of the app's live tab: webcam frames through ``demo.live.LiveSession`` (tracking, the
network, the relit face in the frame), with the person's own skin (the shading ratio) and with the model albedo.

    python benchmarks/live_tab.py [--frames 60] [--light "side light"] [--rounds 3]

The frames are the page's fake-camera video (``benchmarks/live_video.py``: the example photo moving, 640 x 480).
Each round plays them once per setting, the settings interleaved, each in a fresh session whose first frames
(the detector, the identity's first second) are left out; prints the median ms per frame of each setting.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.live_video import moving_frames  # noqa: E402
from demo.live import LiveSession  # noqa: E402
from demo.serving import CONCURRENCY, network_threads  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402

SETTINGS = {"own skin": True, "model albedo": False}
WARM_UP_FRAMES = 10


def play(reconstructor: Reconstructor, frames: list[np.ndarray], light: str, own_skin: bool) -> list[float]:
    """ms per frame after the warm-up, one fresh session."""
    session = LiveSession(reconstructor)
    times = []
    try:
        for k, frame in enumerate(frames):
            start = time.perf_counter()
            session.frame(frame, light, True, True, False, own_skin)
            if k >= WARM_UP_FRAMES:
                times.append((time.perf_counter() - start) * 1000)
    finally:
        session.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--light", default="side light")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    reconstructor = Reconstructor.load(fit_mode=None, threads=network_threads(CONCURRENCY))  # as the app serves it
    frames = moving_frames(args.frames)
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in tqdm(range(args.rounds), desc="rounds"):
        for name, own_skin in SETTINGS.items():
            times[name] += play(reconstructor, frames, args.light, own_skin)
    medians = {name: float(np.median(values)) for name, values in times.items()}
    for name, ms in medians.items():
        print(f"{name:>13}: {ms:.1f} ms per frame ({len(times[name])} frames)")
    print(json.dumps({"benchmark": "live_tab", "light": args.light, "ms_per_frame": medians}))


if __name__ == "__main__":
    main()
