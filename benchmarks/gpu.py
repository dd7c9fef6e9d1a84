"""The network and its training on the machine's GPU (or its CPU when it has none), for a lent GPU machine.

    python benchmarks/gpu.py [--workers 14] [--report reports/gpu/h200.json]

Prints and writes: the shipped network's forward ms in torch at batch 1 and 32 (after warm-up, synchronised);
ONNX Runtime's providers and, where CUDA is one, its ms at batch 1; training images/s (forward + backward + AdamW,
the split-input compact network at 128 px, rendering excluded) at batch 32 and 128; and the photo-like corpus's
images/s rendered by ``--workers`` processes (``training.train.batches``), which is what feeds a GPU's training.
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inversefacenet import FaceModel  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, load_network  # noqa: E402
from training.corpus import PAPER, SyntheticStream  # noqa: E402
from training.realism import Realism  # noqa: E402
from training.train import batches  # noqa: E402


def timed_ms(function: Callable[[], object], repeats: int, device: torch.device) -> float:
    """Median ms of ``repeats`` calls after three warm-up calls, the device synchronised around each."""
    for _ in range(3):
        function()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000


def forward_ms(network: torch.nn.Module, channels: int, device: torch.device) -> dict[str, float]:
    """The network's forward ms at batch 1 (one face) and 32 (a group photo, or a batch of video frames)."""
    rates = {}
    for batch in (1, 32):
        image = torch.rand(batch, channels, 128, 128, device=device) - 0.5
        with torch.no_grad():
            rates[f"torch_forward_ms_batch{batch}"] = timed_ms(lambda image=image: network(image), 50, device)
    return rates


def onnxruntime_ms(network: torch.nn.Module, channels: int) -> dict[str, object]:
    """The providers ONNX Runtime offers here, and its ms at batch 1 on CUDA where that is one of them."""
    try:
        import onnxruntime
    except ImportError:
        return {"onnxruntime_providers": "not installed"}
    providers = onnxruntime.get_available_providers()
    result: dict[str, object] = {"onnxruntime_providers": providers}
    if "CUDAExecutionProvider" in providers:
        image = torch.rand(1, channels, 128, 128) - 0.5
        buffer = io.BytesIO()
        torch.onnx.export(network.cpu(), image, buffer, dynamo=False, input_names=["image"], output_names=["params"])
        session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CUDAExecutionProvider"])
        feed = {"image": image.numpy()}
        result["onnxruntime_cuda_ms_batch1"] = timed_ms(lambda: session.run(None, feed), 50, torch.device("cpu"))
    return result


def training_rates(network: torch.nn.Module, channels: int, outputs: int, device: torch.device) -> dict[str, float]:
    """Images/s of training steps on random inputs: what the GPU could take if the corpus kept up."""
    network = network.train().to(memory_format=torch.channels_last)
    optimiser = torch.optim.AdamW(network.parameters(), 1e-5)
    rates = {}
    for batch in (32, 128):
        images = (torch.rand(batch, channels, 128, 128, device=device) - 0.5).contiguous(
            memory_format=torch.channels_last)  # fmt: skip
        targets = torch.zeros(batch, outputs, device=device)

        def step(images: torch.Tensor = images, targets: torch.Tensor = targets) -> None:
            optimiser.zero_grad()
            ((network(images) - targets) ** 2).mean().backward()
            optimiser.step()

        rates[f"train_img_per_s_batch{batch}"] = batch / timed_ms(step, 20, device) * 1000
    return rates


def corpus_rate(model: FaceModel, workers: int, batch: int = 128) -> float:
    """Photo-like corpus images/s (half the images photo-like, split input, crop alignment) from ``workers``
    processes, start-up excluded: timed from the batch after the first two a worker (those were queued while the
    workers started), over six more a worker."""
    queued = 2 * max(workers, 1)
    count = queued + 6 * max(workers, 1)
    stream = SyntheticStream(model, 128, batch, seed=0, distribution=PAPER, realism=Realism(share=0.5),
                             alignment=True, mask="split")  # fmt: skip
    start = None
    for index, _ in enumerate(batches(stream, 0, count, workers)):
        if index == queued - 1:
            start = time.perf_counter()
    return (count - queued) * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = FaceModel.load()
    network, config = load_network(DEFAULT_CHECKPOINT, model)
    network = network.to(device).eval()
    channels = 4 if config.input_mask == "split" else 3
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() or "cpu"
    results: dict[str, object] = {"device": name, "torch": torch.__version__}

    def keep(found: dict[str, object]) -> None:
        """Add ``found`` and write the report so far: a run cut short keeps what it measured."""
        results.update(found)
        print(json.dumps(found))
        if args.report:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(json.dumps({"benchmark": "gpu", "results": results}, indent=1) + "\n")

    keep(forward_ms(network, channels, device))
    keep(onnxruntime_ms(network, channels))  # moves the network to the CPU for the export
    network, _ = load_network(DEFAULT_CHECKPOINT, model)
    keep(training_rates(network.to(device), channels, config.n_outputs, device))
    keep({f"corpus_img_per_s_{args.workers}_workers": corpus_rate(model, args.workers)})


if __name__ == "__main__":
    main()
