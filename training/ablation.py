"""Which part of the corpus realism helps on real photos: one fine-tuning per switch, all else equal.

    python -m training.ablation --out runs/ablation [--init assets/inversefacenet.safetensors] [--steps 1500]
        [--realistic 40] [--count 200] [--photos runs/dev_b] [--report reports/ablation]

Every arm fine-tunes the same network for the same steps, seed and learning rate; they differ in
one thing only:
- "all parts": the 'real' distribution (harsh, coloured lamps) and realism on half the images;
- "no <part>": the same with one part of :class:`training.realism.Realism` switched off;
- "no harsh light": the same realism on the paper's light distribution;
- "clean renders": the paper's corpus without realism (plain fine-tuning: the control).
Each arm is scored like the shipping gate reads it, network alone: the realistic row (the real
photo path on photo-like renders, ground truth known), the oracle-crop row, and the development
set's landmark agreement and photometric RMSE (no annotations). Writes ablation.json, ablation.md
and ablation.png into --report. A finished arm (its scores.json) is not trained again.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
from inversefacenet.facemodel.model import FaceModel
from training.corpus import held_out_set
from training.evaluate import metrics, predict, real_path
from training.evaluate_photos import evaluate_photos
from training.realism import SWITCHES
from training.train import TrainConfig, train

ARMS = {
    "all parts": {},
    **{f"no {part.replace('_', ' ')}": {"realism_without": part} for part in SWITCHES},
    "no harsh light": {"distribution": "paper"},
    "clean renders": {"distribution": "paper", "realism": 0.0},
}
"""Each arm's changes to the shared fine-tuning config."""

COLUMNS = {
    "realistic: rotation °": ("network (real path)", "rotation_error_deg"),
    "realistic: geometry mm": ("network (real path)", "geometric_rmse_mm"),
    "realistic: photometric": ("network (real path)", "photometric_rmse"),
    "oracle: rotation °": ("network (oracle crops)", "rotation_error_deg"),
    "oracle: geometry mm": ("network (oracle crops)", "geometric_rmse_mm"),
    "dev set: landmark agreement (IOD)": ("dev set", "landmark_agreement_iod"),
    "dev set: photometric": ("dev set", "photometric_rmse"),
}
"""Report columns: (row, metric) of an arm's scores; all lower is better."""


def shared_config(init: Path, steps: int) -> TrainConfig:
    """The fine-tuning every arm shares (the settings the realism networks were trained with)."""
    return TrainConfig(steps=steps, learning_rate=1.5e-4, warmup_steps=100, appearance_weight=30.0,
                       geometry_weight=5000.0, distribution="real", realism=0.5, seed=21, validate_every=steps,
                       init=str(init))  # fmt: skip


def scores(checkpoint: Path, model: FaceModel, count: int, realistic: int, photos: Path | None) -> dict[str, dict]:
    """The network alone on the realistic row, the oracle row and (with ``photos``) the development set."""
    predictor = Predictor.load(checkpoint, model)
    truth = held_out_set(model, count)
    rows = {"network (oracle crops)": metrics(model, truth, predict(predictor, model, truth))}
    rows.update(real_path(model, predictor, truth.select(slice(0, realistic)), fit=False))
    if photos is not None:
        rows["dev set"] = next(iter(evaluate_photos([checkpoint], photos, with_fit=False).values()))
    return rows


def run_arms(args: argparse.Namespace) -> dict[str, dict]:
    model = FaceModel.load()
    results = {"start": scores(args.init, model, args.count, args.realistic, args.photos)}
    for name, change in tqdm(ARMS.items(), desc="arms", unit="arm"):
        folder = args.out / name.replace(" ", "_")
        done = folder / "scores.json"
        if not done.exists():
            config = replace(shared_config(args.init, args.steps), **change)
            train(config, folder, model)
            done.write_text(json.dumps(scores(folder / "last.safetensors", model, args.count, args.realistic,
                                              args.photos)))  # fmt: skip
        results[name] = json.loads(done.read_text())
    return results


def table(results: dict[str, dict]) -> str:
    present = {c: key for c, key in COLUMNS.items() if all(key[0] in r for r in results.values())}
    lines = ["| arm | " + " | ".join(present) + " |", "|---|" + "---:|" * len(present)]
    for name, rows in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{rows[row][metric]:.4g}" for row, metric in present.values()) + " |")
    return "\n".join(lines)


def plot(results: dict[str, dict], path: Path) -> None:
    """One panel per column: each arm's score, the start network as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = {c: key for c, key in COLUMNS.items() if all(key[0] in r for r in results.values())}
    arms = [name for name in results if name != "start"]
    figure, axes = plt.subplots(1, len(present), figsize=(3.2 * len(present), 3.6), squeeze=False)
    for axis, (column, (row, metric)) in zip(axes[0], present.items(), strict=True):
        axis.barh(arms, [results[a][row][metric] for a in arms], color="tab:blue")
        axis.axvline(results["start"][row][metric], color="k", linestyle="--", label="start")
        axis.set_title(column, fontsize=9)
        axis.invert_yaxis()
        axis.tick_params(labelleft=axis is axes[0][0], labelsize=8)
    axes[0][0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the arms' trainings")
    parser.add_argument("--init", type=Path, default=DEFAULT_CHECKPOINT, help="network every arm starts from")
    parser.add_argument("--steps", type=int, default=1500, help="fine-tuning steps per arm")
    parser.add_argument("--count", type=int, default=200, help="held-out renders for the oracle row")
    parser.add_argument("--realistic", type=int, default=40, help="faces through the real photo path")
    parser.add_argument("--photos", type=Path, help="development set folder (python -m training.devset)")
    parser.add_argument("--report", type=Path, help="where ablation.json/.md/.png go (default: --out)")
    args = parser.parse_args(argv)
    report = args.report or args.out
    report.mkdir(parents=True, exist_ok=True)
    results = run_arms(args)
    (report / "ablation.json").write_text(json.dumps({"steps": args.steps, "results": results}, indent=1))
    text = table(results)
    (report / "ablation.md").write_text(f"`python -m training.ablation --steps {args.steps}`\n\n{text}\n")
    plot(results, report / "ablation.png")
    print(text)


if __name__ == "__main__":
    main()
