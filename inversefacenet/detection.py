"""Face landmarks with MediaPipe: detect faces first, then run the face mesh on each face.

Meshing a whole group photo misses small faces; running MediaPipe's full-range face
detector first and meshing a square crop around each detection finds them. Models come
inside the ``mediapipe==0.10.21`` wheel: nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only

MESH_INPUT = 256
"""Side (px) of the square face crop given to the face mesh."""
CONTEXT = 1.9
"""Side of that crop relative to the larger side of the detector's box."""


@dataclass
class DetectedFace:
    """One face: 478 MediaPipe points in photo pixels (x right, y down; z relative depth)."""

    landmarks: np.ndarray  # (478, 3) float32
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) bounding box of the 468 mesh points, photo pixels."""
        xy = self.landmarks[:468, :2]
        return (*xy.min(axis=0).tolist(), *xy.max(axis=0).tolist())

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


class Detection(NamedTuple):
    """The faces of one photo, largest first, and the milliseconds this call spent on them."""

    faces: list[DetectedFace]
    ms: dict[str, float]  # "detection" (face boxes) and "mesh" (landmarks)


class LandmarkDetector:
    """MediaPipe face detection + face mesh (with iris refinement), reusable across photos.

    Thread-safe: a MediaPipe graph keeps per-run state (timestamps, outputs) and must never
    serve two calls at once, so each call checks out a private set of graphs from a pool
    (building one when none is idle) and returns it after. A set whose call raised is closed,
    never reused: a graph that failed once stays failed. At most ``max_idle`` sets are kept.
    """

    def __init__(self, max_faces: int = 16, min_confidence: float = 0.5, max_idle: int = 4) -> None:
        if max_idle < 1:
            raise ValueError(f"max_idle must be at least 1, got {max_idle}")
        self.max_faces = max_faces
        self.min_confidence = min_confidence
        self._idle: queue.LifoQueue[_Graphs] = queue.LifoQueue(maxsize=max_idle)
        self._idle.put(_Graphs(max_faces, min_confidence))  # fails here, not on the first photo, if MediaPipe is broken

    def __call__(self, image: np.ndarray) -> list[DetectedFace]:
        """All faces in an (H, W, 3) uint8 RGB image, largest first."""
        return self.detect(image).faces

    def detect(self, image: np.ndarray) -> Detection:
        """All faces in an (H, W, 3) uint8 RGB image, largest first, with this call's timings."""
        try:
            graphs = self._idle.get_nowait()
        except queue.Empty:
            graphs = _Graphs(self.max_faces, self.min_confidence)
        try:
            detection = graphs.detect(image)
        except BaseException:
            graphs.close()
            raise
        try:
            self._idle.put_nowait(graphs)
        except queue.Full:
            graphs.close()
        return detection

    @property
    def idle(self) -> int:
        """Graph sets waiting in the pool."""
        return self._idle.qsize()

    def close(self) -> None:
        """Close the idle graphs (calls still running keep theirs; a later call builds new ones)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class _Graphs:
    """One private set of MediaPipe graphs: face detector, mesh of one face crop, whole-image mesh."""

    def __init__(self, max_faces: int, min_confidence: float) -> None:
        import mediapipe as mp

        self.max_faces = max_faces
        self.detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_confidence
        )
        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=min_confidence
        )
        self.whole_image_mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=min_confidence,
        )  # fmt: skip

    def detect(self, image: np.ndarray) -> Detection:
        """Detector boxes, a mesh in a square around each, plus the whole-image mesh, merged."""
        height, width = image.shape[:2]
        faces: list[DetectedFace] = []
        start = time.perf_counter()
        detections = self.detector.process(image).detections or []
        middle = time.perf_counter()
        for detection in detections[: self.max_faces]:
            box = detection.location_data.relative_bounding_box
            centre = np.array([(box.xmin + box.width / 2) * width, (box.ymin + box.height / 2) * height])
            side = max(box.width * width, box.height * height) * CONTEXT
            face = self._mesh_in_square(image, centre, side, float(detection.score[0]))
            if face is not None:
                faces.append(face)
        # The detector misses some faces (very large, cut off, unusual) that the whole-image mesh
        # finds, and vice versa; both lists are merged and duplicates dropped.
        faces += self._mesh_whole(image)
        ms = {"detection": (middle - start) * 1000, "mesh": (time.perf_counter() - middle) * 1000}
        return Detection(_without_duplicates(sorted(faces, key=lambda f: -f.area)), ms)

    def _mesh_in_square(self, image: np.ndarray, centre: np.ndarray, side: float, score: float) -> DetectedFace | None:
        scale = MESH_INPUT / side
        # photo -> crop: crop = scale * (photo - centre) + MESH_INPUT / 2 (pixel centres at +0.5)
        shift = MESH_INPUT / 2 - scale * centre
        matrix = np.array([[scale, 0, shift[0] + 0.5 * scale - 0.5], [0, scale, shift[1] + 0.5 * scale - 0.5]])
        crop = cv2.warpAffine(
            image, matrix, (MESH_INPUT, MESH_INPUT), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        result = self.mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        points = _points(result.multi_face_landmarks[0], MESH_INPUT, MESH_INPUT)
        points[:, :2] = (points[:, :2] - shift) / scale
        points[:, 2] /= scale
        return DetectedFace(points, score)

    def _mesh_whole(self, image: np.ndarray) -> list[DetectedFace]:
        result = self.whole_image_mesh.process(image)
        height, width = image.shape[:2]
        return [DetectedFace(_points(lm, width, height), 0.0) for lm in result.multi_face_landmarks or []]

    def close(self) -> None:
        """Close every graph; one that failed refuses to close cleanly, and is dropped anyway."""
        for graph in (self.detector, self.mesh, self.whole_image_mesh):
            with contextlib.suppress(ValueError, RuntimeError):
                graph.close()


def _points(landmarks: object, width: int, height: int) -> np.ndarray:
    """MediaPipe normalised landmarks -> (478, 3) pixels (x, y) and depth in x-pixel units."""
    raw = np.array([[p.x, p.y, p.z] for p in landmarks.landmark], dtype=np.float32)
    return raw * np.array([width, height, width], dtype=np.float32)


def _without_duplicates(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Drop faces whose landmark box mostly overlaps a larger one already kept."""
    kept: list[DetectedFace] = []
    for face in faces:
        if all(_overlap(face.box, other.box) < 0.5 for other in kept):
            kept.append(face)
    return kept


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box's area."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return w * h / max(smaller, 1e-9)
