"""Checkpoint -> ONNX variants for the browser, with the face model and preprocessing constants.

    python -m export.onnx assets/inversefacenet.safetensors --out build/web [--count 200]

Writes, into --out:
- ``inversefacenet_fp32.onnx``: the network as trained (float32 weights and input/output).
- ``inversefacenet_fp16.onnx``: float16 weights and arithmetic, float32 input/output (a WebGPU
  adapter needs ``shader-f16`` for it; without it results were silently zero, so the page checks).
- ``inversefacenet_int8w.onnx``: int8 weights (per output channel) dequantized at load, float32
  arithmetic: a quarter of the download. The network is convolutional (the fully connected head
  holds 2 % of the weights), so 4-bit MatMulNBits, which only covers MatMul, would save nothing.
- ``inversefacenet_int8.onnx``: the int8 graph the Python pipeline runs on a CPU (int8 arithmetic, the
  checkpoint's ``_int8.onnx`` from ``python -m export.quantize``), when one was quantized from this checkpoint.
- ``facemodel.bin`` + ``facemodel.json``: the face model's arrays (bases as float16) with their
  offsets, shapes and dtypes, the parameter layout, camera and crop constants.
- ``parity.json`` / ``parity.md``: per variant its size, ONNX Runtime CPU ms at batch 1, and its
  error against the torch network on the held-out synthetic set (max parameter error, geometric
  RMSE in mm and photometric RMSE between the two predictions' faces).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import helper, numpy_helper

from export.goldens import FACE_MASK_RULE, PAGE_INPUT_MASKS, mirror_arrays, write_goldens
from inversefacenet.atlas import UVAtlas
from inversefacenet.checkpoint import NetworkConfig, load_network
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.lighting import PRESETS
from inversefacenet.metrics import outcomes
from inversefacenet.mirror import ParameterMirror
from inversefacenet.params import EXPRESSION_CONTROLS, FaceParameters
from inversefacenet.predictor import export_onnx, int8_graph
from inversefacenet.preprocess import MASK_CHANNEL_RULES
from training.corpus import held_out_set, render_inputs

PREPROCESSING_KEY = "inversefacenet.preprocessing"
"""The ONNX metadata_props key whose JSON value says how the network's inputs are made."""
VARIANTS = ("fp32", "fp16", "int8w", "int8")


def export_fp32(network: torch.nn.Module, config: NetworkConfig) -> onnx.ModelProto:
    """The network as ONNX with a dynamic batch axis, image (B, C, S, S) -> params (B, P), carrying its
    preprocessing in ``metadata_props`` (so a file on its own says how to cut and scale its inputs)."""
    model = onnx.load_from_string(export_onnx(network, config))
    onnx.helper.set_model_props(model, {PREPROCESSING_KEY: json.dumps(preprocessing(config))})
    return model


MASK_RULES = {
    "face": "face oval filled (cv2.fillPoly, pixel centres) minus inner lips and eyes",
    "none": "none: the whole crop",
    "split": "the whole crop, then the face mask (as for 'face') as a 4th channel, 1 inside",
}
"""The input mask rules the browser page implements (``goldens.PAGE_INPUT_MASKS``) in words, for the metadata's
readers."""
INPUT_RANGES = {
    "face": "rgb in [-0.5, 0.5], 0 outside the face mask",
    "none": "rgb in [-0.5, 0.5]",
    "split": "rgb in [-0.5, 0.5], then the face mask: 1 inside, 0 outside",
}
"""What the input holds under each rule, in words."""


def preprocessing(config: NetworkConfig) -> dict[str, object]:
    """How inputs are made for a checkpoint's network: its crop rule, camera, input size, range and layout. Raises
    ValueError for an input rule the page does not implement."""
    if config.input_mask not in PAGE_INPUT_MASKS:
        raise ValueError(f"the browser page has no input rule {config.input_mask!r}: export a network of one of "
                         f"{PAGE_INPUT_MASKS}")
    return {
        "input_size": config.input_size,
        "input_layout": "NCHW, RGB (pixel / 255 - 0.5), then the input mask" if config.input_mask in MASK_CHANNEL_RULES
        else "NCHW, RGB, (pixel / 255 - 0.5) * input mask",
        "input_range": INPUT_RANGES[config.input_mask],
        "crop_scale": config.crop_scale,
        "crop_rule": "square box of the 468 mesh landmarks x crop_scale, centred",
        "input_mask": config.input_mask,
        "mask_rule": MASK_RULES[config.input_mask],
        "camera_distance_mm": config.camera_distance_mm,
        "parameter_layout": {name: [s.start, s.stop] for name, s in config.layout.slices.items()},
        "crop_alignment": config.crop_alignment,
        "crop_alignment_rule": "outputs [P, P+3) after the parameters: the crop's centre shift (dx, dy, in crop "
        "sides) and log scale of where the crop should be; read the face again there (Crop.aligned)",
        "mirror_reading": config.mirror_reading,
        "mirror_rule": "if mirror_reading: run the input and its left-right flip as a batch of two; the answer is the "
        "mean of the first output and the mirror image of the second (inversefacenet.mirror; maps in facemodel.bin)",
        "face_model_sha256": config.face_model_sha256,
    }


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Float16 weights and arithmetic behind float32 input and output casts."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    for tensor in graph.initializer:
        if tensor.data_type == onnx.TensorProto.FLOAT:
            tensor.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float16), tensor.name))
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.t.data_type == onnx.TensorProto.FLOAT:
                    attribute.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(attribute.t).astype(np.float16)))
    del graph.value_info[:]
    input_name, output_name = graph.input[0].name, graph.output[0].name
    for node in graph.node:
        node.input[:] = [f"{input_name}_fp16" if name == input_name else name for name in node.input]
        node.output[:] = [f"{output_name}_fp16" if name == output_name else name for name in node.output]
    graph.node.insert(0, helper.make_node("Cast", [input_name], [f"{input_name}_fp16"], to=onnx.TensorProto.FLOAT16))
    graph.node.append(helper.make_node("Cast", [f"{output_name}_fp16"], [output_name], to=onnx.TensorProto.FLOAT))
    onnx.checker.check_model(model)
    return model


def to_int8_weights(model: onnx.ModelProto) -> onnx.ModelProto:
    """Conv and Gemm weights stored as int8 with one scale per output channel (symmetric)."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    weights = {node.input[1] for node in graph.node if node.op_type in ("Conv", "Gemm")}
    transposed = {
        node.input[1]
        for node in graph.node
        if node.op_type == "Gemm" and any(a.name == "transB" and a.i == 0 for a in node.attribute)
    }
    kept, dequantize = [], []
    for tensor in graph.initializer:
        if tensor.name not in weights or tensor.data_type != onnx.TensorProto.FLOAT:
            kept.append(tensor)
            continue
        array = numpy_helper.to_array(tensor)
        axis = 1 if tensor.name in transposed else 0
        reduce = tuple(i for i in range(array.ndim) if i != axis)
        scale = np.maximum(np.abs(array).max(axis=reduce), 1e-12) / 127
        shape = [-1 if i == axis else 1 for i in range(array.ndim)]
        quantized = np.clip(np.round(array / scale.reshape(shape)), -127, 127).astype(np.int8)
        kept += [
            numpy_helper.from_array(quantized, f"{tensor.name}_int8"),
            numpy_helper.from_array(scale.astype(np.float32), f"{tensor.name}_scale"),
            numpy_helper.from_array(np.zeros_like(scale, np.int8), f"{tensor.name}_zero"),
        ]
        dequantize.append(
            helper.make_node(
                "DequantizeLinear",
                [f"{tensor.name}_int8", f"{tensor.name}_scale", f"{tensor.name}_zero"],
                [tensor.name],
                axis=axis,
            )
        )
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in reversed(dequantize):
        graph.node.insert(0, node)
    onnx.checker.check_model(model)
    return model


def export_facemodel(model: FaceModel, config: NetworkConfig, out: Path) -> dict[str, int]:
    """facemodel.bin (arrays back to back, 16-byte aligned) + facemodel.json (their index and constants)."""
    atlas, live, mirror = UVAtlas.for_model(model), model.coarse_region_mesh(), ParameterMirror.of(model)
    arrays = {
        "vertices_mean": model.vertices_mean.astype(np.float32),
        "shape_basis": (model.shape_basis * model.shape_std[:, None, None]).astype(np.float16),
        "expression_basis": (model.expression_basis * model.expression_std[:, None, None]).astype(np.float16),
        "albedo_mean": model.albedo_mean.astype(np.float32),
        "albedo_basis": (model.albedo_basis * model.albedo_std[:, None, None]).astype(np.float16),
        "triangles": model.triangles.astype(np.uint32),
        # Downloads use the UV atlas (seams split vertices), as the Python exports do.
        "atlas_vertex": atlas.vertex.astype(np.uint32),
        "atlas_weight": atlas.weight.astype(np.float32),
        "atlas_uv": atlas.uv.astype(np.float32),
        "atlas_triangles": atlas.triangles.astype(np.uint32),
        "atlas_island": atlas.island.astype(np.uint8),  # skin / eyes / mouth interior: the photo texture
        # Live mode's view draws the coarse level's region mesh: a quarter of the triangles at video rate.
        "live_vertex": live.vertex.astype(np.uint32),
        "live_weight": live.weight.astype(np.float32),
        "live_triangles": live.triangles.astype(np.uint32),
        "triangles_coarse": model.triangles_coarse.astype(np.uint32),  # live normals: the coarse level's own mesh
        "landmarks_mediapipe": model.landmarks_mediapipe.astype(np.uint32),
        "landmarks_ibug68": model.landmarks_ibug68.astype(np.uint32),
        "mask_face": model.mask_face.astype(np.uint8),
        **mirror_arrays(mirror),  # a network that reads both ways (preprocessing's mirror_reading)
    }
    index, blob = {}, bytearray()
    for name, array in arrays.items():
        blob += b"\0" * (-len(blob) % 16)
        index[name] = {"offset": len(blob), "dtype": str(array.dtype), "shape": list(array.shape)}
        blob += np.ascontiguousarray(array).tobytes()
    (out / "facemodel.bin").write_bytes(bytes(blob))
    layout = config.layout
    constants = {
        "face_model_sha256": model.sha256,
        "arrays": index,
        "bases_note": "shape/expression/albedo bases are pre-multiplied by their standard deviations",
        "expression_names": model.expression_names,
        "parameter_layout": {name: [s.start, s.stop] for name, s in layout.slices.items()},
        "network": preprocessing(config),  # also in each ONNX file's metadata_props, which the page reads
        "face_mask": FACE_MASK_RULE,
        "atlas_cap_first": atlas.cap_first,  # the mouth's cap from here on: its own normals (export.face_normals)
        "sh_basis": ["1", "y", "z", "x", "xy", "yz", "3z^2-1", "xz", "x^2-y^2"],
        "mirror_sh_sign": mirror.sh_sign.tolist(),
        "expression_sliders": list(EXPRESSION_CONTROLS),  # the Gradio app's sliders, so both UIs offer the same
        "light_presets": {name: asdict(light) for name, light in PRESETS.items()},  # and the same lights
    }
    (out / "facemodel.json").write_text(json.dumps(constants, indent=1))
    return {"facemodel.bin": len(blob)}


def session_for(model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def forward_ms(session: onnxruntime.InferenceSession, image: np.ndarray, repeats: int = 50) -> float:
    """Mean ms of one forward pass on ``image`` (1, C, S, S), after a warm-up pass."""
    image = {"image": np.ascontiguousarray(image)}
    session.run(None, image)
    start = time.perf_counter()
    for _ in range(repeats):
        session.run(None, image)
    return (time.perf_counter() - start) / repeats * 1000


def parity(
    models: dict[str, onnx.ModelProto],
    network: torch.nn.Module,
    config: NetworkConfig,
    face_model: FaceModel,
    count: int,
) -> dict[str, dict[str, float]]:
    """Each variant against the torch network on ``count`` held-out synthetic renders (the outcomes from the face
    parameters; the largest error over every output, the crop alignment's too)."""
    truth = held_out_set(face_model, count)
    inputs = np.concatenate(
        [
            render_inputs(face_model, truth.select(slice(s, s + 64)), config.input_size, mask=config.input_mask)[0]
            for s in range(0, count, 64)
        ]
    ).transpose(0, 3, 1, 2)
    with torch.no_grad():
        reference = network.eval()(torch.as_tensor(np.ascontiguousarray(inputs))).numpy()
    as_params = lambda vector: FaceParameters.unpack(config.layout, vector[:, : config.layout.size])  # noqa: E731
    report = {}
    for name, model in models.items():
        session = session_for(model)
        vector = np.concatenate([session.run(None, {"image": inputs[s : s + 64]})[0] for s in range(0, count, 64)])
        errors = outcomes(face_model, as_params(reference), as_params(vector))
        report[name] = {
            "size_mb": round(model.ByteSize() / 1e6, 2),
            "onnxruntime_cpu_ms": round(forward_ms(session, inputs[:1]), 2),
            "max_parameter_error": float(np.abs(vector - reference).max()),
            "geometric_rmse_mm": round(errors["geometric_rmse_mm"], 4),
            "photometric_rmse": round(errors["photometric_rmse"], 3),
            "rotation_error_deg": round(errors["rotation_error_deg"], 4),
        }
    return report


def write_report(report: dict[str, dict[str, float]], out: Path, count: int) -> str:
    header = "| variant | size MB | ORT CPU ms (batch 1) | max param error | geometric mm | photometric | rotation ° |"
    lines = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in report.items():
        lines.append(
            f"| {name} | {row['size_mb']} | {row['onnxruntime_cpu_ms']} | {row['max_parameter_error']:.2e} | "
            f"{row['geometric_rmse_mm']} | {row['photometric_rmse']} | {row['rotation_error_deg']} |"
        )
    table = "\n".join(lines)
    (out / "parity.md").write_text(
        f"Errors against the torch network on {count} held-out synthetic renders.\n\n{table}\n"
    )
    (out / "parity.json").write_text(json.dumps(report, indent=1))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=200, help="held-out renders for the parity report (0: none)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    face_model = FaceModel.load()
    network, config = load_network(args.checkpoint, face_model)
    fp32 = export_fp32(network, config)
    models = {"fp32": fp32, "fp16": to_fp16(fp32), "int8w": to_int8_weights(fp32)}
    if (int8 := int8_graph(args.checkpoint)) is not None:  # quantized from these very weights
        models["int8"] = onnx.load_from_string(int8)
    (args.out / "inversefacenet_int8.onnx").unlink(missing_ok=True)  # never an earlier checkpoint's beside this one
    for name, model in models.items():
        onnx.save(model, args.out / f"inversefacenet_{name}.onnx")
    export_facemodel(face_model, config, args.out)
    write_goldens(face_model, config.camera, args.out)
    if args.count:
        print(write_report(parity(models, network, config, face_model, args.count), args.out, args.count))
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir()))} to {args.out}")


if __name__ == "__main__":
    main()
