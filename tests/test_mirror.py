"""The mirror map of parameters against the renderer (a mirrored face renders as the flipped picture), and networks
that read each crop both ways."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from inversefacenet import Reconstructor
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor, load_network, save_checkpoint
from inversefacenet.mirror import ParameterMirror
from inversefacenet.params import FaceParameters
from inversefacenet.predictor import load_predictor
from inversefacenet.preprocess import crop_for_landmarks, crop_input
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



class _Blind(torch.nn.Module):
    """A network that ignores the picture: the same answer for every crop."""

    def __init__(self, answer: np.ndarray) -> None:
        super().__init__()
        self.answer = torch.as_tensor(answer)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.answer.expand(len(images), -1)


def test_reading_both_ways_a_network_blind_to_the_picture_gives_a_symmetric_face(model):
    config = replace(Predictor.load(DEFAULT_CHECKPOINT, model).config, mirror_reading=True)
    face = random_parameters(model, 1, seed=8)
    face.rotation[:] = np.radians([12.0, 25.0, -8.0])
    names = list(model.expression_names)
    left, right = names.index("mouthSmileLeft"), names.index("mouthSmileRight")
    face.expression[0, left], face.expression[0, right] = 0.8, 0.1
    answer = np.concatenate([face.pack()[0], [0.05, 0.02, 0.1]]).astype(np.float32)
    inputs = np.zeros((2, config.input_size, config.input_size, 4), np.float32)
    read = Predictor(_Blind(answer), config, model=model)
    params, out = read(inputs), read.outputs(inputs)
    np.testing.assert_allclose(np.degrees(params.rotation), [[12.0, 0.0, 0.0]] * 2, atol=1e-4)  # pitch kept
    np.testing.assert_allclose(params.expression[:, [left, right]], [[0.45, 0.45]] * 2, atol=1e-6)
    np.testing.assert_allclose(out[:, model.layout.size :], [[0.0, 0.02, 0.1]] * 2, atol=1e-7)  # centred in x
    once = Predictor(_Blind(answer), replace(config, mirror_reading=False), model=model)(inputs)
    np.testing.assert_allclose(np.degrees(once.rotation), np.degrees(face.rotation).repeat(2, 0), atol=1e-4)


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_a_checkpoint_that_reads_both_ways_is_read_so_by_the_pipeline(model, tmp_path, backend):
    network, config = load_network(DEFAULT_CHECKPOINT, model)
    once_path, both_path = (save_checkpoint(tmp_path / f"{name}.safetensors", network,
                                            replace(config, mirror_reading=name == "both"))
                            for name in ("once", "both"))  # fmt: skip
    face = known_face(model, 11)
    photo, _ = photo_of(model, face, 320)
    plain = Reconstructor(model, predictor=load_predictor(once_path, model, backend), fit_mode=None)
    both = Reconstructor(model, plain.detector, load_predictor(both_path, model, backend), fit_mode=None)
    faces = plain.detector(photo)
    assert len(faces) == 1
    batches = {id(plain): [], id(both): []}
    for reconstructor in (plain, both):
        run, seen = reconstructor.predictor._run, batches[id(reconstructor)]
        reconstructor.predictor._run = lambda inputs, run=run, seen=seen: seen.append(len(inputs)) or run(inputs)
    once, twice = (r.reconstruct_faces(photo, faces)[0].params for r in (plain, both))
    assert "read both ways" in both.description and "both ways" not in plain.description
    assert batches == {id(plain): [1, 1], id(both): [2]}  # read twice, or once both ways (the crop it points to)
    crop = crop_for_landmarks(faces[0].landmarks, config.input_size, config.camera)
    inputs = crop_input(photo, faces[0].landmarks, crop, config.input_mask)[None]
    plain_outputs = plain.predictor.outputs(np.concatenate([inputs, inputs[:, :, ::-1]]))
    expected = (plain_outputs[:1] + ParameterMirror.of(model)(plain_outputs[1:])) / 2  # by hand, the first reading
    np.testing.assert_allclose(both.predictor.outputs(inputs), expected, rtol=1e-4, atol=1e-4)
    assert np.degrees(np.abs(twice.rotation - face.rotation)).max() < 2.5  # measured: 1.1 (once: 1.5)
    assert 0 < np.degrees(np.abs(twice.rotation - once.rotation)).max() < 4
