"""Bootstrapping on real photos per round, fit vs network as teacher: the README's figure.

    python tools/bootstrap_figure.py [--reports reports/realphotos] [--out reports/realphotos/bootstrapping_real.png]

Reads the reports that ``training.evaluate`` (realistic row) and ``training.evaluate_photos``
(held-out photos) wrote for round 0 (``real2_network.json``) and each teacher's rounds
(``boot_<teacher>_round<k>.json``, ``boot_dev_b.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROUNDS = (1, 2)
TEACHERS = ("fit", "network")


def series(reports: Path) -> dict[str, dict[str, list[float]]]:
    """Per teacher: realistic-row geometric RMSE (mm) and held-out landmark agreement, rounds 0.."""
    start = json.loads((reports / "real2_network.json").read_text())["results"]["network (real path)"]
    photos = json.loads((reports / "boot_dev_b.json").read_text())["results"]
    first = next(v for k, v in photos.items() if k.startswith("runs/real2") and k.endswith("network alone"))
    out = {}
    for teacher in TEACHERS:
        rows = [json.loads((reports / f"boot_{teacher}_round{k}.json").read_text())["results"] for k in ROUNDS]
        agreement = [photos[f"runs/boot_{teacher}/round{k}/last.safetensors: network alone"] for k in ROUNDS]
        out[teacher] = {
            "mm": [start["geometric_rmse_mm"], *(r["network (real path)"]["geometric_rmse_mm"] for r in rows)],
            "agreement": [first["landmark_agreement_iod"], *(a["landmark_agreement_iod"] for a in agreement)],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=Path("reports/realphotos"))
    parser.add_argument("--out", type=Path, default=Path("reports/realphotos/bootstrapping_real.png"))
    args = parser.parse_args()
    data = series(args.reports)
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    titles = {"agreement": "held-out real photos: landmark agreement (/ IOD)", "mm": "realistic row: geometry (mm)"}
    for axis, key in zip(axes, ("agreement", "mm"), strict=True):
        for teacher, values in data.items():
            axis.plot(range(len(values[key])), values[key], "o-", label=f"{teacher} as teacher")
        axis.set_title(titles[key], fontsize=10)
        axis.set_xlabel("round")
        axis.set_xticks(range(len(ROUNDS) + 1))
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
