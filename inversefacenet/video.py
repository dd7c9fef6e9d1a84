"""A video file through the tracker: each person's parameters frame by frame, for per-frame JSON and animated GLBs.

    python -m inversefacenet clip.mp4 --out DIR      (see inversefacenet.cli)

OpenCV's FFmpeg decodes the frames; a :class:`~inversefacenet.tracking.Tracker` follows the face from frame to frame
on the video's own clock (each frame's time stamp, so its smoothing and identity hold see the video's time, not the
time the CPU took), with the network on every frame and no fit, as the live modes run. It follows one face at a
time; a face lost and found again where it was within ``VIDEO_TRACKING.identity_keep_s`` is the same person,
anyone else (or the same face back elsewhere, or later) a new one, so that no person's animation jumps to another
face. An overlay video can show the tracks as a photo's overlay shows its faces (silhouette, 68 points, box, the
person's number).
"""

from __future__ import annotations

import contextlib
import json
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from inversefacenet.animate import animated_glb, session_dict
from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import replacing, write_whole
from inversefacenet.images import check_file
from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import FIT_SIZE, FaceResult, Reconstructor, draw_overlay
from inversefacenet.tracking import TrackedFace, Tracker, TrackerConfig

UNKNOWN_FPS = 30.0
"""The clock of a video whose header gives no usable frame rate (nor its frames a time stamp)."""
VIDEO_TRACKING = replace(TrackerConfig(), identity_keep_s=10.0, search_every_s=0.0)
"""The live modes' tracking, with a face that looks away (or is covered) for up to 10 s still the same person when
it comes back where it was (a recorded clip is mostly one person: the webcam's rule, 2 s, split a review's clip of a
face gone for 3 s into two), and the whole search on every frame without a face, not once a second: a file waits,
and a face the quick look is too coarse for (a small one) is found on the frame it comes back."""
TRUNCATED = 0.9
"""A video that decodes fewer frames than this share of its header's count is reported as cut short."""
ENCODE_QUEUE = 8
"""Frames drawn ahead of the overlay's encoder at most (640 x 480: about 7 MB)."""
OVERLAY_CODECS = {".mp4": "mp4v", ".webm": "VP80"}
"""The overlay video's encoder by its file's ending: MPEG-4 part 2 for players (1 ms a 512 px frame here), VP8 for
browsers (10.5 ms; VP9 took 53). OpenCV's FFmpeg has no H.264 encoder."""


@dataclass(frozen=True)
class VideoFile:
    """A video's frame rate and its header's frame count (an estimate for some containers; 0 when unknown)."""

    path: Path
    fps: float
    frame_count: int

    @classmethod
    def open(cls, path: Path) -> VideoFile:
        """Read the header; InputError in plain words when there is no such file or OpenCV cannot open it."""
        check_file(path, "a video file")
        capture = cv2.VideoCapture(str(path))
        try:
            if not capture.isOpened():
                raise InputError(f"cannot read {path} as a video: the file is damaged, or a video this program cannot"
                                 " decode")  # fmt: skip
            fps, count = capture.get(cv2.CAP_PROP_FPS), capture.get(cv2.CAP_PROP_FRAME_COUNT)
        finally:
            capture.release()
        fps = fps if np.isfinite(fps) and 0 < fps <= 1000 else UNKNOWN_FPS
        return cls(path, float(fps), int(count) if np.isfinite(count) and count > 0 else 0)

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        """Each frame's time (s: its time stamp, or 1 / fps after the last where it has none that comes after the
        last one's) and pixels, (H, W, 3) uint8 RGB; InputError when not one frame decodes. Frames stop at the
        first one that does not decode."""
        capture = cv2.VideoCapture(str(self.path))
        seconds = None
        try:
            while (read := capture.read())[0]:
                stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
                if np.isfinite(stamp) and stamp >= 0 and (seconds is None or stamp > seconds):
                    seconds = stamp
                else:
                    seconds = 0.0 if seconds is None else seconds + 1 / self.fps
                yield seconds, cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB)
        finally:
            capture.release()
        if seconds is None:
            raise InputError(f"{self.path} holds no frame OpenCV can decode")


@dataclass(frozen=True)
class TrackedPerson:
    """One person through a video: their parameters (N, numpy) on the N frames they were tracked on, and those
    frames' times (N,) s."""

    frames: FaceParameters
    times: np.ndarray


@dataclass(frozen=True)
class TrackedVideo:
    """The people of a video in the order they were first seen, how many frames decoded against the header's count
    (0: unknown), the frame rate and the mean tracker ms per frame (decoding and the overlay excluded)."""

    people: list[TrackedPerson]
    decoded: int
    header_frames: int
    fps: float
    ms_per_frame: float

    def source(self, video: str) -> dict[str, object]:
        """What the per-frame files and reports say of the ``video``: its name, frame rate and frame count."""
        return {"video": video, "fps": round(self.fps, 3), "frames": self.decoded}

    @property
    def warning(self) -> str | None:
        """Words for a file that ended well before its header's count of frames (damaged, or copied in part)."""
        if self.decoded >= TRUNCATED * self.header_frames:
            return None
        return f"the file ended after {self.decoded} of the {self.header_frames} frames its header counts: cut short?"


def track_video(reconstructor: Reconstructor, path: Path, config: TrackerConfig = VIDEO_TRACKING,
                progress: bool = True, overlay: Path | None = None, overlay_side: int | None = None,
                limit_s: float | None = None) -> TrackedVideo:  # fmt: skip
    """Track the people of the video at ``path`` (:mod:`inversefacenet.video`); a tqdm bar on stderr with
    ``progress``; with ``overlay`` (.mp4 or .webm, :data:`OVERLAY_CODECS`), a video there of the frames with the
    tracked face drawn on them as a photo's overlay draws one (about 11 ms more a frame), shrunk to
    ``overlay_side`` px on its longer side if larger, written only when the video has a face. InputError for a file
    that is no video or runs past ``limit_s`` (by its header, else on the first frame past it: a browser's recording
    may not count its frames), NoFaceError when no frame shows a face."""
    if overlay is not None and overlay.suffix.lower() not in OVERLAY_CODECS:
        raise ValueError(f"an overlay video is one of {sorted(OVERLAY_CODECS)}, not {overlay.name}")
    video = VideoFile.open(path)
    if limit_s is not None and video.frame_count > limit_s * video.fps:  # frame k is at k / fps: the last at < limit
        raise _too_long(path, limit_s)
    tracker = Tracker(reconstructor, config)
    people: dict[int, tuple[list[FaceParameters], list[float]]] = {}  # by the tracker's person, in order of first sight
    decoded, tracker_ms = 0, 0.0
    drafted = contextlib.nullcontext(None) if overlay is None else replacing(overlay)  # kept only with a face
    try:
        with drafted as draft, _Writer(draft, video.fps, overlay_side, overlay) as writer, \
                contextlib.closing(video.frames()) as frames:
            for seconds, frame in tqdm(frames, total=video.frame_count or None, desc=path.name, unit="frame",
                                       disable=None if progress else True, file=sys.stderr, leave=False):  # fmt: skip
                if limit_s is not None and seconds >= limit_s:
                    raise _too_long(path, limit_s)
                faces, ms = tracker(frame, seconds)
                decoded += 1
                tracker_ms += sum(ms.values())
                followed = faces[:1]  # the tracker follows one face (TrackerConfig.max_faces)
                for face in followed:
                    frames_of, times_of = people.setdefault(face.person, ([], []))
                    frames_of.append(face.params)
                    times_of.append(seconds)
                if draft is not None:
                    writer.write(_drawn(reconstructor, frame, followed, list(people)))
            if not people:
                raise NoFaceError(f"no face was found in any of the {decoded} frames of {path}")
    finally:
        tracker.close()
    tracked = [TrackedPerson(FaceParameters.concatenate(frames), np.array(times)) for frames, times in people.values()]
    return TrackedVideo(tracked, decoded, video.frame_count, video.fps, tracker_ms / decoded)


def _too_long(path: Path, limit_s: float) -> InputError:
    return InputError(f"{path} is longer than {limit_s:g} s: trim it to {limit_s:g} s or less")


class _Writer:
    """A video writer (:data:`OVERLAY_CODECS` by the file's ending) opened on the first frame, at the video's frame
    rate (at most 240 fps: a header's odd rate opened no writer), frames shrunk to ``side`` px on their longer side
    if larger. It encodes in a thread of its own, beside the tracking and drawing (VP8 took 32 ms a 640 x 480 frame
    of a moving face, as long as those two together; OpenCV lets go of the GIL while it encodes); leaving its block
    waits for the last frame and releases it."""

    def __init__(self, path: Path | None, fps: float, side: int | None = None, shown: Path | None = None) -> None:
        self.path, self.fps, self.side, self.writer = path, min(fps, 240.0), side, None
        self.shown = shown or path  # the file's name in messages (``path`` may be its hidden draft)
        self._frames: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=ENCODE_QUEUE)
        self._encoder: threading.Thread | None = None
        self._failed = False

    def write(self, frame: np.ndarray) -> None:
        """Queue an (H, W, 3) uint8 RGB frame for the encoder; OSError when the file cannot be written."""
        scale = 1.0 if self.side is None else min(1.0, self.side / max(frame.shape[:2]))
        if scale < 1:
            size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        if self.writer is None:
            codec = cv2.VideoWriter_fourcc(*OVERLAY_CODECS[self.path.suffix.lower()])
            self.writer = cv2.VideoWriter(str(self.path), codec, self.fps, (frame.shape[1], frame.shape[0]))
            if not self.writer.isOpened():
                raise OSError(f"cannot write the video {self.shown}")
            self._encoder = threading.Thread(target=self._encode, daemon=True)
            self._encoder.start()
        if self._failed:
            raise OSError(f"cannot write the video {self.shown}")
        self._frames.put(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))

    def _encode(self) -> None:
        """The encoder's thread: each queued frame until None. After a failed write it only empties the queue, so
        that a writer never waits on a full queue for a thread that is gone (a review: the video queue hung)."""
        while (frame := self._frames.get()) is not None:
            if self._failed:
                continue
            try:
                self.writer.write(frame)
            except BaseException:  # noqa: BLE001 (any failure: reported by write() and on leaving the block)
                self._failed = True

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *error: object) -> None:
        """Wait for the encoder and release the file; OSError if a frame failed to encode (unless the block itself
        raised), so that a short file is not kept as the video."""
        if self._encoder is not None:
            self._frames.put(None)
            self._encoder.join()
        if self.writer is not None:
            self.writer.release()
        if self._failed and error[0] is None:
            raise OSError(f"cannot write the video {self.shown}")


def _drawn(reconstructor: Reconstructor, frame: np.ndarray, faces: list[TrackedFace], people: list[int]) -> np.ndarray:
    """The frame with its tracked faces drawn as :func:`~inversefacenet.pipeline.draw_overlay` draws a photo's,
    each numbered by its person's order of first sight in ``people``."""
    results = [FaceResult.unfitted(reconstructor.model, face.params, face.crop.resized(FIT_SIZE), reconstructor.camera,
                                   frame, face.landmarks) for face in faces]  # fmt: skip
    return draw_overlay(frame, results, numbers=[people.index(face.person) + 1 for face in faces])


def write_people(model: FaceModel, tracked: TrackedVideo, files_of: Callable[[int], tuple[Path, Path]],
                 video: str) -> list[tuple[Path, Path]]:  # fmt: skip
    """Each person k's (from 1, as first seen) per-frame parameters and animated GLB at ``files_of(k)``: the JSON's
    ``source`` (the video, its frame rate and frame count, the person), then
    :func:`~inversefacenet.animate.session_dict`'s frames; the GLB :func:`~inversefacenet.animate.animated_glb`'s."""
    written = []
    for k, person in enumerate(tracked.people, start=1):
        frames_json, glb = files_of(k)
        frames = session_dict(model, person.frames, person.times)
        write_whole(frames_json, json.dumps({"source": {**tracked.source(video), "person": k}, **frames}))
        write_whole(glb, animated_glb(model, person.frames, person.times))
        written.append((frames_json, glb))
    return written
