import numpy as np
import torch
from scipy.spatial.transform import Rotation

from inversefacenet.render.camera import DEFAULT_CAMERA, crop_transform, project, rotation_matrix, to_camera


def test_rotation_matches_scipy_extrinsic_xyz():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-np.pi, np.pi, (20, 3))
    expected = Rotation.from_euler("xyz", angles).as_matrix()  # x first, then y, then z
    np.testing.assert_allclose(rotation_matrix(angles), expected, atol=1e-12)
    np.testing.assert_allclose(rotation_matrix(torch.tensor(angles)).numpy(), expected, atol=1e-12)


def test_single_axis_rotations():
    a = 0.3
    rx = rotation_matrix(np.array([[a, 0, 0]]))[0]
    np.testing.assert_allclose(rx @ [0, 1, 0], [0, np.cos(a), np.sin(a)], atol=1e-12)
    ry = rotation_matrix(np.array([[0, a, 0]]))[0]
    np.testing.assert_allclose(ry @ [0, 0, 1], [np.sin(a), 0, np.cos(a)], atol=1e-12)


def test_perspective_projection_and_camera_offset():
    d = DEFAULT_CAMERA.distance_mm
    points = np.array([[[10.0, 20.0, 0.0], [10.0, 20.0, 100.0]]])
    cam = to_camera(points, np.eye(3)[None], DEFAULT_CAMERA)
    np.testing.assert_allclose(cam[0, 0], [10, 20, -d])
    uv = project(cam)[0]
    np.testing.assert_allclose(uv[0], [10 / d, -20 / d])
    np.testing.assert_allclose(uv[1], [10 / (d - 100), -20 / (d - 100)])  # nearer looks bigger


def test_crop_box_is_centred_square_of_the_longer_side():
    points = np.array([[[0.0, 0.0], [2.0, 1.0]]])
    scale, offset = crop_transform(points, 100)
    pixels = points * scale[:, None, None] + offset[:, None]
    np.testing.assert_allclose(pixels.mean(axis=1)[0], [50, 50])
    np.testing.assert_allclose(pixels[0, 1, 0] - pixels[0, 0, 0], 100 / DEFAULT_CAMERA.crop_scale)


def test_roll_is_about_the_cameras_axis():
    roll = rotation_matrix(np.array([[0.0, 0.0, np.pi / 2]]))[0]
    np.testing.assert_allclose(roll @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)  # x to y: up
