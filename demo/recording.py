"""A recorded live session: the tracked face's parameters per frame, exported as JSON and as an animated GLB.

Each browser session's :class:`demo.live.LiveSession` owns one ``Recording`` (inside its ``gr.State``), so one
user's frames never reach another's file. A recording is bounded (``RECORD_LIMIT_S``): past it, frames are no
longer kept. The export is :mod:`inversefacenet.animate`'s: ``recording.json`` (per frame: ``time_s``, rotation
in degrees, the 52 ARKit expression weights by name, shape, albedo, SH) and ``recording_animated.glb`` (the 52
blendshapes as morph targets, one LINEAR sampler of the weights and one of the head rotation at the frame times).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from inversefacenet.animate import animated_glb, session_dict
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import write_whole
from inversefacenet.params import FaceParameters

RECORD_LIMIT_S = 60.0
"""Longest recording kept, s from its first frame (at the stream's 25 fps at most, about 1,500 frames)."""
JSON_NAME, GLB_NAME = "recording.json", "recording_animated.glb"


KEEP = "Keep the tracked face for export"
"""The live tab's record switch, named apart from the webcam's own "Record" button (which only starts the stream)."""


class Recording:
    """Frames of one tracked person: parameters (batch of 1 each) and their times (s since the first frame). Frames of
    another person (``TrackedFace.person``: the tracker moved to another face) are not kept, and the status says so:
    one file held two people's frames, its animation on the mean of both faces (a trial).

    ``add`` (the stream's frames) and ``snapshot`` / ``export`` (a button) may run at once for one user: a lock
    keeps the two lists in step.
    """

    def __init__(self, limit_s: float = RECORD_LIMIT_S) -> None:
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._frames: list[FaceParameters] = []
        self._times: list[float] = []
        self._start: float | None = None
        self._person: int | None = None  # whose frames these are
        self.full = False  # a frame came past limit_s: no more are kept
        self.someone_else = False  # the last frame offered was another person's

    def restart(self) -> None:
        """Drop every frame: the next one added is time 0, and its person the recording's."""
        with self._lock:
            self._frames, self._times, self._start, self._person = [], [], None, None
            self.full = self.someone_else = False

    def add(self, params: FaceParameters, seconds: float, person: int = 0) -> bool:
        """Keep a copy of ``params`` (one face, numpy) of ``person`` seen at ``seconds`` (any clock); False when not
        kept: the recording is full, the frame is another person's, or its time does not come after the previous
        frame's."""
        if params.batch_size != 1:
            raise ValueError(f"expected the parameters of one face, got a batch of {params.batch_size}")
        with self._lock:
            start = seconds if self._start is None else self._start
            time_s = seconds - start
            self.full = self.full or time_s > self.limit_s
            self.someone_else = self._person is not None and person != self._person
            if self.full or self.someone_else or (self._times and time_s <= self._times[-1]):
                return False
            self._start, self._person = start, person
            self._frames.append(params.map(np.copy))
            self._times.append(time_s)
            return True

    def __len__(self) -> int:
        return len(self._times)

    @property
    def duration_s(self) -> float:
        """Time of the last frame kept, s (0 for none or one)."""
        return self._times[-1] if self._times else 0.0

    def snapshot(self) -> tuple[FaceParameters, np.ndarray]:
        """The frames so far as one batch (N, numpy) and their times (N,) s; ValueError when there are none."""
        with self._lock:
            frames, times = list(self._frames), np.array(self._times, np.float64)
        if not frames:
            raise ValueError(f"Nothing recorded yet: tick “{KEEP}” while your face is in view (the webcam's own "
                             "Record button only starts the stream).")
        return FaceParameters.concatenate(frames), times

    def export(self, model: FaceModel, folder: Path) -> list[Path]:
        """Write ``recording.json`` and ``recording_animated.glb`` into ``folder`` (replacing earlier ones)."""
        frames, times = self.snapshot()
        folder.mkdir(parents=True, exist_ok=True)
        data, glb = folder / JSON_NAME, folder / GLB_NAME
        write_whole(data, json.dumps(session_dict(model, frames, times)))
        write_whole(glb, animated_glb(model, frames, times))
        return [data, glb]

    def status(self) -> str:
        """A few words for the status line."""
        if not self._times:
            return "recording: waiting for a face"
        line = f"recording: {len(self)} frame{'' if len(self) == 1 else 's'}, {self.duration_s:.1f} s"
        if self.full:
            return f"{line} (full: export it, or untick and tick “{KEEP}” for a new one)"
        if self.someone_else:
            return f"{line} (another face is tracked: not kept; untick and tick “{KEEP}” to record it instead)"
        return line
