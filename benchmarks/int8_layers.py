"""Which layers the int8 graph loses precision in: each convolution left float in turn, and the first one split.

    python benchmarks/int8_layers.py [assets/inversefacenet.safetensors] [--count 64]

Quantizes the checkpoint as ``export.quantize`` does, with its first convolution whole ("one stem") and split in two
halves ("split stem", what ships), then whole with each convolution in turn left float, and scores every graph's
raw readings against the float network on ``--count`` held-out clean renders (``export.onnx.parity``: geometric RMSE
mm, rotation error deg, ONNX Runtime ms at batch 1 on 2 threads). Also prints the first convolution's largest weight
per input channel: a "split" network's weights on the colours inside the mask against those on the mask and the
colours outside it. Writes reports/onnx/int8_layers.json (``--report`` elsewhere).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from export.onnx import export_fp32, parity  # noqa: E402
from export.quantize import calibration_inputs, quantize  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, load_network  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path, nargs="?", default=DEFAULT_CHECKPOINT)
    parser.add_argument("--count", type=int, default=64, help="held-out clean renders to compare on")
    parser.add_argument("--calibration", type=int, default=64)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "onnx" / "int8_layers.json")
    args = parser.parse_args()
    model = FaceModel.load()
    network, config = load_network(args.checkpoint, model)
    graph = export_fp32(network, config)
    inputs = calibration_inputs(model, config, args.calibration)
    sha = hashlib.sha256(args.checkpoint.read_bytes()).hexdigest()
    convs = [node for node in graph.graph.node if node.op_type == "Conv"]
    weights = {tensor.name: tensor for tensor in graph.graph.initializer}[convs[0].input[1]]
    per_channel = np.abs(numpy_helper.to_array(weights)).max(axis=(0, 2, 3))
    print("first convolution, largest weight per input channel:", np.round(per_channel, 3).tolist())
    graphs = {"one stem": quantize(graph, inputs, sha, split=False), "split stem": quantize(graph, inputs, sha)}
    graphs |= {f"one stem, {conv.name} float": quantize(graph, inputs, sha, split=False, keep_float=(conv.name,))
               for conv in convs}  # fmt: skip
    rows = parity(graphs, network, config, model, args.count)
    for name, row in rows.items():
        print(f"{name}: {row['geometric_rmse_mm']:.3f} mm, {row['rotation_error_deg']:.3f} deg, "
              f"{row['onnxruntime_cpu_ms']:.2f} ms")  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    report = {"command": " ".join(["python benchmarks/int8_layers.py", *sys.argv[1:]]), "checkpoint_sha256": sha,
              "first_conv_max_weight_per_input_channel": per_channel.tolist(), "rows": rows}  # fmt: skip
    args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
