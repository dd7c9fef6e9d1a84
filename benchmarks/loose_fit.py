"""How often a face that fits well is called a loose fit once it is small in the photo, upright and turned a quarter.

    python benchmarks/loose_fit.py [--eyes 12 16 24] [--report reports/realphotos/loose_fit_small.json]

Every face of the example and the development set (``python -m training.devset --out runs/devset``) that the full
pipeline (detection, network, full fit) does not call loose at the photo's own size is reconstructed again in the
photo shrunk until its eye distance is ``--eyes`` px, as it is and turned a quarter (``np.rot90``); the face found
nearest where it went is scored. Prints, per size and turn, the landmark residual in photo px and in eye distances
(median and 95th percentile) and the share called loose (``pipeline.LOOSE_FIT``); the app's status line names the
face's size among a loose fit's likely reasons under ``demo.ui.SMALL_EYES_PX``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.errors import NoFaceError  # noqa: E402
from inversefacenet.images import load_image, photos_in  # noqa: E402
from inversefacenet.pipeline import LOOSE_FIT, FaceResult  # noqa: E402
from inversefacenet.preprocess import eye_distance  # noqa: E402

EXAMPLE = ROOT / "assets/examples/astronaut.jpg"


def centre(face: FaceResult) -> np.ndarray:
    """(2,) the middle of the face's box, photo px."""
    x0, y0, x1, y1 = face.box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def turned(point: np.ndarray, width: int) -> np.ndarray:
    """Where a point of a photo ``width`` px wide lands in the photo turned a quarter by ``np.rot90``."""
    return np.array([point[1], width - 1 - point[0]])


def scores(reconstructor: Reconstructor, photo: np.ndarray, face: FaceResult, eyes: float, turn: int) -> dict | None:
    """The residuals of the face found nearest where ``face`` went in the photo shrunk to ``eyes`` px between its
    eyes and turned ``turn`` quarters; None when no face is found there."""
    factor = eyes / eye_distance(face.detected_landmarks)
    small = cv2.resize(photo, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    where = centre(face) * factor
    if turn:
        where = turned(where, small.shape[1])
        small = np.ascontiguousarray(np.rot90(small, turn))
    try:
        found = reconstructor.reconstruct_image(small)
    except NoFaceError:
        return None
    nearest = min(found, key=lambda other: float(np.linalg.norm(centre(other) - where)))
    if np.linalg.norm(centre(nearest) - where) > 2 * eyes:  # another face: this one was missed
        return None
    return {"px": nearest.landmark_error_px, "eye_distances": nearest.landmark_error_iod, "loose": nearest.loose_fit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=ROOT / "runs/devset")
    parser.add_argument("--eyes", type=float, nargs="+", default=[12, 16, 24])
    parser.add_argument("--report", type=Path, default=ROOT / "reports/realphotos/loose_fit_small.json")
    args = parser.parse_args()
    reconstructor = Reconstructor.load()
    rows: dict[str, list[dict]] = {f"{eyes:g} px, turn {turn}": [] for eyes in args.eyes for turn in (0, 1)}
    missed = dict.fromkeys(rows, 0)
    for path in tqdm([EXAMPLE, *photos_in(args.photos)], desc="photos", unit="photo"):
        photo = load_image(path)
        try:
            faces = reconstructor.reconstruct_image(photo)
        except NoFaceError:  # a development-set photo whose only face is turned away
            continue
        for face in faces:
            for eyes in args.eyes:
                if face.loose_fit or eye_distance(face.detected_landmarks) <= eyes:
                    continue
                for turn in (0, 1):
                    key, scored = f"{eyes:g} px, turn {turn}", scores(reconstructor, photo, face, eyes, turn)
                    if scored is None:
                        missed[key] += 1
                    else:
                        rows[key].append(scored)
    summary = {}
    print(f"{'eye distance, turn':<18} | {'faces':>5} | {'missed':>6} | {'px median / p95':>16} | "
          f"{'eye dist. median / p95':>22} | {'loose':>5}")  # fmt: skip
    for key, scored in rows.items():
        if not scored:  # no face was that much larger, or none was found at this size
            continue
        px, iod = (np.array([row[name] for row in scored]) for name in ("px", "eye_distances"))
        loose = float(np.mean([row["loose"] for row in scored]))
        summary[key] = {"faces": len(scored), "missed": missed[key], "px_median": float(np.median(px)),
                        "px_p95": float(np.percentile(px, 95)), "eye_distances_median": float(np.median(iod)),
                        "eye_distances_p95": float(np.percentile(iod, 95)), "loose_share": loose}  # fmt: skip
        print(f"{key:<18} | {len(scored):>5} | {missed[key]:>6} | {np.median(px):7.2f} / {np.percentile(px, 95):5.2f} "
              f"| {np.median(iod):12.3f} / {np.percentile(iod, 95):6.3f} | {loose:5.2f}")  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps({"loose_fit": LOOSE_FIT, "rows": summary}, indent=1))
    print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
