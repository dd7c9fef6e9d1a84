"""The fit as the teacher of the photo itself, against a control run: the README's figure.

    python tools/photo_labels_figure.py [--reports reports/realphotos] [--out reports/realphotos/photo_labels.png]

Reads what ``training.evaluate_photos`` wrote for each half of the development set (``photo1_dev_b.json``,
``photo1_control_dev_b.json``, ``photo2_dev_b.json``, ``photo1_dev_a.json``) and what ``training.evaluate``
wrote for the realistic row (``gate11.json`` for the shipped network, ``photo1_control.json``, ``photo1.json``,
``photo2.json``, ``photo1_b.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RUNS = {  # label: (held-out half's report, checkpoint's name in it, realistic row's report)
    "shipped\n(dev_b)": ("photo1_dev_b", "assets/inversefacenet.safetensors", "gate11"),
    "control\n(dev_b)": ("photo1_control_dev_b", "runs/photo1_control/best.safetensors", "photo1_control"),
    "photo1\n(dev_b)": ("photo1_dev_b", "runs/photo1/best.safetensors", "photo1"),
    "photo2\n(dev_b)": ("photo2_dev_b", "runs/photo2/best.safetensors", "photo2"),
    "shipped\n(dev_a)": ("photo1_dev_a", "assets/inversefacenet.safetensors", "gate11"),
    "control\n(dev_a)": ("photo1_dev_a", "runs/photo1_control/best.safetensors", "photo1_control"),
    "photo1_b\n(dev_a)": ("photo1_dev_a", "runs/photo1_b/best.safetensors", "photo1_b"),
}


def scores(reports: Path) -> dict[str, dict[str, float]]:
    """Per run: the network alone's held-out photometric RMSE, its own fit's, and the realistic row's mm."""
    out = {}
    for label, (photos, checkpoint, realistic) in RUNS.items():
        rows = json.loads((reports / f"{photos}.json").read_text())["results"]
        row = json.loads((reports / f"{realistic}.json").read_text())["results"]["network (real path)"]
        out[label] = {"network": rows[f"{checkpoint}: network alone"]["photometric_rmse"],
                      "fit": rows[f"{checkpoint}: network + full fit"]["photometric_rmse"],
                      "mm": row["geometric_rmse_mm"]}  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=Path("reports/realphotos"))
    parser.add_argument("--out", type=Path, default=Path("reports/realphotos/photo_labels.png"))
    args = parser.parse_args()
    data = scores(args.reports)
    labels = list(data)
    colours = ["tab:gray" if "shipped" in k else "tab:blue" if "control" in k else "tab:orange" for k in labels]
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8))  # grey: shipped, blue: control, orange: photo labels
    axes[0].scatter(labels, [data[k]["network"] for k in labels], s=90, color=colours, label="network alone")
    axes[0].scatter(labels, [data[k]["fit"] for k in labels], marker="_", s=400, color="black", label="its fit")
    axes[0].set_title("held-out half of the real photos: photometric RMSE", fontsize=10)
    axes[0].legend(loc="center right")
    axes[1].scatter(labels, [data[k]["mm"] for k in labels], s=90, color=colours)
    axes[1].set_title("realistic row (renders, MediaPipe's crops): geometry (mm)", fontsize=10)
    for axis in axes:
        axis.tick_params(axis="x", labelsize=8)
        axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
