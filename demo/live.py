"""The app's live tab: webcam frames in, the face relit under a chosen light out, frame by frame.

One ``LiveSession`` per browser session (a ``gr.State``): it owns a :class:`Tracker` (MediaPipe
graphs with this stream's timestamps, the smoothing filter), so users never share a track. The
network runs on every frame (no fit); the detector only when the face is lost.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import replace

import numpy as np

from demo.views import BACKGROUND, composite
from inversefacenet.lighting import PRESETS, matched, sh_from_light
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import crop_for_landmarks
from inversefacenet.renderer import render, to_uint8
from inversefacenet.tracking import TrackedFace, Tracker, TrackerConfig

LIVE_SIZE = 256
"""Side (px) of the rendered face."""
RECOVERED = "recovered"
LIVE_TRACKING = TrackerConfig(max_faces=1, mesh_every=1, smoothing=True)
FPS_WINDOW = 20
"""Frames the fps shown is averaged over."""


class LiveSession:
    """One user's video stream: tracker, the last output, and the frame rate reached.

    A frame that arrives while the previous one is still being processed is dropped (the last
    output is returned again): a tracker never serves two frames at once.
    """

    def __init__(self, reconstructor: Reconstructor, config: TrackerConfig = LIVE_TRACKING) -> None:
        self.reconstructor = reconstructor
        self.model = reconstructor.model.coarse()  # same landmarks and crop, ~2.5x faster to render at video sizes
        self.tracker = Tracker(reconstructor, config)
        self._busy = threading.Lock()
        self._done: deque[float] = deque(maxlen=FPS_WINDOW)
        self.last: tuple[np.ndarray | None, str] = (None, "Waiting for the camera...")

    def close(self) -> None:
        self.tracker.close()

    @property
    def fps(self) -> float:
        """Frames answered per second over the last ``FPS_WINDOW`` frames (0 before two)."""
        if len(self._done) < 2:
            return 0.0
        return (len(self._done) - 1) / max(self._done[-1] - self._done[0], 1e-6)

    def frame(self, frame: np.ndarray, light: str, in_video: bool, smoothing: bool) -> tuple[np.ndarray | None, str]:
        """(H, W, 3) uint8 RGB frame -> (the relit face, in the frame or alone; a status line)."""
        if not self._busy.acquire(blocking=False):
            return self.last
        try:
            start = time.perf_counter()
            if smoothing != self.tracker.config.smoothing:
                self.tracker.reset()
                self.tracker.config = replace(self.tracker.config, smoothing=smoothing)
            faces, ms = self.tracker(frame)
            if not faces:
                image, status = frame, "No face in view"
            else:
                image = self._relit(frame, faces[0], light, in_video)
                status = f"{faces[0].source}: tracking {ms.get('track', 0):.0f} ms, network {ms['network']:.0f} ms"
            self._done.append(time.perf_counter())
            total = (time.perf_counter() - start) * 1000
            self.last = image, f"{status}; {total:.0f} ms per frame on the server; {self.fps:.1f} fps"
            return self.last
        finally:
            self._busy.release()

    def _relit(self, frame: np.ndarray, face: TrackedFace, light: str, in_video: bool) -> np.ndarray:
        """The tracked face under ``light`` (a preset matched to the recovered exposure, or the recovered light)."""
        params = face.params
        if light != RECOVERED:
            sh = sh_from_light(matched(PRESETS[light], params.sh[0]))
            params = replace(params, sh=sh[None].astype(np.float32))
        camera = self.reconstructor.camera
        out = render(self.model, params, LIVE_SIZE, camera=camera)
        relit = to_uint8(out.image[0], BACKGROUND)
        if not in_video:
            return relit
        return composite(frame, relit, out.raster.mask[0], crop_for_landmarks(face.landmarks, LIVE_SIZE, camera))
