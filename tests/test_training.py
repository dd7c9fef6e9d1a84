"""Corpus, loss, checkpoints, the training/bootstrapping/evaluation CLIs at toy scale."""

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from inversefacenet import FaceParameters, Reconstructor
from inversefacenet.checkpoint import (
    DEFAULT_CHECKPOINT,
    CheckpointError,
    NetworkConfig,
    Predictor,
    load_network,
    save_checkpoint,
)
from inversefacenet.cli import main as cli
from inversefacenet.detection import LandmarkDetector
from inversefacenet.networks import build_network
from inversefacenet.predictor import OnnxPredictor, int8_path, load_predictor, quantized_from
from inversefacenet.preprocess import crop_for_landmarks, crop_input
from inversefacenet.render import camera as cam
from inversefacenet.render import render
from tests.conftest import known_face, photo_of, random_parameters
from training import ship
from training.bootstrap import bootstrap
from training.corpus import PAPER, SyntheticStream, held_out_set, sample_parameters
from training.evaluate import metrics, nearest_face, placement_error, projected, realistic_photos, turned_faces
from training.losses import AppearanceTerm, GeometryTerm, ParameterLoss, model_space_weights
from training.realism import Realism, photo_of_face
from training.ship import beats, report_markdown
from training.soup import soup
from training.train import (
    TrainConfig,
    _corpus,
    batches,
    learning_rate,
    load_optimizer,
    load_weights,
    parse_config,
    save_optimizer,
    train,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "assets" / "examples" / "astronaut.jpg"


def test_corpus_follows_the_paper_distribution(model):
    params = sample_parameters(model, 4000, np.random.default_rng(0))
    degrees = np.degrees(params.rotation)
    assert np.abs(degrees[:, :2]).max() <= 40 and np.abs(degrees[:, 2]).max() <= 15
    assert np.abs(degrees[:, :2]).max() > 38  # the range is used
    np.testing.assert_array_equal(params.sh[..., 0], params.sh[..., 2])  # grey light
    assert 0.6 <= params.sh[:, 0, 0].min() and params.sh[:, 0, 0].max() <= 1.2
    assert np.abs(params.sh[:, 1:]).max() <= 0.2
    assert 0 <= params.expression.min() and params.expression.max() <= 1
    assert abs(params.shape.std() - 1) < 0.05 and abs(params.albedo.mean()) < 0.05
    coloured = sample_parameters(model, 100, np.random.default_rng(0), PAPER.wide())
    assert not np.allclose(coloured.sh[..., 0], coloured.sh[..., 2])


def test_turned_faces_are_a_share_beyond_the_papers_yaw_and_change_nothing_else(model):
    """A share of faces turned 40-70 deg either way; without it the draws are the paper's, so held-out sets stay."""
    turned = sample_parameters(model, 4000, np.random.default_rng(0), replace(PAPER, turned_share=0.25))
    yaw = np.degrees(turned.rotation[:, 1])
    beyond = np.abs(yaw) > 40
    assert 0.22 < beyond.mean() < 0.28 and np.abs(yaw).max() <= 70 and np.abs(yaw).max() > 68
    assert 0.4 < (yaw[beyond] > 0).mean() < 0.6  # both ways
    assert np.abs(np.degrees(turned.rotation[:, 0])).max() <= 40  # pitch as the paper's
    held_out = np.ascontiguousarray(held_out_set(model, 300).pack())
    assert hashlib.sha256(held_out.tobytes()).hexdigest() == HELD_OUT_300, "the held-out set changed (or the model)"


HELD_OUT_300 = "bc4d8ff12a8a9a3523f406b0e8dbb98388d6cdb3a5053a1dfa1662f5d7ee89a0"
"""SHA-256 of the packed held-out set of 300 (float32), as drawn before turned faces existed (89e1c8b): every
evaluation's faces."""


def test_training_takes_the_turned_share_into_its_corpus(model):
    config = replace(TrainConfig(), turned_share=0.25, validation_size=4, batch_size=2)
    stream, _ = _corpus(config, model, seed=0)
    assert stream.distribution.turned_share == 0.25


def test_stream_is_deterministic_and_masked(model):
    stream = SyntheticStream(model, 64, 3, seed=7)
    inputs, targets = stream.batch(5)
    again, targets_again = stream.batch(5)
    np.testing.assert_array_equal(inputs, again)
    np.testing.assert_array_equal(targets, targets_again)
    assert not np.array_equal(stream.batch(6)[1], targets)
    assert inputs.shape == (3, 64, 64, 3) and targets.shape == (3, model.layout.size)
    assert -0.5 <= inputs.min() and inputs.max() <= 0.5
    assert (inputs[:, 0, 0] == 0).all()  # outside the face mask


def test_model_space_loss(model):
    weights = model_space_weights(model)
    slices = model.layout.slices
    assert (weights[slices["rotation"]] == 400).all() and (weights[slices["sh"]] == 20).all()
    assert np.all(np.diff(weights[slices["shape"]]) <= 1e-6)  # follows the sorted sigmas
    loss, l2 = ParameterLoss(model, "model"), ParameterLoss(model, "l2")
    target = torch.zeros(2, model.layout.size)
    predicted = target.clone()
    predicted[:, 0] = 0.01  # 0.01 rad pitch error
    assert float(loss(target, target)) == 0
    assert float(loss(predicted, target)) == pytest.approx((400 * 0.01) ** 2, rel=1e-5)
    assert float(l2(predicted, target)) == pytest.approx(0.01**2, rel=1e-5)
    with pytest.raises(ValueError):
        ParameterLoss(model, "l1")


def test_alignment_term_is_the_crop_error_in_input_pixels(model):
    loss = ParameterLoss(model, "model", alignment_weight=2.0, alignment_size=128)
    target = torch.zeros(2, model.layout.size + 3)
    predicted = target.clone()
    predicted[:, -3] = 1 / 128  # the crop's centre one input pixel off
    predicted[:, -1] = 0.01  # 1 % of scale: 0.64 px at the crop's edge
    assert float(loss(target, target)) == 0
    assert float(loss(predicted, target)) == pytest.approx(2.0 * (1 + 0.64**2), rel=1e-5)


@pytest.mark.parametrize("architecture", ["compact", "alexnet"])
def test_a_split_network_started_from_a_masked_one_reads_as_it_does(model, architecture):
    """The "split" input rule's network, its first layer padded with zeros: on the colours and the face mask it
    gives what the masked network gives on the masked colours, whatever lies outside the mask."""
    masked = build_network(architecture, 64, model.layout.size + 3).eval()
    split = build_network(architecture, 64, model.layout.size + 3, split=True).eval()
    load_weights(split, masked)
    colours = torch.rand(2, 3, 64, 64) - 0.5
    mask = (torch.rand(2, 1, 64, 64) > 0.4).float()
    with torch.no_grad():
        expected = masked(colours * mask)
        np.testing.assert_allclose(split(torch.cat([colours, mask], 1)), expected, atol=1e-5)
        np.testing.assert_allclose(split(torch.cat([colours * mask + (1 - mask) * 0.3, mask], 1)), expected, atol=1e-5)


def test_a_split_finetune_trains_and_exports_from_a_masked_checkpoint(model, tmp_path):
    """``--input-mask split --init MASKED``: two steps train, and the checkpoint reads the same in torch and in
    ONNX Runtime on a photo's split input."""
    config = replace(NetworkConfig.for_model(model, "compact", 64), crop_alignment=True)
    source = save_checkpoint(tmp_path / "masked.safetensors", build_network("compact", 64, config.n_outputs), config)
    train(tiny_config(init=str(source), crop_alignment=True, input_mask="split", steps=2), tmp_path / "split", model)
    path = tmp_path / "split" / "last.safetensors"
    torch_predictor, onnx_predictor = Predictor.load(path, model), OnnxPredictor.load(path, model)
    assert torch_predictor.config.input_mask == "split"
    photo, out = photo_of(model, known_face(model, 1), 160)
    points = out.pixels[0, model.landmarks_mediapipe]
    inputs = crop_input(photo, points, crop_for_landmarks(points, 64), "split")[None]
    np.testing.assert_allclose(onnx_predictor.outputs(inputs), torch_predictor.outputs(inputs), atol=1e-4)
    with pytest.raises(ValueError, match=r"\(B, 64, 64, 4\)"):
        torch_predictor.outputs(inputs[..., :3])


def test_a_finetune_adds_the_alignment_outputs_to_a_checkpoint(model, tmp_path):
    """Starting a crop-alignment network from one without: its parameters are the same, its alignment is zero."""
    plain = build_network("compact", 64, model.layout.size).eval()
    aligned = build_network("compact", 64, model.layout.size + 3).eval()
    load_weights(aligned, plain)
    images = torch.rand(2, 3, 64, 64) - 0.5
    with torch.no_grad():
        before, after = plain(images), aligned(images)
    np.testing.assert_allclose(after[:, : model.layout.size], before, atol=1e-5)
    np.testing.assert_allclose(after[:, model.layout.size :], 0, atol=1e-6)
    source = save_checkpoint(tmp_path / "plain.safetensors", plain, NetworkConfig.for_model(model, "compact", 64))
    train(tiny_config(init=str(source), crop_alignment=True, steps=2), tmp_path / "aligned", model)
    _, config = load_network(tmp_path / "aligned" / "last.safetensors", model)
    assert config.crop_alignment and config.n_outputs == model.layout.size + 3


def test_appearance_term_matches_the_renderers_shading(model):
    # The mean face's own normals are exact at shape = expression = 0, so the term's colours must
    # equal the numba shading path's vertex colours there.
    params = random_parameters(model, 3, seed=4)
    params.shape[:] = 0
    params.expression[:] = 0
    term = AppearanceTerm(model, stride=1)
    vector = torch.as_tensor(params.pack())
    rotation = cam.rotation_matrix(vector[:, model.layout.slices["rotation"]])
    colours = term.colour(vector, term.normals @ rotation.transpose(1, 2))
    rendered = render(model, params, 64).vertex_colour[:, model.mask_face]
    np.testing.assert_allclose(colours.numpy(), rendered, atol=2e-3)
    other = params.pack().copy()
    other[:, model.layout.slices["sh"]][:, 0] += 0.1  # brighter ambient on red: 0.1 x albedo x 255 per vertex
    error = float(term(torch.as_tensor(other), vector))
    expected = float(((0.1 * 255 * model.albedo(params.albedo)[:, model.mask_face, 0]) ** 2).mean() / 3)
    assert error == pytest.approx(expected, rel=1e-3)
    combined = ParameterLoss(model, "model", appearance_weight=2.0)
    assert float(combined(torch.as_tensor(other), vector)) == pytest.approx(
        float(ParameterLoss(model)(torch.as_tensor(other), vector))
        + 2 * float(combined.appearance(torch.as_tensor(other), vector)),
        rel=1e-4,
    )


def test_geometry_term_is_the_face_regions_mean_squared_displacement(model):
    # Second implementation: build both meshes with the face model and compare the face vertices.
    truth, guess = random_parameters(model, 3, seed=5), random_parameters(model, 3, seed=6)
    face = model.mask_face
    meshes = [model.geometry(p.shape, p.expression)[:, face] for p in (truth, guess)]
    expected = float(((meshes[1] - meshes[0]) ** 2).sum(-1).mean())
    term = GeometryTerm(model)
    value = float(term(torch.as_tensor(guess.pack()), torch.as_tensor(truth.pack())))
    assert value == pytest.approx(expected, rel=1e-4)
    guess.rotation, guess.albedo, guess.sh = truth.rotation, truth.albedo + 1, truth.sh * 2  # not geometry
    guess.shape, guess.expression = truth.shape, truth.expression
    assert float(term(torch.as_tensor(guess.pack()), torch.as_tensor(truth.pack()))) == pytest.approx(0, abs=1e-6)
    tongue = model.expression_names.index("tongueOut")  # moves only mouth-interior vertices
    moved = truth.pack()
    moved[:, model.layout.slices["expression"].start + tongue] += 1
    assert float(term(torch.as_tensor(moved), torch.as_tensor(truth.pack()))) == pytest.approx(0, abs=1e-4)
    other, target = torch.as_tensor(random_parameters(model, 3, seed=7).pack()), torch.as_tensor(truth.pack())
    combined = ParameterLoss(model, "model", geometry_weight=3.0)
    assert float(combined(other, target)) == pytest.approx(
        float(ParameterLoss(model)(other, target)) + 3 * float(term(other, target)), rel=1e-4
    )


def test_shipping_writes_the_checkpoint_and_its_int8_graph_together(model, tmp_path, monkeypatch):
    """The shipped checkpoint, its sidecar and the int8 graph quantized from those very bytes land side by side (made
    in a scratch folder, then moved in); an earlier checkpoint's graph does not stay beside new weights."""
    target = tmp_path / "inversefacenet.safetensors"
    monkeypatch.setattr(ship, "DEFAULT_CHECKPOINT", target)
    int8_path(target).write_bytes(b"an earlier network's graph")
    network, config = load_network(DEFAULT_CHECKPOINT, model)
    ship.ship_with_int8(network, config, {"source": "test"}, realistic=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "inversefacenet.json", "inversefacenet.safetensors", "inversefacenet_int8.onnx"]  # fmt: skip
    assert json.loads(target.with_suffix(".json").read_text())["source"] == "test"
    int8 = load_predictor(target, model, "onnxruntime-int8")  # raises unless quantized from these bytes
    assert quantized_from(int8_path(target).read_bytes()) == hashlib.sha256(target.read_bytes()).hexdigest()
    assert int8.config == config


def test_ship_gate_needs_a_pareto_improvement():
    shipped = {"model_space_loss": 100.0, "rotation_error_deg": 1.0, "geometric_rmse_mm": 3.0,
               "photometric_rmse": 10.0, "mask_iou": 0.9}  # fmt: skip
    assert beats({**shipped, "geometric_rmse_mm": 2.9, "model_space_loss": 120.0}, shipped)[0]
    assert beats({**shipped, "mask_iou": 0.91}, shipped)[0]
    refused, reason = beats({**shipped, "geometric_rmse_mm": 2.5, "rotation_error_deg": 1.1}, shipped)
    assert not refused and "rotation_error_deg" in reason
    assert not beats({**shipped, "mask_iou": 0.89, "photometric_rmse": 5.0}, shipped)[0]
    assert not beats(dict(shipped), shipped)[0]


def test_boolean_flags_read_true_and_false():
    config, _ = parse_config(["--out", "x", "--crop-alignment", "false"])
    assert config.crop_alignment is False
    config, _ = parse_config(["--out", "x", "--crop-alignment", "true", "--steps", "7"])
    assert config.crop_alignment is True and config.steps == 7
    with pytest.raises(SystemExit):
        parse_config(["--out", "x", "--crop-alignment", "maybe"])


def test_learning_rate_schedule():
    config = TrainConfig(steps=100, warmup_steps=10, learning_rate=1.0)
    assert learning_rate(config, 0) == pytest.approx(0.1)
    assert learning_rate(config, 10) == pytest.approx(1.0)
    assert learning_rate(config, 100) == pytest.approx(0.05)


@pytest.mark.parametrize("architecture", ["alexnet", "compact"])
def test_checkpoint_round_trip(model, tmp_path, architecture):
    config = NetworkConfig.for_model(model, architecture, 96)
    network = build_network(architecture, 96, model.layout.size).eval()
    images = torch.rand(2, 3, 96, 96) - 0.5
    path = save_checkpoint(tmp_path / "net.safetensors", network, config, {"note": 1})
    loaded, loaded_config = load_network(path, model)
    assert loaded_config == config
    torch.testing.assert_close(loaded(images), network(images))
    assert json.loads(path.with_suffix(".json").read_text())["note"] == 1
    half, _ = load_network(save_checkpoint(tmp_path / "half.safetensors", network, config, half=True), model)
    torch.testing.assert_close(half(images), network(images), atol=2e-3, rtol=1e-2)


def test_bad_checkpoints_raise(model, tmp_path):
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 64)
    with pytest.raises(CheckpointError):
        load_network(garbage, model)
    with pytest.raises(CheckpointError, match="not found"):
        load_network(tmp_path / "missing.safetensors")
    other = NetworkConfig("compact", 64, model.n_shape + 1, model.n_expression, model.n_albedo, "x")
    path = save_checkpoint(tmp_path / "other.safetensors", build_network("compact", 64, other.layout.size), other)
    with pytest.raises(CheckpointError, match="predicts"):
        load_network(path, model)


def tiny_config(**changes) -> TrainConfig:
    base = {"input_size": 64, "batch_size": 2, "steps": 4, "validate_every": 2, "validation_size": 4}
    return TrainConfig(**{**base, **changes})


def test_training_writes_checkpoints_and_resumes(model, tmp_path):
    out = tmp_path / "run"
    metrics_first = train(tiny_config(), out, model)
    assert {"last.safetensors", "best.safetensors", "optimizer.safetensors", "log.csv", "loss.png"} <= {
        p.name for p in out.iterdir()
    }
    assert np.isfinite(metrics_first["val_loss"])
    train(tiny_config(steps=6), out, model)  # resumes at step 4
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4, 5, 6]
    assert json.loads((out / "last.json").read_text())["step"] == 6
    with (out / "log.csv").open("a") as log:  # an interrupted run logged step 7 after the checkpoint at 6
        log.write("7,1,,0.001,10\n")
    train(tiny_config(steps=8), out, model)
    rows = (out / "log.csv").read_text().strip().splitlines()
    assert [int(r.split(",")[0]) for r in rows[1:]] == [1, 2, 3, 4, 5, 6, 7, 8]


def test_worker_processes_render_the_same_batches_in_order(model):
    stream = SyntheticStream(model, 32, 2, seed=3, realism=Realism(share=0.5))
    expected = list(batches(stream, 4, 8, workers=0))
    rendered = list(batches(stream, 4, 8, workers=2))
    assert len(rendered) == len(expected) == 4
    assert list(batches(stream, 9, 8, workers=2)) == []  # a run resumed at or past its end renders nothing
    for (inputs, targets), (want_inputs, want_targets) in zip(rendered, expected, strict=True):
        np.testing.assert_array_equal(inputs.numpy(), want_inputs)
        np.testing.assert_array_equal(targets.numpy(), want_targets)


@pytest.mark.parametrize("architecture", ["compact", "alexnet"])  # alexnet: dropout draws from torch's generator
def test_a_run_with_workers_trains_as_one_without(model, tmp_path, architecture):
    train(tiny_config(threads=1, architecture=architecture), tmp_path / "in_loop", model)
    train(tiny_config(threads=1, architecture=architecture, workers=1), tmp_path / "workers", model)
    assert_tensors_equal(load_file(tmp_path / "workers" / "last.safetensors"),
                         load_file(tmp_path / "in_loop" / "last.safetensors"))  # fmt: skip


def test_the_moving_average_is_validated_and_kept_as_best(model, tmp_path):
    out = tmp_path / "run"
    config = tiny_config(steps=1, validate_every=1, ema_decay=0.5)
    train(config, out, model)
    first = load_file(out / "last.safetensors")
    assert_tensors_equal(load_file(out / "best.safetensors"), first)  # the average starts as a copy
    train(replace(config, steps=2), out, model)  # resumes the average too
    second = load_file(out / "last.safetensors")
    expected = {name: (first[name] + second[name]) / 2 for name in first if first[name].is_floating_point()}
    assert_tensors_equal({name: load_file(out / "average.safetensors")[name] for name in expected}, expected)
    assert not torch.equal(first["head.2.weight"], second["head.2.weight"])


def test_a_soup_is_the_mean_of_its_networks_weights(model, tmp_path):
    config = NetworkConfig.for_model(model, "compact", 64)
    paths = []
    for seed in range(3):
        torch.manual_seed(seed)
        network = build_network("compact", 64, config.n_outputs)
        paths.append(save_checkpoint(tmp_path / f"net{seed}.safetensors", network, config))
    out = soup(paths, tmp_path / "soup.safetensors")
    weights = [load_file(path) for path in paths]
    expected = {name: sum(w[name] for w in weights) / 3 for name in weights[0] if weights[0][name].is_floating_point()}
    mixed = load_file(out)
    assert_tensors_equal({name: mixed[name] for name in expected}, expected)
    assert json.loads(out.with_suffix(".json").read_text())["soup_of"] == [str(p) for p in paths]
    other = save_checkpoint(tmp_path / "other.safetensors", build_network("compact", 64, config.n_outputs),
                            replace(config, input_mask="none"))  # fmt: skip
    with pytest.raises(CheckpointError, match="another network"):
        soup([paths[0], other], tmp_path / "bad.safetensors")
    shipped = save_checkpoint(tmp_path / "shipped.safetensors", build_network("compact", 64, config.n_outputs),
                              replace(config, mirror_reading=True))  # a fine-tune's start, shipped reading both ways
    assert load_network(soup([shipped, paths[0]], tmp_path / "both.safetensors"))[1].mirror_reading


def test_a_masked_network_joins_a_soup_of_split_ones_as_it_reads(model, tmp_path):
    """A split fine-tune and the masked network it started from: the soup's first layer holds the mean of the
    split weights and of the masked ones padded with zeros; the rest is the plain mean."""
    config = NetworkConfig.for_model(model, "compact", 64)
    torch.manual_seed(0)
    masked = save_checkpoint(tmp_path / "masked.safetensors", build_network("compact", 64, config.n_outputs), config)
    split_config = replace(config, input_mask="split")
    split = save_checkpoint(tmp_path / "split.safetensors", build_network("compact", 64, config.n_outputs, split=True),
                            split_config)  # fmt: skip
    out = soup([masked, split], tmp_path / "soup.safetensors")
    assert load_network(out)[1] == split_config
    have, one, two = (load_file(p) for p in (out, masked, split))
    for name, tensor in two.items():
        if not tensor.is_floating_point():
            continue
        first = one[name]
        if first.shape != tensor.shape:  # the first layer: 3 colour channels of 7
            first = torch.cat([first, torch.zeros_like(tensor[:, first.shape[1] :])], dim=1)
        torch.testing.assert_close(have[name], (first + tensor) / 2, msg=name)


def test_the_shipping_report_leaves_a_dash_where_a_row_has_no_value():
    rows = {"oracle": {"rotation_error_deg": 0.91}, "real path": {"rotation_error_deg": 2.5, "detected": 0.925}}
    assert report_markdown(rows).splitlines()[2:] == ["| oracle | 0.910 | – |", "| real path | 2.500 | 0.925 |"]


def assert_tensors_equal(have: dict, want: dict) -> None:
    assert have.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(have[name], want[name], rtol=1e-6, atol=1e-7)


def test_training_cli_with_torchrun_ddp(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "training.train",
               "--out", str(tmp_path / "ddp"), "--input-size", "64", "--batch-size", "2", "--steps", "2",
               "--validate-every", "2", "--validation-size", "2"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "ddp" / "last.safetensors").exists()


@pytest.mark.parametrize("teacher", ["network", "fit"])
def test_bootstrap_round_on_a_photo(model, tmp_path, teacher, monkeypatch):
    from training import bootstrap as module

    pools = []  # the labels each round trains on: what the teacher made of the photo

    def recording_stream(*args, pool=None, **kwargs):
        pools.append(pool)
        return SyntheticStream(*args, pool=pool, **kwargs)

    monkeypatch.setattr(module, "SyntheticStream", recording_stream)
    start = tmp_path / "start.safetensors"
    save_checkpoint(
        start, build_network("compact", 64, model.layout.size), NetworkConfig.for_model(model, "compact", 64)
    )
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(EXAMPLE.read_bytes())
    (photos / "notes.txt").write_text("not a photo")
    validation = SyntheticStream(model, 64, 4, seed=1).batch(0)
    history = bootstrap(photos, start, tmp_path / "boot", rounds=1, steps=2, noise=1.0, batch_size=2,
                        validation=validation, teacher=teacher, realism=Realism())  # fmt: skip
    assert history[0]["faces"] == 1 and np.isfinite(history[0]["val_loss"])
    assert (tmp_path / "boot" / "round1" / "last.safetensors").exists()
    faces = module.photo_faces(photos, LandmarkDetector())
    predictor = Predictor.load(start, model)
    expected = (predictor(module.photo_inputs(faces, predictor.config)).pack() if teacher == "network"
                else module.fit_labels(faces, model, predictor))  # fmt: skip
    (pool,) = pools
    np.testing.assert_allclose(pool, expected, atol=1e-4 if teacher == "network" else 5e-2)


def test_metrics_of_the_truth_are_perfect(model):
    truth = held_out_set(model, 3)
    result = metrics(model, truth, truth)
    assert result["model_space_loss"] == 0 and result["geometric_rmse_mm"] == 0 and result["yaw_error_deg"] == 0
    assert result["photometric_rmse"] < 1e-3 and result["mask_iou"] == pytest.approx(1.0)
    worse = metrics(model, truth, FaceParameters.neutral(model.layout, 3))
    assert worse["geometric_rmse_mm"] > 1 and worse["rotation_error_deg"] > 1
    turned = turned_faces(model, 3, 1, (50, 60), seed=1)
    yaw = np.abs(np.degrees(turned.rotation[:, 1]))
    assert (50 <= yaw).all() and (yaw <= 60).all()
    np.testing.assert_array_equal(turned.shape, held_out_set(model, 300).shape[:3])  # the realistic row's faces
    rotation = turned.rotation + np.radians([0.0, 5.0, 0.0], dtype=np.float32)  # yaw 5 deg off, the rest exact
    yawed = metrics(model, turned, replace(turned, rotation=rotation))
    assert yawed["yaw_error_deg"] == pytest.approx(5.0, abs=1e-3)
    assert yawed["rotation_error_deg"] == pytest.approx(5.0 / 3, abs=1e-3)


def test_placement_of_the_truth_lands_on_the_true_points(model):
    """The real path's placement error: the true face, framed by the crop rule on its own points, projects back onto
    the points a render put in the photo; moving them by a tenth of the eyes' distance costs 0.1."""
    truth = held_out_set(model, 1)
    _, points = photo_of_face(model, truth, np.random.default_rng(0))
    crop = crop_for_landmarks(points, 128)
    placed = projected(model, truth, crop, cam.DEFAULT_CAMERA)
    assert placement_error(placed, points) < 1e-4
    eyes = np.linalg.norm(points[33] - points[263])
    assert placement_error(placed + [0.1 * eyes, 0], points) == pytest.approx(0.1, abs=1e-4)
    frontal = replace(truth, rotation=np.zeros_like(truth.rotation))
    assert placement_error(projected(model, frontal, crop, cam.DEFAULT_CAMERA), points) > 0.01


def test_the_real_paths_photos_are_the_same_for_every_caller_and_its_face_the_nearest(model):
    """Two runs over the same faces draw the same photos (one seed, in order), and of the faces found in a photo the
    one centred on the true face is scored, wherever it is in the list; none found is None."""
    truth = held_out_set(model, 2)
    first, again = list(realistic_photos(model, truth)), list(realistic_photos(model, truth))
    for (photo, points), (photo_again, points_again) in zip(first, again, strict=True):
        np.testing.assert_array_equal(photo, photo_again)
        np.testing.assert_array_equal(points, points_again)
    assert not np.array_equal(first[0][0], first[1][0])  # each face its own photo
    points = first[0][1]
    elsewhere = points + [np.ptp(points[:, 0]) * 2, 0]
    assert nearest_face([elsewhere, points + 1.0], points) == 1
    assert nearest_face([points + 1.0, elsewhere], points) == 0
    assert nearest_face([], points) is None


def test_reconstructor_uses_a_network_checkpoint(model, tmp_path, capsys):
    path = save_checkpoint(tmp_path / "net.safetensors", build_network("compact", 64, model.layout.size),
                           NetworkConfig.for_model(model, "compact", 64))  # fmt: skip
    reconstructor = Reconstructor(model, predictor=Predictor.load(path, model), fit_mode=None)
    assert "network" in reconstructor.description
    face = reconstructor(EXAMPLE)[0]
    assert "network" in face.ms and "fit_landmarks" not in face.ms
    status = cli([str(EXAMPLE), "--out", str(tmp_path / "out"), "--checkpoint", str(path), "--no-fit", "--json"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["faces"][0]["ms"]["network"] > 0


def test_experiment_runs_end_to_end_at_toy_scale(tmp_path, monkeypatch):
    from training import experiment

    monkeypatch.setattr(experiment, "TrainConfig", lambda **kw: TrainConfig(**{**kw, **_TOY}))
    experiment.main(["--out", str(tmp_path), "--initial-steps", "2", "--rounds", "1", "--steps-per-round", "2",
                     "--unlabelled", "2", "--validation", "4", "--seeds", "2"])  # fmt: skip
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["loss_ablation"]) == {"model", "l2"}
    assert [r["round"] for r in report["bootstrapping"]["bootstrapping"]] == [0, 1]
    baseline = report["bootstrapping"]["baseline"][1]
    assert baseline["seeds"] == 2 and "mask_iou_sd" in baseline
    assert (tmp_path / "bootstrapping.png").exists() and (tmp_path / "report.md").exists()


_TOY = {"input_size": 64, "batch_size": 2, "validation_size": 4}


def test_shipped_network_recovers_pose_on_held_out_renders(model):
    from inversefacenet.checkpoint import DEFAULT_CHECKPOINT
    from training.evaluate import predict

    predictor = Predictor.load(DEFAULT_CHECKPOINT, model)
    assert predictor.config.face_model_sha256 == model.sha256
    truth = held_out_set(model, 24)
    predicted = predict(predictor, model, truth)
    assert np.degrees(np.abs(predicted.rotation - truth.rotation)).mean() < 3
    mean = FaceParameters.neutral(model.layout, 24)
    assert metrics(model, truth, predicted)["geometric_rmse_mm"] < metrics(model, truth, mean)["geometric_rmse_mm"]


def test_ablation_trains_one_arm_per_switch_and_resumes(model, tmp_path, monkeypatch):
    from training import ablation

    start = tmp_path / "start.safetensors"
    config = NetworkConfig.for_model(model, "compact", 64)
    save_checkpoint(start, build_network("compact", 64, model.layout.size), config)
    shared = ablation.shared_config
    monkeypatch.setattr(ablation, "shared_config", lambda init, steps: replace(shared(init, steps), **_TOY))
    argv = ["--out", str(tmp_path / "arms"), "--init", str(start), "--steps", "1", "--count", "2", "--realistic", "1"]
    ablation.main(argv)
    report = json.loads((tmp_path / "arms" / "ablation.json").read_text())["results"]
    assert list(report) == ["start", *ablation.ARMS]
    configs = {name: json.loads((tmp_path / "arms" / name.replace(" ", "_") / "config.json").read_text())
               for name in ablation.ARMS}  # fmt: skip
    assert configs["no occluders"]["realism_without"] == "occluders" and configs["all parts"]["realism_without"] == ""
    assert configs["no harsh light"]["distribution"] == "paper" and configs["clean renders"]["realism"] == 0.0
    assert all(c["init"] == str(start) and c["steps"] == 1 for c in configs.values())
    weights = tmp_path / "arms" / "all_parts" / "last.safetensors"
    before = weights.stat().st_mtime_ns
    ablation.main(argv)  # finished arms are read back, not trained again
    assert weights.stat().st_mtime_ns == before
    assert (tmp_path / "arms" / "ablation.png").exists()
    assert "| no camera |" in (tmp_path / "arms" / "ablation.md").read_text()


def test_a_run_stopped_while_saving_resumes_from_the_last_whole_state(tmp_path, monkeypatch):
    """Ctrl-C during a save left a half-written optimizer.safetensors that the resumed run could not read."""
    import training.train as training_module

    network = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(network.parameters())
    network(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    path = tmp_path / "optimizer.safetensors"
    save_optimizer(path, optimizer)
    saved = training_module.save_file

    def half_then_interrupt(tensors, filename, metadata=None):
        saved(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as file:
            file.truncate(os.path.getsize(filename) // 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(training_module, "save_file", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_optimizer(path, optimizer)
    monkeypatch.undo()
    fresh = torch.optim.AdamW(network.parameters())
    load_optimizer(path, fresh)
    assert torch.equal(fresh.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
    assert [p.name for p in tmp_path.iterdir()] == ["optimizer.safetensors"]
