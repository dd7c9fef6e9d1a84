"""Ship a trained checkpoint as the default network (fp16), with its evaluation report.

    python -m training.ship runs/compact128/best.safetensors [--count 300] [--fit-count 100] [--force]

Evaluates the candidate on the held-out synthetic set and replaces
``assets/inversefacenet.safetensors`` only if its network-only model-space loss beats the
shipped one's (``--force`` skips the check). Writes the report next to it
(``assets/inversefacenet_report.json`` and ``.md``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, load_network, save_checkpoint
from inversefacenet.facemodel.model import FaceModel
from training.evaluate import evaluate

REPORT = DEFAULT_CHECKPOINT.with_name("inversefacenet_report.json")


def report_markdown(rows: dict[str, dict[str, float]]) -> str:
    columns = list(next(iter(rows.values())))
    lines = ["| | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {name} | " + " | ".join(f"{values[c]:.3f}" for c in columns) + " |" for name, values in rows.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--fit-count", type=int, default=100)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    model = FaceModel.load()
    network, config = load_network(args.checkpoint, model)
    sidecar = json.loads(args.checkpoint.with_suffix(".json").read_text())
    with tempfile.TemporaryDirectory() as folder:
        candidate = save_checkpoint(Path(folder) / "candidate.safetensors", network, config, half=True)
        rows = evaluate(candidate, args.count, args.fit_count)  # evaluated as shipped: fp16 weights
    if REPORT.exists() and not args.force:
        shipped = json.loads(REPORT.read_text())["results"]["network"]["model_space_loss"]
        if rows["network"]["model_space_loss"] >= shipped:
            raise SystemExit(f"not shipped: model-space loss {rows['network']['model_space_loss']:.1f} "
                             f"does not beat the shipped {shipped:.1f}")  # fmt: skip
    extra = {"source": str(args.checkpoint), "trained_steps": sidecar.get("step"),
             "train_config": sidecar.get("train_config"), "evaluation": rows}  # fmt: skip
    save_checkpoint(DEFAULT_CHECKPOINT, network, config, extra, half=True)
    report = {"checkpoint": DEFAULT_CHECKPOINT.name, "count": args.count, "fit_count": args.fit_count,
              "command": "python -m training.evaluate assets/inversefacenet.safetensors", "results": rows}  # fmt: skip
    REPORT.write_text(json.dumps(report, indent=1))
    REPORT.with_suffix(".md").write_text(report_markdown(rows))
    print(report_markdown(rows))
    print(json.dumps(report))


if __name__ == "__main__":
    main()
