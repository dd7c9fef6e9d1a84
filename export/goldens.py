"""Golden data for the page's re-implementations of Python code: inputs and what Python makes of them.

The page (TypeScript) re-implements the rotation matrix, lamp -> SH, vertex normals, the crop rule
and the face mask. ``python -m export.onnx`` writes ``goldens.json`` next to the face model; the
Node parity test (``tests/test_web_parity.py``) runs the page's own functions on the same inputs.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inversefacenet.camera import Camera, rotation_matrix
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.lighting import PRESETS, Light, sh_from_light
from inversefacenet.preprocess import EYES, FACE_OVAL, INNER_LIPS, crop_for_landmarks, face_mask
from inversefacenet.raster_numba import vertex_normals

FACE_MASK_RULE = {"oval": list(map(int, FACE_OVAL)), "inner_lips": list(map(int, INNER_LIPS)),
                  "eyes": [list(map(int, eye)) for eye in EYES]}  # fmt: skip
"""The mask's polygons as MediaPipe indices (also in facemodel.json, which the page reads)."""
SEED = 2024
MASK_SIZE = 128


def _lights(rng: np.random.Generator) -> list[Light]:
    """The presets and random lamps (any azimuth and elevation, coloured)."""
    random = [Light(*(float(v) for v in rng.uniform((-180, -90, 0, 0), (180, 90, 2, 1))),
                    tuple(float(c) for c in rng.uniform(0, 1, 3))) for _ in range(6)]  # fmt: skip
    return [*PRESETS.values(), *random]


def _landmarks(model: FaceModel, rng: np.random.Generator, photo_size: float = 900.0) -> np.ndarray:
    """(478, 2) photo pixels: the model's landmark vertices of a random face, turned, projected, placed."""
    shape = rng.normal(size=(1, model.n_shape)).astype(np.float32)
    vertices = model.geometry(shape, np.zeros((1, model.n_expression), np.float32))[0]
    turned = vertices @ rotation_matrix(np.radians(rng.uniform(-25, 25, (1, 3))))[0].T
    points = turned[model.landmarks_mediapipe, :2] * np.array([1.0, -1.0])  # x right, y down
    return points * rng.uniform(1.5, 3.0) + rng.uniform(0.3, 0.7, 2) * photo_size


def goldens(model: FaceModel, camera: Camera) -> dict[str, object]:
    rng = np.random.default_rng(SEED)
    angles_deg = rng.uniform(-90, 90, (8, 3))
    lights = _lights(rng)
    shape = rng.normal(size=(1, model.n_shape)).astype(np.float32)
    vertices = model.geometry(shape, np.zeros((1, model.n_expression), np.float32))[0]
    landmarks = _landmarks(model, rng)
    crop = crop_for_landmarks(landmarks, MASK_SIZE, camera)
    in_crop = crop.to_crop(landmarks)
    return {
        "rotation": {"angles_deg": angles_deg.tolist(),
                     "matrices": rotation_matrix(np.radians(angles_deg)).reshape(-1, 9).tolist()},
        "lamp_sh": {"lights": [asdict(light) for light in lights],
                    "sh": [sh_from_light(light).tolist() for light in lights]},
        "normals": {"vertices": vertices.ravel().tolist(), "triangles": model.triangles.ravel().tolist(),
                    "normals": vertex_normals(vertices[None], model.triangles)[0].ravel().tolist()},
        "crop": {"landmarks": landmarks.ravel().tolist(), "size": MASK_SIZE, "crop_scale": camera.crop_scale,
                 "scale": crop.scale, "offset": list(crop.offset)},
        "mask": {"landmarks": in_crop.ravel().tolist(), "size": MASK_SIZE, "rule": FACE_MASK_RULE,
                 "mask": face_mask(in_crop, MASK_SIZE).astype(int).ravel().tolist()},
    }  # fmt: skip


def write_goldens(model: FaceModel, camera: Camera, out: Path) -> Path:
    path = out / "goldens.json"
    path.write_text(json.dumps(goldens(model, camera)))
    return path
