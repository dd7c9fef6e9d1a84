"""Face landmarks with MediaPipe: find every face first, then run the face mesh on each face.

Search (boxes): MediaPipe's short-range detector on the whole photo (large faces) and its
full-range detector over a pyramid of square tiles (small faces), boxes merged by
non-maximum suppression; a box the full-range model is unsure of gets a second look by the
short-range model, close up, which keeps or drops it; the same look on the crop turned 180
degrees tells an upside-down face. When nothing is found, or only upside-down faces, the photo
rotated by 90, 180 and 270 degrees. Mesh: MediaPipe's face landmark model on the region of each box,
turned by the eyes the second look found (MediaPipe's own rule from a detection to the region it
meshes), then again in the region of its own points until that region settles. Models come inside
the ``mediapipe==0.10.21`` wheel: nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from inversefacenet.facemodel.model import MESH_POINTS

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only

ROI_SCALE = 1.5
"""Side of the square the landmark model reads, relative to the larger side of the face's box (MediaPipe's)."""
MESH_PASSES = 4
"""Most mesh passes per face, besides one retry of a first pass that found none (see :func:`mesh_face`)."""
RETRY_SIDE = 1.3
"""Side of the region a face's second try is meshed in, in units of the first (see :func:`wider_level`)."""
SETTLED = 0.05
"""A region whose next moves by at most this share of its side (and changes its side by at most twice this, and
turns by at most 5 degrees) has settled."""
WINDOW_MAX = 512
"""Largest side (px) of the photo's window given to the landmark graph; the model itself reads 192 px."""
TILE = 192
"""Full-range detector input (px)."""
SHORT_RANGE_INPUT = 128
"""Short-range detector input (px): the whole photo's pass and the second look's crop."""
SHORT_RANGE_SCORE = 0.5
"""MediaPipe's threshold for the short-range model: what a second look must reach to keep a sure box."""
TILE_FACES = (1 / 12, 1 / 4)
"""Face sizes (detector box side / tile side) one tile pass is trusted with. The full-range model
found the astronaut's face pasted alone into a tile from 1/19 to 4/5 of its side, but among
other faces missed some below 1/12; levels are 3x apart, so [1/12, 1/4] of each level covers
every size, and tiles overlap by 1/4 so that each face lies whole in one of them."""
ROTATED_MIN_FACE = 2.0
"""The rotated passes look for faces this many times min_face and larger: a turned photo is most often a
portrait whose orientation got lost, and the three passes then cost 3/4 of the upright one, not 3x. Unless the
upright search found upside-down faces (the photo is turned), they keep no smaller face: those they come across
in a photo where the upright search found nothing are most often upright faces too small for it, read lying on
their side or upside down (the development set's 43 photos shrunk to 48-128 px: 10 of 182 faces, all under 31 px,
against 1 with this rule)."""
MERGE_LEVELS = 1.1
"""A pyramid level whose tile is within this factor of the whole photo adds four passes for faces only
a little smaller than the whole-photo pass trusts (e.g. 40 vs 43 px boxes in a 512 px portrait): skipped."""
NMS_IOU = 0.5
"""Boxes (detector or mesh) overlapping more than this are one face."""
SURE = 0.6
"""Full-range score from which a box is a face without a second look: MediaPipe's own threshold for that model
(its packaged graph keeps it whatever it is told). Every short-range box (MediaPipe's threshold, 0.5) is sure."""
CANDIDATE = 0.15
"""Full-range score from which a box is a candidate: below SURE, it is a face only if the second look says so.
On the benchmark's composites most missed faces of 20-40 px inter-ocular had a box of 0.15-0.6 and none above."""
LOOK_CONTEXT = 2.0
"""Side of the second look's crop relative to the larger side of the box: the face fills half of it, the
scale the short-range model is made for."""
LOOK_SCORE = 0.75
"""Short-range score, on the close-up, that makes a candidate a face. On the benchmark's composites and the
development set's photos, 54 of 55 candidates on true faces scored 0.79-0.97 (one 0.70), and of 283 far from
any face one scored over 0.70: a crown badge on the 12 MP group photo, 0.73."""
MAX_LOOKS = 16
"""Candidates looked at per search, most confident first: a photo of texture gives dozens, and a look costs a
short-range pass (three for a face: upright, turned and centred again), each about a fifth of a full-range tile's."""
TILE_THREADS = 2
"""Threads (each with its own detector graphs) sharing a search's passes: a 12 MP photo has about a hundred tiles,
each a separate, small detector pass that one core runs at a time; on a portrait the whole-photo pass runs beside
the tile, and each second look's turned pass beside its upright one."""
FULL_RANGE_GRAPH = """
input_stream: "IMAGE:image"
output_stream: "DETECTIONS:detections"
node {
  calculator: "FaceDetection"
  input_stream: "IMAGE:image"
  output_stream: "DETECTIONS:detections"
  node_options: {
    [type.googleapis.com/mediapipe.FaceDetectionOptions] {
      model_path: "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
      tensor_width: 192 tensor_height: 192 num_layers: 1 strides: 4 interpolated_scale_aspect_ratio: 0.0
      num_boxes: 2304 x_scale: 192.0 y_scale: 192.0 h_scale: 192.0 w_scale: 192.0
      min_score_thresh: %f
      delegate { xnnpack {} }
    }
  }
}
"""
"""The full-range detector as a graph of its own: the options of MediaPipe's face_detection_full_range.pbtxt
(model, anchors) with our score threshold (the packaged graph keeps 0.6 whatever it is told)."""
LANDMARK_GRAPH = """
input_stream: "IMAGE:image"
input_stream: "ROI:roi"
output_stream: "LANDMARKS:landmarks"
node {
  calculator: "FaceLandmarkCpu"
  input_stream: "IMAGE:image"
  input_stream: "ROI:roi"
  input_side_packet: "WITH_ATTENTION:with_attention"
  output_stream: "LANDMARKS:landmarks"
}
"""
"""MediaPipe's face landmark subgraph (the one inside its FaceMesh, iris and lips refined by the attention model) on
the region it is given: 478 points, or none when its face-presence score says there is no face there."""


@dataclass
class DetectedFace:
    """One face: 478 MediaPipe points in photo pixels (x right, y down; z relative depth)."""

    landmarks: np.ndarray  # (478, 3) float32
    score: float  # the detector's confidence in its box

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) bounding box of the 468 mesh points, photo pixels."""
        return tuple(landmark_box(self.landmarks).tolist())

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


class Detection(NamedTuple):
    """The faces of one photo, largest first, and the milliseconds this call spent on them."""

    faces: list[DetectedFace]
    ms: dict[str, float]  # "detection" (face boxes, all passes) and "mesh" (landmarks)


Tile = tuple[np.ndarray, np.ndarray, np.ndarray]
"""A (TILE, TILE, 3) window of a pyramid level, its (2,) top-left corner (level px) and the level's (2,) factor
from level px to photo px."""


class FaceBox(NamedTuple):
    """One face the search found: its detector box and score, whether the face is upside down in it, and the turn
    of its eyes (MediaPipe's rotation: 0 upright, about pi upside down)."""

    box: np.ndarray  # (4,) float x0, y0, x1, y1, photo px
    score: float
    upside_down: bool
    rotation: float  # radians

    @property
    def side(self) -> float:
        """The box's larger side (photo px), the unit of ``min_face``."""
        return float(max(self.box[2] - self.box[0], self.box[3] - self.box[1]))

    @property
    def roi(self) -> Roi:
        """The region the landmark model reads for this face."""
        return _region(self.box, self.rotation)


class Roi(NamedTuple):
    """A square region of the photo turned by ``rotation`` (radians, MediaPipe's sign) about its centre."""

    centre: np.ndarray  # (2,) photo px
    side: float  # px
    rotation: float


class LandmarkDetector:
    """MediaPipe face detection + face mesh (with iris refinement), reusable across photos.

    ``max_faces`` caps the faces of one photo (the most confident boxes are meshed);
    ``min_face`` (px, detector box side, about 2.1x the inter-ocular distance) sets the finest
    tile level, so it trades small faces for time: the tiles of a photo grow as 1 / min_face^2;
    ``rotations`` searches the photo turned by 90, 180 and 270 degrees (for faces of ROTATED_MIN_FACE x
    min_face and larger) when upright finds nothing, or only upside-down faces.

    Thread-safe: a MediaPipe graph keeps per-run state (timestamps, outputs) and must never
    serve two calls at once, so each call checks out a private set of graphs from a pool
    (building one when none is idle) and returns it after. A set whose call raised is closed,
    never reused: a graph that failed once stays failed. At most ``max_idle`` sets are kept.
    """

    def __init__(self, max_faces: int = 64, max_idle: int = 4, min_face: float = 40.0, rotations: bool = True) -> None:
        if max_idle < 1:
            raise ValueError(f"max_idle must be at least 1, got {max_idle}")
        if max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        if min_face < 4:
            raise ValueError(f"min_face must be at least 4 px, got {min_face}")
        self.max_faces = max_faces
        self.min_face = min_face
        self.rotations = rotations
        self._idle: queue.LifoQueue[_Graphs] = queue.LifoQueue(maxsize=max_idle)
        self._idle.put(self._new_graphs())  # fails here, not on the first photo, if MediaPipe is broken

    def _new_graphs(self) -> _Graphs:
        return _Graphs(self.max_faces, self.min_face)

    def __call__(self, image: np.ndarray) -> list[DetectedFace]:
        """All faces in an (H, W, 3) uint8 RGB image, largest first."""
        return self.detect(image).faces

    def detect(self, image: np.ndarray, rotations: bool | None = None) -> Detection:
        """All faces in an (H, W, 3) uint8 RGB image, largest first, with this call's timings; ``rotations``
        overrides the detector's own setting for this call."""
        with self._checkout() as graphs:
            return graphs.detect(image, self.rotations if rotations is None else rotations)

    @contextlib.contextmanager
    def _checkout(self) -> Iterator[_Graphs]:
        """A private graph set for one call: idle or new; closed instead of returned if the call raised."""
        try:
            graphs = self._idle.get_nowait()
        except queue.Empty:
            graphs = self._new_graphs()
        try:
            yield graphs
        except BaseException:
            graphs.close()
            raise
        try:
            self._idle.put_nowait(graphs)
        except queue.Full:
            graphs.close()

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
    """One private set of MediaPipe graphs: short- and full-range face detectors, landmarks of one face region."""

    def __init__(self, max_faces: int, min_face: float) -> None:
        from mediapipe.python.solution_base import SolutionBase

        self.max_faces = max_faces
        self.min_face = min_face
        self.short_range = [short_range_graph() for _ in range(TILE_THREADS)]  # one per thread
        self.full_range = [  # one per thread
            SolutionBase(graph_config=FULL_RANGE_GRAPH % CANDIDATE, outputs=["detections"]) for _ in range(TILE_THREADS)
        ]
        self.mesh = landmark_graph()
        self.pool = ThreadPoolExecutor(TILE_THREADS - 1)  # the calling thread is the first

    def detect(self, image: np.ndarray, rotations: bool) -> Detection:
        """Search upright, mesh each box; if nothing is found, or every face found is upside down (a photo turned
        180 degrees: most of its faces are then not found at all), the same on the photo turned 90, 180 and 270
        deg, adding the turn with the most confident face (an upside-down face found upright is meshed turned, so
        it is right: it stays, and is one face with its twin from the turn)."""
        ms = {"detection": 0.0, "mesh": 0.0}
        faces, upside_down = self._detect_upright(image, self.min_face, ms)
        if rotations and upside_down == len(faces):
            rotated_min_face = ROTATED_MIN_FACE * self.min_face
            turned = [(k, self._detect_upright(_rot90(image, k), rotated_min_face, ms, smaller=bool(faces))[0])
                      for k in (1, 2, 3)]  # fmt: skip
            turns, found = max(turned, key=lambda pair: max((face.score for face in pair[1]), default=0.0))
            for face in found:
                face.landmarks[:, :2] = _unturn(face.landmarks[:, :2], turns, image.shape[1], image.shape[0])
            faces = _merged(faces + found)
        return Detection(sorted(faces, key=lambda f: -f.area), ms)

    def _detect_upright(
        self, image: np.ndarray, min_face: float, ms: dict[str, float], smaller: bool = True
    ) -> tuple[list[DetectedFace], int]:
        """Boxes, then the mesh in each box's region; duplicates (two boxes, one face) dropped; with how many of
        the faces are upside down. ``smaller``: keep the boxes under ``min_face`` the search comes across too. Adds
        to ``ms``."""
        start = time.perf_counter()
        found = [face for face in self.search(image, min_face) if smaller or face.side >= min_face]
        middle = time.perf_counter()
        faces, turned = [], []
        for face in found:
            points = mesh_face(self.mesh, image, face.roi)
            if points is not None:
                faces.append(DetectedFace(points, face.score))
                turned.append(face.upside_down)
        kept = _nms(np.array([f.box for f in faces]).reshape(-1, 4), [f.score for f in faces])
        ms["detection"] += (middle - start) * 1000
        ms["mesh"] += (time.perf_counter() - middle) * 1000
        return [faces[k] for k in kept], sum(turned[k] for k in kept)

    def search(self, image: np.ndarray, min_face: float) -> list[FaceBox]:
        """The faces' boxes (photo px), most confident first, at most max_faces.

        Full range on every tile of each pyramid level (tiles of min_face / TILE_FACES[0] px, then 3x
        that, ...), then short range on the last level (the whole photo in one tile); boxes merged by
        non-maximum suppression; then each box is looked at close up (``_look``), the boxes the looks keep
        merged again.
        """
        tiles = [(window, corner, factor)
                 for level, factor in _levels(image, min_face) for window, corner in _tiles(level)]  # fmt: skip
        window, _, factor = tiles[-1]  # the last level: the whole photo in one tile
        whole = cv2.resize(window, (SHORT_RANGE_INPUT, SHORT_RANGE_INPUT), interpolation=cv2.INTER_AREA)
        short = self.pool.submit(_boxes, self.short_range[1], whole, np.zeros(2), factor * TILE / SHORT_RANGE_INPUT)
        found = [(boxes, scores, scores >= SURE) for boxes, scores in self._tile_boxes(tiles)]
        boxes, scores = short.result()
        found.append((boxes, scores, np.ones(len(scores), bool)))
        boxes, scores, sure = (np.concatenate(column) for column in zip(*found, strict=True))
        merged = _nms(boxes, scores)
        looked = [k for k in merged if sure[k]] + [k for k in merged if not sure[k]][:MAX_LOOKS]
        kept = [face for k in looked if (face := self._look(image, boxes[k], float(scores[k]), sure[k])) is not None]
        order = _nms(np.array([face.box for face in kept]).reshape(-1, 4), [face.score for face in kept])
        return [kept[k] for k in order[: self.max_faces]]

    def _tile_boxes(self, tiles: list[Tile]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The full-range detector on every tile, in order. Many tiles (a big photo) are shared out among
        TILE_THREADS threads, each with its own graph (MediaPipe runs a graph without holding the GIL)."""
        if len(tiles) < 2 * TILE_THREADS:
            return _all_boxes(self.full_range[0], tiles)
        parts = [tiles[k::TILE_THREADS] for k in range(TILE_THREADS)]
        graphs = zip(self.full_range[1:], parts[1:], strict=True)
        others = [self.pool.submit(_all_boxes, graph, part) for graph, part in graphs]
        results = [_all_boxes(self.full_range[0], parts[0]), *(other.result() for other in others)]
        return [results[k % TILE_THREADS][k // TILE_THREADS] for k in range(len(tiles))]

    def _look(self, image: np.ndarray, box: np.ndarray, score: float, sure: bool) -> FaceBox | None:
        """A second look at a box (:func:`look_at`), upright and turned 180 degrees. A sure box stays if the upright
        look finds its face at the short-range model's own threshold (as the face mesh's own detector did when
        it ran on every box) or the turned one at LOOK_SCORE: as the surer look's box (upside down if that is
        the turned one), with the box's score. An unsure box is replaced by the upright look's box and score if
        that look reaches LOOK_SCORE and is surer than the turned one (a face is a face one way up; a crown badge
        on the group photo looked as much a face either way) and a look centred on its box finds the face again
        (a background blob and a door lock at 1 MP did not), else dropped."""
        need = SHORT_RANGE_SCORE if sure else LOOK_SCORE
        turning = self.pool.submit(look_at, image, box, True, LOOK_SCORE, self.short_range[1])  # meanwhile
        upright = look_at(image, box, False, need, self.short_range[0])
        turned = turning.result()
        if not sure and upright is None:
            return None
        turned_score = -1.0 if turned is None else turned.score
        if sure:
            if upright is None and turned is None:
                return None
            surer = turned if upright is None or turned_score > upright.score else upright
            return surer._replace(score=score)
        if upright.score <= turned_score or look_at(image, upright.box, False, need, self.short_range[0]) is None:
            return None
        return upright

    def close(self) -> None:
        """Close every graph and the thread; a graph that failed refuses to close cleanly, and is dropped anyway."""
        self.pool.shutdown()
        for graph in (*self.short_range, *self.full_range, self.mesh):
            with contextlib.suppress(ValueError, RuntimeError):
                graph.close()


def look_at(
    image: np.ndarray, box: np.ndarray, upside_down: bool, need: float, detector: object
) -> FaceBox | None:
    """The short-range ``detector`` (:func:`short_range_graph`) on the square of LOOK_CONTEXT x the box's larger side
    around its centre: its most confident box of score ``need`` and up whose centre lies in the middle half (the
    face looked at, not a neighbour), photo px, or None."""
    side = float((box[2:] - box[:2]).max()) * LOOK_CONTEXT
    crop, scale, shift = _square(image, (box[:2] + box[2:]) / 2, side, SHORT_RANGE_INPUT, upside_down)
    boxes, scores, eyes = _detections(detector, crop)
    offset = np.abs((boxes[:, :2] + boxes[:, 2:]) / 2 - SHORT_RANGE_INPUT / 2).max(axis=1)  # crop px
    ok = np.flatnonzero((offset <= SHORT_RANGE_INPUT / LOOK_CONTEXT / 2) & (scores >= need))
    if len(ok) == 0:
        return None
    best = ok[np.argmax(scores[ok])]
    corners, eyes = ((points.reshape(2, 2) - shift) / scale for points in (boxes[best], eyes[best]))  # photo px
    box = np.concatenate([corners.min(axis=0), corners.max(axis=0)])  # turned: the corners swap
    return FaceBox(box, float(scores[best]), upside_down, _rotation(eyes[0], eyes[1]))


def largest_box(image: np.ndarray, detector: object) -> FaceBox | None:
    """The largest face the short-range ``detector`` finds on the whole (H, W, 3) image shrunk to its input (top-left,
    black beyond), photo px, or None: about a millisecond where the whole search takes tens; a webcam's face is
    large (the page's ``LandmarkDetector.findLarge``, which meshes it as the tracker does)."""
    height, width = image.shape[:2]
    scale = SHORT_RANGE_INPUT / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    window = np.zeros((SHORT_RANGE_INPUT, SHORT_RANGE_INPUT, 3), np.uint8)
    window[: size[1], : size[0]] = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    boxes, scores, eyes = _detections(detector, window)
    if len(scores) == 0:
        return None
    largest = int(np.argmax(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)))
    factor = np.array([width / size[0], height / size[1]])
    box, eye = boxes[largest] * np.tile(factor, 2), eyes[largest] * factor
    return FaceBox(box, float(scores[largest]), False, _rotation(eye[0], eye[1]))


def short_range_graph() -> object:
    """A new MediaPipe short-range face detector (its own threshold, 0.5; one caller at a time)."""
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=0)


def _levels(image: np.ndarray, min_face: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Pyramid levels, finest first: the photo scaled so that a tile of min_face / TILE_FACES[0] photo px,
    then of 3x that, ..., becomes TILE px; the last holds the whole photo in one tile (a level whose tile
    is nearly the whole photo, within MERGE_LEVELS, is left to that last one). With each level, its (2,)
    x, y factor from level px to photo px."""
    longest = max(image.shape[:2])
    tiles = [min_face / TILE_FACES[0]]
    while tiles[-1] < longest:
        tiles.append(tiles[-1] * TILE_FACES[1] / TILE_FACES[0])
    tiles[-1] = longest
    if len(tiles) > 1 and tiles[-1] < MERGE_LEVELS * tiles[-2]:
        del tiles[-2]
    level = image
    for tile in tiles:
        scale = TILE / tile
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        shrink = size[0] < level.shape[1]
        level = cv2.resize(level, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        yield level, np.array([image.shape[1] / size[0], image.shape[0] / size[1]])


def _tiles(level: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """TILE x TILE windows over a level, overlapping by TILE_FACES[1] of a tile (so every face the level
    is trusted with lies whole in one), black beyond the edges; each with its (2,) top-left corner (level px)."""
    stride = TILE * (1 - TILE_FACES[1])
    starts = [
        np.linspace(0, max(0, n - TILE), 1 + int(np.ceil(max(0, n - TILE) / stride))).round().astype(int)
        for n in level.shape[:2]
    ]
    for y in starts[0]:
        for x in starts[1]:
            window = level[y : y + TILE, x : x + TILE]
            pad = ((0, TILE - window.shape[0]), (0, TILE - window.shape[1]), (0, 0))
            yield np.ascontiguousarray(np.pad(window, pad)), np.array([x, y], dtype=float)


def _detections(detector: object, window: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One detector on one square window, window px: (N, 4) boxes, (N,) scores, (N, 2, 2) eyes (the face's right
    eye, then its left: MediaPipe's first two key points)."""
    detections = detector.process(window).detections or []
    boxes, eyes = np.zeros((len(detections), 4)), np.zeros((len(detections), 2, 2))
    for box_row, eye_rows, detection in zip(boxes, eyes, detections, strict=True):
        box, points = detection.location_data.relative_bounding_box, detection.location_data.relative_keypoints
        box_row[:] = [box.xmin, box.ymin, box.xmin + box.width, box.ymin + box.height]
        eye_rows[:] = [[points[0].x, points[0].y], [points[1].x, points[1].y]]
    side = window.shape[1]
    return boxes * side, np.array([d.score[0] for d in detections], dtype=float), eyes * side


def _boxes(
    detector: object, window: np.ndarray, corner: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One detector on one square window: (N, 4) boxes in photo px (window px + corner, times factor), (N,) scores."""
    boxes, scores, _ = _detections(detector, window)
    return (boxes + np.tile(corner, 2)) * np.tile(factor, 2), scores


def _all_boxes(detector: object, tiles: list[Tile]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``_boxes`` of one detector on each tile, in order."""
    return [_boxes(detector, window, corner, factor) for window, corner, factor in tiles]


def _merged(faces: list[DetectedFace]) -> list[DetectedFace]:
    """The faces less those whose mesh box overlaps a more confident one's by IoU > NMS_IOU (one face twice)."""
    return [faces[k] for k in _nms(np.array([f.box for f in faces]).reshape(-1, 4), [f.score for f in faces])]


def _nms(boxes: np.ndarray, scores: list[float] | np.ndarray) -> list[int]:
    """Indices of the boxes kept, most confident first: a box overlapping a kept one by IoU > NMS_IOU is dropped."""
    kept: list[int] = []
    for k in np.argsort(-np.asarray(scores, dtype=float), kind="stable"):
        if all(_iou(boxes[k], boxes[j]) <= NMS_IOU for j in kept):
            kept.append(int(k))
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return float(w * h / max(union, 1e-9))


def _rot90(image: np.ndarray, turns: int) -> np.ndarray:
    """The image turned counterclockwise by ``turns`` quarter turns, contiguous (as MediaPipe needs)."""
    return np.ascontiguousarray(np.rot90(image, turns))


def _unturn(xy: np.ndarray, turns: int, width: int, height: int) -> np.ndarray:
    """(N, 2) points in ``np.rot90(image, turns)`` -> the same points in ``image`` (width x height), px."""
    for step in range(turns, 0, -1):
        below = width if (step - 1) % 2 == 0 else height  # width of the image one quarter turn back
        xy = np.stack([below - xy[:, 1], xy[:, 0]], axis=1)
    return xy


def landmark_graph() -> object:
    """A new MediaPipe graph of :data:`LANDMARK_GRAPH` (one caller at a time: it keeps per-run timestamps)."""
    from mediapipe.python.solution_base import SolutionBase

    return SolutionBase(graph_config=LANDMARK_GRAPH, side_inputs={"with_attention": True}, outputs=["landmarks"])


def mesh_face(mesh: object, image: np.ndarray, roi: Roi) -> np.ndarray | None:
    """The (478, 3) landmarks of the face in ``roi`` (photo px; depth in x-pixel units), or None when the landmark
    model finds no face there. Meshed again in the region of the last pass's points (MediaPipe's rule from
    landmarks to region, which its tracking applies frame to frame) until that region settles (SETTLED), at
    least twice and at most MESH_PASSES times. On photo-like renders of the face model the points land nearer the
    model's vertices than after one pass in the detector's region, and than FaceMesh on a crop around the box
    (median offset 0.0289 against 0.0317 and 0.0310 of the landmark box, 90th percentile 0.080 against 0.101 and
    0.094; ``training.landmark_noise``); a detector's box on a face turned a quarter is far from the face's region,
    and takes four passes. A first pass that finds no face gets one more try in a wider, level region
    (:func:`wider_level`)."""
    for done in range(1, MESH_PASSES + 1):
        points = mesh_in_roi(mesh, image, roi)
        if points is None and done == 1:
            roi = wider_level(roi)
            points = mesh_in_roi(mesh, image, roi)
        if points is None:
            return None
        roi, last = roi_of_landmarks(points), roi
        if done >= 2 and _settled(last, roi):
            break
    return points


def wider_level(roi: Roi) -> Roi:
    """The region again, RETRY_SIDE x larger and turned to the nearest quarter. On a face turned past about 55 deg of
    yaw the detector's eye points tilt its region (by up to 30 deg) and cut it too tight, and the landmark model's
    presence score says no face there; this region finds it (all 13 such boxes on photo-like renders turned 55-75
    deg, where the same region level found 6 and 1.3x larger 11)."""
    quarter = math.pi / 2
    return Roi(roi.centre, roi.side * RETRY_SIDE, round(roi.rotation / quarter) * quarter)


def _settled(last: Roi, new: Roi) -> bool:
    """Whether the landmark model would read nearly the same square in ``new`` as in ``last``."""
    moved = float(np.abs(new.centre - last.centre).max()) / last.side
    turned = abs(math.remainder(new.rotation - last.rotation, math.tau))
    return moved <= SETTLED and abs(new.side / last.side - 1) <= 2 * SETTLED and turned <= math.radians(5)


def mesh_in_roi(mesh: object, image: np.ndarray, roi: Roi) -> np.ndarray | None:
    """One pass of the landmark graph on ``roi`` of the (H, W, 3) uint8 RGB image: (478, 3) photo px or None. The
    graph gets a square window of the photo that holds the turned region (black beyond the photo's edges): it maps
    its points back correctly only on a square image, and a big photo is neither copied whole nor read at more
    than WINDOW_MAX px."""
    from mediapipe.framework.formats.rect_pb2 import NormalizedRect

    side = 2 * math.ceil(roi.side * math.sqrt(0.5)) + 4  # the window holds the turned square's corners
    middle = np.round(roi.centre)  # an integer shift: a window at full size is the photo's pixels as they are
    window, scale, shift = _square(image, middle, side, min(side, WINDOW_MAX), False)
    centre = (roi.centre * scale + shift) / window.shape[0]
    width = roi.side * scale / window.shape[0]
    rect = NormalizedRect(x_center=centre[0], y_center=centre[1], width=width, height=width, rotation=roi.rotation)
    landmarks = mesh.process({"image": window, "roi": rect}).landmarks
    if landmarks is None:
        return None
    points = _points(landmarks, window.shape[1], window.shape[0])
    points[:, :2] = (points[:, :2] - shift) / scale
    points[:, 2] /= scale
    return points


def roi_of_landmarks(points: np.ndarray) -> Roi:
    """MediaPipe's region for the next mesh from (478, 3) landmarks (its tracking rule): the square of ROI_SCALE x
    the larger side of their box, turned by the line from the face's right eye's outer corner to its left's."""
    return _region(landmark_box(points), _rotation(points[33, :2], points[263, :2]))


def landmark_box(points: np.ndarray) -> np.ndarray:
    """(4,) x0, y0, x1, y1 box of the 468 mesh points of (478, 2+) landmarks, photo px."""
    xy = points[:MESH_POINTS, :2]
    return np.concatenate([xy.min(axis=0), xy.max(axis=0)])


def _region(box: np.ndarray, rotation: float) -> Roi:
    """MediaPipe's region for a face in a (4,) box: the square of ROI_SCALE x its larger side about its centre."""
    return Roi((box[:2] + box[2:]) / 2, float((box[2:] - box[:2]).max()) * ROI_SCALE, rotation)


def _rotation(right_eye: np.ndarray, left_eye: np.ndarray) -> float:
    """MediaPipe's rotation (radians) of a face whose right and left eye are at these (2,) photo px."""
    return math.remainder(-math.atan2(-(left_eye[1] - right_eye[1]), left_eye[0] - right_eye[0]), math.tau)


def _square(
    image: np.ndarray, centre: np.ndarray, side: float, size: int, upside_down: bool
) -> tuple[np.ndarray, float, np.ndarray]:
    """The square of ``side`` photo px around ``centre`` as a (size, size, 3) crop, turned 180 degrees if
    ``upside_down``; with the scale and (2,) shift that map photo px to crop px: crop = scale * photo + shift
    (a negative scale for the turned crop)."""
    scale = size / side * (-1 if upside_down else 1)
    shift = size / 2 - scale * np.asarray(centre, np.float64)
    # pixel centres at +0.5 in both: crop index = scale * photo index + shift + 0.5 * scale - 0.5
    matrix = np.array([[scale, 0, shift[0] + 0.5 * scale - 0.5], [0, scale, shift[1] + 0.5 * scale - 0.5]])
    crop = cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA if abs(scale) < 1 else cv2.INTER_LINEAR)
    return crop, scale, shift


def _points(landmarks: object, width: int, height: int) -> np.ndarray:
    """MediaPipe normalised landmarks -> (478, 3) pixels (x, y) and depth in x-pixel units."""
    raw = np.array([[p.x, p.y, p.z] for p in landmarks.landmark], dtype=np.float32)
    return raw * np.array([width, height, width], dtype=np.float32)
