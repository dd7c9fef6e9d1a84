"""Photo -> faces -> parameters -> mesh: the public reconstruction API.

from inversefacenet import Reconstructor
faces = Reconstructor.load()("photo.jpg")
faces[0].export("face.glb")
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, get_args

import cv2
import numpy as np

from inversefacenet import photo_texture
from inversefacenet.animate import animated_glb, frame_dict
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, to_parameters
from inversefacenet.detection import DetectedFace, LandmarkDetector
from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.export import TEXTURE_SIZE, bake_face_texture, export_face
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.files import write_whole
from inversefacenet.fitting import (
    DEFAULT_FIT,
    NETWORK_START_FIT,
    FitConfig,
    FitMode,
    desaturated,
    evaluate_fit,
    fit,
    grey_light,
    is_grey,
    warm_up,
)
from inversefacenet.images import load_image
from inversefacenet.landmark_offsets import measured_offsets
from inversefacenet.lighting import Light, preset_sh, sh_from_light
from inversefacenet.params import FaceParameters
from inversefacenet.predictor import Backend, NetworkPredictor, load_predictor
from inversefacenet.preprocess import Crop, crop_for_landmarks, crop_image, crop_input, eye_distance, face_mask
from inversefacenet.render.camera import DEFAULT_CAMERA, Camera, rotation_matrix
from inversefacenet.render.renderer import RenderOutput, project_face, render, to_uint8
from inversefacenet.upright import Upright, is_tilted

log = logging.getLogger(__name__)

FIT_SIZE = 128
"""Crop side (px) the fit works at."""
LOOSE_FIT = 0.075
"""Landmark residual to MediaPipe's points, in eye distances, from which a fit is called loose: the 95th percentile
over the development set's 71 faces (0.0748, median 0.0473: reports/realphotos/devset_fit_spread.json)."""


NO_FACE = (
    "No face was found in this photo. Faces turned far to the side, very small or partly hidden can be missed: "
    "choose a photo in which a face looks towards the camera."
)
"""What a photo without a face found says (the page says the same): the detector's limits, in plain words."""


@dataclass(frozen=True)
class Evaluation:
    """The recovered face measured against the photo (what the fit minimises, not an accuracy)."""

    landmarks478: np.ndarray  # (478, 2) the model's MediaPipe points, projected, photo pixels
    landmarks68: np.ndarray  # (68, 2) iBUG points of the model, jaw on the silhouette, photo pixels
    landmark_error_px: float  # mean distance of the 468 mesh points from the points fitted to, photo pixels
    photometric_rmse: float  # 0-255, inside the face mask, at the fit's crop size

    @classmethod
    def of(cls, model: FaceModel, crop: Crop, out: RenderOutput, landmark_error: float, rmse: float) -> Evaluation:
        """From a render of the face at the fit's crop size and its errors in crop pixels."""
        return cls(landmarks478=crop.to_photo(out.pixels[0][model.landmarks_mediapipe]),
                   landmarks68=crop.to_photo(model.ibug68_points(out.pixels, out.vertex_visible)[0]),
                   landmark_error_px=landmark_error / crop.scale, photometric_rmse=rmse)  # fmt: skip


@dataclass
class FaceResult:
    """One reconstructed face. Pixel positions are in the photo (x right, y down).

    Without the fit, the evaluation (model landmarks, residuals) is rendered on first access
    only: photo -> parameters does not pay for it.
    """

    params: FaceParameters  # batch of 1, numpy float32
    model: FaceModel = field(repr=False)
    crop: Crop
    detected_landmarks: np.ndarray  # (478, 3) MediaPipe points as detected
    ms: dict[str, float]
    camera: Camera = DEFAULT_CAMERA  # the network's camera (from its checkpoint)
    _evaluation: Evaluation | None = field(default=None, repr=False)
    _photo: tuple[np.ndarray, Callable[[], np.ndarray]] | None = field(default=None, repr=False)  # the photo and
    # the points the fit would compare with (made when asked): what a lazy evaluation measures against
    _texture: np.ndarray | None = field(default=None, repr=False)  # baked albedo, shared by OBJ and GLB
    skin: np.ndarray | None = field(default=None, repr=False)  # (V, 3) de-lit photo albedo replacing the model's
    grey: bool = False  # the face is grey in its photo (black and white): the model albedo shows desaturated
    photo_size: tuple[int, int] | None = None  # (H, W) px of the photo it was found in (as decoded)

    @classmethod
    def unfitted(cls, model: FaceModel, params: FaceParameters, crop: Crop, camera: Camera, photo: np.ndarray,
                 landmarks: np.ndarray) -> FaceResult:  # fmt: skip
        """A network's reading of a face found by its (478, 3) MediaPipe ``landmarks`` in ``photo`` (a video frame's:
        :mod:`inversefacenet.video`), ``params`` framed by ``crop`` (at FIT_SIZE); its evaluation against those
        points is rendered when first read."""
        return cls(params=params, model=model, crop=crop, detected_landmarks=landmarks, ms={}, camera=camera,
                   photo_size=photo.shape[:2], _photo=(photo, lambda: landmarks))  # fmt: skip

    @property
    def evaluated(self) -> bool:
        """Whether the evaluation is made (by the fit, or a read of it): reading it otherwise renders the face."""
        return self._evaluation is not None

    @property
    def evaluation(self) -> Evaluation:
        if self._evaluation is None:
            photo, points = self._photo
            pixels, mask, landmarks = fit_input(photo, points(), self.crop)
            error, rmse, out = evaluate_fit(self.model, self.params, pixels, mask, landmarks, self.camera)
            self._evaluation = Evaluation.of(self.model, self.crop, out, error, rmse)
        return self._evaluation

    @property
    def landmarks478(self) -> np.ndarray:
        return self.evaluation.landmarks478

    @property
    def landmarks68(self) -> np.ndarray:
        return self.evaluation.landmarks68

    @property
    def landmark_error_px(self) -> float:
        return self.evaluation.landmark_error_px

    @property
    def landmark_error_iod(self) -> float:
        """The landmark residual over the distance between the detected eyes' outer corners: comparable across photo
        sizes."""
        return self.landmark_error_px / eye_distance(self.detected_landmarks)

    @property
    def loose_fit(self) -> bool:
        """Whether the face model matches this face poorly (turned away, covered, upside down, an expression it cannot
        make): its landmark residual is :data:`LOOSE_FIT` eye distances or more."""
        return self.landmark_error_iod >= LOOSE_FIT

    @property
    def photometric_rmse(self) -> float:
        return self.evaluation.photometric_rmse

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
        """(V, 3) reflectance in [0, 1]: the model's (desaturated for a grey face), or the photo's own skin after
        :meth:`with_photo_texture`."""
        if self.skin is not None:
            return self.skin
        albedo = np.clip(self.model.albedo(self.params.albedo)[0], 0, 1)
        return desaturated(albedo) if self.grey else albedo

    def with_photo_texture(self, photo: object) -> FaceResult:
        """This face wearing the person's own skin, de-lit from ``photo`` (the photo it came from, in any form
        :func:`load_image` reads; :mod:`inversefacenet.photo_texture`): the texture of its OBJ/GLB exports, the
        per-vertex albedo of its PLY. InputError for a photo of another size (a trial passed a path, and got an
        AttributeError, and another photo, and got a meaningless texture without a word)."""
        found_in = None if self.photo_size is None else self.photo_size[0] * self.photo_size[1]
        image = load_image(photo, found_in)  # at the size the face was found in (a large photo is read reduced)
        if self.photo_size is not None and image.shape[:2] != self.photo_size:
            (height, width), (found_h, found_w) = image.shape[:2], self.photo_size
            raise InputError(f"the photo texture is de-lit from the photo this face was found in ({found_w} x "
                             f"{found_h} px); this photo is {width} x {height} px")  # fmt: skip
        texture = photo_texture.for_face(self, image)  # at 512 px: a face in a photo rarely has more detail
        atlas = cv2.resize(texture.texture_uint8(), (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_LINEAR)
        return replace(self, _texture=atlas, skin=texture.vertex_albedo.astype(np.float32))

    def parameters_dict(self) -> dict[str, Any]:
        """JSON-ready named parameter groups (rotation in degrees, expression by blendshape name;
        :func:`inversefacenet.animate.frame_dict`) and the face model's sha256."""
        return {**frame_dict(self.model, self.params, 0), "face_model_sha256": self.model.sha256}

    def render(self, size: int = 256, params: FaceParameters | None = None) -> np.ndarray:
        """(size, size, 3) uint8 image of the face (or of edited ``params``, e.g. :meth:`lit_by`) in crop framing,
        in the photo's own skin after :meth:`with_photo_texture`, else in the model albedo of the parameters."""
        skin = None if self.skin is None else self.skin[None]
        return to_uint8(render(self.model, params or self.params, size, camera=self.camera, albedo=skin).image[0])

    def lit_by(self, light: str | Light) -> FaceParameters:
        """The face's parameters under another light: a preset's name (``lighting.PRESETS``: "studio", "side light",
        "rim", "sunset"), at the photo's exposure (less where its lit side would outshine the photo's) and white
        balance as the app applies it, or a :class:`Light` as it is."""
        sh = preset_sh(light, self.params.sh[0]) if isinstance(light, str) else sh_from_light(light)
        return replace(self.params, sh=np.asarray(sh, np.float32)[None])

    def export_animated(self, path: str | Path) -> Path:
        """Write a GLB whose 52 ARKit blendshapes are morph targets (the recovered weights as defaults), on the
        same textured atlas mesh as :meth:`export`'s GLB: animatable in three.js, Blender or a game engine."""
        path = Path(path)
        if path.suffix.lower() != ".glb":  # a trial's anim.obj held GLB bytes without a word
            raise ValueError(f"an animated face is written as GLB only: name the file .glb, not {path.suffix!r}")
        return write_whole(path, animated_glb(self.model, self.params, texture=self._baked_texture()))

    def _baked_texture(self) -> np.ndarray:
        """The albedo at the UV atlas, baked once and shared by every export of this face."""
        if self._texture is None:
            self._texture = bake_face_texture(self.model, self.albedo)
        return self._texture

    def export(self, path: str | Path) -> list[Path]:
        """Write the mesh with its albedo; the format follows the suffix (.obj, .ply, .glb).

        The GLB carries the head pose as its node's rotation; OBJ and PLY stay in the head frame.
        """
        rotation = rotation_matrix(self.params.rotation)[0]
        return export_face(path, self.model, self.vertices, self.albedo, rotation, self._baked_texture())


class Reconstructor:
    """Finds every face in a photo and recovers its parameters.

    With a network (``predictor``), its prediction is the result or, with ``fit_mode``, the
    fit's starting point; without one, the fit starts from the mean face. ``description``
    says which. ``fit_config`` defaults to the iterations each start needs (``NETWORK_START_FIT``
    from a network, ``DEFAULT_FIT`` from the mean face). The network's crops follow the crop rule
    of its checkpoint (``config.camera``).
    ``correct_landmarks`` moves MediaPipe's points by their measured offset from the model's
    landmark vertices at the predicted pose before cropping and fitting
    (:mod:`inversefacenet.landmark_offsets`). ``upright`` reads each face tilted beyond the network's roll range in
    an upright copy of its surroundings (:mod:`inversefacenet.upright`; False reads it as it is). Thread-safe: one
    instance can serve concurrent requests (the app shares one); each call keeps its data to itself.
    """

    def __init__(
        self,
        model: FaceModel,
        detector: LandmarkDetector | None = None,
        predictor: NetworkPredictor | None = None,
        fit_mode: FitMode | None = "full",
        fit_config: FitConfig | None = None,
        correct_landmarks: bool = True,
        upright: bool = True,
    ) -> None:
        if predictor is None and fit_mode is None:
            raise ValueError("no network checkpoint to predict with: the fit is needed (give a fit_mode)")
        if fit_mode not in (None, *get_args(FitMode)):  # "medium" ran without the refinement, described as a fit
            raise ValueError(f"unknown fit_mode {fit_mode!r}: use one of {', '.join(get_args(FitMode))} or None")
        self.model = model
        self.detector = detector or LandmarkDetector()
        self.predictor = predictor
        self.fit_mode = fit_mode
        self.fit_config = fit_config or (NETWORK_START_FIT if predictor else DEFAULT_FIT)
        self.correct_landmarks = correct_landmarks
        self.upright = upright
        self.camera = predictor.config.camera if predictor else DEFAULT_CAMERA  # the fit works in the same one
        if fit_mode is not None:
            warm_up(model, self.camera)
        network = None
        if predictor:
            config = predictor.config
            both = ", read both ways" if config.mirror_reading else ""
            network = f"network ({config.architecture}, {config.input_size} px, {predictor.backend}{both})"
        fitting = f"{fit_mode} fit" if fit_mode else None
        if network and fitting:
            self.description = f"{network} refined by the {fitting}"
        else:
            self.description = network or f"{fitting} from the mean face (no network)"

    @classmethod
    def load(
        cls,
        model_path: str | Path | None = None,
        checkpoint: str | Path | None = None,
        fit_mode: FitMode | None = "full",
        use_network: bool = True,
        backend: Backend = "auto",
        threads: int | None = None,
    ) -> Reconstructor:
        """The shipped face model, the shipped network if there is one, and the fit.

        checkpoint: another network checkpoint; use_network=False ignores any network.
        backend, threads: the network's runtime and its threads (:func:`inversefacenet.predictor.load_predictor`).
        Logs which predictor it uses (also in ``description``).
        """
        model = FaceModel.load(model_path)
        path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
        predictor = None
        if use_network and (checkpoint or path.is_file()):
            predictor = load_predictor(path, model, backend, threads)
        reconstructor = cls(model, predictor=predictor, fit_mode=fit_mode)
        log.info("InverseFaceNet: %s", reconstructor.description)
        return reconstructor

    def __call__(self, source: Any) -> list[FaceResult]:
        """Reconstruct all faces in a photo (path, bytes, binary file object, PIL image or array), largest first.

        Raises InputError for unusable input and NoFaceError when no face is found.
        """
        start = time.perf_counter()
        image = load_image(source)
        return self.reconstruct_image(image, decode_ms=(time.perf_counter() - start) * 1000)

    def reconstruct_image(self, image: np.ndarray, decode_ms: float = 0.0) -> list[FaceResult]:
        """Reconstruct all faces in an already decoded (H, W, 3) uint8 RGB image, largest first (another array:
        call the reconstructor itself, which converts it)."""
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            shape = getattr(image, "shape", None)
            got = f"{image.dtype} array of shape {shape}" if shape is not None else type(image).__name__
            raise InputError(f"reconstruct_image takes an (H, W, 3) uint8 RGB array, got a {got}: call the "
                             "Reconstructor itself with the photo, which converts grey, RGBA, 16-bit and float images")
        faces, detection_ms = self.detector.detect(image)  # this call's own timings: the detector is shared
        if not faces:
            raise NoFaceError(NO_FACE)
        return self.reconstruct_faces(image, faces, {"decode": decode_ms, **detection_ms})

    def reconstruct_faces(
        self, image: np.ndarray, faces: list[DetectedFace], ms: dict[str, float] | None = None
    ) -> list[FaceResult]:
        """Reconstruct faces whose landmarks are known (from the detector or a tracker); all faces go
        through the network as one batch. ``ms``: earlier stages' timings, put in front of each face's."""
        starts: list[tuple[FaceParameters | None, Crop | None]] = [(None, None)] * len(faces)
        network_ms = {}
        if self.predictor is not None and faces:
            start = time.perf_counter()
            batch, crops = self.predict(image, [face.landmarks for face in faces])
            starts = [(batch.select(slice(k, k + 1)), crop) for k, crop in enumerate(crops)]
            network_ms = {"network": (time.perf_counter() - start) * 1000 / len(faces)}  # per face
        return [self.reconstruct_face(image, face, params, crop, {**(ms or {}), **network_ms})
                for face, (params, crop) in zip(faces, starts, strict=True)]  # fmt: skip

    def predict(self, image: np.ndarray, landmarks: list[np.ndarray]) -> tuple[FaceParameters, list[Crop]]:
        """The network's parameters (batch of len(landmarks)) for faces given by their (478, 2+) landmarks,
        and the crop (at the network's input size) each face's parameters are framed by.

        The crop follows the checkpoint's own rule on the detected points. A network with crop alignment
        also says where the rule would have put it given the model's own landmarks (MediaPipe's points sit
        off them by a few percent of the face); it then runs again on that crop, the framing it was
        trained to read exactly, unless it reads both ways (``mirror_reading``): that one reading is steadier than
        two plain ones (``docs/real-photos.md``), and its parameters are framed by the crop it points to."""
        params, crops, _ = self.predict_aligned(image, landmarks, [None] * len(landmarks))
        return params, crops

    def predict_aligned(
        self, image: np.ndarray, landmarks: list[np.ndarray], alignments: list[np.ndarray | None]
    ) -> tuple[FaceParameters, list[Crop], list[np.ndarray | None]]:
        """:meth:`predict` for a video: a face's (3,) alignment from the previous frame (from the crop rule's
        crop to the one the network pointed to, :meth:`Crop.alignment_to`) puts this frame's crop there at
        once, so the face is read once instead of twice (MediaPipe's offset from the model's landmarks is
        mostly the face's own, so it changes little from frame to frame). Faces without one (None) are read
        twice, as in a photo. Also returns each face's alignment for the next frame (None without crop
        alignment). A face tilted beyond the network's roll range is read in an upright copy of its
        surroundings and turned back (``upright``, :meth:`_predict_tilted`); its alignment is the copy's."""
        tilted = [self.upright and is_tilted(points) for points in landmarks]
        level = [k for k, turn in enumerate(tilted) if not turn]
        read = {}
        if level:
            params, crops, carried = self._predict_level(image, [landmarks[k] for k in level],
                                                         [alignments[k] for k in level])  # fmt: skip
            read = {k: (params.select(slice(n, n + 1)), crops[n], carried[n]) for n, k in enumerate(level)}
        read |= {k: self._predict_tilted(image, landmarks[k], alignments[k]) for k, turn in enumerate(tilted) if turn}
        params, crops, carried = zip(*(read[k] for k in range(len(landmarks))), strict=True)
        return FaceParameters.concatenate(list(params)), list(crops), list(carried)

    def _predict_tilted(
        self, image: np.ndarray, landmarks: np.ndarray, alignment: np.ndarray | None
    ) -> tuple[FaceParameters, Crop, np.ndarray | None]:
        """One face read in an upright copy of its surroundings (:mod:`inversefacenet.upright`), turned back into
        the photo: its parameters, the crop the rule puts on their turned-back model landmarks, and the alignment
        the copy's reading carries to the next frame."""
        upright = Upright.of(landmarks)
        params, crops, carried = self._predict_level(upright.image(image), [upright.to_window(landmarks)], [alignment])
        shown = project_face(self.model, params, crops[0].size, self.camera).pixels[0]
        points = upright.to_photo(crops[0].to_photo(shown[self.model.landmarks_mediapipe[:MESH_POINTS]]))
        return upright.turned_back(params), crop_for_landmarks(points, crops[0].size, self.camera), carried[0]

    def _predict_level(
        self, image: np.ndarray, landmarks: list[np.ndarray], alignments: list[np.ndarray | None]
    ) -> tuple[FaceParameters, list[Crop], list[np.ndarray | None]]:
        """:meth:`predict_aligned` for faces inside the network's roll range, as one batch."""
        config = self.predictor.config
        rules = [crop_for_landmarks(points, config.input_size, config.camera) for points in landmarks]
        crops = [rule if shift is None else rule.aligned(shift) for rule, shift in zip(rules, alignments, strict=True)]
        outputs = self._read(image, landmarks, crops)
        if not config.crop_alignment:
            return to_parameters(outputs, config), crops, [None] * len(crops)
        pointed = [crop.aligned(shift) for crop, shift in zip(crops, outputs[:, config.layout.size :], strict=True)]
        again = [k for k, shift in enumerate(alignments) if shift is None]
        if again and not config.mirror_reading:  # a reading both ways reads the face well enough where it is
            outputs[again] = self._read(image, [landmarks[k] for k in again], [pointed[k] for k in again])
        for k in again:
            crops[k] = pointed[k]
        carried = [rule.alignment_to(crop) for rule, crop in zip(rules, pointed, strict=True)]
        return to_parameters(outputs, config), crops, carried

    def _read(self, image: np.ndarray, landmarks: list[np.ndarray], crops: list[Crop]) -> np.ndarray:
        """The network's outputs (B, outputs) for faces cut from ``image`` by ``crops``, masked by their landmarks."""
        mask = self.predictor.config.input_mask
        inputs = [crop_input(image, points, crop, mask) for points, crop in zip(landmarks, crops, strict=True)]
        return np.array(self.predictor.outputs(np.stack(inputs)))

    def reconstruct_face(
        self, image: np.ndarray, face: DetectedFace, initial: FaceParameters | None, network_crop: Crop | None,
        ms: dict[str, float],
    ) -> FaceResult:  # fmt: skip
        """Crop, mask and fit one face from its network prediction (``initial`` framed by ``network_crop``,
        or None for the mean face).

        Without the fit, only the crop's place is computed here; its pixels, mask and points wait for the evaluation."""
        start = time.perf_counter()
        fit_points = partial(self._fit_points, face.landmarks, initial)
        points = None
        if self.fit_mode is None and network_crop is not None:
            crop = network_crop.resized(FIT_SIZE)  # the network's own framing of its parameters
        else:
            points = fit_points()
            crop = crop_for_landmarks(points, FIT_SIZE, self.camera)
        timings = {**ms, "crop": (time.perf_counter() - start) * 1000}
        grey = is_grey_face(image, face.landmarks)  # decided once: the fit's light, the albedo shown, the texture
        params, evaluation = initial, None
        if self.fit_mode is not None:
            start = time.perf_counter()
            pixels, mask, landmarks = fit_input(image, points, crop)
            timings["crop"] += (time.perf_counter() - start) * 1000
            start_place = None if network_crop is None else crop.alignment_to(network_crop.resized(FIT_SIZE))
            fitted = fit(self.model, pixels, mask, landmarks, initial, self.fit_mode, self.fit_config, self.camera,
                         start_place, grey)  # fmt: skip
            params, timings = fitted.params, {**timings, **fitted.ms}
            evaluation = Evaluation.of(self.model, crop, fitted.render, fitted.landmark_error_px,
                                       fitted.photometric_rmse)  # fmt: skip
            crop = crop.aligned(fitted.alignment)  # the fitted parameters' own framing
        if grey:  # the fit's rule, also for the network's light (and a fit too short to solve it)
            params = replace(params, sh=grey_light(params.sh))
        return FaceResult(params=params, model=self.model, crop=crop, detected_landmarks=face.landmarks, ms=timings,
                          camera=self.camera, grey=grey, photo_size=image.shape[:2], _evaluation=evaluation,
                          _photo=(image, fit_points) if evaluation is None else None)  # fmt: skip

    def _fit_points(self, landmarks: np.ndarray, initial: FaceParameters | None) -> np.ndarray:
        """(478, 2+) the points the fit compares the model with: MediaPipe's, moved by their measured offset at the
        network's pose (``correct_landmarks``; the network itself was trained on MediaPipe's own points)."""
        if not self.correct_landmarks:
            return landmarks
        return measured_offsets().correct(landmarks, None if initial is None else np.degrees(initial.rotation[0, :2]))


def is_grey_face(image: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether a face is grey in an (H, W, 3) uint8 photo: its colours at its 468 (478, 2+) landmarks, in photo
    pixels (a black-and-white photo, or a colour photo of a grey statue)."""
    points = np.clip(landmarks[:MESH_POINTS, :2].astype(int), 0, np.array(image.shape[1::-1]) - 1)
    return is_grey(image[points[:, 1], points[:, 0]].astype(np.float64))


def fit_input(image: np.ndarray, points: np.ndarray, crop: Crop) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the fit sees of a face: (crop pixels (S, S, 3) uint8, face mask (S, S) bool, landmarks in crop px)."""
    landmarks = crop.to_crop(points[:, :2])
    return crop_image(image, crop), face_mask(landmarks, crop.size), landmarks


def draw_overlay(image: np.ndarray, faces: list[FaceResult], shown: int | None = None,
                 numbers: list[int] | None = None) -> np.ndarray:  # fmt: skip
    """The photo with each fitted face's silhouette (green), its 68 points (red), crop box (grey) and
    number (1 = the first face, as the app's selector counts them; or ``numbers``, a video's people); face ``shown``'s
    box green and twice as thick, drawn last, as the browser page marks the face it shows."""
    canvas = image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))  # about 2.5 px when the photo is shown 1000 px wide
    for face in faces:
        side = face.box[2] - face.box[0]
        line = max(1, min(thickness, round(side / 100)))  # a small face in a big photo stays visible under it
        drawn = render(face.model, face.params, FIT_SIZE, camera=face.camera)
        contours, _ = cv2.findContours(drawn.raster.mask[0].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for contour in contours:
            points = face.crop.to_photo(contour[:, 0].astype(np.float64) + 0.5)
            cv2.polylines(canvas, [points.round().astype(np.int32)], True, (40, 220, 60), line, cv2.LINE_AA)
        for x, y in _landmarks68(face, drawn):
            cv2.circle(canvas, (round(x), round(y)), max(1, min(thickness + 1, round(side / 60))), (230, 40, 40), -1,
                       cv2.LINE_AA)  # fmt: skip
        x0, y0, x1, y1 = (round(v) for v in face.box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (160, 160, 160), line)
    if shown is not None:
        x0, y0, x1, y1 = (round(v) for v in faces[shown].box)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (40, 220, 60), 2 * thickness)
    for number, face in zip(numbers or range(1, len(faces) + 1), faces, strict=True):  # last: no outline covers them
        _label(canvas, str(number), face.box, thickness)
    return canvas


def _landmarks68(face: FaceResult, drawn: RenderOutput) -> np.ndarray:
    """(68, 2) the face's iBUG points in the photo: its evaluation's, or without one (no fit, not yet read) those of
    ``drawn``, its render at FIT_SIZE in its crop, which are the same points: a video's overlay rendered each
    frame's face twice, 24 ms a frame."""
    if face.evaluated:
        return face.landmarks68
    return face.crop.to_photo(face.model.ibug68_points(drawn.pixels, drawn.vertex_visible)[0])


def _label(canvas: np.ndarray, text: str, box: tuple[float, float, float, float], thickness: int) -> None:
    """White number with a dark outline at a face box's top-left corner, inside the image; as large as the face, and
    at least readable when the photo is shown 1000 px wide (``thickness``: the overlay's, about 1/400 of its side),
    its strokes in proportion (a small face's number in a big photo was a white blot)."""
    scale = max(0.5, (box[2] - box[0]) / 160, 0.3 * thickness)
    stroke = max(1, min(thickness, round(2 * scale)))
    width, height = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2 * stroke)[0]
    x = int(np.clip(box[0] + 2, 0, canvas.shape[1] - width))
    y = int(np.clip(box[1] + height + 2, height, canvas.shape[0] - 1))
    for colour, weight in (((20, 20, 20), 4 * stroke), ((255, 255, 255), 2 * stroke)):
        cv2.putText(canvas, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, weight, cv2.LINE_AA)
