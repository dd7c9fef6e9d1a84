"""Checkpoint -> the int8 graph the CPU predictor runs (about 3x faster than float, as accurate on the realistic row).

    python -m export.quantize assets/inversefacenet.safetensors [--calibration 64] [--realistic 200]
                              [--report reports/onnx/int8.json]

Writes the graph beside the checkpoint, ``<name>_int8.onnx`` (``assets/inversefacenet_int8.onnx``).

Static quantization by ONNX Runtime: weights int8 per output channel (7 bits used, ``reduce_range``: full 8-bit
weights against uint8 activations can saturate on x86 CPUs without VNNI, and on this one with VNNI 7 bits scored
the same on the realistic row), activations uint8 with ranges calibrated
(99.999th percentile) on the network's inputs from photo-like renders of training faces (not the held-out set) sent
through the real photo path (MediaPipe, crop rule, mask). The head's last layer stays float: quantized, it cost the
crop alignment 7 % of its placement accuracy. A "split" network's first convolution is quantized as two
(:func:`split_stem`): its weights on the colours inside the face mask are some 40 times those on the mask and the
colours outside it, and one 7-bit scale per output channel rounded the latter away (a network trained on flipped
crops read clean renders 2.1 mm off its float self; split, 0.24 mm). The graph carries its preprocessing (as
``export.onnx``'s) and the sha256 of the checkpoint it came from, so the predictor never pairs it with other weights
(:meth:`inversefacenet.predictor.OnnxPredictor.load_int8`). ``--realistic N`` then scores the float and the int8
graph on the realistic row's first N faces (network alone, ``training.evaluate``'s real path) and times both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

from export.onnx import export_fp32, parity
from inversefacenet.checkpoint import NetworkConfig, channels_first, load_network
from inversefacenet.detection import LandmarkDetector
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.predictor import QUANTIZED_FROM_KEY, OnnxPredictor, int8_path
from inversefacenet.preprocess import INPUT_CHANNELS, face_input
from training.corpus import held_out_set, sample_parameters
from training.evaluate import REALISTIC_OF, nearest_face, real_path
from training.realism import PHOTO, photo_of_face

CALIBRATION_SEED = 5_301
"""Seed of the calibration faces, drawn like training faces (the held-out set has its own seed)."""


def calibration_inputs(model: FaceModel, config: NetworkConfig, count: int) -> list[np.ndarray]:
    """(1, C, S, S) network inputs of ``count`` photo-like renders, cut by the crop rule on MediaPipe's points (faces
    it misses are skipped)."""
    rng = np.random.default_rng(CALIBRATION_SEED)
    faces = sample_parameters(model, count, rng)
    detector, inputs = LandmarkDetector(), []
    for k in range(count):
        photo, points = photo_of_face(model, faces.select(slice(k, k + 1)), rng, realism=PHOTO)
        found = [face.landmarks for face in detector(photo)]
        nearest = nearest_face(found, points)
        if nearest is not None:
            image = face_input(photo, found[nearest], config.input_size, config.camera, config.input_mask)
            inputs.append(channels_first(image[None], config))
    detector.close()
    return inputs


class _Inputs(CalibrationDataReader):
    def __init__(self, inputs: list[np.ndarray]) -> None:
        self.inputs = iter(inputs)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.inputs, None)
        return None if batch is None else {"image": batch}


def split_stem(graph: onnx.ModelProto) -> onnx.ModelProto:
    """The same function with a "split" network's first convolution, conv(concat(inside, mask, outside)), as
    conv(inside) + conv(concat(mask, outside)), so that each half gets its own weight scales when quantized; other
    graphs unchanged."""
    graph = onnx.shape_inference.infer_shapes(graph)
    nodes = graph.graph.node
    index, stem = next((k, node) for k, node in enumerate(nodes) if node.op_type == "Conv")
    concat = nodes[index - 1]
    if concat.op_type != "Concat" or concat.output[0] != stem.input[0] or len(concat.input) != 3:
        return graph
    shapes = {info.name: info.type.tensor_type.shape for info in graph.graph.value_info}
    inside = shapes[concat.input[0]].dim[1].dim_value
    initializers = {tensor.name: tensor for tensor in graph.graph.initializer}
    weights = numpy_helper.to_array(initializers[stem.input[1]])
    graph.graph.initializer.remove(initializers[stem.input[1]])
    graph.graph.initializer.extend([numpy_helper.from_array(weights[:, :inside], "stem_inside_weights"),
                                    numpy_helper.from_array(weights[:, inside:], "stem_rest_weights")])  # fmt: skip
    halves = [
        helper.make_node("Concat", list(concat.input[1:]), ["stem_rest_input"], "stem_rest_concat", axis=1),
        helper.make_node(
            "Conv", [concat.input[0], "stem_inside_weights", *stem.input[2:]], ["stem_inside"], "stem_inside_conv"
        ),  # fmt: skip
        helper.make_node("Conv", ["stem_rest_input", "stem_rest_weights"], ["stem_rest"], "stem_rest_conv"),
        helper.make_node("Add", ["stem_inside", "stem_rest"], list(stem.output), "stem_add"),
    ]
    for conv in halves[1:3]:
        conv.attribute.extend(stem.attribute)
    nodes.remove(stem)
    if not any(concat.output[0] in node.input for node in nodes):  # the stem was its only reader
        nodes.remove(concat)
        index -= 1
    for offset, node in enumerate(halves):
        nodes.insert(index + offset, node)
    return graph


def quantize(graph: onnx.ModelProto, inputs: list[np.ndarray], checkpoint_sha256: str, split: bool = True,
             keep_float: tuple[str, ...] = ()) -> onnx.ModelProto:  # fmt: skip
    """The int8 graph of a float one (its metadata kept), the head's last Gemm and the nodes named in ``keep_float``
    left float, a split network's first convolution in two halves (:func:`split_stem`; ``split=False``: not)."""
    gemms = [node.name for node in graph.graph.node if node.op_type == "Gemm"]
    if not gemms:
        raise ValueError("the graph has no Gemm head to keep float: is it InverseFaceNet's network?")
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder) / "float.onnx", Path(folder) / "int8.onnx"
        onnx.save(split_stem(graph) if split else graph, source)
        quantize_static(source, target, _Inputs(inputs), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True,
                        calibrate_method=CalibrationMethod.Percentile,
                        nodes_to_exclude=[gemms[-1], *keep_float])  # fmt: skip
        quantized = onnx.load(target)
    properties = {prop.key: prop.value for prop in graph.metadata_props}
    onnx.helper.set_model_props(quantized, {**properties, QUANTIZED_FROM_KEY: checkpoint_sha256})
    return quantized


def forward_ms(predictor: OnnxPredictor, repeats: int = 200) -> float:
    """Median ms of one reading at batch 1 (one thread), after a warm-up."""
    config = predictor.config
    shape = (1, config.input_size, config.input_size, INPUT_CHANNELS[config.input_mask])
    image = np.random.default_rng(0).uniform(-0.5, 0.5, shape).astype(np.float32)
    times = []
    for k in range(repeats + 20):
        start = time.perf_counter()
        predictor.outputs(image)
        if k >= 20:
            times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


CLEAN_RENDERS = 64
"""Held-out clean renders on which the int8 graph is compared with the float network (oracle crops and masks)."""
CLEAN_LIMIT_MM = 0.5
"""How far (geometric RMSE, mm) the int8 graph's readings of those renders may lie from the float network's."""


def compare(model: FaceModel, checkpoint: Path, count: int) -> dict[str, dict[str, float]]:
    """The float and the int8 graph on the realistic row's first ``count`` faces (network alone), and their ms; and
    how far the int8 graph's raw outputs lie from the float network's on :data:`CLEAN_RENDERS` clean renders."""
    truth = held_out_set(model, REALISTIC_OF).select(slice(0, count))
    rows, int8 = {}, OnnxPredictor.load_int8(checkpoint, model, threads=1)
    if int8 is None:
        raise ValueError(f"no int8 graph quantized from {checkpoint} beside it")
    for name, predictor in (("float", OnnxPredictor.load(checkpoint, model, threads=1)), ("int8", int8)):
        scores = real_path(model, predictor, truth, fit=False)["network (real path)"]
        rows[name] = {**scores, "ms_batch1_one_thread": forward_ms(predictor)}
        print(name, json.dumps(rows[name]), flush=True)
    network, config = load_network(checkpoint, model)
    rows["int8_on_clean_renders"] = parity({"int8": onnx.load(int8_path(checkpoint))}, network, config, model,
                                           CLEAN_RENDERS)["int8"]  # fmt: skip
    print("int8 against float on clean renders", json.dumps(rows["int8_on_clean_renders"]), flush=True)
    return rows


def write_int8(checkpoint: Path, calibration: int = 64) -> int:
    """Quantize ``checkpoint`` into :func:`int8_path` beside it (replaced at once: never half written); returns how
    many faces calibrated it."""
    model = FaceModel.load()
    network, config = load_network(checkpoint, model)
    inputs = calibration_inputs(model, config, calibration)
    out = int8_path(checkpoint)
    partial = out.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(quantize(export_fp32(network, config), inputs, hashlib.sha256(checkpoint.read_bytes()).hexdigest()),
              partial)  # fmt: skip
    partial.replace(out)
    print(f"{out}: {out.stat().st_size / 1e6:.2f} MB, calibrated on {len(inputs)} photo-like faces")
    return len(inputs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--calibration", type=int, default=64, help="photo-like renders the ranges come from")
    parser.add_argument("--realistic", type=int, default=0, help="score float and int8 on this many faces (0: no)")
    parser.add_argument("--report", type=Path, default=Path("reports/onnx/int8.json"))
    args = parser.parse_args(argv)
    faces = write_int8(args.checkpoint, args.calibration)
    if args.realistic:
        rows = compare(FaceModel.load(), args.checkpoint, args.realistic)
        command = " ".join(["python -m export.quantize", *(sys.argv[1:] if argv is None else argv)])
        args.report.parent.mkdir(parents=True, exist_ok=True)
        report = {"command": command, "calibration_faces": faces, "faces": args.realistic, "rows": rows}
        args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
