"""The network and its training on the machine's GPU (or its CPU when it has none), for a lent GPU machine.

    python benchmarks/gpu.py [--workers 14] [--report reports/gpu/h200.json]

Prints and writes: the shipped network's forward ms in torch at batch 1 and 32 (after warm-up, synchronised);
ONNX Runtime's providers and, where CUDA is one, its ms at batch 1; training images/s (forward + backward + AdamW,
the split-input compact network at 128 px, rendering excluded) at batch 32 and 128; and the photo-like corpus's
images/s rendered by ``--workers`` processes (``training.train.batches``), which is what feeds a GPU's training.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.train import timed, training_rate  # noqa: E402
from inversefacenet import FaceModel  # noqa: E402
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, load_network  # noqa: E402
from inversefacenet.preprocess import INPUT_CHANNELS  # noqa: E402
from training.corpus import PAPER, SyntheticStream  # noqa: E402
from training.realism import Realism  # noqa: E402
from training.train import batches  # noqa: E402


def forward_ms(network: torch.nn.Module, channels: int, device: torch.device) -> dict[str, float]:
    """The network's forward ms at batch 1 (one face) and 32 (a group photo, or a batch of video frames)."""
    rates = {}
    for batch in (1, 32):
        image = torch.rand(batch, channels, 128, 128, device=device) - 0.5
        with torch.no_grad():
            rates[f"torch_forward_ms_batch{batch}"] = timed(lambda image=image: network(image), 50, device) * 1000
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
        exported = copy.deepcopy(network).cpu()  # a copy: the network stays on the GPU for the training rates
        torch.onnx.export(exported, image, buffer, dynamo=False, input_names=["image"], output_names=["params"])
        session = onnxruntime.InferenceSession(buffer.getvalue(), providers=["CUDAExecutionProvider"])
        feed = {"image": image.numpy()}
        result["onnxruntime_cuda_ms_batch1"] = timed(lambda: session.run(None, feed), 50) * 1000
    return result


def training_rates(network: torch.nn.Module, channels: int, outputs: int, device: torch.device) -> dict[str, float]:
    """Images/s of training steps on random inputs at batch 32 and 128: what the GPU could take if the corpus kept
    up (trains ``network`` on them)."""
    return {f"train_img_per_s_batch{batch}": training_rate(network, 128, batch, outputs, channels, device, repeats=20)
            for batch in (32, 128)}  # fmt: skip


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
    channels = INPUT_CHANNELS[config.input_mask]
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
    keep(onnxruntime_ms(network, channels))
    keep(training_rates(network, channels, config.n_outputs, device))
    keep({f"corpus_img_per_s_{args.workers}_workers": corpus_rate(model, args.workers)})


if __name__ == "__main__":
    main()
