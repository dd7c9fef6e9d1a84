"""The app's preview images of one face: relit, geometry only, albedo only, and composited into the photo.

All views use the project's renderer (the same image formation the network was trained on)
at one fixed framing: the crop of the recovered face. Edits (expression, pose) then move
the face inside a still frame instead of re-centring it, and the relit face can be pasted
back into the photo through the same crop the fit used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.lighting import PRESETS, sh_from_light
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import Crop
from inversefacenet.renderer import RenderOutput, render, to_uint8

PREVIEW_SIZE = 512
BACKGROUND = 1.0  # white behind the face
GEOMETRY_GREY = 0.72
STUDIO_SH = sh_from_light(PRESETS["studio"])
UNLIT_SH = np.eye(9, 3, dtype=np.float32)[:, :1].repeat(3, axis=1)  # irradiance 1 everywhere: albedo alone


@dataclass
class Framing:
    """Crop transform of the recovered face for a 1-pixel crop (scale it by the image size)."""

    scale: float
    offset: tuple[float, float]

    @classmethod
    def of(cls, output: RenderOutput, size: int) -> Framing:
        return cls(float(output.crop_scale[0]) / size, (float(output.crop_offset[0, 0]) / size,
                                                         float(output.crop_offset[0, 1]) / size))  # fmt: skip

    def at(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.scale * size], np.float32), np.array([self.offset], np.float32) * size


class FaceViews:
    """Renders one face's preview images at ``size`` px, framed by its recovered parameters."""

    def __init__(self, model: FaceModel, recovered: FaceParameters, size: int = PREVIEW_SIZE) -> None:
        self.model = model
        self.size = size
        self.framing = Framing.of(render(model, recovered, size), size)
        self._grey = np.full((1, model.n_vertices, 3), GEOMETRY_GREY, np.float32)

    def _render(self, params: FaceParameters, albedo: np.ndarray | None = None) -> RenderOutput:
        return render(self.model, params, self.size, crop=self.framing.at(self.size), albedo=albedo)

    def relit(self, params: FaceParameters) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (S, S, 3) on white, face mask (S, S) bool) under ``params.sh``."""
        out = self._render(params)
        return to_uint8(out.image[0], BACKGROUND), out.raster.mask[0]

    def geometry(self, params: FaceParameters) -> np.ndarray:
        """The shape and expression alone: uniform grey under a fixed studio light."""
        out = self._render(replace(params, sh=STUDIO_SH[None]), albedo=self._grey)
        return to_uint8(out.image[0], BACKGROUND)

    def albedo(self, params: FaceParameters) -> np.ndarray:
        """The reflectance alone (no shading)."""
        out = self._render(replace(params, sh=UNLIT_SH[None]))
        return to_uint8(out.image[0], BACKGROUND)


def composite(photo: np.ndarray, face: np.ndarray, mask: np.ndarray, crop: Crop, feather_px: float = 2.0) -> np.ndarray:
    """Paste a rendered face (S x S, framed like ``crop`` scaled to S) into the photo.

    The mask is softened by ``feather_px`` photo pixels so the seam does not show.
    """
    size = face.shape[0]
    scale = crop.scale * size / crop.size
    ox, oy = (np.asarray(crop.offset) * size / crop.size).tolist()
    # photo pixel centre p maps to crop pixel centre scale * (p + 0.5) + offset - 0.5
    to_photo = cv2.invertAffineTransform(
        np.array([[scale, 0, ox + 0.5 * scale - 0.5], [0, scale, oy + 0.5 * scale - 0.5]])
    )
    height, width = photo.shape[:2]
    warped = cv2.warpAffine(face, to_photo, (width, height), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask.astype(np.float32), to_photo, (width, height), flags=cv2.INTER_LINEAR)
    if feather_px > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather_px) * alpha  # soften only inwards
    alpha = alpha[..., None]
    return (photo * (1 - alpha) + warped * alpha + 0.5).astype(np.uint8)
