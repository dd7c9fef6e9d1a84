"""How far predicted face parameters are from true ones, in the outcomes a user sees.

Shared by the training evaluation (which adds its model-space loss) and the ONNX export's
parity report, so both measure the same way.
"""

from __future__ import annotations

import numpy as np

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import face_mask
from inversefacenet.render.renderer import render

EVAL_SIZE = 128
"""Render size (px) of the photometric and mask comparisons."""


def rotation_error_deg(truth: FaceParameters, predicted: FaceParameters) -> float:
    """Mean over a batch and the three angles of the absolute rotation error (deg)."""
    return float(np.degrees(np.abs(predicted.rotation - truth.rotation)).mean())


ShapeExpression = tuple[np.ndarray, np.ndarray]
"""A face's (B, S) shape and (B, E) expression coefficients."""


def geometric_rmse_mm(model: FaceModel, truth: ShapeExpression, read: ShapeExpression) -> float:
    """Mean over a batch of the RMSE (mm) of the face vertices, unposed, between two faces' geometry: a caller may
    mix true and read parts to see what each costs."""
    face = model.mask_face
    apart = model.geometry(*read)[:, face] - model.geometry(*truth)[:, face]
    return float(np.sqrt((apart**2).sum(-1).mean(-1)).mean())


def outcomes(model: FaceModel, truth: FaceParameters, predicted: FaceParameters) -> dict[str, float]:
    """Means over a batch (numpy parameters, same batch size): rotation error (deg, mean over the three
    angles), geometric RMSE (mm, face vertices, unposed), photometric RMSE (0-255, inside both the true
    face mask and the predicted render) and the IoU of the face masks, all at ``EVAL_SIZE``."""
    rotation = rotation_error_deg(truth, predicted)
    geometric = geometric_rmse_mm(model, (truth.shape, truth.expression), (predicted.shape, predicted.expression))
    photometric, iou = [], []
    for start in range(0, truth.batch_size, 32):
        part = slice(start, start + 32)
        t = render(model, truth.select(part), EVAL_SIZE)
        p = render(model, predicted.select(part), EVAL_SIZE)
        for k in range(t.image.shape[0]):
            mask_t = face_mask(t.pixels[k, model.landmarks_mediapipe], EVAL_SIZE)
            mask_p = face_mask(p.pixels[k, model.landmarks_mediapipe], EVAL_SIZE)
            iou.append((mask_t & mask_p).sum() / max((mask_t | mask_p).sum(), 1))
            both = mask_t & p.raster.mask[k]
            difference = (np.clip(p.image[k], 0, 1) - np.clip(t.image[k], 0, 1))[both] * 255
            photometric.append(np.sqrt((difference**2).mean()) if both.any() else 255.0)
    return {
        "rotation_error_deg": rotation, "geometric_rmse_mm": geometric,
        "photometric_rmse": float(np.mean(photometric)), "mask_iou": float(np.mean(iou)),
    }  # fmt: skip
