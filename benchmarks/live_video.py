"""A face video for Chromium's fake camera: a photo moving smoothly, written as YUV4MPEG2 (.y4m).

    python benchmarks/live_video.py --out runs/live_face.y4m [--seconds 5] [--photo assets/examples/astronaut.jpg]

Another photo's face is found by the detector (its largest face) and framed the same way.

The photo's face, magnified to fill a 640 x 480 frame as a webcam's would, turns (±8°), scales (±12 %)
and shifts (±50 px) along periodic curves, so the video loops without a jump (the fake camera plays the
file in a loop). Chromium plays it with ``--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
--use-file-for-fake-video-capture=FILE.y4m``; the page's live test and ``benchmarks/web.py --live`` do.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from inversefacenet.images import load_image

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "assets/examples/astronaut.jpg"
FACE, ZOOM = (224.0, 110.0), 1.6
"""The example's face (photo px) and a magnification that makes it a webcam-sized face (about 220 px high)."""
WIDTH, HEIGHT, FPS = 640, 480, 30
FACE_HEIGHT = 220
"""A webcam-sized face's height in the frame (px)."""


def framing(photo: Path) -> tuple[tuple[float, float], float]:
    """The centre (photo px) and magnification that put the photo's largest face at the frame's centre,
    ``FACE_HEIGHT`` px high; ValueError when no face is found."""
    from inversefacenet.detection import LandmarkDetector

    detector = LandmarkDetector()
    try:
        faces = detector(load_image(photo))
    finally:
        detector.close()
    if not faces:
        raise ValueError(f"no face found in {photo}")
    x0, y0, x1, y1 = faces[0].box
    return ((x0 + x1) / 2, (y0 + y1) / 2), FACE_HEIGHT / (y1 - y0)


def moving_frames(
    count: int, photo: Path = EXAMPLE, centre: tuple[float, float] = FACE, zoom: float = ZOOM
) -> list[np.ndarray]:
    """``count`` RGB frames (480, 640, 3) of one loop of the motion: the photo's point ``centre`` (px) at the
    frame's centre, the photo magnified ``zoom`` times, then turned, scaled and shifted."""
    image = load_image(photo)  # as the detector's framing reads it (EXIF orientation applied)
    frames = []
    for k in range(count):
        phase = 2 * np.pi * k / count
        matrix = cv2.getRotationMatrix2D(centre, 8 * np.sin(phase), zoom * (1 + 0.12 * np.sin(2 * phase)))
        matrix[:, 2] += (WIDTH / 2 - centre[0] + 50 * np.sin(phase + 1), HEIGHT / 2 - centre[1] + 30 * np.cos(phase))
        frames.append(
            cv2.warpAffine(image, matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        )
    return frames


def write_y4m(path: Path, frames: Iterable[np.ndarray], fps: int = FPS) -> Path:
    """RGB frames of one size -> a YUV4MPEG2 file (4:2:0, full-range JPEG chroma siting, as Chromium reads it)."""
    frames = iter(frames)
    first = next(frames)
    with Path(path).open("wb") as out:
        out.write(f"YUV4MPEG2 W{first.shape[1]} H{first.shape[0]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in itertools.chain([first], frames):
            out.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--photo", type=Path, default=EXAMPLE)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    centre, zoom = (FACE, ZOOM) if args.photo.resolve() == EXAMPLE else framing(args.photo)
    write_y4m(args.out, moving_frames(round(args.seconds * FPS), args.photo, centre, zoom))
    print(f"{args.out}: {args.seconds} s at {FPS} fps, {WIDTH} x {HEIGHT}")


if __name__ == "__main__":
    main()
