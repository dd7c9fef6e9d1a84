"""Video: faces tracked frame to frame, the network on every frame, parameters smoothed over time.

A photo pays for MediaPipe's face detector and a mesh around each detection; a video frame
mostly does not need the detector: each face's next region is the one its previous landmarks
give, where MediaPipe's landmark model runs alone (MediaPipe's own tracking rule,
:func:`~inversefacenet.detection.roi_of_landmarks`); when it finds no face there (a fast move,
or a slow stream), the short-range detector looks at twice the face around it first. The whole
search (:class:`LandmarkDetector`) runs only while no face is tracked or when a face is lost, and for a lone face
(``max_faces`` 1, a webcam) only after the short-range detector on the whole frame found none, at most once every
``search_every_s`` (the page's rule).
With ``mesh_every`` > 1 the mesh runs on every n-th frame
only; in between, the landmarks follow the image by pyramidal Lucas-Kanade optical flow of a
few stable points (a similarity transform), or stay where they were (``between="hold"``, the
browser page's rule: it has no optical flow), and the network runs alone on the crop its last
reading pointed to, masked by those landmarks. On a mesh frame the mesh runs in a second thread while the
network reads the crop that optical flow gives (``parallel_mesh``): a frame costs the longer of the two, not their
sum; the mesh's points then place the next frame's crop.
Parameters can be smoothed by a One Euro filter (Casiez et al., CHI 2012): little lag when
the face moves fast, little jitter when it is still. Smoothing also holds the identity: a
person's shape and albedo do not change within a track, so they are the mean of the network's
readings over the track's first frames, then kept; pose, expression and light follow each frame.
A lone face lost for a moment (turned away, a hand over it) and found again, alone and where it
was, keeps that identity: the same person, whose face would otherwise change shape and skin on
every loss.

A :class:`Tracker` holds one video's state (MediaPipe graphs with per-stream timestamps,
filters): one per stream, never shared between threads or users.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Literal

import cv2
import numpy as np

from inversefacenet.detection import (
    SHORT_RANGE_SCORE,
    DetectedFace,
    landmark_box,
    landmark_graph,
    largest_box,
    look_at,
    mesh_face,
    mesh_in_roi,
    roi_of_landmarks,
    short_range_graph,
)
from inversefacenet.facemodel.model import MESH_POINTS
from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import Crop, crop_for_landmarks
from inversefacenet.upright import is_tilted

FLOW_POINTS = [1, 4, 6, 168, 197, 33, 133, 263, 362, 61, 291, 70, 105, 300, 334, 50, 280, 152, 10, 234, 454]
"""MediaPipe indices the optical flow follows: textured points (nose, eye and mouth corners, brows, cheeks),
with a few on the outline to fix the scale."""
MIN_FLOW_POINTS = 8
FLOW_MARGIN = 0.5
"""The optical flow looks for the face's points in its box widened by this share of its side on every side: a face
moving half its size between frames is lost by the flow anyway (its mesh then looks around it)."""
FLOW_FACE_PX = 160.0
"""The flow reads a face larger than this (landmark box side, px) on its box halved (cv2.pyrDown) until it is not:
a 300 px face took 0.72 ms a look at full size, 0.43 halved, and its points moved 0.03 px apart (median; 95th
percentile 0.12)."""
FLOW_RETURN_PX = 1.0
"""A point counts only if the flow back from the new frame returns it within this many px (of the flow's own, halved
or not) of where it was: on the examples' videos every point returns within 0.02 px; on a blank or noise frame, or
another photo (the face gone), at most one does, where the flow forward alone kept 9-21 of the 21 points. The flow
back starts where the points were and looks two pyramid levels deep: a point that flowed truly is found there at
once."""
MIN_FACE_PX = 24.0
"""A tracked landmark box smaller than this (photo px) counts as lost."""
RETURN_SIZE_RATIO = 1.5
"""A face found again is the lost one only if its box's side is within this factor of the lost box's (and its centre
within that side of the lost centre): someone stepping in elsewhere, or much nearer, is someone else."""


@dataclass(frozen=True)
class TrackerConfig:
    """mesh_every: run the mesh on every n-th frame of a track (1: always); between: how the landmarks follow the
    face on the frames between ("flow": optical flow; "hold": they stay, the network's crop alignment follows).
    smoothing: One Euro filter on the parameters; min_cutoff (Hz) sets the jitter of a still face,
    beta the lag of a moving one (per unit of parameter speed, per second); with it, shape and
    albedo are the mean of the track's first ``identity_frames`` readings, then held (0: filtered
    per frame like the rest). The default mesh on every 3rd frame, optical flow between, agrees with MediaPipe's mesh
    on every frame within 2 % of what the mesh on every frame does and jitters no more, at about two thirds of its
    time (``benchmarks/tracking.py``, docs/speed.md)."""

    max_faces: int = 1
    mesh_every: int = 3
    between: Literal["flow", "hold"] = "flow"
    smoothing: bool = True
    min_cutoff: float = 1.5
    beta: float = 0.3
    derivative_cutoff: float = 1.0
    identity_frames: int = 30
    identity_keep_s: float = 2.0
    """A lone face lost and found again alone, where it was, within this many seconds keeps its identity (0: never)."""
    search_every_s: float = 1.0
    """While no lone face (``max_faces`` 1) is tracked, each frame gets the short-range detector on the whole frame
    (:func:`~inversefacenet.detection.largest_box`, then the mesh: a few ms, a webcam's face is large), and the whole
    search (a small or far face) when that finds none, at most once this often (the frames' clock; 0: on every such
    frame). A frame without a face cost the whole search, about 28 ms here; the page, whose search takes a second or
    more, waits 5 s."""
    parallel_mesh: bool = True
    """With ``between="flow"``: on a mesh frame, the network reads the crop of the landmarks moved by optical flow
    while the mesh runs in a second thread (False: it waits for the mesh and reads the mesh's crop). It pays when the
    frames are tracked back to back; a caller that renders each frame with numba's OpenMP pool in between (the app's
    live tab) does better without it (see docs/speed.md)."""

    def __post_init__(self) -> None:
        if self.mesh_every < 1 or self.max_faces < 1:
            raise ValueError(f"mesh_every and max_faces must be at least 1, got {self.mesh_every}, {self.max_faces}")
        if self.between not in ("flow", "hold"):
            raise ValueError(f'between must be "flow" or "hold", got {self.between!r}')
        if self.identity_frames < 0:
            raise ValueError(f"identity_frames must be 0 (no hold) or more, got {self.identity_frames}")
        if self.search_every_s < 0:
            raise ValueError(f"search_every_s must be 0 (every frame) or more, got {self.search_every_s}")
        if self.identity_keep_s < 0:
            raise ValueError(f"identity_keep_s must be 0 (never keep) or more, got {self.identity_keep_s}")


class OneEuroFilter:
    """One Euro filter of a vector signal: a low-pass whose cutoff rises with the signal's speed."""

    def __init__(self, min_cutoff: float, beta: float, derivative_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.derivative_cutoff = min_cutoff, beta, derivative_cutoff
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time = 0.0

    def __call__(self, value: np.ndarray, seconds: float) -> np.ndarray:
        """The filtered value of ``value`` sampled at ``seconds`` (increasing)."""
        if self._value is None:
            self._value, self._speed, self._time = value.astype(np.float64), np.zeros(value.shape), seconds
            return value
        dt = max(seconds - self._time, 1e-6)
        speed = (value - self._value) / dt
        self._speed += _alpha(dt, self.derivative_cutoff) * (speed - self._speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self._speed)
        self._value += _alpha(dt, cutoff) * (value - self._value)
        self._time = seconds
        return self._value.astype(value.dtype)


def _alpha(dt: float, cutoff: float | np.ndarray) -> float | np.ndarray:
    """Smoothing factor of an exponential low-pass at ``cutoff`` Hz for a step of ``dt`` s."""
    return 1.0 / (1.0 + 1.0 / (2 * math.pi * cutoff * dt))


@dataclass
class TrackedFace:
    """One face in one frame: its parameters (batch of 1), landmarks ((478, 3) photo px) and the crop (at the
    network's input size) its parameters are framed by. On a mesh frame with ``parallel_mesh`` the landmarks are the
    mesh's and the crop was placed from the optical flow's points, which the network read while the mesh ran."""

    params: FaceParameters
    landmarks: np.ndarray
    source: str  # "detector", "mesh" (tracked crop), "flow" (landmarks moved by optical flow, no mesh) or "hold"
    crop: Crop
    person: int = 0
    """Which person (counted per tracker): the same while the face is tracked, and for a lone face lost that comes
    back where it was within ``identity_keep_s``; a recording of one person keeps to it."""

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the 468 mesh points, photo pixels."""
        return DetectedFace(self.landmarks, 0.0).box


class IdentityHold:
    """Shape and albedo of one track: the mean of its first ``frames`` readings, then held."""

    def __init__(self, frames: int) -> None:
        if frames < 1:
            raise ValueError(f"an identity is the mean of at least 1 reading, got {frames}")
        self.frames, self.count = frames, 0
        self.shape: np.ndarray | None = None
        self.albedo: np.ndarray | None = None

    def __call__(self, reading: FaceParameters, filtered: FaceParameters) -> FaceParameters:
        """``filtered`` with the track's identity; ``reading`` (the network's, unfiltered) adds to its mean."""
        if self.count < self.frames:
            self.count += 1
            if self.shape is None:
                self.shape, self.albedo = reading.shape.astype(np.float64), reading.albedo.astype(np.float64)
            else:
                self.shape += (reading.shape - self.shape) / self.count
                self.albedo += (reading.albedo - self.albedo) / self.count
        return replace(filtered, shape=self.shape.astype(np.float32), albedo=self.albedo.astype(np.float32))


@dataclass
class _Track:
    landmarks: np.ndarray
    filter: OneEuroFilter | None
    identity: IdentityHold | None
    seen: float  # when the face was last tracked (the frames' clock, s)
    person: int
    frames: int = 0
    alignment: np.ndarray | None = None  # the network's crop alignment from the last frame (one reading, not two)
    mesh: tuple[Future, np.ndarray] | None = None  # this frame's mesh in the mesh thread, the landmarks it started from


@dataclass
class Tracker:
    """Tracks faces through a video; ``reconstructor`` gives the detector and the network (no fit).

    Call it on each frame: (H, W, 3) uint8 RGB -> the faces found, and this frame's timings.
    """

    reconstructor: Reconstructor
    config: TrackerConfig = TrackerConfig()
    _tracks: list[_Track] = field(default_factory=list, init=False)
    _gray: np.ndarray | None = field(default=None, init=False, repr=False)
    _graphs: tuple[object, object] | None = field(default=None, init=False, repr=False)  # landmarks, short range
    _lost: _Track | None = field(default=None, init=False, repr=False)  # a lone face lost, whose identity may return
    _people: Iterator[int] = field(default_factory=itertools.count, init=False, repr=False)  # TrackedFace.person
    _mesh_thread: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)  # for parallel_mesh
    _searched: float = field(default=-math.inf, init=False, repr=False)  # when the whole search last ran (s)

    def __post_init__(self) -> None:
        if self.reconstructor.predictor is None:
            raise ValueError("tracking needs a network checkpoint (the fit is too slow for video)")

    def __call__(self, frame: np.ndarray, seconds: float | None = None) -> tuple[list[TrackedFace], dict[str, float]]:
        """The faces in ``frame`` at time ``seconds`` (default: now), largest first when detected.

        When any tracked face is lost (or none is tracked), every track restarts from the detector (a lone face
        found again soon keeps its identity: ``TrackerConfig.identity_keep_s``). Timings: "track" (optical flow,
        meshes, and the wait for a mesh running beside the network), "network" (all readings, one dropped with a face
        its mesh lost included), and the detector's when it ran."""
        seconds = time.perf_counter() if seconds is None else seconds
        start = time.perf_counter()
        config = self.config
        flow = config.between == "flow" and (config.mesh_every > 1 or config.parallel_mesh)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY) if flow else None
        sources = [self._follow(track, frame, gray) for track in self._tracks]
        ms = {"track": (time.perf_counter() - start) * 1000, "network": 0.0}
        faces = self._read(frame, sources, seconds, ms) if self._tracks and None not in sources else None
        if faces is None:  # lost (by the mesh thread too: then this frame's reading is dropped) or none tracked
            self._lose()
            found, detection_ms = self._find(frame, seconds)
            returning = self._returning(found, seconds)
            self._tracks = [self._start(points, seconds, returning if k == 0 else None)
                            for k, points in enumerate(found[: self.config.max_faces])]  # fmt: skip
            ms.update(detection_ms)
            faces = self._read(frame, ["detector"] * len(self._tracks), seconds, ms) if self._tracks else []
        self._gray = gray
        return faces or [], ms

    def _find(self, frame: np.ndarray, seconds: float) -> tuple[list[np.ndarray], dict[str, float]]:
        """Landmarks of the faces to track (largest first) and the detector's ms. A lone face is looked for by the
        short-range detector on the whole frame first; the whole search runs when that finds none, at most once
        every ``search_every_s``; upright only, as the page's: a camera's faces are upright, and the turned passes
        doubled a faceless frame."""
        ms = {"detection": 0.0, "mesh": 0.0}
        if self.config.max_faces == 1:
            start = time.perf_counter()
            mesh, detector = self._own_graphs()
            box = largest_box(frame, detector)
            middle = time.perf_counter()
            points = None if box is None else mesh_face(mesh, frame, box.roi)
            ms["detection"], ms["mesh"] = (middle - start) * 1000, (time.perf_counter() - middle) * 1000
            if _trackable(points):
                return [points], ms
            if 0 <= seconds - self._searched < self.config.search_every_s:
                return [], ms
        self._searched = seconds
        found, search_ms = self.reconstructor.detector.detect(frame, rotations=False)
        return [face.landmarks for face in found], {key: ms[key] + search_ms.get(key, 0.0) for key in ms}

    def _read(self, frame: np.ndarray, sources: list[str], seconds: float,
              ms: dict[str, float]) -> list[TrackedFace] | None:  # fmt: skip
        """The network on each track's crop, smoothed; None when a mesh of the mesh thread lost its face (the
        reading is then not kept). Adds to ``ms``."""
        start = time.perf_counter()
        tracks = self._tracks
        read_on = [track.landmarks for track in tracks]
        try:
            batch, crops, alignments = self.reconstructor.predict_aligned(
                frame, read_on, [track.alignment for track in tracks]
            )
        finally:
            middle = time.perf_counter()
            found = self._meshed()
        ms["network"] += (middle - start) * 1000
        ms["track"] += (time.perf_counter() - middle) * 1000
        if not found:
            return None
        faces = []
        for k, (track, alignment, source) in enumerate(zip(tracks, alignments, sources, strict=True)):
            # a held frame's alignment also holds the face's move since the mesh: the next mesh would count it twice
            if source != "hold":
                track.alignment = self._rebased(alignment, read_on[k], track.landmarks)
            params = self._smooth(track, batch.select(slice(k, k + 1)), seconds)
            track.seen = seconds
            faces.append(TrackedFace(params, track.landmarks, source, crops[k], track.person))
        return faces

    def reset(self) -> None:
        """Forget every face (a new video): the next frame runs the detector."""
        self._lose()
        self._lost, self._searched = None, -math.inf

    def _lose(self) -> None:
        """Forget the tracks (after their meshes still running, whose points are dropped), but remember a lone one:
        its face may come back."""
        wait([track.mesh[0] for track in self._tracks if track.mesh is not None])
        for track in self._tracks:
            track.mesh = None
        if self._tracks:
            self._lost = self._tracks[0] if len(self._tracks) == 1 else None
        self._tracks, self._gray = [], None

    def close(self) -> None:
        """Forget every face, close the graphs and stop the mesh thread (a later frame makes new ones)."""
        self.reset()
        if self._mesh_thread is not None:
            self._mesh_thread.shutdown()
            self._mesh_thread = None
        for graph in self._graphs or ():
            graph.close()
        self._graphs = None

    def _returning(self, found: list[np.ndarray], seconds: float) -> _Track | None:
        """The lone lost face's track if it is back: the only face ``found`` (landmarks, largest first), near where it
        was lost, within ``identity_keep_s``; None otherwise. Any face found ends the wait."""
        lost, keep_s = self._lost, self.config.identity_keep_s
        if found:
            self._lost = None
        if lost is None or len(found) != 1 or keep_s == 0 or not 0 <= seconds - lost.seen <= keep_s:
            return None
        return lost if _near(lost.landmarks, found[0]) else None

    def _start(self, landmarks: np.ndarray, seconds: float, returning: _Track | None) -> _Track:
        """A new track; ``returning``: the lost face's track it continues (its person and identity), if any."""
        config = self.config
        person = next(self._people) if returning is None else returning.person
        if not config.smoothing:
            return _Track(landmarks, None, None, seconds, person)
        smoother = OneEuroFilter(config.min_cutoff, config.beta, config.derivative_cutoff)
        kept = None if returning is None else returning.identity
        identity = kept or (IdentityHold(config.identity_frames) if config.identity_frames else None)
        return _Track(landmarks, smoother, identity, seconds, person)

    def _follow(self, track: _Track, frame: np.ndarray, gray: np.ndarray | None) -> str | None:
        """Move a track to this frame ("mesh", "flow" or "hold"); None when the face is lost. With a parallel mesh, a
        mesh frame's landmarks are first moved by optical flow while its mesh runs in the mesh thread
        (:meth:`_meshed` takes its points); where the flow fails, the mesh is waited for."""
        track.frames += 1
        between = track.frames % self.config.mesh_every
        flowed = None
        if gray is not None and self._gray is not None and (between or self._parallel):
            flowed = _flow(self._gray, gray, track.landmarks)
        if between and self.config.between == "hold":
            landmarks, source = track.landmarks, "hold"
        elif between and gray is not None and self._gray is not None:
            landmarks, source = flowed, "flow"
        else:
            mesh, source = self._mesh(frame, track.landmarks), "mesh"
            if self._parallel and _trackable(flowed):
                track.mesh, landmarks = (mesh, track.landmarks), flowed
            else:
                landmarks = mesh.result()
        if not _trackable(landmarks):
            return None
        track.landmarks = landmarks
        return source

    @property
    def _parallel(self) -> bool:
        return self.config.parallel_mesh and self.config.between == "flow"

    def _mesh(self, frame: np.ndarray, previous: np.ndarray) -> Future:
        """:meth:`_mesh_near` in the mesh thread with a parallel mesh (every mesh of the tracker then runs there: the
        graphs serve one caller at a time), else here (a finished future)."""
        if self._parallel:
            self._mesh_thread = self._mesh_thread or ThreadPoolExecutor(1, thread_name_prefix="mesh")
            return self._mesh_thread.submit(self._mesh_near, frame, previous)
        done: Future = Future()
        done.set_result(self._mesh_near(frame, previous))
        return done

    def _rebased(self, alignment: np.ndarray | None, read_on: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
        """A reading's crop alignment, from the crop rule on the points it read (``read_on``: the flow's, on a
        parallel mesh frame) to the rule on the track's ``landmarks`` (the mesh's, where the next crop starts), so
        that it still points to the same crop. Faces read upright keep theirs (it is the upright copy's)."""
        if alignment is None or read_on is landmarks or self.reconstructor.upright and (
                is_tilted(read_on) or is_tilted(landmarks)):  # fmt: skip
            return alignment
        config = self.reconstructor.predictor.config
        rule = partial(crop_for_landmarks, size=config.input_size, camera=config.camera)
        return rule(landmarks).alignment_to(rule(read_on).aligned(alignment))

    def _meshed(self) -> bool:
        """Wait for the meshes running in the mesh thread; their points become the tracks' landmarks. False when a
        mesh lost its face (its track keeps the landmarks it was last seen with, as a sequential mesh leaves them)."""
        found = True
        for track in self._tracks:
            if track.mesh is not None:
                (mesh, before), track.mesh = track.mesh, None
                points = mesh.result()
                track.landmarks = points if _trackable(points) else before
                found &= _trackable(points)
        return found

    def _mesh_near(self, frame: np.ndarray, previous: np.ndarray) -> np.ndarray | None:
        """This frame's (478, 3) landmarks from the previous frame's: the landmark model in their region; if it
        finds no face there, the short-range detector on twice their box around it, and the mesh from what it
        finds; None when neither finds the face."""
        mesh, detector = self._own_graphs()
        points = mesh_in_roi(mesh, frame, roi_of_landmarks(previous))
        if points is not None:
            return points
        found = look_at(frame, landmark_box(previous), False, SHORT_RANGE_SCORE, detector)
        return None if found is None else mesh_face(mesh, frame, found.roi)

    def _own_graphs(self) -> tuple[object, object]:
        """This tracker's own landmark graph and short-range detector, made on first use."""
        self._graphs = self._graphs or (landmark_graph(), short_range_graph())
        return self._graphs

    def _smooth(self, track: _Track, params: FaceParameters, seconds: float) -> FaceParameters:
        if track.filter is None:
            return params
        layout = self.reconstructor.predictor.config.layout
        filtered = FaceParameters.unpack(layout, track.filter(params.pack(), seconds))
        return filtered if track.identity is None else track.identity(params, filtered)


def _trackable(landmarks: np.ndarray | None) -> bool:
    """Whether a track's new landmarks still hold a face: found, and not shrunk below ``MIN_FACE_PX``."""
    return landmarks is not None and np.ptp(landmarks[:MESH_POINTS, :2], axis=0).max() >= MIN_FACE_PX


def _near(lost: np.ndarray, found: np.ndarray) -> bool:
    """Whether a face found (landmarks) is where a lost one was: box centres within the lost box's side, sides within
    RETURN_SIZE_RATIO."""
    before, after = landmark_box(lost), landmark_box(found)
    side_before, side_after = (float((box[2:] - box[:2]).max()) for box in (before, after))
    shift = np.linalg.norm((after[:2] + after[2:]) / 2 - (before[:2] + before[2:]) / 2)
    return shift <= side_before and 1 / RETURN_SIZE_RATIO <= side_after / side_before <= RETURN_SIZE_RATIO


def _flow(previous: np.ndarray, gray: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """Landmarks moved by the similarity transform that optical flow finds for ``FLOW_POINTS``, looked for in the
    face's box widened by FLOW_MARGIN of its side (the flow's pyramid over the whole frame cost a 1 MP frame 1 ms);
    None when too few points flow back from this frame to where they were (FLOW_RETURN_PX): the face is gone."""
    box = landmark_box(landmarks)
    side = float((box[2:] - box[:2]).max())
    margin = FLOW_MARGIN * side
    x0, y0 = np.maximum(np.floor(box[:2] - margin), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(box[2:] + margin), gray.shape[1::-1]).astype(int)
    if x1 - x0 < MIN_FACE_PX or y1 - y0 < MIN_FACE_PX:
        return None
    corner = np.array([x0, y0], np.float32)
    before, after = previous[y0:y1, x0:x1], gray[y0:y1, x0:x1]
    halved = 0
    while side / 2**halved > FLOW_FACE_PX:
        before, after, halved = cv2.pyrDown(before), cv2.pyrDown(after), halved + 1
    points = ((landmarks[FLOW_POINTS, :2].astype(np.float32) - corner) / 2**halved).reshape(-1, 1, 2)
    levels = max(3 - halved, 1)  # the halvings are pyramid levels already
    moved, status, _ = cv2.calcOpticalFlowPyrLK(before, after, points, None, winSize=(21, 21), maxLevel=levels)
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(after, before, moved, points.copy(), winSize=(21, 21), maxLevel=1,
                                                    flags=cv2.OPTFLOW_USE_INITIAL_FLOW)  # starts where they were
    returned = np.linalg.norm((back - points)[:, 0], axis=1) <= FLOW_RETURN_PX
    good = (status[:, 0] == 1) & (status_back[:, 0] == 1) & returned
    if good.sum() < MIN_FLOW_POINTS:
        return None
    scale = np.float32(2**halved)
    matrix, _ = cv2.estimateAffinePartial2D(points[good] * scale + corner, moved[good] * scale + corner,
                                            method=cv2.LMEDS)  # fmt: skip
    if matrix is None:
        return None
    out = landmarks.copy()
    out[:, :2] = landmarks[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    out[:, 2] *= math.hypot(*matrix[0, :2])
    return out
