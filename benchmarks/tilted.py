"""Faces tilted past the network's roll range: the realistic row with the heads turned further.

    python benchmarks/tilted.py [CHECKPOINT] [--faces 100] [--roll 20 45 | --own-roll] [--fit] [--report FILE.json]

The corpus draws the roll from U(-15, 15) degrees; photos have heads tilted further (a group photo's face tilted 35
degrees came out with one eye shut). The first ``--faces`` faces of ``training.evaluate``'s realistic row (the same
photo-like renders: background, camera effects, JPEG; the same seed) with each roll redrawn from U(lo, hi) degrees
either way go through the real photo path (MediaPipe detection and mesh, crop, mask, network; with ``--fit`` also
the full fit) twice: as the pipeline runs, tilted faces read upright (:mod:`inversefacenet.upright`), and every face
read as it is (the pipeline before). Metrics as ``training.evaluate``'s (rotation error: mean over the three angles).
``--own-roll`` keeps the faces' own rolls (within 15 degrees): what the switch changes on the realistic row itself.
Writes ``--report`` (default reports/tilted/report.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor  # noqa: E402
from inversefacenet.facemodel.model import FaceModel  # noqa: E402
from training.evaluate import real_path, turned_faces  # noqa: E402

ROLL_SEED = 35
OUTCOMES = ("rotation_error_deg", "geometric_rmse_mm", "photometric_rmse", "mask_iou", "detected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", nargs="?", default=str(DEFAULT_CHECKPOINT))
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--roll", type=float, nargs=2, default=(20.0, 45.0), metavar=("LO", "HI"))
    parser.add_argument("--own-roll", action="store_true", help="keep the faces' own rolls (the realistic row)")
    parser.add_argument("--fit", action="store_true", help="also the network + full fit")
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "tilted" / "report.json")
    args = parser.parse_args()
    model = FaceModel.load()
    predictor = Predictor.load(args.checkpoint, model)
    roll = None if args.own_roll else tuple(args.roll)
    truth = turned_faces(model, args.faces, 2, roll, ROLL_SEED)
    rows = {}
    for name, upright in (("read upright (as shipped)", True), ("read as it is", False)):
        found = real_path(model, predictor, truth, args.fit, upright=upright)
        for row in ("network", "network + full fit")[: 1 + args.fit]:
            scores = found[f"{row} (real path)"]
            rows[f"{row}, {name}"] = {key: scores[key] for key in OUTCOMES}
    rolled = "with their own rolls" if roll is None else f"rolled {roll[0]:g}-{roll[1]:g} deg either way"
    print(f"{args.faces} faces {rolled}:")
    for name, scores in rows.items():
        print(f"{name:>45}: " + ", ".join(f"{key} {value:.3f}" for key, value in scores.items()))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = Path(args.checkpoint).resolve()
    named = str(checkpoint.relative_to(ROOT)) if checkpoint.is_relative_to(ROOT) else str(checkpoint)
    args.report.write_text(json.dumps({"checkpoint": named, "faces": args.faces, "roll_deg": roll,
                                       "rows": rows}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
