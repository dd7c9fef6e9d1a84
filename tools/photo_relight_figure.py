"""Figure of the photo tab's relighting with the photo texture: the photo's own face relit by each preset, with the
person around the face relit too (the app's rule: MediaPipe's person mask and a smooth head's shading beyond the face
model) and, below, with the change fading out beyond the face's oval (the rule without a person mask, the live tab's).

    python tools/photo_relight_figure.py [PHOTO ...] [--out reports/relight/photo_tab.jpg]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.person import person_mask  # noqa: E402
from demo.session import Session  # noqa: E402
from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.lighting import PRESETS, preset_sh  # noqa: E402
from inversefacenet.preprocess import Crop  # noqa: E402
from tools.live_relight_figure import PANEL, save_sheet  # noqa: E402


def rows(reconstructor: Reconstructor, path: Path) -> list[list[tuple[str, np.ndarray]]]:
    """Two rows of PANEL px squares around the first face: with the person mask, and without."""
    session = Session.reconstruct(reconstructor, path)
    try:
        face = session.face
        factor = session.display.shape[1] / session.photo.shape[1]
        crop = session.views.in_photo(Crop(face.crop.scale / factor, face.crop.offset, face.crop.size))
        shown = {"with the person": person_mask(session.display), "face only": None}
        session.use_photo_texture(True)
        skin = session.shown.albedo[None]  # the de-lit skin, as the app has it
        out = []
        for label, person in shown.items():
            row = [("photo", session.display)]
            for light in PRESETS:
                params = replace(face.params, sh=preset_sh(light, face.params.sh[0])[None])
                drawn = session.views.relit(params, skin)
                relit = session.views.own_skin(session.display, params, crop, person, drawn)
                row.append((f"{light}, {label}", relit))
            out.append(row)
    finally:
        session.close()
    x0, y0, x1, y1 = (np.array(face.box) * factor).tolist()
    side = 1.7 * max(x1 - x0, y1 - y0)
    square = tuple(int(v) for v in ((x0 + x1 - side) / 2, (y0 + y1 - side) / 2, (x0 + x1 + side) / 2,
                                    (y0 + y1 + side) / 2))  # fmt: skip
    return [[(title, np.asarray(Image.fromarray(image).crop(square).resize((PANEL, PANEL)))) for title, image in row]
            for row in out]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, default=[ROOT / "assets" / "examples" / "astronaut.jpg"])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "relight" / "photo_tab.jpg")
    args = parser.parse_args()
    reconstructor = Reconstructor.load()
    save_sheet([row for path in args.photos for row in rows(reconstructor, path)], args.out)


if __name__ == "__main__":
    main()
