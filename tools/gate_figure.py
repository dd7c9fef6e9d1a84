"""The realism networks against the shipping gate, run after run: the README's figure.

    python tools/gate_figure.py [--reports reports/realphotos] [--out reports/realphotos/gate_progress.png]

Reads the reports that ``training.evaluate`` wrote for the first network (``shipped.json``: the one shipped before
``runs/gate11``) and for each run from ``runs/align2`` on (``align2.json``, ``gate<k>.json``), and draws each
outcome of the network alone against the training steps since ``runs/align2``: the oracle-crop row with the gate's
limit (the first network's error + 5 %, :func:`training.ship.limit`) and the realistic row with the first network's
value (which it had to beat).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training.ship import GATE, ORACLE, OUTCOMES, limit  # noqa: E402

STEPS = {"align2": 0, "gate1": 8000, "gate2": 13000, "gate3": 23000, "gate5": 43000, "gate6": 55000, "gate7": 71000,
         "gate8": 87000, "gate9": 94500, "gate10": 97000, "gate11": 103500}  # fmt: skip
"""Training steps since runs/align2 at each evaluated run (gate4, 8,000 steps, has no report of its own;
gate9 and gate10 are their best checkpoints, 7,500 and 2,500 steps into their runs; gate11 is the shipped
network, step 6,500 of its run)."""
LABELS = {"rotation_error_deg": "rotation (°)", "geometric_rmse_mm": "geometry (mm)",
          "photometric_rmse": "photometric RMSE (0-255)", "mask_iou": "mask IoU"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=Path("reports/realphotos"))
    parser.add_argument("--out", type=Path, default=Path("reports/realphotos/gate_progress.png"))
    args = parser.parse_args()
    shipped = json.loads((args.reports / "shipped.json").read_text())["results"]
    runs = {run: json.loads((args.reports / f"{run}.json").read_text())["results"]
            for run in STEPS if (args.reports / f"{run}.json").is_file()}  # fmt: skip
    steps = [STEPS[run] for run in runs]
    figure, axes = plt.subplots(2, 4, figsize=(14, 5.6), sharex=True)
    for column, name in enumerate(OUTCOMES):
        for row, (key, line, label) in enumerate([(ORACLE, limit(shipped[ORACLE][name], name), "gate limit"),
                                                  (GATE, shipped[GATE][name], "first network")]):  # fmt: skip
            axis = axes[row, column]
            axis.plot(steps, [rows[key][name] for rows in runs.values()], "o-", label="realism networks")
            axis.axhline(line, color="tab:red", linestyle="--", label=label)
            axis.set_title(f"{'oracle crops' if row == 0 else 'realistic row'}: {LABELS[name]}", fontsize=10)
            axis.grid(alpha=0.3)
            if column == 0:
                axis.legend(fontsize=8)
    for axis in axes[1]:
        axis.set_xlabel("steps since runs/align2")
    figure.tight_layout()
    figure.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
