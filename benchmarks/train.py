"""Training and inference speed of each architecture, and photo -> parameters without the fit.

    python benchmarks/train.py [--sizes 128 160] [--batch 32]

Per architecture and input size: training images/s (forward + backward + AdamW, batch 32,
synthetic corpus rendering excluded and measured separately), torch and ONNX Runtime CPU
forward ms at batch 1. Then, with the shipped checkpoint, photo -> parameters by stage with
no fit. Ends with a one-line JSON summary.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversefacenet import FaceModel, Reconstructor  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT  # noqa: E402
from inversefacenet.networks import ARCHITECTURES, build_network  # noqa: E402
from training.corpus import PAPER, SyntheticStream  # noqa: E402
from training.realism import Realism  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "assets" / "examples" / "astronaut.jpg"
CPU = torch.device("cpu")


def timed(function: Callable[[], object], repeats: int, device: torch.device = CPU) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call; on a GPU each call waits for its kernels."""

    def call() -> None:
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()

    call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def training_rate(network: torch.nn.Module, size: int, batch: int, outputs: int, channels: int = 3,
                  device: torch.device = CPU, repeats: int = 5) -> float:  # fmt: skip
    """Images/s of training steps (forward + backward + AdamW) of ``network`` on random inputs, as training.train
    runs them (channels-last)."""
    network = network.to(device, memory_format=torch.channels_last).train()
    optimiser = torch.optim.AdamW(network.parameters(), 1e-3)
    images = (torch.rand(batch, channels, size, size, device=device) - 0.5).contiguous(
        memory_format=torch.channels_last)  # fmt: skip
    targets = torch.zeros(batch, outputs, device=device)

    def step() -> None:
        optimiser.zero_grad()
        ((network(images) - targets) ** 2).mean().backward()
        optimiser.step()

    return batch / timed(step, repeats, device)


def forward_ms(architecture: str, size: int, outputs: int) -> tuple[float, float | str]:
    network = build_network(architecture, size, outputs).eval()
    image = torch.rand(1, 3, size, size) - 0.5
    with torch.no_grad():
        torch_ms = timed(lambda: network(image), 20) * 1000
    try:
        import onnxruntime

        buffer = io.BytesIO()
        torch.onnx.export(network, image, buffer, dynamo=False, input_names=["image"], output_names=["params"])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
        feed = {"image": image.numpy()}
        return torch_ms, timed(lambda: session.run(None, feed), 50) * 1000
    except Exception as error:  # noqa: BLE001 - report why the ONNX number is missing
        return torch_ms, f"n/a ({type(error).__name__})"


def corpus_rates(model: FaceModel, batch: int) -> dict[str, float]:
    """img/s of the clean corpus and of the photo-like one (training.realism, every image)."""
    rates = {}
    for name, distribution, realism in (("clean", PAPER, Realism.none()), ("photo-like", PAPER.real(), Realism())):
        stream = SyntheticStream(model, 128, batch, seed=0, distribution=distribution, realism=realism)
        rates[f"corpus_{name}_img_per_s_128"] = batch / timed(lambda stream=stream: stream.batch(1), 5)
        print(f"corpus at 128 px, {name} (render, crop, mask{', effects' if realism.active else ''}): "
              f"{rates[f'corpus_{name}_img_per_s_128']:.0f} img/s")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 160])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--corpus-only", action="store_true", help="only the corpus rates")
    args = parser.parse_args()
    model = FaceModel.load()
    outputs = model.layout.size
    summary: dict[str, object] = {}
    if args.corpus_only:
        print(json.dumps({"benchmark": "train", "results": corpus_rates(model, args.batch)}))
        return
    print(f"{'architecture':>12} | {'size':>4} | {'train img/s':>11} | {'torch ms':>8} | {'onnxruntime ms':>14}")
    for architecture in ARCHITECTURES:
        for size in args.sizes:
            rate = training_rate(build_network(architecture, size, outputs), size, args.batch, outputs)
            torch_ms, onnx_ms = forward_ms(architecture, size, outputs)
            shown = f"{onnx_ms:14.2f}" if isinstance(onnx_ms, float) else f"{onnx_ms:>14}"
            print(f"{architecture:>12} | {size:>4} | {rate:11.1f} | {torch_ms:8.2f} | {shown}")
            summary[f"{architecture}_{size}"] = {"train_img_per_s": rate, "torch_ms": torch_ms, "onnx_ms": onnx_ms}
    summary.update(corpus_rates(model, args.batch))
    if DEFAULT_CHECKPOINT.is_file():
        reconstructor = Reconstructor.load(fit_mode=None)
        reconstructor(EXAMPLE)
        stages: dict[str, list[float]] = {}
        for _ in range(10):
            for stage, ms in reconstructor(EXAMPLE)[0].ms.items():
                stages.setdefault(stage, []).append(ms)
        median = {stage: float(np.median(v)) for stage, v in stages.items()}
        print("photo -> parameters without the fit (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in median.items()))
        print(f"  total {sum(median.values()):.1f} ms per face ({reconstructor.description})")
        summary["photo_to_parameters_ms"] = median
    print(json.dumps({"benchmark": "train", "results": summary}))


if __name__ == "__main__":
    main()
