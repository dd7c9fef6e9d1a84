"""The paper's bootstrapping experiment (supplemental) and the loss ablation, at CPU scale.

    python -m training.experiment --out reports/experiment [--initial-steps 1500] [--rounds 3]
        [--steps-per-round 300] [--unlabelled 64] [--validation 128]

1. Loss ablation: the same network trained on the paper's corpus with the model-space loss
   and with plain L2, evaluated on the held-out set.
2. Bootstrapping: a network trained on a narrow corpus (little mouth opening, grey light)
   is bootstrapped on unlabelled renders from a wide corpus (more expression, coloured
   light), saved as PNG photos and read back through the photo pipeline (detection, crop,
   mask); it is validated on a third set from the wide corpus after every round. Baseline:
   the same network fine-tuned for the same steps on the narrow corpus, no bootstrapping.
Writes report.json, report.md and bootstrapping.png (model-space loss, photometric and
geometric error per round, like the paper's figure 4).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from inversefacenet.checkpoint import Predictor
from inversefacenet.detection import LandmarkDetector
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.renderer import render, to_uint8
from training.bootstrap import perturbation, photo_inputs
from training.corpus import PAPER, SyntheticStream, sample_parameters
from training.evaluate import held_out_set, metrics, predict
from training.train import TrainConfig, train


def _evaluate(checkpoint: Path, model: FaceModel, truth: object) -> dict[str, float]:
    return metrics(model, truth, predict(Predictor.load(checkpoint, model), model, truth))


def loss_ablation(model: FaceModel, out: Path, steps: int, validation: int) -> dict[str, dict[str, float]]:
    truth = held_out_set(model, validation)
    rows = {}
    for loss in ("model", "l2"):
        folder = out / f"ablation_{loss}"
        train(TrainConfig(steps=steps, loss=loss, validate_every=steps), folder, model)
        rows[loss] = _evaluate(folder / "last.safetensors", model, truth)
    return rows


def write_unlabelled(model: FaceModel, folder: Path, count: int) -> None:
    """Renders from the wide corpus on a grey background, saved as photos (no labels kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    params = sample_parameters(model, count, np.random.default_rng(31_337), PAPER.wide())
    out = render(model, params, 256)
    for k in range(count):
        image = out.image[k] + (~out.raster.mask[k])[..., None] * 0.5
        Image.fromarray(to_uint8(image)).save(folder / f"face{k:04d}.png")


def bootstrapping(model: FaceModel, out: Path, initial_steps: int, rounds: int, steps: int, unlabelled: int,
                  validation: int) -> dict[str, list[dict[str, float]]]:  # fmt: skip
    narrow = TrainConfig(steps=initial_steps, distribution="narrow", validate_every=initial_steps)
    train(narrow, out / "narrow", model)
    truth = held_out_set(model, validation, PAPER.wide())
    start = out / "narrow" / "last.safetensors"
    write_unlabelled(model, out / "unlabelled", unlabelled)
    inputs = photo_inputs(out / "unlabelled", narrow.input_size, LandmarkDetector())
    history: dict[str, list[dict[str, float]]] = {"bootstrapping": [], "baseline": []}
    first = _evaluate(start, model, truth)
    history["bootstrapping"].append({"round": 0, **first})
    history["baseline"].append({"round": 0, **first})
    boot, base = start, start
    for k in range(1, rounds + 1):
        pool = Predictor.load(boot, model)(inputs).pack()
        stream = SyntheticStream(model, narrow.input_size, narrow.batch_size, 10_000 + k, pool=pool,
                                 pool_noise=perturbation(model, 1.0))  # fmt: skip
        fine_tune = TrainConfig(steps=steps, learning_rate=3e-4, warmup_steps=min(50, steps), validate_every=steps,
                                init=str(boot))  # fmt: skip
        train(fine_tune, out / f"boot{k}", model, stream)
        boot = out / f"boot{k}" / "last.safetensors"
        history["bootstrapping"].append({"round": k, **_evaluate(boot, model, truth)})
        baseline = TrainConfig(steps=steps, learning_rate=3e-4, warmup_steps=min(50, steps), validate_every=steps,
                               init=str(base), distribution="narrow", seed=k)  # fmt: skip
        train(baseline, out / f"base{k}", model)
        base = out / f"base{k}" / "last.safetensors"
        history["baseline"].append({"round": k, **_evaluate(base, model, truth)})
    return history


def plot(history: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("model_space_loss", "model-space loss"), ("photometric_rmse", "photometric RMSE (0-255)"),
            ("geometric_rmse_mm", "geometric RMSE (mm)")]  # fmt: skip
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, (key, label) in zip(axes, keys, strict=True):
        for name, rows in history.items():
            axis.plot([r["round"] for r in rows], [r[key] for r in rows], "o-", label=name)
        axis.set_xlabel("round")
        axis.set_title(label)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--initial-steps", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-per-round", type=int, default=300)
    parser.add_argument("--unlabelled", type=int, default=64)
    parser.add_argument("--validation", type=int, default=128)
    parser.add_argument("--skip-ablation", action="store_true")
    args = parser.parse_args(argv)
    model = FaceModel.load()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"arguments": {k: str(v) for k, v in vars(args).items()}}
    if not args.skip_ablation:
        report["loss_ablation"] = loss_ablation(model, args.out, args.initial_steps, args.validation)
    history = bootstrapping(model, args.out, args.initial_steps, args.rounds, args.steps_per_round,
                            args.unlabelled, args.validation)  # fmt: skip
    report["bootstrapping"] = history
    plot(history, args.out / "bootstrapping.png")
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    lines = ["| method | round | model-space loss | photometric RMSE | geometric RMSE mm | rotation deg | IoU |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    rows = [(name, r["round"], r) for name, runs in history.items() for r in runs]
    rows += [(f"ablation: {loss} loss", "-", r) for loss, r in (report.get("loss_ablation") or {}).items()]
    for name, round_, r in rows:
        keys = ("model_space_loss", "photometric_rmse", "geometric_rmse_mm", "rotation_error_deg", "mask_iou")
        lines.append(f"| {name} | {round_} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
