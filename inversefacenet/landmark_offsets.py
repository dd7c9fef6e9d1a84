"""Where MediaPipe puts its 468 mesh points relative to the face model's landmark vertices.

The face model's MediaPipe landmarks are vertices chosen once by the builder; MediaPipe's
own points sit a few percent of the face's size away from them, by a pattern that depends on
the pose (jaw contour points slide along the silhouette). ``python -m training.landmark_noise``
measures that pattern on photo-like renders of known faces and writes
``assets/mediapipe_offsets.npz``. The corpus samples crops from it (so training crops scatter
like the crops of photos) and the fit subtracts its mean at the face's pose (so the fit's
landmark term compares like with like).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from inversefacenet.facemodel.model import MESH_POINTS

OFFSETS_FILE = Path(__file__).resolve().parent.parent / "assets" / "mediapipe_offsets.npz"
POSE_BANDWIDTH_DEG = 8.0
"""Width of the Gaussian pose kernel that averages measured faces into a mean offset."""


@dataclass(frozen=True)
class MeasuredOffsets:
    """angles: (N, 2) pitch and yaw (deg) of the measured faces; offsets: (N, 468, 2) detected
    minus true points in units of the true landmark box's longer side (x right, y down)."""

    angles: np.ndarray
    offsets: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, angles=self.angles.astype(np.float32), offsets=self.offsets.astype(np.float16))

    def sample(self, pitch_yaw_deg: np.ndarray, rng: np.random.Generator, neighbours: int = 8) -> np.ndarray:
        """(468, 2) offsets of one of the ``neighbours`` measured faces nearest in pose.

        A whole measured pattern keeps the scatter's spatial correlation (a shifted, rescaled
        or slid contour), which independent per-point noise would not."""
        distance = np.linalg.norm(self.angles - pitch_yaw_deg, axis=1)
        return self.offsets[rng.choice(np.argsort(distance)[:neighbours])]

    def mean(self, pitch_yaw_deg: np.ndarray | None) -> np.ndarray:
        """(468, 2) mean offset at a pose (measured faces weighted by a Gaussian kernel in pose),
        or over all measured poses when the pose is not known (None)."""
        if pitch_yaw_deg is None:
            return self.offsets.mean(axis=0)
        distance = np.linalg.norm(self.angles - pitch_yaw_deg, axis=1)
        weights = np.exp(-0.5 * (distance / POSE_BANDWIDTH_DEG) ** 2) + 1e-12
        return ((weights / weights.sum()) @ self.offsets.reshape(len(weights), -1)).reshape(self.offsets.shape[1:])

    def correct(self, points: np.ndarray, pitch_yaw_deg: np.ndarray | None) -> np.ndarray:
        """(>=468, 2+) detected points -> where the model's landmark vertices would project."""
        return moved(points, -self.mean(pitch_yaw_deg))


def moved(points: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(>=468, 2+) points moved by (468, 2) offsets in units of their landmark box's longer side;
    the iris points (468 on) follow by the mean offset, further columns (depth) stay."""
    box = np.ptp(points[:MESH_POINTS, :2], axis=0).max()
    out = np.array(points, dtype=np.float64, copy=True)
    out[:MESH_POINTS, :2] += offsets * box
    out[MESH_POINTS:, :2] += offsets.mean(axis=0) * box
    return out.astype(points.dtype)


@cache
def measured_offsets() -> MeasuredOffsets:
    """The shipped measurement (plain arrays, loaded without pickle; float64 once here, not per face)."""
    if not OFFSETS_FILE.is_file():
        raise FileNotFoundError(f"{OFFSETS_FILE} is missing: run python -m training.landmark_noise")
    with np.load(OFFSETS_FILE, allow_pickle=False) as data:
        return MeasuredOffsets(data["angles"].astype(np.float64), data["offsets"].astype(np.float64))
