"""Server time per frame of the app's live tab: webcam frames through ``demo.live.LiveSession`` (tracking, the
network, the relit face in the frame), with the person's own skin (the shading ratio) and with the model albedo.

    python benchmarks/live_tab.py [--frames 60] [--light "side light"] [--rounds 3] [--mesh-every N]

The frames are the page's fake-camera video (``benchmarks/live_video.py``: the example photo moving, 640 x 480).
Each round plays them once per setting, the settings interleaved, each in a fresh session whose first frames
(the detector, the identity's first second) are left out; prints the mean ms per frame of each setting (what sets
the frame rate; with the mesh on every n-th frame the median would be the frames between meshes alone) and the
median. ``--mesh-every``: the tracker's mesh on every n-th frame instead of the app's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.live_video import moving_frames  # noqa: E402
from demo.live import LIVE_TRACKING, LiveSession  # noqa: E402
from demo.serving import CONCURRENCY, network_threads  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.tracking import TrackerConfig  # noqa: E402

SETTINGS = {"own skin": True, "model albedo": False}
WARM_UP_FRAMES = 10


def play(reconstructor: Reconstructor, frames: list[np.ndarray], light: str, own_skin: bool,
         config: TrackerConfig = LIVE_TRACKING) -> list[float]:  # fmt: skip
    """ms per frame after the warm-up, one fresh session."""
    session = LiveSession(reconstructor, config)
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
    parser.add_argument("--mesh-every", type=int, default=LIVE_TRACKING.mesh_every)
    args = parser.parse_args()
    config = replace(LIVE_TRACKING, mesh_every=args.mesh_every)
    reconstructor = Reconstructor.load(fit_mode=None, threads=network_threads(CONCURRENCY))  # as the app serves it
    frames = moving_frames(args.frames)
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in tqdm(range(args.rounds), desc="rounds"):
        for name, own_skin in SETTINGS.items():
            times[name] += play(reconstructor, frames, args.light, own_skin, config)
    means = {name: float(np.mean(values)) for name, values in times.items()}
    medians = {name: float(np.median(values)) for name, values in times.items()}
    for name, ms in means.items():
        print(f"{name:>13}: {ms:.1f} ms per frame, median {medians[name]:.1f} ({len(times[name])} frames)")
    print(json.dumps({"benchmark": "live_tab", "light": args.light, "mesh_every": args.mesh_every,
                      "ms_per_frame": means, "median_ms_per_frame": medians}))  # fmt: skip


if __name__ == "__main__":
    main()
