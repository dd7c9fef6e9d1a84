"""Figure of the live tab's relighting: a photo fed as webcam frames, relit by each preset with the person's own
skin (the frame's pixels times the shading ratio) and with the face model's albedo, cropped around the face.

    python tools/live_relight_figure.py [PHOTO ...] [--out reports/live/own_skin.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.live import LiveSession  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.lighting import PRESETS  # noqa: E402

PANEL = 240
WARM_UP_FRAMES = 3
"""Frames fed before the one shown (the tracker's first frames find the face and start the smoothing)."""


def panels(reconstructor: Reconstructor, photo: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(title, PANEL px square around the face) for the photo, then each preset with own skin and with albedo."""
    session = LiveSession(reconstructor)
    shown: list[tuple[str, np.ndarray]] = []
    for light in PRESETS:
        for own_skin in (True, False):
            for _ in range(WARM_UP_FRAMES):
                frame, _ = session.frame(photo, light, True, True, False, own_skin)
            shown.append((f"{light}: {'own skin' if own_skin else 'model albedo'}", frame))
    session.close()
    faces = reconstructor.detector(photo)
    if not faces:
        raise SystemExit("no face in the photo")
    box = faces[0].landmarks[:, :2]
    centre, side = (box.min(0) + box.max(0)) / 2, 1.5 * np.ptp(box, axis=0).max()
    left, top = (centre - side / 2).astype(int)
    square = (left, top, left + int(side), top + int(side))
    return [(title, np.asarray(Image.fromarray(image).crop(square).resize((PANEL, PANEL))))
            for title, image in [("photo", photo), *shown]]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, default=[ROOT / "assets" / "examples" / "astronaut.jpg"])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "live" / "own_skin.jpg")
    args = parser.parse_args()
    reconstructor = Reconstructor.load(fit_mode=None)
    save_sheet([panels(reconstructor, load_image(path)) for path in args.photos], args.out)


def save_sheet(rows: list[list[tuple[str, np.ndarray]]], out: Path) -> None:
    """Rows of titled PANEL px squares as one JPEG."""
    sheet = Image.new("RGB", (PANEL * max(len(row) for row in rows), (PANEL + 18) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(rows):
        for c, (title, image) in enumerate(row):
            sheet.paste(Image.fromarray(image), (c * PANEL, r * (PANEL + 18) + 18))
            draw.text((c * PANEL + 4, r * (PANEL + 18) + 3), title, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88)
    print(out)


if __name__ == "__main__":
    main()
