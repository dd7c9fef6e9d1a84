"""The mirror map of parameters against the renderer: a mirrored face renders as the flipped picture."""

import numpy as np
import pytest

from inversefacenet import Reconstructor
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
from inversefacenet.mirror import MirroredReading, ParameterMirror
from inversefacenet.params import FaceParameters
from tests.conftest import known_face, photo_of, random_parameters
from training.corpus import SyntheticStream, render_inputs
from training.realism import Realism


@pytest.fixture(scope="module")
def mirror(model) -> ParameterMirror:
    return ParameterMirror.of(model)


def test_a_mirrored_face_renders_as_the_flipped_picture(model, mirror):
    faces = random_parameters(model, 6, seed=3)
    mirrored = FaceParameters.unpack(model.layout, mirror(faces.pack()))
    pictures, _ = render_inputs(model, faces, 96, mask="face")
    flipped, _ = render_inputs(model, mirrored, 96, mask="face")
    inside = (np.abs(pictures[:, :, ::-1]).sum(-1) > 0) & (np.abs(flipped).sum(-1) > 0)  # outlines differ by a pixel
    error = np.median(np.abs(pictures[:, :, ::-1] - flipped)[inside])
    assert error < 0.1 * np.median(np.abs(pictures[:, :, ::-1])[inside])
    assert error < 0.2 * np.median(np.abs(pictures - flipped)[inside])  # the unmirrored parameters are far off


def test_mirroring_twice_gives_the_same_face(model, mirror):
    faces = random_parameters(model, 4, seed=5)
    vectors = np.concatenate([faces.pack(), np.full((4, 3), 0.1, np.float32)], axis=1)  # with a crop alignment
    twice = mirror(mirror(vectors))
    again = FaceParameters.unpack(model.layout, twice[:, : model.layout.size])
    np.testing.assert_allclose(twice[:, model.layout.size :], vectors[:, model.layout.size :])
    np.testing.assert_allclose(again.rotation, faces.rotation)
    np.testing.assert_allclose(again.expression, faces.expression)
    geometry = np.asarray(model.geometry(faces.shape, faces.expression))
    assert np.abs(np.asarray(model.geometry(again.shape, again.expression)) - geometry).mean() < 0.1  # mm
    assert np.abs(np.asarray(model.albedo(again.albedo)) - np.asarray(model.albedo(faces.albedo))).mean() < 0.002


def test_the_mirror_turns_yaw_and_roll_swaps_sides_and_keeps_pitch(model, mirror):
    face = FaceParameters.neutral(model.layout)
    face.rotation[:] = np.radians([10.0, 20.0, 5.0])
    names = list(model.expression_names)
    face.expression[0, names.index("mouthSmileLeft")] = 0.7
    mirrored = FaceParameters.unpack(model.layout, mirror(face.pack()))
    np.testing.assert_allclose(np.degrees(mirrored.rotation[0]), [10.0, -20.0, -5.0], atol=1e-4)
    assert mirrored.expression[0, names.index("mouthSmileRight")] == pytest.approx(0.7)
    assert mirrored.expression[0, names.index("mouthSmileLeft")] == 0


def test_a_stream_flips_its_mirror_share_with_mirrored_answers(model, mirror):
    options = {"alignment": True, "mask": "split", "realism": Realism(share=0.5)}
    plain = SyntheticStream(model, 48, 12, seed=4, **options)
    mixed = SyntheticStream(model, 48, 12, seed=4, **options, mirror_share=0.5)
    (inputs, targets), (shown, answers) = plain.batch(2), mixed.batch(2)
    flipped = np.all(inputs[:, :, ::-1] == shown, axis=(1, 2, 3)) & ~np.all(inputs == shown, axis=(1, 2, 3))
    kept = np.all(inputs == shown, axis=(1, 2, 3))
    assert flipped.any() and kept.any() and (flipped | kept).all()
    np.testing.assert_allclose(answers[flipped], mirror(targets[flipped]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(answers[kept & ~flipped], targets[kept & ~flipped])
    with pytest.raises(ValueError, match="mirror_share"):
        SyntheticStream(model, 48, 2, seed=4, mirror_share=1.5)


class _Constant:
    """A reader that ignores the picture: the same answer for every crop."""

    backend = "constant"

    def __init__(self, answer: np.ndarray, config) -> None:
        self.answer, self.config = answer, config

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        return np.repeat(self.answer[None], len(inputs), axis=0)


def test_a_reading_both_ways_of_a_reader_blind_to_the_picture_is_a_symmetric_face(model, mirror):
    config = Predictor.load(DEFAULT_CHECKPOINT, model).config
    face = random_parameters(model, 1, seed=8)
    face.rotation[:] = np.radians([12.0, 25.0, -8.0])
    face.expression[0, list(model.expression_names).index("mouthSmileLeft")] = 0.8
    answer = np.concatenate([face.pack()[0], [0.05, 0.02, 0.1]]).astype(np.float32)
    read = MirroredReading(_Constant(answer, config), mirror)
    out = read.outputs(np.zeros((2, 8, 8, 3), np.float32))
    params = read(np.zeros((2, 8, 8, 3), np.float32))
    np.testing.assert_allclose(np.degrees(params.rotation), [[12.0, 0.0, 0.0]] * 2, atol=1e-4)  # pitch kept
    names = list(model.expression_names)
    left, right = names.index("mouthSmileLeft"), names.index("mouthSmileRight")
    np.testing.assert_allclose(params.expression[:, left], params.expression[:, right])
    np.testing.assert_allclose(out[:, model.layout.size :], [[0.0, 0.02, 0.1]] * 2, atol=1e-7)  # centred in x


def test_the_shipped_network_read_both_ways_finds_a_photos_pose(model, mirror):
    face = known_face(model, 11)
    photo, _ = photo_of(model, face, 320)
    plain = Reconstructor(model, predictor=Predictor.load(DEFAULT_CHECKPOINT, model), fit_mode=None)
    both = Reconstructor(model, plain.detector, MirroredReading(plain.predictor, mirror), fit_mode=None)
    assert "read mirrored too" in both.description
    faces = plain.detector(photo)
    assert len(faces) == 1
    read, read_both = (r.reconstruct_faces(photo, faces)[0].params for r in (plain, both))
    assert np.degrees(np.abs(read_both.rotation - face.rotation)).max() < 4
    assert np.degrees(np.abs(read_both.rotation - read.rotation)).max() < 2
