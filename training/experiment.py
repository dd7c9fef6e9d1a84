"""The paper's bootstrapping experiment (supplemental) and the loss ablation, at CPU scale.

    python -m training.experiment --out reports/experiment [--initial-steps 1500] [--rounds 3]
        [--steps-per-round 300] [--unlabelled 64] [--validation 128] [--seeds 3]

1. Loss ablation: the same network trained on the paper's corpus with the model-space loss
   and with plain L2, evaluated on the held-out set.
2. Bootstrapping: a network trained on a narrow corpus (little mouth opening, grey light)
   is bootstrapped on unlabelled renders from a wide corpus (more expression, coloured
   light), saved as PNG photos and read back through the photo pipeline (detection, crop,
   mask); it is validated on a third set from the wide corpus after every round. Baseline:
   the same network fine-tuned for the same steps on the narrow corpus with the same
   parameter noise (a controlled comparison), no bootstrapping. Each arm runs with several
   fine-tuning seeds (mean ± sd); the mean face is the reference row.
Writes report.json, report.md and bootstrapping.png (model-space loss, photometric and
geometric error per round, like the paper's figure 4).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image

from inversefacenet.checkpoint import Predictor, load_network
from inversefacenet.detection import LandmarkDetector
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.render.renderer import render, to_uint8
from training.bootstrap import photo_faces, photo_inputs
from training.corpus import PAPER, SyntheticStream, held_out_set, perturbation, sample_parameters
from training.evaluate import metrics, predict
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
                  validation: int, seeds: int) -> dict[str, list[dict[str, float]]]:  # fmt: skip
    """Bootstrapped vs baseline per round, mean and sd over ``seeds`` fine-tuning seeds.

    Both arms get the same parameter noise (``perturbation``: it includes N(0, 0.05) on all SH
    coefficients, which alone makes coloured light): the bootstrapped arm around the
    network's predictions for the unlabelled photos, the baseline around draws from the narrow
    corpus. So a difference is due to the predictions, not to the noise.
    """
    narrow = TrainConfig(steps=initial_steps, distribution="narrow", validate_every=initial_steps)
    train(narrow, out / "narrow", model)
    truth = held_out_set(model, validation, PAPER.wide())
    start = out / "narrow" / "last.safetensors"
    write_unlabelled(model, out / "unlabelled", unlabelled)
    inputs = photo_inputs(photo_faces(out / "unlabelled", LandmarkDetector()), load_network(start, model)[1])
    noise = perturbation(model, 1.0)
    first = _evaluate(start, model, truth)
    runs: dict[str, list[list[dict[str, float]]]] = {"bootstrapping": [], "baseline": []}
    for seed in range(seeds):
        boot, base, history = start, start, {"bootstrapping": [first], "baseline": [first]}
        for k in range(1, rounds + 1):
            pool = Predictor.load(boot, model)(inputs).pack()
            streams = {
                "bootstrapping": SyntheticStream(model, narrow.input_size, narrow.batch_size, 10_000 * (seed + 1) + k,
                                                 pool=pool, noise=noise),
                "baseline": SyntheticStream(model, narrow.input_size, narrow.batch_size, 20_000 * (seed + 1) + k,
                                            PAPER.narrow(), noise=noise),
            }  # fmt: skip
            for arm, previous in (("bootstrapping", boot), ("baseline", base)):
                fine_tune = TrainConfig(steps=steps, learning_rate=3e-4, warmup_steps=min(50, steps),
                                        validate_every=steps, init=str(previous), seed=seed)  # fmt: skip
                folder = out / f"{arm}_seed{seed}_round{k}"
                train(fine_tune, folder, model, streams[arm])
                history[arm].append(_evaluate(folder / "last.safetensors", model, truth))
            boot = out / f"bootstrapping_seed{seed}_round{k}" / "last.safetensors"
            base = out / f"baseline_seed{seed}_round{k}" / "last.safetensors"
        for arm in runs:
            runs[arm].append(history[arm])
    mean_face = metrics(model, truth, FaceParameters.neutral(model.layout, truth.batch_size, ambient=0.9))
    summary = {arm: _mean_sd(per_seed) for arm, per_seed in runs.items()}
    summary["mean face"] = [{"round": k, **mean_face} for k in range(rounds + 1)]
    return summary


def _mean_sd(per_seed: list[list[dict[str, float]]]) -> list[dict[str, float]]:
    """Per round: each metric's mean over seeds, and its sample standard deviation as ``<metric>_sd``."""
    rows = []
    for k, rounds in enumerate(zip(*per_seed, strict=True)):
        values = {key: np.array([r[key] for r in rounds]) for key in rounds[0]}
        sd = {f"{key}_sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0 for key, v in values.items()}
        rows.append({"round": k, **{key: float(v.mean()) for key, v in values.items()}, **sd, "seeds": len(rounds)})
    return rows


def plot(history: dict[str, list[dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("model_space_loss", "model-space loss"), ("photometric_rmse", "photometric RMSE (0-255)"),
            ("geometric_rmse_mm", "geometric RMSE (mm)")]  # fmt: skip
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for axis, (key, label) in zip(axes, keys, strict=True):
        for name, rows in history.items():
            axis.errorbar([r["round"] for r in rows], [r[key] for r in rows],
                          yerr=[r.get(f"{key}_sd", 0.0) for r in rows], fmt="o-", capsize=3, label=name)  # fmt: skip
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
    parser.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds per arm (mean and sd reported)")
    parser.add_argument("--skip-ablation", action="store_true")
    args = parser.parse_args(argv)
    model = FaceModel.load()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"arguments": {k: str(v) for k, v in vars(args).items()}}
    if not args.skip_ablation:
        report["loss_ablation"] = loss_ablation(model, args.out, args.initial_steps, args.validation)
    history = bootstrapping(model, args.out, args.initial_steps, args.rounds, args.steps_per_round,
                            args.unlabelled, args.validation, args.seeds)  # fmt: skip
    report["bootstrapping"] = history
    plot(history, args.out / "bootstrapping.png")
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    lines = ["| method | round | model-space loss | photometric RMSE | geometric RMSE mm | rotation deg | IoU |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    rows = [(name, r["round"], r) for name, runs in history.items() for r in runs]
    rows += [(f"ablation: {loss} loss", "-", r) for loss, r in (report.get("loss_ablation") or {}).items()]
    for name, round_, r in rows:
        keys = ("model_space_loss", "photometric_rmse", "geometric_rmse_mm", "rotation_error_deg", "mask_iou")
        cells = [f"{r[k]:.3f}" + (f" ± {r[k + '_sd']:.3f}" if f"{k}_sd" in r else "") for k in keys]
        lines.append(f"| {name} | {round_} | " + " | ".join(cells) + " |")
    (args.out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
