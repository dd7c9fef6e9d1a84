"""A video file through the tracker: one person's parameters frame by frame, for per-frame JSON and an animated GLB.

    python -m inversefacenet clip.mp4 --out DIR      (see inversefacenet.cli)

OpenCV's FFmpeg decodes the frames; a :class:`~inversefacenet.tracking.Tracker` follows the face from frame to frame
on the video's own clock (frame k at k / fps s, so its smoothing and identity hold see the video's time, not the
time the CPU took), with the network on every frame and no fit, as the live modes run. The person is the first face
tracked: frames where no face, or another person, is tracked are left out, and the animation interpolates across
them. An overlay video can show the track as a photo's overlay shows its faces (silhouette, 68 points, box).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import FIT_SIZE, FaceResult, Reconstructor, draw_overlay
from inversefacenet.tracking import TrackedFace, Tracker, TrackerConfig

VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm"})
"""Files the command line reads as videos (what OpenCV's FFmpeg decodes; a folder stands for its photos only)."""
UNKNOWN_FPS = 30.0
"""The clock of a video whose header gives no frame rate."""


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


@dataclass(frozen=True)
class VideoFile:
    """A video's frame rate and its header's frame count (an estimate for some containers; 0 when unknown)."""

    path: Path
    fps: float
    frame_count: int

    @classmethod
    def open(cls, path: Path) -> VideoFile:
        """Read the header; InputError in plain words when OpenCV cannot open it as a video."""
        capture = cv2.VideoCapture(str(path))
        try:
            if not capture.isOpened():
                raise InputError(f"cannot read {path} as a video: the file is damaged or not a video OpenCV decodes")
            fps = capture.get(cv2.CAP_PROP_FPS)
            count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        finally:
            capture.release()
        fps = fps if np.isfinite(fps) and fps > 0 else UNKNOWN_FPS
        return cls(path, float(fps), int(count) if np.isfinite(count) and count > 0 else 0)

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Each frame's time (s) and pixels, (H, W, 3) uint8 RGB; InputError when not one frame decodes."""
        capture = cv2.VideoCapture(str(self.path))
        decoded = 0
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                yield decoded / self.fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                decoded += 1
        finally:
            capture.release()
        if decoded == 0:
            raise InputError(f"{self.path} holds no frame OpenCV can decode")


@dataclass(frozen=True)
class TrackedVideo:
    """One person through a video: their parameters (N, numpy) on the N frames they were tracked on, those frames'
    times (N,) s, how many frames the video gave, and the mean tracker ms per frame (decoding excluded)."""

    frames: FaceParameters
    times: np.ndarray
    decoded: int
    fps: float
    ms_per_frame: float


def track_video(reconstructor: Reconstructor, path: Path, config: TrackerConfig | None = None,
                progress: bool = True, overlay: Path | None = None) -> TrackedVideo:  # fmt: skip
    """Track the first person seen through the video at ``path`` (:mod:`inversefacenet.video`); a tqdm bar on
    stderr with ``progress``; with ``overlay``, an MP4 of the frames with the person drawn on them as a photo's overlay
    draws a face (about 11 ms more a frame). InputError for a file that is no video, NoFaceError when no frame shows
    a face."""
    video = VideoFile.open(path)
    tracker = Tracker(reconstructor, config or TrackerConfig())
    kept: list[FaceParameters] = []
    times: list[float] = []
    person, decoded, tracker_ms, writer = None, 0, 0.0, None
    try:
        bar = tqdm(video.frames(), total=video.frame_count or None, desc=path.name, unit="frame",
                   disable=not progress, file=sys.stderr)  # fmt: skip
        for seconds, frame in bar:
            faces, ms = tracker(frame, seconds)
            decoded += 1
            tracker_ms += sum(ms.values())
            theirs = faces[0] if faces and person in (None, faces[0].person) else None
            if theirs is not None:
                person = theirs.person
                kept.append(theirs.params)
                times.append(seconds)
            if overlay is not None:
                writer = writer or _writer(overlay, video.fps, frame.shape)
                writer.write(cv2.cvtColor(_drawn(reconstructor, frame, theirs), cv2.COLOR_RGB2BGR))
    finally:
        tracker.close()
        if writer is not None:
            writer.release()
    if not kept:
        raise NoFaceError(f"no face was found in any of the {decoded} frames of {path}")
    return TrackedVideo(FaceParameters.concatenate(kept), np.array(times), decoded, video.fps, tracker_ms / decoded)


def _writer(path: Path, fps: float, shape: tuple[int, ...]) -> cv2.VideoWriter:
    """An MP4 writer (MPEG-4 part 2: OpenCV's FFmpeg has no H.264 encoder) for frames of ``shape`` (H, W, 3)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (shape[1], shape[0]))
    if not writer.isOpened():
        raise OSError(f"cannot write the video {path}")
    return writer


def _drawn(reconstructor: Reconstructor, frame: np.ndarray, face: TrackedFace | None) -> np.ndarray:
    """The frame with the tracked face as :func:`~inversefacenet.pipeline.draw_overlay` draws a photo's (as it is
    without one)."""
    if face is None:
        return frame
    result = FaceResult(params=face.params, model=reconstructor.model, crop=face.crop.resized(FIT_SIZE),
                        detected_landmarks=face.landmarks, ms={}, camera=reconstructor.camera,
                        _photo=(frame, lambda: face.landmarks))  # fmt: skip
    return draw_overlay(frame, [result])
