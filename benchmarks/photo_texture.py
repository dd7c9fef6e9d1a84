"""The de-lit photo texture against the model albedo: relighting error with known truth, and real photos.

    python benchmarks/photo_texture.py [--faces 12] [--light studio|harsh] [--photos assets/examples/astronaut.jpg ...]

Synthetic: faces of the face model whose albedo has detail outside the model's space (freckles,
eyebrows, lip colour, painted per vertex by :func:`paint`) are rendered under a light A (a white
studio lamp; ``--light harsh``: a film still's coloured key and fill, :func:`harsh_light`) into a
512 px photo with a background, reconstructed through the real path (MediaPipe, network, full
fit), then relit to a light B (the "side light" preset at A's exposure) and compared with the true
face under B: RMSE (0-255) inside the true face mask where both renders cover it, for the model
albedo and for the photo texture (rendered with the texture's per-vertex albedo, as the previews; and the app's
composite, the photo's own pixels times the shading's change, :meth:`demo.views.FaceViews.own_skin`, without the
person mask); and, to tell what limits it, the real path with the true light
instead of the recovered one, and the true face (pose, shape, expression) with the recovered light.
Real photos: the re-render under the recovered light against the photo inside the face mask,
model albedo vs photo texture (the texture is made from that very photo, so this says how much
of the photo survives, not that the texture generalises), the photo texture's chroma spread
(:func:`chroma_spread`: false colour, such as the bands a coloured spill in the shade leaves) and
the presets' brightness against the photo's (:func:`preset_brightness`; 10th, 50th, 90th percentile).
Also the time the photo texture adds per face (wall and CPU, with the load average beside them).
Writes reports/photo_texture/synthetic.json and real.json (``--reports DIR`` elsewhere, ``--checkpoint``
for another network); ``--timing N`` instead times the first photo's texture N times into timing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from demo.views import FaceViews  # noqa: E402
from inversefacenet import FaceModel, NoFaceError, Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.lighting import PRESETS, Light, face_irradiance, preset_sh, sh_from_light  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.photo_texture import PhotoTexture, delight, for_face, relit, texel_map  # noqa: E402
from inversefacenet.pipeline import FaceResult  # noqa: E402
from inversefacenet.preprocess import crop_image, face_mask  # noqa: E402
from inversefacenet.render.renderer import render  # noqa: E402
from training.realism import background  # noqa: E402

BROWS = [[70, 63, 105, 66, 107], [300, 293, 334, 296, 336]]
"""MediaPipe points along the upper edge of each eyebrow, outside in."""
LIPS = [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146]
"""MediaPipe points of the outer lip contour."""
REPORTS = ROOT / "reports" / "photo_texture"
EVAL_SIZE = 256
"""Side of the real photos' re-render (px, the fit's crop)."""
PHOTO_SIZE = 512
"""Side of the synthetic photos (px); the relighting error is measured there."""
TEXTURE_CROP = 256
"""Side of the oracle's crop (px): about the face's size in the synthetic photos."""


def _near(points: np.ndarray, centres: np.ndarray, radius: np.ndarray | float) -> np.ndarray:
    """(V,) Gaussian weight of each point's distance to the nearest of the centres (C, 3), mm."""
    distance = np.linalg.norm(points[:, None] - centres[None], axis=-1) / radius
    return np.exp(-(distance.min(axis=1) ** 2))


def paint(model: FaceModel, albedo: np.ndarray, rng: np.random.Generator, symmetric: bool = False) -> np.ndarray:
    """Per-vertex albedo (V, 3) with detail the model's albedo space lacks: freckles, dark brows, redder lips.

    Positions on the mean face decide where; ``symmetric`` mirrors the freckles across x = 0.
    """
    points = model.vertices_mean
    skin = np.flatnonzero(model.mask_face & ~model.mask_eyes & ~model.mask_mouth_interior)
    centres = points[rng.choice(skin, 60)]
    if symmetric:
        centres = np.concatenate([centres, centres * [-1, 1, 1]])
    freckles = np.zeros(len(points))
    for centre, radius, depth in zip(centres, rng.uniform(1.5, 3.5, len(centres)), rng.uniform(0.3, 0.6, len(centres)),
                                     strict=True):  # fmt: skip
        freckles = np.maximum(freckles, depth * _near(points, centre[None], radius))
    out = albedo * (1 - freckles[:, None] * np.array([0.55, 0.7, 0.8]))
    brow_points = np.concatenate([_segment(points[model.landmarks_mediapipe[b]], 8) for b in BROWS]) + [0, -2, 0]
    brows = _near(points, brow_points, 3.5) * 0.8
    out = out * (1 - brows[:, None]) + np.array([0.18, 0.12, 0.09]) * brows[:, None]
    lips = _near(points, _segment(points[model.landmarks_mediapipe[LIPS + LIPS[:1]]], 4), 3.0)
    out = out * (1 - lips[:, None] * np.array([0.0, 0.35, 0.3]))
    return np.clip(out, 0, 1).astype(np.float32)


def _segment(polyline: np.ndarray, steps: int) -> np.ndarray:
    """Points along a polyline (P, 3), ``steps`` per segment."""
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    return np.concatenate([a + t * (b - a) for a, b in zip(polyline[:-1], polyline[1:], strict=True)])


LIGHTS = ("studio", "harsh")
"""Light A of the synthetic faces: a white studio lamp from up to 50 deg aside with ambient, or a harsh pair (see
:func:`harsh_light`)."""
WARM, TEAL = (1.0, 0.72, 0.45), (0.45, 0.85, 1.0)


def harsh_light(rng: np.random.Generator) -> np.ndarray:
    """(9, 3) SH of a film-still light: a strong lamp from 45-75 deg aside, warm or teal, a weaker one of the other
    colour from the other side, little ambient, so that one cheek is in shade."""
    side = rng.choice([-1, 1])
    colours = [WARM, TEAL][:: rng.choice([-1, 1])]
    key = Light(azimuth_deg=side * rng.uniform(45, 75), elevation_deg=rng.uniform(0, 30), intensity=1.4,
                ambient=rng.uniform(0.08, 0.2), colour=colours[0])  # fmt: skip
    fill = Light(azimuth_deg=-side * rng.uniform(60, 100), elevation_deg=rng.uniform(-10, 20),
                 intensity=rng.uniform(0.2, 0.5), ambient=0.0, colour=colours[1])  # fmt: skip
    return sh_from_light(key) + sh_from_light(fill)


def synthetic_face(model: FaceModel, rng: np.random.Generator, light: str = "studio") -> FaceParameters:
    """A face from a moderate part of the corpus distribution (yaw up to 30 deg), under a light A (:data:`LIGHTS`)."""
    params = FaceParameters.neutral(model.layout)
    params.rotation[:] = np.radians(rng.uniform([-12, -30, -8], [12, 30, 8]))[None]
    params.shape[:] = rng.normal(size=(1, model.n_shape)) * 0.7
    params.albedo[:] = rng.normal(size=(1, model.n_albedo)) * 0.7
    params.expression[0, model.expression_names.index("mouthSmileLeft")] = rng.uniform(0, 0.4)
    if light == "harsh":
        sh = harsh_light(rng)
    else:
        sh = sh_from_light(replace(PRESETS["studio"], azimuth_deg=rng.uniform(-50, 50),
                                   elevation_deg=rng.uniform(0, 40), ambient=rng.uniform(0.4, 0.7)))  # fmt: skip
    params.sh[0] = sh * rng.uniform(0.7, 0.85) / face_irradiance(sh)  # exposed like a photo: few clipped pixels
    return params


def synthetic_photo(model: FaceModel, params: FaceParameters, albedo: np.ndarray, rng: np.random.Generator,
                    size: int = PHOTO_SIZE) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """The face with ``albedo`` (V, 3) as a (size, size, 3) uint8 photo, its crop box 45 % of the photo,
    on a background; and the crop transform that renders it there."""
    inner = round(size * 0.45)
    first = render(model, params, inner)
    crop = (first.crop_scale, first.crop_offset + (size - inner) / 2)
    out = render(model, params, size, crop=crop, albedo=albedo[None])
    image = np.where(out.raster.mask[0][..., None], out.image[0], background(size, rng))
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), crop


def in_photo(face: FaceResult) -> tuple[np.ndarray, np.ndarray]:
    """The crop transform that renders a reconstructed face where the fit put it in the photo."""
    out = render(face.model, face.params, face.crop.size)
    return out.crop_scale / face.crop.scale, (out.crop_offset - np.asarray(face.crop.offset)) / face.crop.scale


def _rmse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt(((np.clip(a, 0, 1) - np.clip(b, 0, 1))[mask] ** 2).mean()) * 255)


def _gain_rmse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """RMSE after the least-squares gain per channel from ``a`` to ``b``: exposure and white balance, which
    one photo cannot tell from the albedo (a brighter or redder light and a darker or bluer skin look alike)."""
    x, y = np.clip(a, 0, 1)[mask], np.clip(b, 0, 1)[mask]
    gain = (x * y).sum(0) / np.maximum((x * x).sum(0), 1e-9)
    return _rmse(x * gain, y, np.ones(len(x), bool))


def _errors(images: dict[str, np.ndarray], target: np.ndarray, inside: np.ndarray) -> dict[str, float]:
    """RMSE (0-255) of each image against the target inside the mask, as is and gain-matched."""
    return {**{name: _rmse(image, target, inside) for name, image in images.items()},
            **{f"{name}_gain": _gain_rmse(image, target, inside) for name, image in images.items()}}  # fmt: skip


def light_b(sh: np.ndarray) -> np.ndarray:
    """(1, 9, 3): the "side light" preset at the exposure of ``sh`` (1, 9, 3), as the app sets presets."""
    return preset_sh("side light", sh[0])[None]


def relighting_errors(model: FaceModel, truth: FaceParameters, albedo: np.ndarray, crop: tuple[np.ndarray, np.ndarray],
                      face: FaceResult, texture: PhotoTexture, photo: np.ndarray) -> dict[str, float]:  # fmt: skip
    """The reconstructed face under light B against the true one, in the photo: with the model albedo,
    the photo texture, the app's composite and, as the floor set by the recovered geometry and light, the true
    albedo."""
    true = render(model, replace(truth, sh=light_b(truth.sh)), PHOTO_SIZE, crop=crop, albedo=albedo[None])
    fitted, framing = replace(face.params, sh=light_b(face.params.sh)), in_photo(face)
    images = {
        "model_albedo": render(model, fitted, PHOTO_SIZE, crop=framing),
        "photo_texture": relit(model, fitted, texture, PHOTO_SIZE, crop=framing),
        "true_albedo": render(model, fitted, PHOTO_SIZE, crop=framing, albedo=albedo[None]),
    }
    inside = face_mask(true.pixels[0, model.landmarks_mediapipe], PHOTO_SIZE) & true.raster.mask[0]
    inside &= images["model_albedo"].raster.mask[0]
    views = FaceViews(model, face.params)
    drawn = views.relit(fitted, texture.vertex_albedo[None].astype(np.float32))  # the app's, in the photo texture
    composite = views.own_skin(photo, fitted, views.in_photo(face.crop), drawn=drawn).astype(np.float32) / 255
    shown = {name: out.image[0] for name, out in images.items()} | {"composite": composite}
    return _errors(shown, true.image[0], inside)


def oracle_errors(model: FaceModel, truth: FaceParameters, albedo: np.ndarray, rng: np.random.Generator,
                  light: np.ndarray | None = None, size: int = TEXTURE_CROP) -> dict[str, float]:  # fmt: skip
    """The same with the true pose, shape, expression and light: the photo texture's own error. With
    ``light`` (1, 9, 3), that light de-lights the photo and sets B's exposure instead of the true one."""
    out = render(model, truth, size, albedo=albedo[None])
    photo = np.where(out.raster.mask[0][..., None], out.image[0], background(size, rng))
    mask = face_mask(out.pixels[0, model.landmarks_mediapipe], size)
    believed = truth if light is None else replace(truth, sh=light)
    texture = delight(model, believed, (np.clip(photo, 0, 1) * 255 + 0.5).astype(np.uint8), mask)
    true = render(model, replace(truth, sh=light_b(truth.sh)), EVAL_SIZE, albedo=albedo[None])
    lit = replace(truth, sh=light_b(believed.sh))
    images = {"model_albedo": render(model, lit, EVAL_SIZE).image[0],
              "photo_texture": relit(model, lit, texture, EVAL_SIZE).image[0]}  # fmt: skip
    inside = face_mask(true.pixels[0, model.landmarks_mediapipe], EVAL_SIZE) & true.raster.mask[0]
    return _errors(images, true.image[0], inside)


def _timed(face: FaceResult, photo: np.ndarray) -> tuple[PhotoTexture, dict[str, float]]:
    cpu = time.process_time()
    texture = for_face(face, photo)
    return texture, {"wall_ms": texture.ms, "cpu_ms": (time.process_time() - cpu) * 1000,
                     "load_average": os.getloadavg()[0]}  # fmt: skip


def synthetic(reconstructor: Reconstructor, count: int, light: str = "studio", seed: int = 0) -> dict[str, object]:
    model = reconstructor.model
    rows = []
    for k in range(count):
        rng = np.random.default_rng(seed + k)
        truth = synthetic_face(model, rng, light)
        albedo = paint(model, np.clip(model.albedo(truth.albedo)[0], 0, 1), rng)
        photo, crop = synthetic_photo(model, truth, albedo, rng)
        face = reconstructor(photo)[0]
        texture, timing = _timed(face, photo)
        true_light = replace(face, params=replace(face.params, sh=truth.sh))  # the recovered face, the true light
        rows.append({"seed": seed + k, "yaw_deg": float(np.degrees(truth.rotation[0, 1])), **timing,
                     "real_path": relighting_errors(model, truth, albedo, crop, face, texture, photo),
                     "real_path_true_light": relighting_errors(model, truth, albedo, crop, true_light,
                                                               for_face(true_light, photo), photo),
                     "oracle": oracle_errors(model, truth, albedo, rng),
                     "oracle_recovered_light": oracle_errors(model, truth, albedo, rng, face.params.sh)})  # fmt: skip
        print(json.dumps(rows[-1]))
    return {"faces": rows, **_summary(rows)}


def rerender_errors(face: FaceResult, photo: np.ndarray, texture: PhotoTexture) -> dict[str, float]:
    """RMSE (0-255) of the re-render under the recovered light against the photo, inside its face mask
    ("mask") and where the photo texture comes from the photo ("seen": hair, glasses and hidden parts left
    out), with the share of the mask that is seen."""
    size = EVAL_SIZE
    factor = size / face.crop.size  # the fit's crop at EVAL_SIZE, where the default render lands
    crop = replace(face.crop, scale=face.crop.scale * factor, offset=tuple(o * factor for o in face.crop.offset),
                   size=size)  # fmt: skip
    pixels = crop_image(photo, crop).astype(np.float32) / 255
    with_model = render(face.model, face.params, size)
    with_texture = relit(face.model, face.params, texture, size)
    texels = texel_map(face.model)
    seen = texels.to_vertex @ texture.seen[texels.rows, texels.cols]  # (V,) share from the photo
    unlit = replace(face.params, sh=np.eye(9, 3, dtype=np.float32)[None, :, :1].repeat(3, axis=2))
    seen_image = render(face.model, unlit, size, albedo=np.repeat(seen[None, :, None], 3, axis=2)).image[0, ..., 0]
    inside = face_mask(crop.to_crop(face.detected_landmarks[:, :2]), size) & with_model.raster.mask[0]
    where = inside & (seen_image > 0.5)
    return {"model_albedo": _rmse(with_model.image[0], pixels, inside),
            "photo_texture": _rmse(with_texture.image[0], pixels, inside),
            "model_albedo_seen": _rmse(with_model.image[0], pixels, where),
            "photo_texture_seen": _rmse(with_texture.image[0], pixels, where),
            "seen_share": float(where.sum() / max(inside.sum(), 1))}  # fmt: skip


def chroma_spread(face: FaceResult, texture: PhotoTexture) -> float:
    """Mean distance of the skin texels' chromaticity, r, g, b / (r + g + b), from their median, from the chin to
    the forehead (mean-face height -40 to 55 mm): bands of false colour raise it (a face's skin varies little in
    hue; lips and brows are a small share)."""
    texels = texel_map(face.model, texture.texture.shape[0])
    rgb = texture.texture[texels.rows, texels.cols][texels.skin & (texels.height > -40) & (texels.height < 55)]
    chroma = rgb / np.maximum(rgb.sum(axis=1, keepdims=True), 1e-6)
    return float(np.linalg.norm(chroma - np.median(chroma, axis=0), axis=1).mean())


def preset_brightness(face: FaceResult, texture: PhotoTexture) -> float:
    """The photo texture's mean brightness inside the face under each preset over that under the recovered light,
    averaged over the presets: 1 when presets keep the photo's exposure, less where they keep its lit side instead
    (``lighting.matched``, since 2026-12-05)."""
    size = EVAL_SIZE
    recovered = relit(face.model, face.params, texture, size)
    inside = recovered.raster.mask[0] & face_mask(recovered.pixels[0, face.model.landmarks_mediapipe], size)
    level = recovered.image[0][inside].mean()
    return float(np.mean([relit(face.model, face.params, texture, size, preset_sh(name, face.params.sh[0])
                                ).image[0][inside].mean() / level for name in PRESETS]))  # fmt: skip


def real(reconstructor: Reconstructor, photos: list[Path]) -> dict[str, object]:
    rows = []
    for path in photos:
        photo = load_image(path)
        try:
            faces = reconstructor(photo)
        except NoFaceError:
            print(f"{path.name}: no face found")
            continue
        for k, face in enumerate(faces):
            texture, timing = _timed(face, photo)
            rows.append({"photo": path.name, "face": k, **timing, "chroma_spread": chroma_spread(face, texture),
                         "preset_brightness": preset_brightness(face, texture),
                         "under_recovered_light": rerender_errors(face, photo, texture)})  # fmt: skip
            print(json.dumps(rows[-1]))
    return {"faces": rows, **_summary(rows)}


def timing(reconstructor: Reconstructor, photos: list[Path], repeats: int) -> dict[str, object]:
    """The photo texture's time on the first photo's first face, ``repeats`` times: min and median, wall
    and CPU (the min is the least disturbed by other jobs on the machine)."""
    path = photos[0]
    photo = load_image(path)
    face = reconstructor(photo)[0]
    rows = [_timed(face, photo)[1] for _ in range(repeats)]
    stats = {f"{stat}_{key}": float(fn([r[key] for r in rows])) for key in ("wall_ms", "cpu_ms")
             for stat, fn in (("min", np.min), ("median", np.median))}  # fmt: skip
    return {"photo": path.name, "repeats": repeats, **stats, "mean_load_average": float(np.mean(
        [r["load_average"] for r in rows])), "cpu_count": os.cpu_count()}  # fmt: skip


def _summary(rows: list[dict]) -> dict[str, object]:
    """Mean RMSE per condition and method, photo texture / model albedo ratios, median time."""
    summary: dict[str, object] = {}
    for condition in [key for key, value in rows[0].items() if isinstance(value, dict)]:
        errors = [r[condition] for r in rows]
        means = {name: float(np.nanmean([e[name] for e in errors])) for name in errors[0]}  # NaN: nothing seen
        for suffix in ("", "_gain", "_seen"):
            if "model_albedo" + suffix in means:
                means["ratio" + suffix] = means["photo_texture" + suffix] / means["model_albedo" + suffix]
            if "composite" + suffix in means:
                means["ratio_composite" + suffix] = means["composite" + suffix] / means["model_albedo" + suffix]
        summary[condition] = means
    timing = {key: float(np.median([r[key] for r in rows])) for key in ("wall_ms", "cpu_ms")}
    if "chroma_spread" in rows[0]:
        summary["mean_chroma_spread"] = float(np.mean([r["chroma_spread"] for r in rows]))
    if "preset_brightness" in rows[0]:
        brightness = [r["preset_brightness"] for r in rows]
        summary["preset_brightness"] = {f"p{q}": float(np.percentile(brightness, q)) for q in (10, 50, 90)}
    return {**summary, "median_ms": timing, "mean_load_average": float(np.mean([r["load_average"] for r in rows]))}


def _relative(argument: str) -> str:
    path = Path(argument).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else argument


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=12, help="synthetic faces (0: none)")
    parser.add_argument("--photos", nargs="*", type=Path, default=[ROOT / "assets" / "examples" / "astronaut.jpg"])
    parser.add_argument("--light", choices=LIGHTS, default="studio",
                        help="the synthetic faces' light A (harsh: its report is synthetic_harsh.json)")
    parser.add_argument("--timing", type=int, default=0, help="only time the first photo's texture this many times")
    parser.add_argument("--checkpoint", type=Path, help="another network than the shipped one")
    parser.add_argument("--reports", type=Path, default=REPORTS, help=f"folder of the reports (default {REPORTS})")
    args = parser.parse_args()
    reconstructor = Reconstructor.load(checkpoint=args.checkpoint)
    texel_map(reconstructor.model)  # built once per process: not part of a face's time
    args.reports.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python benchmarks/photo_texture.py", *(_relative(a) for a in sys.argv[1:])])
    parts = [("timing", partial(timing, repeats=args.timing), args.photos)] if args.timing else [
        ("synthetic" + ("" if args.light == "studio" else f"_{args.light}"), partial(synthetic, light=args.light),
         args.faces), ("real", real, args.photos)]
    for name, run, what in parts:
        if what:
            result = run(reconstructor, what)
            print(name, json.dumps({k: v for k, v in result.items() if k != "faces"}))  # the summary
            (args.reports / f"{name}.json").write_text(json.dumps({"command": command, **result}, indent=1) + "\n")


if __name__ == "__main__":
    main()
