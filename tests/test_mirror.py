"""The mirror map of parameters against the renderer: a mirrored face renders as the flipped picture."""

import numpy as np
import pytest

from inversefacenet.mirror import ParameterMirror
from inversefacenet.params import FaceParameters
from tests.conftest import random_parameters
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
