"""MediaPipe's measured offsets: the correction brings detected points onto the model's vertices."""

import numpy as np

from inversefacenet.detection import LandmarkDetector
from inversefacenet.landmark_offsets import MeasuredOffsets, measured_offsets
from tests.conftest import random_parameters
from training.realism import photo_of_face


def test_correction_is_the_kernel_mean_of_the_measured_offsets():
    rng = np.random.default_rng(0)
    table = MeasuredOffsets(np.array([[0.0, -30.0], [0.0, 30.0]]), rng.normal(0, 0.02, (2, 468, 2)))
    np.testing.assert_allclose(table.mean(np.array([0.0, -30.0])), table.offsets[0], atol=1e-6)  # far from [1]
    np.testing.assert_allclose(table.mean(np.array([0.0, 0.0])), table.offsets.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(table.mean(None), table.offsets.mean(axis=0))
    points = rng.uniform(0, 100, (478, 3)).astype(np.float32)
    corrected = table.correct(points, np.array([0.0, -30.0]))
    box = np.ptp(points[:468, :2], axis=0).max()
    np.testing.assert_allclose(corrected[:468, :2], points[:468, :2] - table.offsets[0] * box, atol=1e-3)
    np.testing.assert_array_equal(corrected[:, 2], points[:, 2])  # depth untouched


def test_corrected_points_lie_closer_to_the_true_landmark_vertices(model):
    """On photos of known faces not in the measurement (another seed), at the true pose."""
    detector = LandmarkDetector()
    raw, corrected = [], []
    params = random_parameters(model, 6, seed=99, max_angle=30)
    rng = np.random.default_rng(5)
    for k in range(6):
        photo, truth = photo_of_face(model, params.select(slice(k, k + 1)), rng)
        faces = detector(photo)
        if not faces:
            continue
        moved = measured_offsets().correct(faces[0].landmarks, np.degrees(params.rotation[k, :2]))
        raw.append(np.linalg.norm(faces[0].landmarks[:468, :2] - truth[:468], axis=1).mean())
        corrected.append(np.linalg.norm(moved[:468, :2] - truth[:468], axis=1).mean())
    detector.close()
    assert len(raw) >= 4
    assert np.mean(corrected) < 0.9 * np.mean(raw)  # measured here: 0.81
