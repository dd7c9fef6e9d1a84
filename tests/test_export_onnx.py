"""ONNX variants of the shipped network and the face model as the web page will read it."""

import json
from dataclasses import asdict, replace

import numpy as np
import onnx
import pytest
import torch
from safetensors.torch import load_file, save_file

from export.onnx import (
    PREPROCESSING_KEY,
    export_facemodel,
    export_fp32,
    main,
    preprocessing,
    session_for,
    to_fp16,
    to_int8_weights,
)
from export.quantize import CLEAN_LIMIT_MM, split_stem
from inversefacenet.atlas import UVAtlas
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, load_network, save_checkpoint
from inversefacenet.lighting import PRESETS
from inversefacenet.networks import build_network
from inversefacenet.params import EXPRESSION_CONTROLS
from inversefacenet.preprocess import INPUT_CHANNELS


@pytest.fixture(scope="module")
def shipped(model):
    return load_network(DEFAULT_CHECKPOINT, model)


@pytest.fixture(scope="module")
def inputs(shipped):
    config = shipped[1]
    shape = (3, INPUT_CHANNELS[config.input_mask], config.input_size, config.input_size)
    return np.random.default_rng(0).uniform(-0.5, 0.5, shape).astype(np.float32)


def test_variants_agree_with_torch(shipped, inputs):
    network, config = shipped
    with torch.no_grad():
        reference = network.eval()(torch.as_tensor(inputs)).numpy()
    fp32 = export_fp32(network, config)
    scale = np.abs(reference).max()
    for model, tolerance in ((fp32, 1e-4), (to_fp16(fp32), 2e-2), (to_int8_weights(fp32), 0.1)):
        output = session_for(model).run(None, {"image": inputs})[0]
        assert output.shape == reference.shape  # the batch axis is dynamic
        assert np.abs(output - reference).max() <= tolerance * scale
    sizes = [m.ByteSize() for m in (fp32, to_fp16(fp32), to_int8_weights(fp32))]
    assert sizes[1] < 0.55 * sizes[0] and sizes[2] < 0.3 * sizes[0]
    fp16_types = {t.data_type for t in to_fp16(fp32).graph.initializer}
    assert onnx.TensorProto.FLOAT not in fp16_types


def test_the_split_stem_quantized_in_halves_is_the_same_function(shipped, inputs):
    """``export.quantize`` splits a split network's first convolution in two so that the small weights on the mask
    and the colours outside it get scales of their own; in float it computes what the network does."""
    network, config = shipped
    fp32 = export_fp32(network, config)
    halves = split_stem(fp32)
    convs = [[node for node in graph.graph.node if node.op_type == "Conv"] for graph in (fp32, halves)]
    assert config.input_mask == "split" and len(convs[1]) == len(convs[0]) + 1
    reference = session_for(fp32).run(None, {"image": inputs})[0]
    output = session_for(halves).run(None, {"image": inputs})[0]
    assert np.abs(output - reference).max() <= 1e-5 * np.abs(reference).max()
    masked = build_network("compact", config.input_size, config.layout.size, split=False)
    plain = export_fp32(masked, replace(config, input_mask="face"))
    assert [n.op_type for n in split_stem(plain).graph.node] == [n.op_type for n in plain.graph.node]


def test_face_model_file_rebuilds_the_geometry(model, shipped, tmp_path):
    export_facemodel(model, shipped[1], tmp_path)
    index = json.loads((tmp_path / "facemodel.json").read_text())
    blob = (tmp_path / "facemodel.bin").read_bytes()

    def array(name):
        entry = index["arrays"][name]
        count = int(np.prod(entry["shape"]))
        return np.frombuffer(blob, entry["dtype"], count, entry["offset"]).reshape(entry["shape"])

    rng = np.random.default_rng(1)
    shape, expression = rng.normal(size=(1, model.n_shape)), rng.uniform(0, 1, (1, model.n_expression))
    # what the page does: mean + sum_k coefficient_k * (sigma_k * basis_k)
    rebuilt = (array("vertices_mean") + np.tensordot(shape[0], array("shape_basis").astype(np.float64), 1)
               + np.tensordot(expression[0], array("expression_basis").astype(np.float64), 1))  # fmt: skip
    np.testing.assert_allclose(rebuilt, model.geometry(shape, expression)[0], atol=0.05)
    assert np.array_equal(array("triangles"), model.triangles)
    assert np.array_equal(array("landmarks_mediapipe"), model.landmarks_mediapipe)
    assert index["parameter_layout"]["sh"][1] == model.layout.size
    assert index["expression_names"] == model.expression_names
    assert index["expression_sliders"] == list(EXPRESSION_CONTROLS)  # the page offers the app's sliders
    assert index["light_presets"]["sunset"]["colour"] == list(PRESETS["sunset"].colour)  # and its lights


def test_every_variant_carries_its_checkpoints_preprocessing(model, shipped, tmp_path):
    network, config = shipped
    other = replace(config, crop_scale=1.4, camera_distance_mm=800.0)  # a network trained with another crop rule
    fp32 = export_fp32(network, other)
    export_facemodel(model, other, tmp_path)
    page = json.loads((tmp_path / "facemodel.json").read_text())["network"]
    for variant in (fp32, to_fp16(fp32), to_int8_weights(fp32)):
        stored = json.loads({p.key: p.value for p in variant.metadata_props}[PREPROCESSING_KEY])
        assert stored == page
        assert (stored["crop_scale"], stored["camera_distance_mm"]) == (1.4, 800.0)
        assert stored["input_size"] == config.input_size and stored["face_model_sha256"] == model.sha256
        assert stored["parameter_layout"]["sh"] == [config.layout.slices["sh"].start, config.layout.size]


def test_the_input_range_follows_the_mask_rule_and_old_checkpoints_still_load(model, shipped, tmp_path):
    """Older checkpoints stored the range as a field that said "0 outside the face mask" for every
    rule; the export now writes it by ``input_mask``, and a checkpoint that still stores it loads."""
    network, config = shipped
    rules = ("face", "none", "split")
    ranges = {rule: preprocessing(replace(config, input_mask=rule))["input_range"] for rule in rules}
    assert "0 outside the face mask" in ranges["face"] and "mask" not in ranges["none"]
    assert "1 inside" in ranges["split"] and "0 outside the face mask" not in ranges["split"]
    with pytest.raises(ValueError, match="no input rule 'soft'"):  # a training experiment the page cannot read
        preprocessing(replace(config, input_mask="soft"))
    path = tmp_path / "old.safetensors"
    save_checkpoint(path, network, config)
    old = {**asdict(config), "input_range": "rgb in [-0.5, 0.5], 0 outside the face mask"}
    save_file(load_file(str(path)), str(path), metadata={"config": json.dumps(old)})
    assert load_network(path, model)[1] == config


def test_face_model_file_carries_the_uv_atlas_the_downloads_use_and_the_live_mesh(model, shipped, tmp_path):
    export_facemodel(model, shipped[1], tmp_path)
    index = json.loads((tmp_path / "facemodel.json").read_text())
    blob = (tmp_path / "facemodel.bin").read_bytes()
    atlas = UVAtlas.for_model(model)
    for name in ("vertex", "weight", "uv", "triangles"):
        entry, expected = index["arrays"][f"atlas_{name}"], getattr(atlas, name)
        stored = np.frombuffer(blob, entry["dtype"], int(np.prod(entry["shape"])), entry["offset"])
        np.testing.assert_array_equal(stored.reshape(entry["shape"]), expected)
    assert "uv" not in index["arrays"]  # the cylindrical uv (overlapping charts) is not shipped
    live = model.coarse_region_mesh()
    for name in ("vertex", "weight", "triangles"):
        entry = index["arrays"][f"live_{name}"]
        stored = np.frombuffer(blob, entry["dtype"], int(np.prod(entry["shape"])), entry["offset"])
        np.testing.assert_allclose(stored.reshape(entry["shape"]), getattr(live, name), rtol=1e-6)
    assert index["atlas_cap_first"] == atlas.cap_first == len(atlas.triangles) - len(model.mouth_cap())
    # the live level is closed at the throat too: no open edge there (its points that are model vertices)
    plain = live.weight == 0
    t = live.triangles
    edges = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    rim = np.unique(unique[counts == 1])
    assert not model.mask_mouth_interior[live.vertex[rim[plain[rim]], 0]].any()


def test_cli_writes_every_file_and_a_parity_report(tmp_path, capsys):
    main([str(DEFAULT_CHECKPOINT), "--out", str(tmp_path), "--count", "8"])
    names = {p.name for p in tmp_path.iterdir()}
    assert {f"inversefacenet_{v}.onnx" for v in ("fp32", "fp16", "int8w", "int8")} <= names
    assert {"facemodel.bin", "facemodel.json", "parity.json", "parity.md"} <= names
    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["fp32"]["max_parameter_error"] < 1e-3 and report["fp32"]["geometric_rmse_mm"] < 1e-3
    assert 0 < report["int8w"]["geometric_rmse_mm"] < 0.5 and 0 < report["int8"]["geometric_rmse_mm"] < CLEAN_LIMIT_MM
    assert "| fp16 |" in capsys.readouterr().out
