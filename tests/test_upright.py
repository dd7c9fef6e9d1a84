"""Faces tilted beyond the network's roll range, read in an upright copy and turned back."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

import inversefacenet.pipeline as pipeline
from inversefacenet import Reconstructor
from inversefacenet.facemodel.model import MESH_POINTS
from inversefacenet.render.renderer import project_face
from inversefacenet.tracking import Tracker, TrackerConfig
from inversefacenet.upright import ROLL_LIMIT_DEG, Upright, face_roll, is_tilted
from tests.conftest import known_face, photo_of
from training.corpus import PAPER


def similarity_angle(source: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Degrees (counter-clockwise as shown, y down) of the similarity that best maps (N, 2) source onto target
    points, and the RMS px it leaves."""
    matrix, _ = cv2.estimateAffinePartial2D(source, target, method=cv2.LMEDS)
    residual = np.sqrt((((source @ matrix[:, :2].T + matrix[:, 2]) - target) ** 2).sum(1).mean())
    return float(np.degrees(np.arctan2(-matrix[1, 0], matrix[0, 0]))), float(residual)


def test_the_limit_leaves_the_corpus_roll_range_to_the_network():
    assert ROLL_LIMIT_DEG > PAPER.roll_deg


@pytest.mark.parametrize("roll_deg", [35.0, -60.0])
def test_parameters_turned_back_draw_the_face_turned_in_the_photo(model, roll_deg):
    """The turned-back parameters project the model's landmarks where the upright ones do, turned by the roll (a turn
    about the camera's axis is a turn of the image), and the copy's roll is read back from them."""
    params = replace(known_face(model, 7), rotation=np.radians([[10.0, -15.0, 5.0]]).astype(np.float32))
    upright = Upright(np.zeros((2, 3)), 256, np.radians(roll_deg))
    turned = upright.turned_back(params)
    mesh = model.landmarks_mediapipe[:MESH_POINTS]
    before = project_face(model, params, 256).pixels[0, mesh]
    after = project_face(model, turned, 256).pixels[0, mesh]
    angle, residual = similarity_angle(before, after)
    assert angle == pytest.approx(roll_deg, abs=0.05) and residual < 0.05
    assert np.degrees(face_roll(after) - face_roll(before)) == pytest.approx(roll_deg, abs=0.1)


def test_the_upright_copy_stands_the_face_up_and_maps_back(model):
    points = project_face(model, known_face(model, 2), 400).pixels[0, model.landmarks_mediapipe] + [300.0, 120.0]
    centre = points[:MESH_POINTS].mean(axis=0)
    turn = cv2.getRotationMatrix2D(tuple(centre), 40.0, 1.0)  # 40 degrees counter-clockwise as shown
    tilted = points @ turn[:, :2].T + turn[:, 2]
    assert is_tilted(tilted) and not is_tilted(points)
    upright = Upright.of(tilted)
    assert np.degrees(upright.roll) == pytest.approx(40 + np.degrees(face_roll(points)), abs=1e-6)
    standing = upright.to_window(tilted)
    assert abs(face_roll(standing)) < 1e-6
    assert standing[:MESH_POINTS].min() > 0 and standing[:MESH_POINTS].max() < upright.size  # the face is inside
    np.testing.assert_allclose(upright.to_photo(standing), tilted, atol=1e-6)


@pytest.fixture(scope="module")
def tilted_photo(model):
    """A face turned 40 degrees counter-clockwise on a grey photo, and its parameters."""
    truth = replace(known_face(model, 11), rotation=np.radians([[5.0, 10.0, 40.0]]).astype(np.float32))
    photo = np.full((640, 640, 3), 140, np.uint8)
    photo[100:500, 140:540] = photo_of(model, truth, 400)[0]
    return photo, truth


@pytest.fixture(scope="module")
def reconstructor():
    return Reconstructor.load(fit_mode=None)


def test_a_face_tilted_past_the_corpus_is_read_upright(model, tilted_photo, reconstructor, monkeypatch):
    """A face tilted by 40 degrees, network alone: read upright, its pose, expression and place come out close; read
    as it is (as before), the network has never seen such a roll and misreads it."""
    photo, truth = tilted_photo
    read = reconstructor(photo)[0]
    monkeypatch.setattr(pipeline, "is_tilted", lambda landmarks: False)
    as_is = reconstructor(photo)[0]
    error = {name: np.degrees(np.abs(face.params.rotation - truth.rotation)).max() for name, face in
             (("upright", read), ("as is", as_is))}  # fmt: skip
    assert error["upright"] < 5 and error["as is"] > 3 * error["upright"], error  # 3.4 and 22.9 deg
    jaw = model.expression_names.index("jawOpen")
    assert abs(read.params.expression[0, jaw] - 0.3) < 0.15
    # the turned-back face lies on the photo's face: its model landmarks on MediaPipe's points
    detected = read.detected_landmarks[:MESH_POINTS, :2]
    eyes = np.linalg.norm(detected[33] - detected[263])
    assert np.linalg.norm(read.landmarks478[:MESH_POINTS] - detected, axis=1).mean() < 0.08 * eyes


@pytest.mark.parametrize("face_px", [200.0, 1500.0])  # a copy at the photo's scale, and one area-averaged down
def test_the_upright_copy_puts_the_photo_where_its_points_go(model, face_px):
    """A bright square drawn in the photo lands in the copy where to_window puts its centre."""
    points = project_face(model, known_face(model, 4), 256).pixels[0, model.landmarks_mediapipe]
    points = points * face_px / 256 + 40.0
    centre = points[:MESH_POINTS].mean(axis=0)
    turn = cv2.getRotationMatrix2D(tuple(centre), -50.0, 1.0)
    tilted = points @ turn[:, :2].T + turn[:, 2]
    photo = np.zeros((int(face_px * 1.5) + 80, int(face_px * 1.5) + 80, 3), np.uint8)
    spot = np.array([centre[0] + 0.3 * face_px, centre[1] - 0.1 * face_px])
    (x0, y0), (x1, y1) = np.round(spot - face_px / 40).astype(int), np.round(spot + face_px / 40).astype(int)
    photo[y0:y1, x0:x1] = 255  # covers [x0, x1) x [y0, y1) in continuous photo px
    upright = Upright.of(tilted)
    copy = upright.image(photo)[..., 0].astype(float)
    ys, xs = np.mgrid[: copy.shape[0], : copy.shape[1]] + 0.5  # pixel centres
    found = np.array([(copy * xs).sum(), (copy * ys).sum()]) / copy.sum()
    expected = upright.to_window(np.array([[(x0 + x1) / 2, (y0 + y1) / 2]]))[0]
    np.testing.assert_allclose(found, expected, atol=0.35)


def test_a_tilted_face_in_a_video_is_read_upright_on_every_frame(tilted_photo, reconstructor):
    """The tracker reads through the same upright copy: the detector's frame and the tracked ones (the crop carried
    from the copy's reading) keep the face's roll."""
    photo, truth = tilted_photo
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False))
    for k, shift in enumerate((0, 4, 8)):
        faces, _ = tracker(np.roll(photo, shift, axis=1), k / 30)
        assert faces[0].source == ("detector" if k == 0 else "mesh")
        assert abs(np.degrees(faces[0].params.rotation[0, 2] - truth.rotation[0, 2])) < 4
