"""README figures: an overview of the face model, and a reconstruction strip for a photo.

    python -m tools.showcase --out out [--figure assets/facemodel_overview.png]
    python -m tools.showcase --photo assets/examples/astronaut.jpg --figure assets/result.png

Panels: the mean face from three views, shape PCs 1-3 at -3 and +3 sigma (framed like the
mean face), the jawOpen and smile blendshapes at weight 1, and albedo
PCs 1-2 at -3 and +3 sigma (all under the same light).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from inversefacenet.export import SUFFIXES, export_face
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.render.renderer import render, to_uint8

PANEL = 256


def neutral_parameters(model: FaceModel) -> FaceParameters:
    """Mean face, frontal, under a soft white light from above-front."""
    params = FaceParameters.neutral(model.layout, ambient=0.9)
    params.sh[:, 1], params.sh[:, 2] = 0.2, 0.35
    return params


def overview(model: FaceModel) -> Image.Image:
    """One image with labelled panels of the model's main modes of variation."""
    panels: list[tuple[str, FaceParameters, bool]] = []

    def variant(label: str, fixed_crop: bool = False, **edits: tuple[int, float]) -> None:
        params = neutral_parameters(model)
        for group, (index, value) in edits.items():
            getattr(params, group)[0, index] = value
        panels.append((label, params, fixed_crop))

    variant("mean, frontal")
    variant("mean, yaw 35", rotation=(1, np.radians(35)))
    variant("mean, pitch -20 roll 10", rotation=(0, np.radians(-20)))
    panels[-1][1].rotation[0, 2] = np.radians(10)
    for k in range(3):  # shape panels share the mean face's crop, so that size shows
        variant(f"shape PC{k + 1} -3 sd", fixed_crop=True, shape=(k, -3.0))
        variant(f"shape PC{k + 1} +3 sd", fixed_crop=True, shape=(k, 3.0))
    names = model.expression_names
    if "jawOpen" in names:
        variant("jawOpen 1.0", expression=(names.index("jawOpen"), 1.0))
        variant("smile 1.0", expression=(names.index("mouthSmileLeft"), 1.0))
        panels[-1][1].expression[0, names.index("mouthSmileRight")] = 1.0
    else:
        variant("expression PC1 -3 sd", expression=(0, -3.0))
        variant("expression PC1 +3 sd", expression=(0, 3.0))
    variant("albedo PC1 -3 sd", albedo=(0, -3.0))
    variant("albedo PC1 +3 sd", albedo=(0, 3.0))
    variant("albedo PC2 -3 sd", albedo=(1, -3.0))
    variant("albedo PC2 +3 sd", albedo=(1, 3.0))
    columns = 5
    sheet = Image.new("RGB", (columns * PANEL, -(-len(panels) // columns) * (PANEL + 20)), (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    mean_crop = render(model, neutral_parameters(model), PANEL)
    for k, (label, params, fixed_crop) in enumerate(panels):
        crop = (mean_crop.crop_scale, mean_crop.crop_offset) if fixed_crop else None
        image = to_uint8(render(model, params, PANEL, crop=crop).image[0], background=0.12)
        x, y = (k % columns) * PANEL, (k // columns) * (PANEL + 20)
        sheet.paste(Image.fromarray(image), (x, y + 20))
        draw.text((x + 6, y + 4), label, fill=(235, 235, 235))
    return sheet


def result_strip(photo: Path, model: FaceModel) -> Image.Image:
    """Input crop | fitted silhouette and 68 points | reconstruction | geometry | albedo | relit."""
    from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
    from inversefacenet.images import load_image
    from inversefacenet.pipeline import Reconstructor, draw_overlay
    from inversefacenet.preprocess import Crop, crop_image

    image = load_image(photo)
    predictor = Predictor.load(DEFAULT_CHECKPOINT, model) if DEFAULT_CHECKPOINT.is_file() else None
    face = Reconstructor(model, predictor=predictor)(image)[0]  # what Reconstructor.load() does
    crop = face.crop
    zoom = PANEL / crop.size
    big = Crop(crop.scale * zoom, (crop.offset[0] * zoom, crop.offset[1] * zoom), PANEL)
    grey = np.full((1, model.n_vertices, 3), 0.7, np.float32)
    white_light = replace(face.params, sh=FaceParameters.neutral(model.layout, ambient=1.0).sh)
    relit = replace(face.params, sh=neutral_parameters(model).sh)
    relit.sh[:, 3] = 0.45  # light from the viewer's right
    shaded_grey = replace(face.params, sh=neutral_parameters(model).sh)
    panels = [
        ("input", crop_image(image, big)),
        ("fit: silhouette, iBUG-68", crop_image(draw_overlay(image, [face]), big)),
        ("reconstruction", face.render(PANEL)),
        ("geometry", to_uint8(render(model, shaded_grey, PANEL, albedo=grey).image[0])),
        ("albedo", face.render(PANEL, white_light)),
        ("relit from the right", face.render(PANEL, relit)),
    ]  # fmt: skip
    strip = Image.new("RGB", (len(panels) * PANEL, PANEL + 20), (30, 30, 30))
    draw = ImageDraw.Draw(strip)
    for k, (label, picture) in enumerate(panels):
        strip.paste(Image.fromarray(picture), (k * PANEL, 20))
        draw.text((k * PANEL + 6, 4), label, fill=(235, 235, 235))
    return strip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out"))
    parser.add_argument("--model", type=Path, default=None, help="face-model .npz (default: the shipped one)")
    parser.add_argument("--figure", type=Path, default=None, help="also write the figure here")
    parser.add_argument("--photo", type=Path, default=None, help="make the reconstruction strip of this photo")
    args = parser.parse_args(argv)
    model = FaceModel.load(args.model)
    if args.photo is not None:
        strip = result_strip(args.photo, model)
        target = args.figure or args.out / f"{args.photo.stem}_result.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        strip.save(target)
        print(f"wrote {target}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    sheet = overview(model)
    for target in filter(None, (args.out / "facemodel_overview.png", args.figure)):
        sheet.save(target)
        print(f"wrote {target}")
    params = neutral_parameters(model)
    vertices = model.geometry(params.shape, params.expression)[0]
    albedo = model.albedo(params.albedo)[0]
    for suffix in SUFFIXES:
        for path in export_face(args.out / f"mean_face{suffix}", model, vertices, np.clip(albedo, 0, 1)):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
