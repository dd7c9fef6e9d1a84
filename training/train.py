"""Train InverseFaceNet on the synthetic corpus (paper section 6).

    python -m training.train --out runs/compact128 [--architecture compact] [--input-size 128]
        [--steps 20000] [--batch-size 32] [--loss model|l2] [--config FILE.json] [--init CKPT]
    torchrun --nproc_per_node 2 -m training.train --out runs/ddp ...   # DistributedDataParallel

Resumes from ``OUT/last.safetensors`` when it exists. Writes ``last``/``best`` checkpoints
(safetensors + JSON sidecar), ``optimizer.safetensors``, ``log.csv`` and ``loss.png``.
Uses the GPU when there is one; gloo on CPU.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from inversefacenet.checkpoint import NetworkConfig, load_network, save_checkpoint
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import replacing
from inversefacenet.networks import build_network
from inversefacenet.preprocess import MASK_CHANNEL_RULES
from training.corpus import PairedFaces, SyntheticStream, distribution_named
from training.losses import ParameterLoss
from training.photo_labels import PhotoFaces, PhotoLabels
from training.realism import Realism


@dataclass(frozen=True)
class TrainConfig:
    architecture: str = "compact"
    input_size: int = 128
    batch_size: int = 32
    steps: int = 20000
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 300
    loss: str = "model"
    appearance_weight: float = 0.0  # > 0 adds the shaded-colour term (training.losses.AppearanceTerm)
    geometry_weight: float = 0.0  # > 0 adds the face-region geometry term (training.losses.GeometryTerm)
    distribution: str = "paper"  # paper | narrow | wide | real (see training.corpus)
    turned_share: float = 0.0  # share of faces turned 40-70 deg (training.corpus.CorpusDistribution.turned_share)
    realism: float = 0.0  # share of renders made photo-like: background, occluders, camera, landmark noise
    realism_without: str = ""  # comma-separated realism parts switched off (training.realism.SWITCHES), for ablations
    paired_faces: str | None = None  # faces with their measured MediaPipe pattern (training.corpus.PairedFaces)
    paired_share: float = 0.0  # share of each training batch drawn from paired_faces (validation stays without)
    photo_labels: str | None = None  # real photos labelled by the fit (training.photo_labels)
    photo_share: float = 0.0  # share of each training batch drawn from photo_labels (validation stays without)
    composite_share: float = 0.0  # another share: rendered faces in photo_labels' photos (corpus.rendered_into_photos)
    mirror_share: float = 0.0  # share of each batch flipped left-right, with mirrored answers (inversefacenet.mirror)
    seed: int = 0
    validate_every: int = 500
    validation_size: int = 256
    init: str | None = None  # checkpoint to start from (fine-tuning)
    crop_alignment: bool = False  # the network also says where its crop should have been (NetworkConfig)
    alignment_weight: float = 1000.0  # of the crop alignment's squared error in input pixels
    input_mask: str = "face"  # what of the crop the network sees (inversefacenet.preprocess.INPUT_MASKS)
    threads: int = 0  # torch CPU threads; 0 = torch's default
    ema_decay: float = 0.0  # > 0 validates and keeps as best an exponential moving average of the weights
    workers: int = 0  # processes rendering batches ahead of the training step; 0 = in the training loop



def learning_rate(config: TrainConfig, step: int) -> float:
    """Linear warm-up, then cosine decay to 5 % of the base rate."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.learning_rate * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def to_tensors(inputs: np.ndarray | torch.Tensor, targets: np.ndarray | torch.Tensor,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """NCHW views of the NHWC renders: channels-last memory, which the CPU convolutions run fastest on. The copy to
    a GPU does not block: from the workers' pinned batches it overlaps the step before it."""
    images = torch.as_tensor(inputs).permute(0, 3, 1, 2).to(device, non_blocking=True)
    return images, torch.as_tensor(targets).to(device, non_blocking=True)


class _StreamBatches(torch.utils.data.Dataset):
    """Batches ``start`` … ``stop − 1`` of a stream, for worker processes (batch k is a pure function of k)."""

    def __init__(self, stream: SyntheticStream, start: int, stop: int) -> None:
        self.stream, self.start, self.stop = stream, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.stream.batch(self.start + index)


def _one_thread(worker: int) -> None:
    """Each worker renders on one core: the workers, not their thread pools, share the machine."""
    import cv2
    import numba

    numba.set_num_threads(1)  # torch's own threads: the DataLoader sets one per worker
    cv2.setNumThreads(1)


def batches(stream: SyntheticStream, start: int, stop: int, workers: int,
            pin: bool = False) -> Iterable[tuple[np.ndarray | torch.Tensor, np.ndarray | torch.Tensor]]:  # fmt: skip
    """The stream's batches ``start`` … ``stop − 1`` in order. With ``workers`` > 0, rendered ahead by that many
    processes (started by spawn, since numba's thread pool does not survive a fork), so that a GPU's step does
    not wait on one core's rendering; the batches are the same either way, and the loader draws its workers' seeds
    from a generator of its own, not from torch's (a network with dropout trains the same with or without)."""
    if not workers or start >= stop:
        return (stream.batch(step) for step in range(start, stop))
    return torch.utils.data.DataLoader(_StreamBatches(stream, start, stop), batch_size=None, num_workers=workers,
                                       multiprocessing_context="spawn", worker_init_fn=_one_thread,
                                       prefetch_factor=2, pin_memory=pin, generator=torch.Generator())  # fmt: skip


def save_optimizer(path: Path, optimizer: torch.optim.Optimizer) -> None:
    """AdamW state as safetensors ("<param>.<key>") with param groups in the metadata."""
    state = optimizer.state_dict()
    tensors = {f"{index}.{key}": value.detach().cpu().contiguous().reshape(value.shape)
               for index, entry in state["state"].items() for key, value in entry.items()}  # fmt: skip
    with replacing(path) as temporary:  # a run stopped while saving resumes from the last whole state
        save_file(tensors, str(temporary), metadata={"param_groups": json.dumps(state["param_groups"])})


def load_optimizer(path: Path, optimizer: torch.optim.Optimizer) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        groups = json.loads(handle.metadata()["param_groups"])
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in load_file(str(path)).items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def plot_log(log_path: Path, png_path: Path) -> None:
    """Training loss (smoothed) and validation loss against steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list(csv.DictReader(log_path.open()))
    if not rows:
        return
    steps = np.array([int(r["step"]) for r in rows])
    train = np.array([float(r["train_loss"]) for r in rows])
    kernel = max(1, len(train) // 50)
    smooth = np.convolve(train, np.ones(kernel) / kernel, mode="valid")
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.plot(steps[kernel - 1 :], smooth, label="train (smoothed)")
    val = [(int(r["step"]), float(r["val_loss"])) for r in rows if r["val_loss"]]
    if val:
        axis.plot(*zip(*val, strict=True), "o-", label="validation")
    axis.set_yscale("log")
    axis.set_xlabel("step")
    axis.set_ylabel("parameter loss")
    axis.legend()
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(png_path, dpi=100)
    plt.close(figure)


def _distributed() -> tuple[torch.device, int, int]:
    """(device, world size, rank) under torchrun, or one process on the GPU or the CPU."""
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0"))) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)  # each rank's own GPU, also for the loader's pinning thread
    if world > 1:
        torch.distributed.init_process_group("nccl" if cuda else "gloo")
    return device, world, rank


def load_weights(network: torch.nn.Module, source: torch.nn.Module) -> None:
    """Start ``network`` from ``source``'s weights, padding with zeros where it is larger: a final layer with more
    outputs (the crop alignment) keeps the source's rows and starts the new ones at zero (it first says "the crop
    is where the rule put it"); a first layer with more input channels (the "split" input rule) keeps the source's
    channels first and starts the others at zero (it first reads what a masked network reads)."""
    state = source.state_dict()
    for name, tensor in network.state_dict().items():
        have = state[name]
        for axis in (0, 1):
            if have.ndim > axis and have.shape[axis] < tensor.shape[axis]:
                missing = (*have.shape[:axis], tensor.shape[axis] - have.shape[axis], *have.shape[axis + 1 :])
                have = torch.cat([have, torch.zeros(missing, dtype=have.dtype)], dim=axis)
        state[name] = have
    network.load_state_dict(state)


def started_from(config: NetworkConfig, source: torch.nn.Module) -> torch.nn.Module:
    """A network of ``config`` in eval mode, started from ``source``'s weights (:func:`load_weights`): a masked
    network as a split one that reads as it did."""
    network = build_network(config.architecture, config.input_size, config.n_outputs,
                            config.input_mask in MASK_CHANNEL_RULES)
    load_weights(network, source)
    return network.eval()


def _moving_average(network: torch.nn.Module, decay: float) -> AveragedModel | None:
    """The weights' exponential moving average (BatchNorm statistics included), or None when ``decay`` is 0:
    late in a run it sits nearer the loss's floor than the last step's noisy weights."""
    if not decay:
        return None
    return AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _resume(out: Path, network: torch.nn.Module, optimizer: torch.optim.Optimizer, model: FaceModel,
            average: AveragedModel | None) -> tuple[int, float]:  # fmt: skip
    """Load ``out``'s last checkpoint, optimizer and moving average when there is one; returns (start step, best
    validation loss)."""
    last = out / "last.safetensors"
    if not last.exists():
        return 0, float("inf")
    network.load_state_dict(load_network(last, model)[0].state_dict())
    load_optimizer(out / "optimizer.safetensors", optimizer)
    if average is not None and (out / "average.safetensors").exists():
        average.module.load_state_dict(load_network(out / "average.safetensors", model)[0].state_dict())
        average.n_averaged.fill_(1)
    sidecar = json.loads(last.with_suffix(".json").read_text())
    return sidecar["step"], sidecar.get("best_val_loss", float("inf"))


def _corpus(config: TrainConfig, model: FaceModel, seed: int) -> tuple[SyntheticStream, tuple[np.ndarray, np.ndarray]]:
    """The training stream of ``config.distribution`` and realism, and a fixed validation batch from the same."""
    distribution = replace(distribution_named(config.distribution), turned_share=config.turned_share)
    realism = Realism(share=config.realism).without(config.realism_without) if config.realism else Realism.none()
    options = {"realism": realism, "alignment": config.crop_alignment, "mask": config.input_mask}
    if bool(config.paired_faces) != bool(config.paired_share):
        raise ValueError("--paired-faces and --paired-share go together")
    paired = PairedFaces.load(Path(config.paired_faces)) if config.paired_faces else None
    photos = None
    if config.photo_labels:
        photos = PhotoFaces(PhotoLabels.load(Path(config.photo_labels)), config.input_size, config.input_mask)
    stream = SyntheticStream(model, config.input_size, config.batch_size, seed, distribution, **options,
                             paired=paired, paired_share=config.paired_share, photos=photos,
                             photo_share=config.photo_share, composite_share=config.composite_share,
                             mirror_share=config.mirror_share)  # fmt: skip
    validation = SyntheticStream(model, config.input_size, config.validation_size, 987_654_321, distribution,
                                 **options).batch(0)  # fmt: skip
    return stream, validation


LOG_HEADER = ["step", "train_loss", "val_loss", "learning_rate", "images_per_s"]


def _open_log(out: Path, start: int) -> tuple[Any, Any]:
    """log.csv and its csv writer; on resume it keeps the rows up to the checkpoint's step (an interrupted run
    logged steps past it, which are trained again)."""
    path = out / "log.csv"
    rows = list(csv.reader(path.open()))[1:] if start and path.exists() else []
    log = path.open("w", newline="")
    writer = csv.writer(log)
    writer.writerows([LOG_HEADER, *(row for row in rows if int(row[0]) <= start)])
    return log, writer


def _step(network: torch.nn.Module, criterion: ParameterLoss, optimizer: torch.optim.Optimizer,
          batch: tuple[torch.Tensor, torch.Tensor], rate: float) -> torch.Tensor:  # fmt: skip
    """One optimisation step at learning rate ``rate``; returns the batch's loss."""
    for group in optimizer.param_groups:
        group["lr"] = rate
    images, targets = batch
    network.train()
    loss = criterion(network(images), targets)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def _save(out: Path, network: torch.nn.Module, validated: torch.nn.Module, net_config: NetworkConfig,
          optimizer: torch.optim.Optimizer, extra: dict[str, Any], is_best: bool) -> None:  # fmt: skip
    """last (and best) checkpoint with its sidecar, the moving average, the optimizer state and the loss plot;
    best is what was validated: the trained weights, or their moving average, then also kept as ``average``."""
    if is_best:
        save_checkpoint(out / "best.safetensors", validated, net_config, extra)
    if validated is not network:
        save_checkpoint(out / "average.safetensors", validated, net_config, extra)
    save_checkpoint(out / "last.safetensors", network, net_config, extra)
    save_optimizer(out / "optimizer.safetensors", optimizer)
    plot_log(out / "log.csv", out / "loss.png")


def train(
    config: TrainConfig,
    out: Path,
    model: FaceModel | None = None,
    stream: SyntheticStream | None = None,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Train (or resume) into ``out``; returns the final validation metrics.

    stream: the training batches (default: the corpus of ``config.distribution``);
    validation: a fixed (inputs, targets) batch (default: held out from the same corpus).
    """
    device, world, rank = _distributed()
    if config.threads:
        torch.set_num_threads(config.threads)
    model = model or FaceModel.load()
    out.mkdir(parents=True, exist_ok=True)
    net_config = replace(NetworkConfig.for_model(model, config.architecture, config.input_size),
                         crop_alignment=config.crop_alignment, input_mask=config.input_mask)  # fmt: skip
    torch.manual_seed(config.seed)  # initial weights and dropout: a run is a function of its configuration
    network = build_network(config.architecture, config.input_size, net_config.n_outputs,
                            config.input_mask in MASK_CHANNEL_RULES)
    if config.init:
        load_weights(network, load_network(config.init, model)[0])
    network.to(device, memory_format=torch.channels_last)  # ~20 % faster on the CPU, measured
    optimizer = torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    alignment_size = config.input_size if config.crop_alignment else 0
    criterion = ParameterLoss(model, config.loss, config.appearance_weight, config.geometry_weight,
                              config.alignment_weight, alignment_size).to(device)  # fmt: skip
    average = _moving_average(network, config.ema_decay)
    start, best = _resume(out, network, optimizer, model, average)
    validated = network if average is None else average.module
    trained = torch.nn.parallel.DistributedDataParallel(network) if world > 1 else network
    if stream is None or validation is None:
        default_stream, default_validation = _corpus(config, model, config.seed * 1000 + rank)
        stream, validation = stream or default_stream, validation if validation is not None else default_validation
    if rank == 0:
        (out / "config.json").write_text(json.dumps(asdict(config), indent=1))
    log, writer = _open_log(out, start)
    metrics: dict[str, float] = {}
    progress = tqdm(range(start, config.steps), initial=start, total=config.steps, desc="training",
                    disable=rank != 0, mininterval=5)  # fmt: skip
    clock = time.perf_counter()
    rendered = batches(stream, start, config.steps, config.workers, pin=device.type == "cuda")
    for step, batch in zip(progress, rendered, strict=True):
        rate = learning_rate(config, step)
        loss = _step(trained, criterion, optimizer, to_tensors(*batch, device), rate)
        if average is not None:
            average.update_parameters(network)
        done = step + 1
        val_loss: float | None = None
        if done % config.validate_every == 0 or done == config.steps:
            metrics = validate(validated, criterion, validation, device)
            val_loss = metrics["val_loss"]
        if rank != 0:
            continue
        speed = config.batch_size * world / max(time.perf_counter() - clock, 1e-9)
        clock = time.perf_counter()
        writer.writerow([done, f"{loss.item():.6g}", "" if val_loss is None else f"{val_loss:.6g}", f"{rate:.3g}",
                         f"{speed:.1f}"])  # fmt: skip
        progress.set_postfix(loss=f"{loss.item():.4g}", img_s=f"{speed:.0f}")
        if val_loss is not None:
            log.flush()
            best = min(best, val_loss)
            extra = {"step": done, "best_val_loss": best, "metrics": metrics, "train_config": asdict(config)}
            _save(out, network, validated, net_config, optimizer, extra, is_best=val_loss <= best)
    log.close()
    if world > 1:
        torch.distributed.destroy_process_group()
    return metrics


@torch.no_grad()
def validate(network: torch.nn.Module, criterion: ParameterLoss, batch: tuple[np.ndarray, np.ndarray],
             device: torch.device) -> dict[str, float]:  # fmt: skip
    network.eval()
    images, targets = to_tensors(*batch, device)
    predicted = torch.cat([network(chunk) for chunk in images.split(64)])
    return {"val_loss": float(criterion(predicted, targets))}


def yes_or_no(text: str) -> bool:
    """A boolean flag's value (``bool("false")`` would be True)."""
    answers = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    if text.lower() not in answers:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return answers[text.lower()]


def parse_config(argv: list[str] | None = None) -> tuple[TrainConfig, Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--config", type=Path, help="JSON file with TrainConfig fields (flags override it)")
    for f in fields(TrainConfig):
        kind = str if f.default is None else yes_or_no if isinstance(f.default, bool) else type(f.default)
        parser.add_argument("--" + f.name.replace("_", "-"), type=kind, default=None)
    args = parser.parse_args(argv)
    config = TrainConfig(**json.loads(args.config.read_text())) if args.config else TrainConfig()
    overrides = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if getattr(args, f.name) is not None}
    return replace(config, **overrides), args.out


def main(argv: list[str] | None = None) -> None:
    config, out = parse_config(argv)
    metrics = train(config, out)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps({"out": str(out), **metrics}))


if __name__ == "__main__":
    main()
