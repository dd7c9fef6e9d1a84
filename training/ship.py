"""Ship a trained checkpoint as the default network (fp16), with its evaluation report.

    python -m training.ship runs/compact128/best.safetensors [--count 300] [--fit-count 100] [--realistic 40]
        [--photos DIR] [--mirror-reading] [--force]

Evaluates the candidate and the shipped network the same way (``training.evaluate`` with the
real photo path) and replaces ``assets/inversefacenet.safetensors`` only if the candidate's
network alone is better on the real path (a Pareto improvement, :func:`beats`) and no more
than 5 % worse on the oracle-crop row (:func:`holds`); ``--force`` skips the check. ``--mirror-reading`` ships it
reading each crop both ways (``NetworkConfig.mirror_reading``; the gate then scores it so). Writes the
report next to it (``assets/inversefacenet_report.json`` and ``.md``) and the int8 graph the CPU predictor runs
(``assets/inversefacenet_int8.onnx``, ``export.quantize``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import torch

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, NetworkConfig, load_network, save_checkpoint
from inversefacenet.facemodel.model import FaceModel
from training.evaluate import evaluate
from training.evaluate_photos import SCORES, evaluate_photos

REPORT = DEFAULT_CHECKPOINT.with_name("inversefacenet_report.json")

OUTCOMES = {"rotation_error_deg": 1, "geometric_rmse_mm": 1, "photometric_rmse": 1, "mask_iou": -1}
"""The outcomes a user sees, +1 where lower is better. The model-space loss is left out: it is a training objective, and
a loss with extra terms (appearance, geometry) trades its parts against these outcomes."""


GATE = "network (real path)"
ORACLE = "network (oracle crops)"


def beats(candidate: dict[str, float], shipped: dict[str, float]) -> tuple[bool, str]:
    """Better on at least one outcome and worse on none (a Pareto improvement), with the reason."""
    change = {name: sign * (candidate[name] - shipped[name]) for name, sign in OUTCOMES.items()}
    worse = [name for name, delta in change.items() if delta > 0]
    better = [name for name, delta in change.items() if delta < 0]
    if worse:
        return False, "worse on " + ", ".join(f"{n} ({candidate[n]:.4g} vs {shipped[n]:.4g})" for n in worse)
    if not better:
        return False, "no better on any outcome"
    return True, "better on " + ", ".join(f"{n} ({candidate[n]:.4g} vs {shipped[n]:.4g})" for n in better)


def limit(shipped: float, name: str, slack: float = 0.05) -> float:
    """The worst value of outcome ``name`` that is no more than ``slack`` worse than ``shipped`` (IoU through its
    error 1 - IoU)."""
    return 1 - (1 + slack) * (1 - shipped) if OUTCOMES[name] < 0 else (1 + slack) * shipped


def holds(candidate: dict[str, float], shipped: dict[str, float], slack: float = 0.05) -> tuple[bool, str]:
    """No outcome more than ``slack`` worse (IoU as its error 1 - IoU), with the reason."""
    worse = [n for n in OUTCOMES if OUTCOMES[n] * (candidate[n] - limit(shipped[n], n, slack)) > 0]
    reason = ", ".join(f"{n} ({candidate[n]:.4g} vs {shipped[n]:.4g})" for n in worse)
    return not worse, f"oracle-crop row worse by more than {slack:.0%} on {reason}" if worse else "oracle row holds"


def report_markdown(rows: dict[str, dict[str, float]]) -> str:
    columns = list(dict.fromkeys(c for values in rows.values() for c in values))  # rows may lack some (placement)
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(f"{values[c]:.3f}" if c in values else "–" for c in columns) + " |"
              for name, values in rows.items()]  # fmt: skip
    return "\n".join(lines) + "\n"


def gate(candidate: Path, rows: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    """Why the candidate ships; raises SystemExit with the reason when it does not."""
    shipped = evaluate(DEFAULT_CHECKPOINT, args.count, 0, args.realistic, real_fit=False)
    better, reason = beats(rows[GATE], shipped[GATE])
    kept, oracle = holds(rows[ORACLE], shipped[ORACLE])
    photos = "no photos given"
    if args.photos:
        scores = list(evaluate_photos([candidate, DEFAULT_CHECKPOINT], args.photos, with_fit=False).values())
        photos = "photos: " + ", ".join(f"{k} {scores[0][k]:.4g} vs {scores[1][k]:.4g}" for k in SCORES)
        better = better and all(scores[0][k] < scores[1][k] for k in SCORES)
    verdict = f"real path {reason}; {oracle}; {photos}"
    if not (better and kept):
        raise SystemExit(f"not shipped: {verdict}")
    return verdict


INT8_SLACK = 0.02
"""The int8 graph ships only if no more than this much worse than the float network on the realistic row's rotation
and geometric error (measured: 0.3 % and 0.2 %)."""


def ship_with_int8(network: torch.nn.Module, config: NetworkConfig, extra: dict, realistic: int) -> None:
    """Write the shipped checkpoint (and its sidecar) and the int8 graph a CPU runs (``export.quantize``), all made
    in a scratch folder beside them and then moved in, the checkpoint first (a graph beside other weights is never
    used); with ``realistic``, the int8 graph ships only if it holds the float network's accuracy on that many of the
    realistic row's faces (:data:`INT8_SLACK`) and stays near it on clean renders (``export.quantize``'s limit)."""
    from export.quantize import CLEAN_LIMIT_MM, compare, write_int8
    from inversefacenet.predictor import int8_path

    with tempfile.TemporaryDirectory(dir=DEFAULT_CHECKPOINT.parent) as folder:
        checkpoint = save_checkpoint(Path(folder) / DEFAULT_CHECKPOINT.name, network, config, extra, half=True)
        write_int8(checkpoint)
        rows = compare(FaceModel.load(), checkpoint, realistic) if realistic else None
        holds = rows is None or (
            all(rows["int8"][key] <= (1 + INT8_SLACK) * rows["float"][key]
                for key in ("rotation_error_deg", "geometric_rmse_mm"))
            and rows["int8_on_clean_renders"]["geometric_rmse_mm"] <= CLEAN_LIMIT_MM
        )  # fmt: skip
        int8_path(DEFAULT_CHECKPOINT).unlink(missing_ok=True)
        for made in (checkpoint, checkpoint.with_suffix(".json"), *([int8_path(checkpoint)] if holds else [])):
            made.replace(DEFAULT_CHECKPOINT.parent / made.name)
        if not holds:
            print(f"the int8 graph is not shipped: more than {INT8_SLACK:.0%} worse than float on the realistic row or "
                  f"more than {CLEAN_LIMIT_MM} mm from it on clean renders ({rows})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--fit-count", type=int, default=100)
    parser.add_argument("--realistic", type=int, default=40)
    parser.add_argument("--photos", type=Path, help="real photos (python -m training.devset): the network alone "
                        "must also explain them better (landmark agreement and photometric RMSE)")  # fmt: skip
    parser.add_argument("--mirror-reading", action="store_true", help="ship it reading each crop both ways (a "
                        "network trained with --mirror-share)")  # fmt: skip
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    model = FaceModel.load()
    network, config = load_network(args.checkpoint, model)
    config = replace(config, mirror_reading=config.mirror_reading or args.mirror_reading)
    sidecar = json.loads(args.checkpoint.with_suffix(".json").read_text())
    with tempfile.TemporaryDirectory() as folder:
        candidate = save_checkpoint(Path(folder) / "candidate.safetensors", network, config, half=True)
        rows = evaluate(candidate, args.count, args.fit_count, args.realistic)  # as shipped: fp16 weights
        if DEFAULT_CHECKPOINT.exists() and not args.force:
            print("shipping: " + gate(candidate, rows, args))
    trained = {"trained_steps": sidecar.get("step"), "train_config": sidecar.get("train_config")}
    made = {"soup_of": sidecar["soup_of"]} if "soup_of" in sidecar else trained
    extra = {"source": str(args.checkpoint), **made, "evaluation": rows}
    ship_with_int8(network, config, extra, args.realistic)
    report = {"checkpoint": DEFAULT_CHECKPOINT.name, "count": args.count, "fit_count": args.fit_count,
              "realistic": args.realistic,
              "command": "python -m training.evaluate assets/inversefacenet.safetensors", "results": rows}  # fmt: skip
    REPORT.write_text(json.dumps(report, indent=1))
    REPORT.with_suffix(".md").write_text(report_markdown(rows))
    print(report_markdown(rows))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
