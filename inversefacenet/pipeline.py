"""Photo -> faces -> parameters -> mesh: the public reconstruction API.

from inversefacenet import Reconstructor
faces = Reconstructor.load()("photo.jpg")
faces[0].export("face.glb")
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from inversefacenet.camera import rotation_matrix
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
from inversefacenet.detection import DetectedFace, LandmarkDetector
from inversefacenet.errors import NoFaceError
from inversefacenet.export import bake_face_texture, export_face
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.fitting import DEFAULT_FIT, FitConfig, FitMode, evaluate_fit, fit
from inversefacenet.images import load_image
from inversefacenet.landmark_offsets import measured_offsets
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import Crop, crop_for_landmarks, crop_image, face_input, face_mask
from inversefacenet.renderer import render, to_uint8

log = logging.getLogger(__name__)

FIT_SIZE = 128
"""Crop side (px) the fit works at."""


@dataclass
class FaceResult:
    """One reconstructed face. Pixel positions are in the photo (x right, y down)."""

    params: FaceParameters  # batch of 1, numpy float32
    model: FaceModel = field(repr=False)
    crop: Crop
    detected_landmarks: np.ndarray  # (478, 3) MediaPipe points as detected
    landmarks478: np.ndarray  # (478, 2) the fitted model's MediaPipe points, projected
    landmarks68: np.ndarray  # (68, 2) iBUG points of the fitted model, jaw on the silhouette
    landmark_error_px: float  # mean distance of the 468 mesh points from the points fitted to, photo pixels
    photometric_rmse: float  # 0-255, inside the face mask, at the fit's crop size
    ms: dict[str, float]
    _texture: np.ndarray | None = field(default=None, repr=False)  # baked albedo, shared by OBJ and GLB

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the face crop in photo pixels."""
        return self.crop.box

    @property
    def vertices(self) -> np.ndarray:
        """(V, 3) mm, head frame (unposed; apply ``params.rotation`` for the photo's pose)."""
        return self.model.geometry(self.params.shape, self.params.expression)[0]

    @property
    def albedo(self) -> np.ndarray:
        """(V, 3) reflectance in [0, 1]."""
        return np.clip(self.model.albedo(self.params.albedo)[0], 0, 1)

    def parameters_dict(self) -> dict[str, Any]:
        """JSON-ready named parameter groups (rotation in degrees, expression by blendshape name)."""
        pitch, yaw, roll = np.degrees(self.params.rotation[0]).tolist()
        return {
            "rotation_deg": {"pitch": pitch, "yaw": yaw, "roll": roll},
            "shape": self.params.shape[0].tolist(),
            "expression": dict(zip(self.model.expression_names, self.params.expression[0].tolist(), strict=True)),
            "albedo": self.params.albedo[0].tolist(),
            "sh": self.params.sh[0].tolist(),
            "face_model_sha256": self.model.sha256,
        }

    def render(self, size: int = 256, params: FaceParameters | None = None) -> np.ndarray:
        """(size, size, 3) uint8 image of the face (or of edited ``params``) in crop framing."""
        return to_uint8(render(self.model, params or self.params, size).image[0])

    def export(self, path: str | Path) -> list[Path]:
        """Write the mesh with its albedo; the format follows the suffix (.obj, .ply, .glb).

        The GLB carries the head pose as its node's rotation; OBJ and PLY stay in the head frame.
        """
        albedo = self.albedo
        if self._texture is None:
            self._texture = bake_face_texture(self.model, albedo)
        rotation = rotation_matrix(self.params.rotation)[0]
        return export_face(path, self.model, self.vertices, albedo, rotation, self._texture)


class Reconstructor:
    """Finds every face in a photo and recovers its parameters.

    With a network (``predictor``), its prediction is the result or, with ``fit_mode``, the
    fit's starting point; without one, the fit starts from the mean face. ``description``
    says which. ``correct_landmarks`` moves MediaPipe's points by their measured offset from
    the model's landmark vertices at the predicted pose before cropping and fitting
    (:mod:`inversefacenet.landmark_offsets`). Thread-safe: one instance can serve concurrent
    requests (the app shares one); each call keeps its data to itself.
    """

    def __init__(
        self,
        model: FaceModel,
        detector: LandmarkDetector | None = None,
        predictor: Predictor | None = None,
        fit_mode: FitMode | None = "full",
        fit_config: FitConfig = DEFAULT_FIT,
        correct_landmarks: bool = True,
    ) -> None:
        if predictor is None and fit_mode is None:
            raise ValueError("no network checkpoint to predict with: the fit is needed (give a fit_mode)")
        self.model = model
        self.detector = detector or LandmarkDetector()
        self.predictor = predictor
        self.fit_mode = fit_mode
        self.fit_config = fit_config
        self.correct_landmarks = correct_landmarks
        network = f"network ({predictor.config.architecture}, {predictor.config.input_size} px)" if predictor else None
        fitting = f"{fit_mode} fit" if fit_mode else None
        if network and fitting:
            self.description = f"{network} refined by the {fitting}"
        else:
            self.description = network or f"{fitting} from the mean face (no network checkpoint)"

    @classmethod
    def load(
        cls,
        model_path: str | Path | None = None,
        checkpoint: str | Path | None = None,
        fit_mode: FitMode | None = "full",
        use_network: bool = True,
    ) -> Reconstructor:
        """The shipped face model, the shipped network if there is one, and the fit.

        checkpoint: another network checkpoint; use_network=False ignores any network.
        Logs which predictor it uses (also in ``description``).
        """
        model = FaceModel.load(model_path)
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        predictor = None
        if use_network and (checkpoint or path.is_file()):
            predictor = Predictor.load(path, model)
        reconstructor = cls(model, predictor=predictor, fit_mode=fit_mode)
        log.info("InverseFaceNet: %s", reconstructor.description)
        return reconstructor

    def __call__(self, source: Any) -> list[FaceResult]:
        """Reconstruct all faces in a photo (path, bytes, PIL image or array), largest first.

        Raises InputError for unusable input and NoFaceError when no face is found.
        """
        start = time.perf_counter()
        image = load_image(source)
        return self.reconstruct_image(image, decode_ms=(time.perf_counter() - start) * 1000)

    def reconstruct_image(self, image: np.ndarray, decode_ms: float = 0.0) -> list[FaceResult]:
        """Reconstruct all faces in an already decoded (H, W, 3) uint8 RGB image, largest first."""
        faces, detection_ms = self.detector.detect(image)  # this call's own timings: the detector is shared
        if not faces:
            raise NoFaceError("no face found in the image")
        results = []
        for face in faces:
            result = self.reconstruct_face(image, face)
            result.ms = {"decode": decode_ms, **detection_ms, **result.ms}
            results.append(result)
        return results

    def reconstruct_face(self, image: np.ndarray, face: DetectedFace) -> FaceResult:
        """Predict, then crop, mask and fit one detected face."""
        initial, timings = None, {}
        if self.predictor is not None:
            start = time.perf_counter()
            initial = self._predict(image, face)
            timings["network"] = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        points = face.landmarks
        if self.correct_landmarks:  # the network was trained on MediaPipe's own points: only the fit needs this
            pose = None if initial is None else np.degrees(initial.rotation[0, :2])
            points = measured_offsets().correct(points, pose)
        crop = crop_for_landmarks(points, FIT_SIZE)
        pixels = crop_image(image, crop)
        landmarks = crop.to_crop(points[:, :2])
        mask = face_mask(landmarks, FIT_SIZE)
        timings["crop"] = (time.perf_counter() - start) * 1000
        if self.fit_mode is not None:
            fitted = fit(self.model, pixels, mask, landmarks, init=initial, mode=self.fit_mode, config=self.fit_config)
            params, timings = fitted.params, {**timings, **fitted.ms}
            landmark_error, rmse, out = fitted.landmark_error_px, fitted.photometric_rmse, fitted.render
        else:
            params = initial
            landmark_error, rmse, out = evaluate_fit(self.model, params, pixels, mask, landmarks)
        model_points = out.pixels[0]
        return FaceResult(
            params=params, model=self.model, crop=crop, detected_landmarks=face.landmarks,
            landmarks478=crop.to_photo(model_points[self.model.landmarks_mediapipe]),
            landmarks68=crop.to_photo(self.model.ibug68_points(out.pixels, out.vertex_visible)[0]),
            landmark_error_px=landmark_error / crop.scale, photometric_rmse=rmse, ms=timings,
        )  # fmt: skip

    def _predict(self, image: np.ndarray, face: DetectedFace) -> FaceParameters:
        """The network's parameters for one face, from its own crop size."""
        return self.predictor(face_input(image, face.landmarks, self.predictor.config.input_size)[None])


def draw_overlay(image: np.ndarray, faces: list[FaceResult]) -> np.ndarray:
    """The photo with each fitted face's silhouette (green), its 68 points (red), crop box (grey) and
    number (1 = the first face, as the app's selector counts them)."""
    canvas = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    for face in faces:
        silhouette = render(face.model, face.params, FIT_SIZE).raster.mask[0].astype(np.uint8)
        contours, _ = cv2.findContours(silhouette, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for contour in contours:
            points = face.crop.to_photo(contour[:, 0].astype(np.float64) + 0.5)
            cv2.polylines(canvas, [points.round().astype(np.int32)], True, (40, 220, 60), thickness, cv2.LINE_AA)
        for x, y in face.landmarks68:
            cv2.circle(canvas, (round(x), round(y)), thickness + 1, (230, 40, 40), -1, cv2.LINE_AA)
        x0, y0, x1, y1 = (round(v) for v in face.box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (160, 160, 160), 1)
    for number, face in enumerate(faces, start=1):  # numbers last, so no outline covers them
        _label(canvas, str(number), face.box, thickness)
    return canvas


def _label(canvas: np.ndarray, text: str, box: tuple[float, float, float, float], thickness: int) -> None:
    """White number with a dark outline at a face box's top-left corner, inside the image."""
    scale = max(0.5, (box[2] - box[0]) / 160)
    width, height = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2 * thickness)[0]
    x = int(np.clip(box[0] + 2, 0, canvas.shape[1] - width))
    y = int(np.clip(box[1] + height + 2, height, canvas.shape[0] - 1))
    for colour, weight in (((20, 20, 20), 4 * thickness), ((255, 255, 255), 2 * thickness)):
        cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, weight, cv2.LINE_AA)
