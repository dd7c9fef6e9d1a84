"""What real photos add to a clean render, for the corpus and the realistic evaluation.

The network used to see only renders of the face model on black, cropped and masked from the
true landmark vertices. Photos differ in six ways, each a switch of :class:`Realism`:

- background: what the mask lets through around the face (procedural gradients, smooth
  colour noise, stripes, speckle);
- head: the model is a face without a head, and a network that sees beyond the face mask
  would learn its cut-out outline; photos have hair, ears, a neck and clothes there, drawn
  behind the face from its landmarks;
- occluders: hair strands and fringes over the forehead and sides, glasses frames, blobs
  and hand-like shapes over the face;
- camera: white balance, exposure, blur, sensor noise, JPEG, a share of grayscale;
- landmark noise: the crop and the mask come from MediaPipe's points, which sit off the
  model's landmark vertices by a measured, pose-dependent pattern
  (:mod:`inversefacenet.landmark_offsets`);
- harsh light lives in the parameter distribution (``CorpusDistribution.harsh_light``),
  since the light is a label.

All functions are pure given the ``rng``, so corpus batches stay a function of (seed, index).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import cv2
import numpy as np

from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.landmark_offsets import measured_offsets, moved
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import (
    ALIGNMENT_SIZE,
    EYES,
    INPUT_CHANNELS,
    Crop,
    crop_for_landmarks,
    crop_image,
    input_mask,
    masked_colours,
)
from inversefacenet.render.renderer import render


@dataclass(frozen=True)
class Realism:
    """Which photo effects to add; ``Realism.none()`` is the clean corpus."""

    background: bool = True
    head: float = 0.7  # probability that the background gets a head around the face (hair, ears, neck, clothes)
    occluders: float = 0.5  # probability that an image gets an occluder
    camera: bool = True
    landmark_noise: bool = True
    grayscale: float = 0.08  # share of grayscale images (with ``camera``)
    share: float = 1.0  # share of images made photo-like; the rest stay clean renders with exact crops

    @classmethod
    def none(cls) -> Realism:
        return cls(background=False, head=0.0, occluders=0.0, camera=False, landmark_noise=False)

    def without(self, parts: str) -> Realism:
        """This realism with the comma-separated ``parts`` (field names, e.g. "occluders,camera") switched off."""
        names = [name for name in parts.split(",") if name]
        unknown = set(names) - set(SWITCHES)
        if unknown:
            raise ValueError(f"unknown realism part(s) {sorted(unknown)}; choose from {', '.join(SWITCHES)}")
        return replace(self, **{name: SWITCHES[name] for name in names})

    @property
    def active(self) -> bool:
        return self.background or self.occluders > 0 or self.camera or self.landmark_noise


SWITCHES = {"background": False, "head": 0.0, "occluders": 0.0, "camera": False, "landmark_noise": False}
"""Each switchable part of :class:`Realism` and its value when switched off (for ablations)."""

PHOTO = Realism(head=0.0, occluders=0.0, landmark_noise=False)
"""What the realistic evaluation adds to its renders: a background and a camera (kept as it was measured first)."""

PHOTO_WITH_HEAD = replace(PHOTO, head=1.0)
"""The same with hair, ears, a neck and clothes around every face (``training.evaluate --realistic-head``): a network
that sees the whole crop cannot read the face's outline off a cut-out render on a plain background."""


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float in [0, 1]: a gradient, smooth colour noise, stripes or speckle."""
    kind = rng.integers(4)
    colours = rng.uniform(0, 1, (2, 3))
    yy, xx = np.mgrid[0:size, 0:size] / size
    if kind == 0:  # linear gradient
        angle = rng.uniform(0, 2 * np.pi)
        t = np.clip((np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)) + 0.5, 0, 1)[..., None]
        return colours[0] * (1 - t) + colours[1] * t
    if kind == 1:  # smooth colour noise, like an out-of-focus scene
        cells = int(rng.integers(2, 9))
        low = rng.uniform(0, 1, (cells, cells, 3)).astype(np.float32)
        return cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    if kind == 2:  # stripes (shelves, blinds, tiles)
        period = rng.uniform(0.05, 0.4)
        phase = (xx if rng.uniform() < 0.5 else yy) / period
        t = (np.sin(2 * np.pi * phase) > 0)[..., None]
        return np.where(t, colours[0], colours[1])
    base = colours[0] + rng.normal(0, 0.15, (size, size, 3))  # speckled wall
    return cv2.GaussianBlur(base.astype(np.float32), (0, 0), rng.uniform(0.5, 2)).clip(0, 1)


HAIR_COLOURS = np.array([[0.05, 0.04, 0.03], [0.2, 0.12, 0.07], [0.4, 0.26, 0.15], [0.75, 0.6, 0.38],
                         [0.6, 0.6, 0.6], [0.55, 0.22, 0.1]])  # fmt: skip
"""Black, dark and mid brown, blond, grey, red (linear RGB in [0, 1], before the light)."""


def add_head(backdrop: np.ndarray, image: np.ndarray, face: np.ndarray, points: np.ndarray,
             rng: np.random.Generator) -> None:  # fmt: skip
    """Draw clothes, a neck, hair and ears in place on a float (S, S, 3) ``backdrop``, around the face that
    ``image`` (S, S, 3) covers where ``face`` (S, S) is set; points: (478, 2) crop pixels. The face goes on top."""
    top, chin, left, right = points[10], points[152], points[234], points[454]
    up, across = top - chin, right - left
    height, width = float(np.linalg.norm(up)), float(np.linalg.norm(across))
    angle = float(np.degrees(np.arctan2(across[1], across[0])))
    shade = np.median(image[face], axis=0) if face.any() else np.array([0.7, 0.5, 0.4])
    skin = tuple(float(c) for c in shade)

    def ellipse(centre: np.ndarray, axes: tuple[float, float], colour: tuple[float, ...]) -> None:
        cv2.ellipse(backdrop, _int(centre), (round(axes[0]), round(axes[1])), angle, 0, 360, colour, -1, cv2.LINE_AA)

    if rng.uniform() < 0.7:  # clothes: shoulders below the neck
        clothes = tuple(float(c) for c in rng.uniform(0, 1, 3) * rng.uniform(0.2, 1))
        ellipse(chin - 1.3 * up, (1.4 * width, 0.7 * height), clothes)
    neck = np.array([points[172] - 0.1 * across, points[397] + 0.1 * across, points[397] + 0.1 * across - 1.5 * up,
                     points[172] - 0.1 * across - 1.5 * up])  # fmt: skip
    cv2.fillPoly(backdrop, [_int(neck)], tuple(float(c) for c in shade * rng.uniform(0.5, 0.85)), cv2.LINE_AA)
    if rng.uniform() < 0.85:  # hair behind the head, down to the ears or past the jaw
        hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.6, 1.3)
        length = rng.uniform(0.55, 1.1)
        ellipse(top - 0.15 * up, (rng.uniform(0.6, 0.75) * width, length * height), tuple(float(c) for c in hair))
    for side, point in ((-1, left), (1, right)):
        ellipse(point + side * 0.04 * across - 0.08 * up, (0.08 * width, 0.15 * height), skin)


def add_occluder(image: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> None:
    """Draw one occluder in place on a float (S, S, 3) image; points: (478, 2) crop pixels."""
    low, high = points[:MESH_POINTS].min(axis=0), points[:MESH_POINTS].max(axis=0)
    width = float(max(high[0] - low[0], 1.0))
    colour = tuple(float(c) for c in rng.uniform(0, 1, 3) * rng.uniform(0.1, 1))
    kind = rng.integers(4)
    if kind == 0:  # hair: strands or a fringe from above, over the forehead and sides
        for _ in range(int(rng.integers(8, 40))):
            x = rng.uniform(low[0] - 0.1 * width, high[0] + 0.1 * width)
            y = low[1] + rng.uniform(-0.1, 0.35) * width
            curve = np.stack([x + np.cumsum(rng.normal(0, 0.03 * width, 6)), np.linspace(-5, y, 6)], axis=1)
            thickness = max(1, round(rng.uniform(0.005, 0.04) * width))
            cv2.polylines(image, [_int(curve)], False, colour, thickness, cv2.LINE_AA)
    elif kind == 1:  # glasses: two rims around the eyes and a bridge
        thickness = max(1, round(rng.uniform(0.01, 0.03) * width))
        centres = [points[eye].mean(axis=0) for eye in EYES]
        axes = (round(rng.uniform(0.13, 0.2) * width), round(rng.uniform(0.09, 0.14) * width))
        for centre in centres:
            cv2.ellipse(image, _int(centre), axes, 0, 0, 360, colour, thickness, cv2.LINE_AA)
        cv2.line(image, _int(centres[0] + [axes[0], 0]), _int(centres[1] - [axes[0], 0]), colour, thickness)
    elif kind == 2:  # a blob at the edge of the face (a strand, a scarf, a microphone)
        centre = points[rng.integers(468)]
        axes = tuple(round(a) for a in rng.uniform(0.05, 0.25, 2) * width)
        cv2.ellipse(image, _int(centre), axes, rng.uniform(0, 180), 0, 360, colour, -1, cv2.LINE_AA)
    else:  # a hand from below or the side: a skin-coloured palm and fingers
        skin = tuple(float(c) for c in np.array([0.85, 0.62, 0.5]) * rng.uniform(0.4, 1.1))
        side = rng.choice([-1, 1])
        palm = np.array([high[0] if side > 0 else low[0], rng.uniform(low[1], high[1]) + 0.2 * width])
        cv2.ellipse(image, _int(palm), (round(0.25 * width), round(0.3 * width)), 0, 0, 360, skin, -1, cv2.LINE_AA)
        for k in range(4):
            tip = palm + [-side * 0.35 * width, (k - 1.5) * 0.1 * width]
            cv2.line(image, _int(palm), _int(tip), skin, max(1, round(0.07 * width)), cv2.LINE_AA)


def camera_effects(image: np.ndarray, rng: np.random.Generator, grayscale: float) -> np.ndarray:
    """White balance, exposure, blur, sensor noise, JPEG and grayscale on a float (S, S, 3) image."""
    image = image * rng.uniform(0.85, 1.15, 3) * rng.uniform(0.75, 1.25)
    if rng.uniform() < 0.4:
        image = cv2.GaussianBlur(image.astype(np.float32), (0, 0), rng.uniform(0.3, 1.2))
    image = image + rng.normal(0, rng.uniform(0, 0.03), image.shape)
    if rng.uniform() < grayscale:
        image = np.repeat(image.mean(axis=-1, keepdims=True), 3, axis=-1)
    pixels = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    if rng.uniform() < 0.6:
        quality = int(rng.integers(30, 96))
        encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1]
        pixels = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    return pixels.astype(np.float32) / 255


def photo_like(image: np.ndarray, face: np.ndarray, points: np.ndarray, rng: np.random.Generator,
               realism: Realism) -> np.ndarray:  # fmt: skip
    """A render made photo-like: image (S, S, 3) float (0 off the face), face (S, S) bool coverage."""
    out = image.astype(np.float32)
    if realism.background:
        backdrop = background(image.shape[0], rng).astype(np.float32)
        if realism.head and rng.uniform() < realism.head:  # no draw without heads: PHOTO's photos stay as measured
            add_head(backdrop, image, face, points, rng)
        out = np.where(face[..., None], out, backdrop).astype(np.float32)
    if rng.uniform() < realism.occluders:
        add_occluder(out, points, rng)
    if realism.camera:
        out = camera_effects(out, rng, realism.grayscale)
    return np.clip(out, 0, 1)


def recrop(image: np.ndarray, points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, Crop]:
    """The crop rule applied to other points: (image resampled into their crop, the points there, the crop)."""
    crop = crop_for_landmarks(points, size)
    return crop_image(image, crop), crop.to_crop(points), crop


def network_inputs(images: np.ndarray, coverage: np.ndarray, points: np.ndarray, rotation: np.ndarray,
                   rng: np.random.Generator, realism: Realism, mask: str = "face",
                   own_offsets: Sequence[np.ndarray | None] | None = None) -> NetworkBatch:  # fmt: skip
    """Renders -> network inputs, masks and crop alignments (:class:`NetworkBatch`).

    images: (B, S, S, 3) float renders; coverage: (B, S, S) bool; points: (B, 478, 2) the
    model's MediaPipe landmark vertices in crop pixels; rotation: (B, 3) radians; mask: the input
    mask rule (:func:`inversefacenet.preprocess.input_mask`); own_offsets: per image, the
    (468, 2) pattern MediaPipe was measured to put on that very face, or None; an image with
    one is always made photo-like and cropped by it, the others sample a pattern by pose.
    """
    size = images.shape[1]
    exact = Crop(1.0, (0.0, 0.0), size)  # the renders are framed by the rule on the true points
    inputs = np.empty((*images.shape[:3], INPUT_CHANNELS[mask]), np.float32)
    masks = np.empty(images.shape[:3], bool)
    alignment = np.zeros((len(images), ALIGNMENT_SIZE), np.float32)
    for k in range(len(images)):
        image, landmarks = images[k], points[k]
        offsets = None if own_offsets is None else own_offsets[k]
        if offsets is not None or rng.uniform() < realism.share:
            image = photo_like(image, coverage[k], landmarks, rng, realism)
            if offsets is None and realism.landmark_noise:
                offsets = measured_offsets().sample(np.degrees(rotation[k, :2]), rng)
            if offsets is not None:
                image, landmarks, crop = recrop(image, moved(landmarks, offsets), size)
                alignment[k] = crop.alignment_to(exact)
        masks[k] = input_mask(landmarks, size, mask)
        inputs[k] = masked_colours(np.clip(image, 0, 1) - 0.5, masks[k], mask)
    return NetworkBatch(inputs, masks, alignment)


class NetworkBatch(NamedTuple):
    """What the network is fed and what it should say about its crop."""

    inputs: np.ndarray  # (B, S, S, 3) float32 in [-0.5, 0.5], 0 off the mask
    masks: np.ndarray  # (B, S, S) bool
    alignment: np.ndarray  # (B, 3) where the exact crop lies in the input's crop (Crop.alignment_to); 0 if exact


def _int(point: np.ndarray) -> tuple[int, int] | np.ndarray:
    rounded = np.round(point).astype(np.int32)
    return tuple(int(v) for v in rounded) if rounded.ndim == 1 else rounded


def photo_of_face(
    model: FaceModel, params: FaceParameters, rng: np.random.Generator, size: int = 256,
    face_fraction: float = 0.45, realism: Realism | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One face (batch of 1) as a photo for the real path: (size, size, 3) uint8 and its 478 true points.

    The face's crop box takes ``face_fraction`` of the photo's side, centred; the rest is
    background; ``realism`` picks the effects (by default ``PHOTO``: background and camera).
    """
    inner = round(size * face_fraction)
    first = render(model, params, inner)
    crop = (first.crop_scale, first.crop_offset + (size - inner) / 2)
    out = render(model, params, size, crop=crop)
    points = out.pixels[0, model.landmarks_mediapipe]
    image = photo_like(out.image[0], out.raster.mask[0], points, rng, realism or PHOTO)
    return (image * 255 + 0.5).astype(np.uint8), points
