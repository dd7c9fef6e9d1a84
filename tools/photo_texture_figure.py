"""Figure strip of the de-lit photo texture: per photo, its face crop, the face relit with the model albedo,
the face relit with the photo texture (both pasted into the crop) and the texture atlas. After the photos,
synthetic faces of the benchmark (painted freckles, brows and lip colour: detail the model lacks).

    python tools/photo_texture_figure.py [PHOTO ...] [--synthetic 1] [--light "side light"]
        [--out assets/photo_texture_strip.jpg]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import photo_texture as bench  # noqa: E402
from inversefacenet import FaceModel, Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.lighting import PRESETS  # noqa: E402
from inversefacenet.photo_texture import for_face, relit  # noqa: E402
from inversefacenet.preprocess import crop_image  # noqa: E402
from inversefacenet.render.renderer import RenderOutput, render, to_uint8  # noqa: E402

PANEL = 320
TITLES = ("photo", "relit: model albedo", "relit: photo texture", "photo texture (atlas)")


def _pasted(out: RenderOutput, crop: np.ndarray) -> np.ndarray:
    return np.where(out.raster.mask[0][..., None], to_uint8(out.image[0]), crop)


def row(reconstructor: Reconstructor, photo: np.ndarray, light: str) -> list[np.ndarray]:
    """The four panels (PANEL px) of the largest face in a photo ((H, W, 3) uint8)."""
    face = reconstructor(photo)[0]
    texture = for_face(face, photo)
    factor = PANEL / face.crop.size  # the fit's crop at PANEL px, where the default render lands
    crop = replace(face.crop, scale=face.crop.scale * factor, offset=tuple(o * factor for o in face.crop.offset),
                   size=PANEL)  # fmt: skip
    pixels = crop_image(photo, crop)
    lit = face.lit_by(light)
    atlas = cv2.resize(texture.texture_uint8(), (PANEL, PANEL), interpolation=cv2.INTER_AREA)
    return [pixels, _pasted(render(face.model, lit, PANEL), pixels),
            _pasted(relit(face.model, lit, texture, PANEL), pixels), atlas]  # fmt: skip


def synthetic(model: FaceModel, seed: int) -> np.ndarray:
    """The benchmark's synthetic photo of ``seed`` (:mod:`benchmarks.photo_texture`)."""
    rng = np.random.default_rng(seed)
    truth = bench.synthetic_face(model, rng)
    albedo = bench.paint(model, np.clip(model.albedo(truth.albedo)[0], 0, 1), rng)
    return bench.synthetic_photo(model, truth, albedo, rng)[0]


def _titled(panel: np.ndarray, title: str) -> np.ndarray:
    out = panel.copy()
    cv2.rectangle(out, (0, 0), (PANEL, 22), (0, 0, 0), -1)
    cv2.putText(out, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, default=[ROOT / "assets" / "examples" / "astronaut.jpg"])
    parser.add_argument("--light", default="side light", choices=sorted(PRESETS))
    parser.add_argument("--synthetic", type=int, default=1,
                        help="also this many synthetic faces with painted freckles, brows and lips (benchmark seeds)")
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "photo_texture_strip.jpg")
    args = parser.parse_args()
    reconstructor = Reconstructor.load()
    photos = [load_image(path) for path in args.photos]
    photos += [synthetic(reconstructor.model, seed) for seed in range(args.synthetic)]
    rows = [row(reconstructor, photo, args.light) for photo in photos]
    rows[0] = [_titled(panel, title) for panel, title in zip(rows[0], TITLES, strict=True)]
    strip = np.concatenate([np.concatenate(panels, axis=1) for panels in rows], axis=0)
    Image.fromarray(strip).save(args.out, quality=90)
    print(f"wrote {args.out} ({len(rows)} photos, light: {args.light})")


if __name__ == "__main__":
    main()
