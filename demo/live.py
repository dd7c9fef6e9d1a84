"""The app's live tab: webcam frames in, the face relit under a chosen light out, frame by frame.

One ``LiveSession`` per browser session (a ``gr.State``): it owns a :class:`Tracker` (MediaPipe
graphs with this stream's timestamps, the smoothing filter) and a :class:`Recording`, so users never
share a track or a recording. The network runs on every frame (no fit); the detector only when the
face is lost.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from dataclasses import replace
from pathlib import Path

import numpy as np

from demo.person import PersonMasks
from demo.recording import Recording
from demo.serving import session_folder
from demo.views import BACKGROUND, OWN_SKIN_FADE, PREVIEW_ZOOM, Framing, composite, own_skin_in_photo, zoomed
from inversefacenet.lighting import preset_sh
from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import Crop, crop_for_landmarks
from inversefacenet.render.renderer import project_face, render, to_uint8
from inversefacenet.tracking import TrackedFace, Tracker, TrackerConfig

LIVE_SIZE = 256
"""Side (px) of the rendered face."""
RECOVERED = "recovered"
LIVE_TRACKING = TrackerConfig(max_faces=1, mesh_every=3, smoothing=True, parallel_mesh=False)
"""The tracker's default mesh on every 3rd frame, but the network waits for it here: after each frame's numba render
(its OpenMP pool) a mesh thread beside the network ran slower than the two one after the other (tracker 9.9 against
8.9 ms per frame of the live video with the mesh on every frame; with numba's workqueue pool, which is not safe for
the app's concurrent renders, 6.3 against 9.1). The mesh on every 3rd frame instead of every one: 14.0-14.9 against
15.4-18.1 ms per frame with the model albedo (``python benchmarks/live_tab.py --mesh-every N``, two runs each)."""
FPS_WINDOW = 20
"""Frames the fps shown is averaged over."""
FPS_PAUSE_S = 1.0
"""A frame this long after the last one (s) starts the average afresh: a stream stopped and started again is not
slow (a trial saw 2.3 fps after a restart, while it ran at 8-10)."""


class LiveSession:
    """One user's video stream: tracker, recording, the last output, and the frame rate reached.

    A frame that arrives while the previous one is still being processed is dropped (None: the last output stands):
    a tracker never serves two frames at once. (Sent again, the same image was written again to the same file of
    Gradio's cache while it was being served: "Too much data for declared Content-Length" in the server's log.)
    """

    def __init__(self, reconstructor: Reconstructor, config: TrackerConfig = LIVE_TRACKING) -> None:
        self.reconstructor = reconstructor
        self.model = reconstructor.model.coarse().closed()  # same landmarks and crop, ~2.5x faster at video sizes
        self.tracker = Tracker(reconstructor, config)
        self.recording = Recording()
        self._recording_on = False
        self._busy = threading.Lock()
        self._done: deque[float] = deque(maxlen=FPS_WINDOW)
        self.folder = session_folder("live")  # exported recordings, until close()
        self._people: PersonMasks | None = None  # this stream's own segmentation graph, made on first use

    def close(self) -> None:
        self.tracker.close()
        if self._people is not None:
            self._people.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def export_recording(self) -> list[Path]:
        """The recording so far as ``recording.json`` and ``recording_animated.glb`` (the full face model's
        blendshapes), in this session's folder; ValueError when nothing was recorded."""
        return self.recording.export(self.reconstructor.model, self.folder)

    @property
    def fps(self) -> float:
        """Frames answered per second over the last ``FPS_WINDOW`` frames (0 before two)."""
        if len(self._done) < 2:
            return 0.0
        return (len(self._done) - 1) / max(self._done[-1] - self._done[0], 1e-6)

    def frame(
        self, frame: np.ndarray, light: str, in_video: bool, smoothing: bool, record: bool = False,
        own_skin: bool = True,
    ) -> tuple[np.ndarray, str] | None:  # fmt: skip
        """(H, W, 3) uint8 RGB frame -> (the relit face, in the frame or alone; a status line), or None when the
        frame is dropped (the one before is still being processed).

        With ``record`` the tracked face's parameters are kept; switching it on starts a new recording. With
        ``own_skin`` (and ``in_video``) the frame's own face is relit, else the face model's albedo is pasted in."""
        if not self._busy.acquire(blocking=False):
            return None
        try:
            start = time.perf_counter()
            if smoothing != self.tracker.config.smoothing:
                self.tracker.reset()
                self.tracker.config = replace(self.tracker.config, smoothing=smoothing)
            faces, ms = self.tracker(frame, start)
            if not faces:
                image, status = frame, "No face in view"
            else:
                image = self._relit(frame, faces[0], light, in_video, own_skin)
                status = f"{faces[0].source}: tracking {ms.get('track', 0):.0f} ms, network {ms['network']:.0f} ms"
            self._record(faces[0] if faces else None, start, record)
            if self._done and start - self._done[-1] > FPS_PAUSE_S:
                self._done.clear()
            self._done.append(time.perf_counter())
            total = (time.perf_counter() - start) * 1000
            status = f"{status}; {total:.0f} ms per frame on the server; {self.fps:.1f} fps"
            return image, f"{status}; {self.recording.status()}" if record else status
        finally:
            self._busy.release()

    def _record(self, face: TrackedFace | None, seconds: float, record: bool) -> None:
        if record and not self._recording_on:
            self.recording.restart()
        self._recording_on = record
        if record and face is not None:
            self.recording.add(face.params, seconds, face.person)

    def _relit(self, frame: np.ndarray, face: TrackedFace, light: str, in_video: bool, own_skin: bool) -> np.ndarray:
        """The tracked face under ``light`` (a preset matched to the recovered exposure, or the recovered light):
        in the video, the frame's own face relit (``own_skin``: its pixels times the shading's ratio, the person's
        skin kept) or the face model's render pasted in; else the render alone."""
        if in_video and own_skin and light == RECOVERED:
            return frame  # the frame's own face under its own light: the ratio would be 1 everywhere
        params = face.params
        if light != RECOVERED:
            params = replace(params, sh=preset_sh(light, params.sh[0])[None])
        camera = self.reconstructor.camera
        crop = crop_for_landmarks(face.landmarks, LIVE_SIZE, camera)
        if in_video and own_skin:
            return self._own_skin(frame, face.params, params, crop)
        out = render(self.model, params, LIVE_SIZE, camera=camera)
        if not in_video:
            return to_uint8(out.image[0], BACKGROUND)
        return composite(frame, to_uint8(out.image[0], BACKGROUND), out.raster.mask[0], crop)

    def _own_skin(self, frame: np.ndarray, tracked: FaceParameters, lit: FaceParameters, crop: Crop) -> np.ndarray:
        """The frame's own face and the person around it relit from the ``tracked`` light to ``lit``'s
        (:func:`own_skin_in_photo`), rendered zoomed out as the photo tab's previews (room for the hair and the ears
        in the frame ``crop`` zoomed out) and with the person found by this stream's own segmentation graph."""
        camera = self.reconstructor.camera
        framing = Framing.of(project_face(self.model, tracked, LIVE_SIZE, camera), LIVE_SIZE)
        at = framing.zoomed(PREVIEW_ZOOM).at(LIVE_SIZE)
        after, before = (render(self.model, params, LIVE_SIZE, camera=camera, crop=at) for params in (lit, tracked))
        self._people = self._people or PersonMasks(model=1)  # the landscape model, for video
        return own_skin_in_photo(frame, self.model, after, before, zoomed(crop, PREVIEW_ZOOM),
                                 (lit.sh[0], tracked.sh[0]), OWN_SKIN_FADE * PREVIEW_ZOOM, self._people(frame))
