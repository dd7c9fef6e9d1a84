"""One Reconstructor shared by concurrent requests (as the app shares it): every request gets
exactly its serial result, and a MediaPipe graph that fails never jams the next requests."""

import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from inversefacenet import FaceModel, Reconstructor
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
from inversefacenet.detection import LandmarkDetector
from inversefacenet.images import load_image
from tests.conftest import known_face, photo_of, two_face_photo

EXAMPLE = "assets/examples/astronaut.jpg"
ROUNDS = 4  # the reported jam came on the 4th round of 8 concurrent uploads


def side_by_side(*images: np.ndarray) -> np.ndarray:
    """A group photo: images next to each other on grey, tops aligned."""
    height = max(image.shape[0] for image in images)
    padded = [np.pad(image, ((0, height - image.shape[0]), (0, 0), (0, 0)), constant_values=128) for image in images]
    return np.concatenate(padded, axis=1)


@pytest.fixture(scope="module")
def photos(model):
    """Nine different photos with 1, 2 or 3 faces: the example transformed, and synthetic faces."""
    astronaut = load_image(EXAMPLE)
    flipped = np.ascontiguousarray(astronaut[:, ::-1])
    return {
        "astronaut": astronaut,
        "flipped": flipped,
        "small": cv2.resize(astronaut, (300, 300), interpolation=cv2.INTER_AREA),
        "face crop x1.5": cv2.resize(astronaut[20:320, 100:400], (450, 450)),
        "two astronauts": side_by_side(astronaut, cv2.resize(flipped, (384, 384))),
        "two synthetic": two_face_photo(model),
        "synthetic 11": photo_of(model, known_face(model, 11), 320)[0],
        "synthetic 12": photo_of(model, known_face(model, 12), 256)[0],
        "three": side_by_side(photo_of(model, known_face(model, 13), 300)[0], cv2.resize(flipped, (256, 256)),
                              photo_of(model, known_face(model, 14), 200)[0]),
    }  # fmt: skip


@pytest.fixture(scope="module")
def predictor(model):
    return Predictor.load(DEFAULT_CHECKPOINT, model)


@pytest.fixture
def detector():
    detector = LandmarkDetector(max_idle=2)
    yield detector
    detector.close()


def all_at_once(call, inputs: list) -> list:
    """call(x) for every input, each on its own thread, released together."""
    start = threading.Barrier(len(inputs))

    def task(item):
        start.wait()
        return call(item)

    with ThreadPoolExecutor(len(inputs)) as pool:
        return list(pool.map(task, inputs))


def assert_same_faces(found, expected, name: str) -> None:
    assert len(found) == len(expected), f"{name}: {len(found)} faces, serially {len(expected)}"
    for face, twin in zip(found, expected, strict=True):
        np.testing.assert_allclose(face.box, twin.box, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(face.detected_landmarks, twin.detected_landmarks, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(face.params.pack(), twin.params.pack(), atol=1e-5, err_msg=name)


@pytest.mark.parametrize("fit_mode", [None, "fast"])
def test_concurrent_requests_get_their_serial_results(model, photos, predictor, detector, fit_mode):
    reconstructor = Reconstructor(model, detector, predictor, fit_mode=fit_mode)
    names = list(photos) if fit_mode is None else ["two astronauts", "synthetic 11", "small"]  # the fit is slow
    serial = {name: reconstructor.reconstruct_image(photos[name]) for name in names}
    assert sorted(len(faces) for faces in serial.values())[-1] >= 2  # group photos are in the mix
    for _ in range(ROUNDS if fit_mode is None else 1):
        results = all_at_once(lambda name: reconstructor.reconstruct_image(photos[name]), names)
        for name, faces in zip(names, results, strict=True):
            assert_same_faces(faces, serial[name], name)
            assert all({"detection", "mesh"} <= set(face.ms) for face in faces)
    assert 1 <= detector.idle <= 2  # graphs are reused and the pool is capped


def test_a_failed_graph_is_dropped_and_the_next_request_works(model, photos, predictor, detector):
    reconstructor = Reconstructor(model, detector, predictor, fit_mode=None)
    expected = reconstructor.reconstruct_image(photos["astronaut"])
    assert detector.idle == 1
    # Put a pooled face mesh into the state the shared graph reached under concurrent calls:
    # its clock behind its last packet. MediaPipe then refuses every later packet on that graph.
    broken = detector._idle.queue[-1]
    broken.mesh._simulated_timestamp = 0
    with pytest.raises(ValueError, match="timestamp"):
        reconstructor.reconstruct_image(photos["astronaut"])
    assert detector.idle == 0  # closed, not returned to the pool
    for _ in range(3):
        assert_same_faces(reconstructor.reconstruct_image(photos["astronaut"]), expected, "after the failure")
    assert detector.idle == 1 and detector._idle.queue[-1] is not broken


def test_threads_sharing_a_fresh_model_fill_its_caches_once(monkeypatch):
    model = FaceModel.load()
    builds = []
    build = FaceModel._build_coarse

    def slow_build(self):
        builds.append(self)
        threading.Event().wait(0.05)  # long enough for every thread to find the cache empty
        return build(self)

    monkeypatch.setattr(FaceModel, "_build_coarse", slow_build)
    coarse = all_at_once(lambda _: model.coarse(), range(8))
    assert len(builds) == 1 and all(found is coarse[0] for found in coarse)
    like = np.zeros((1, model.n_shape), np.float32)
    arrays = all_at_once(lambda _: model._arrays_like(like), range(8))
    assert all(found is arrays[0] for found in arrays)
