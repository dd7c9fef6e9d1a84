"""The synthetic training corpus (paper section 5), rendered on the fly.

Parameters are drawn independently per group (eq. 5): yaw and pitch U(-40, 40) deg, roll
U(-15, 15) deg; shape and albedo N(0, 1) (the sigmas live in the model); SH U(-0.2, 0.2)
with the ambient band U(0.6, 1.2), the same for R, G and B ("grey at first").

Faces turned further (``turned_share``, yaw 40-70 deg either way) are not the paper's: photos of three-quarter
views are common, and a network trained on the paper's range reads every face turned past it at about 40 deg.

Expression: the paper draws U(-12, 12) on a 64-d PCA of its blendshapes, with a bias of 4.8
on the first (mouth-opening) component so the mouth does not close beyond anatomical limits.
Our expression parameters are ARKit blendshape weights in [0, 1], so the same intent maps to:
each blendshape is active with probability ``expression_active`` and then takes a weight
U(0, 1); jawOpen, the mouth component, is active twice as often with a weight U(0, jaw_open_max).
Negative weights (closing beyond neutral) are never drawn, which is what the bias achieves.

Images are rendered with the model's coarse level, cropped by the landmark box and masked by
:func:`inversefacenet.preprocess.face_mask` on the projected landmarks, exactly like photos.
Batches are a pure function of (seed, batch index), so streams are deterministic and resumable.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.landmark_offsets import MeasuredOffsets
from inversefacenet.lighting import Light, sh_from_light
from inversefacenet.mirror import ParameterMirror
from inversefacenet.params import N_ROTATION, N_SH, FaceParameters
from inversefacenet.preprocess import (
    ALIGNMENT_SIZE,
    INPUT_CHANNELS,
    Crop,
    crop_for_landmarks,
    crop_image,
    input_mask,
    masked_colours,
)
from inversefacenet.render.renderer import project_face, render
from training.photo_labels import JITTER, PhotoFaces, jittered
from training.realism import NetworkBatch, Realism, network_inputs, photo_like


@dataclass(frozen=True)
class CorpusDistribution:
    """The sampling distribution P(theta) = P(R) P(shape) P(expression) P(albedo) P(light)."""

    yaw_pitch_deg: float = 40.0
    roll_deg: float = 15.0
    expression_active: float = 0.15
    jaw_open_max: float = 0.8
    sh_range: float = 0.2
    ambient: tuple[float, float] = (0.6, 1.2)
    coloured_light: bool = False
    coloured_spread: float = 0.15  # with coloured light: per-channel factor U(1 - spread, 1 + spread)
    harsh_light: float = 0.0  # share of faces lit by one strong, possibly coloured lamp + ambient instead
    turned_share: float = 0.0  # share of faces turned further than the paper's range, yaw |U(*turned_yaw_deg)|
    turned_yaw_deg: tuple[float, float] = (40.0, 70.0)

    def narrow(self) -> CorpusDistribution:
        """Little mouth opening, grey light: the bootstrapping experiment's training corpus."""
        return replace(self, expression_active=0.05, jaw_open_max=0.15, coloured_light=False)

    def wide(self) -> CorpusDistribution:
        """More expression and coloured light: the experiment's unlabelled and validation sets."""
        return replace(self, expression_active=0.25, jaw_open_max=1.0, coloured_light=True)

    def real(self) -> CorpusDistribution:
        """The paper's faces under the light of real photos: a third lit by a strong lamp, colours off-grey."""
        return replace(self, coloured_light=True, harsh_light=0.35)


PAPER = CorpusDistribution()


def distribution_named(name: str) -> CorpusDistribution:
    """The corpus distribution of a command-line name: paper | narrow | wide | real."""
    return {"paper": PAPER, "narrow": PAPER.narrow(), "wide": PAPER.wide(), "real": PAPER.real()}[name]


def sample_parameters(model: FaceModel, count: int, rng: np.random.Generator,
                      distribution: CorpusDistribution = PAPER) -> FaceParameters:  # fmt: skip
    """Draw ``count`` parameter vectors (numpy float32)."""
    d = distribution
    angles = np.stack([rng.uniform(-d.yaw_pitch_deg, d.yaw_pitch_deg, count),
                       rng.uniform(-d.yaw_pitch_deg, d.yaw_pitch_deg, count),
                       rng.uniform(-d.roll_deg, d.roll_deg, count)], axis=1)  # fmt: skip
    if d.turned_share:  # draws nothing otherwise: the paper's sets (the held-out one too) stay as they were
        turned = rng.uniform(size=count) < d.turned_share
        angles[turned, 1] = rng.uniform(*d.turned_yaw_deg, turned.sum()) * rng.choice([-1, 1], turned.sum())
    active = rng.uniform(size=(count, model.n_expression)) < d.expression_active
    expression = rng.uniform(0, 1, (count, model.n_expression)) * active
    if "jawOpen" in model.expression_names:
        jaw = model.expression_names.index("jawOpen")
        expression[:, jaw] = rng.uniform(0, d.jaw_open_max, count) * (rng.uniform(size=count) < 2 * d.expression_active)
    sh = np.repeat(rng.uniform(-d.sh_range, d.sh_range, (count, 9, 1)), 3, axis=2)
    sh[:, 0] = rng.uniform(*d.ambient, (count, 1))
    if d.coloured_light:
        sh *= rng.uniform(1 - d.coloured_spread, 1 + d.coloured_spread, (count, 1, 3))
    for k in np.flatnonzero(rng.uniform(size=count) < d.harsh_light):
        sh[k] = sh_from_light(random_lamp(rng))
    return FaceParameters(
        np.radians(angles).astype(np.float32),
        rng.normal(size=(count, model.n_shape)).astype(np.float32),
        expression.astype(np.float32),
        rng.normal(size=(count, model.n_albedo)).astype(np.float32),
        sh.astype(np.float32),
    )


HELD_OUT_SEED = 20_180_618
"""The seed of the held-out synthetic set every evaluation scores on (never drawn by training streams)."""


def held_out_set(model: FaceModel, count: int, distribution: CorpusDistribution = PAPER) -> FaceParameters:
    """The fixed held-out set of ``count`` faces. Another count draws other faces (each parameter group is drawn for
    the whole set at once): evaluations that score a part take the first faces of the same ``count``."""
    return sample_parameters(model, count, np.random.default_rng(HELD_OUT_SEED), distribution)


def random_lamp(rng: np.random.Generator) -> Light:
    """A strong lamp from the front half-space, white or tinted (tungsten, shade, neon), over dim ambient."""
    tint = np.ones(3) if rng.uniform() < 0.5 else rng.uniform(0.6, 1.0, 3)
    return Light(azimuth_deg=rng.uniform(-100, 100), elevation_deg=rng.uniform(-30, 70),
                 intensity=rng.uniform(0.4, 1.2), ambient=rng.uniform(0.3, 0.8),
                 colour=tuple(float(c) for c in tint / tint.max()))  # fmt: skip


def render_batch(
    model: FaceModel, params: FaceParameters, size: int, realism: Realism | None = None,
    rng: np.random.Generator | None = None, mask: str = "face",
    own_offsets: Sequence[np.ndarray | None] | None = None,
) -> NetworkBatch:  # fmt: skip
    """Renders of ``params`` as network inputs, their masks and crop alignments (:class:`NetworkBatch`).

    realism: photo effects (background, occluders, camera, landmark noise) drawn from ``rng``;
    mask: the network's input mask rule (:func:`inversefacenet.preprocess.input_mask`);
    own_offsets: per face, its measured MediaPipe pattern or None (:func:`training.realism.network_inputs`).
    """
    coarse = model.coarse()
    out = render(coarse, params, size)
    points = out.pixels[:, coarse.landmarks_mediapipe]
    if realism is not None and realism.active:
        rng = rng or np.random.default_rng()
        return network_inputs(out.image, out.raster.mask, points, params.rotation, rng, realism, mask, own_offsets)
    masks = np.stack([input_mask(p, size, mask) for p in points])
    images = np.clip(out.image, 0, 1) - 0.5
    exact = np.zeros((len(masks), ALIGNMENT_SIZE), np.float32)  # crops from the true points
    return NetworkBatch(masked_colours(images, masks, mask), masks, exact)


def render_inputs(
    model: FaceModel, params: FaceParameters, size: int, realism: Realism | None = None,
    rng: np.random.Generator | None = None, mask: str = "face",
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Network inputs (B, S, S, 3) in [-0.5, 0.5] (0 off the mask) and the masks (B, S, S): :func:`render_batch`
    without the alignments."""
    batch = render_batch(model, params, size, realism, rng, mask)
    return batch.inputs, batch.masks


def perturbation(model: FaceModel, scale: float) -> np.ndarray:
    """Per-dimension noise: rotation 4 deg, shape 0.3, expression 0.1, albedo 0.3, light 0.05."""
    sizes = model.layout
    return scale * np.concatenate([
        np.full(N_ROTATION, np.radians(4.0)), np.full(sizes.n_shape, 0.3), np.full(sizes.n_expression, 0.1),
        np.full(sizes.n_albedo, 0.3), np.full(N_SH, 0.05),
    ]).astype(np.float32)  # fmt: skip


COMPOSITE_NOISE = 0.5
"""Scale of :func:`perturbation` for faces rendered into labelled photos: small enough that the render still covers
the photo's own face (rotation 2 deg, shape 0.15), large enough that the photo's surroundings do not give the answer."""


def rendered_into_photos(model: FaceModel, photos: PhotoFaces, rows: int, rng: np.random.Generator,
                         realism: Realism, mask: str = "face", noise: float = COMPOSITE_NOISE,
                         jitter: tuple[float, float] = JITTER) -> tuple[NetworkBatch, np.ndarray]:  # fmt: skip
    """Faces with exact answers among real photos' hair, ears, necks, clothes and backgrounds: (``rows`` inputs,
    masks, crop alignments) and the packed parameters (rows, P) they show.

    Each is a labelled face's fitted parameters perturbed (:func:`perturbation` at ``noise``), rendered where the
    fit put that face in its photo, over the photo cut at the fit's framing jittered by ``jitter``; then the
    realism's occluders and camera. The crop alignment says where the rule on the rendered face's own points
    would have cut (as for any render)."""
    coarse, size, labels = model.coarse(), photos.size, photos.labels
    faces = rng.integers(len(labels.parameters), size=rows)
    packed = labels.parameters[faces] + rng.normal(size=(rows, model.layout.size)) * perturbation(model, noise)
    shown = FaceParameters.unpack(model.layout, packed.astype(np.float32))
    shown.expression = np.clip(shown.expression, 0, 1)
    fitted = project_face(coarse, FaceParameters.unpack(model.layout, labels.parameters[faces]), size)  # fit framings
    framings = [labels.framed(face, size) for face in faces]
    crops = [jittered(framing, rng, jitter) for framing in framings]
    ratio = np.array([crop.scale / framing.scale for crop, framing in zip(crops, framings, strict=True)])
    offset = (fitted.offset - [f.offset for f in framings]) * ratio[:, None] + [c.offset for c in crops]
    out = render(coarse, shown, size, crop=(fitted.scale * ratio, offset))  # the fits' places, in the crops
    points = out.pixels[:, coarse.landmarks_mediapipe]
    surroundings = replace(realism, background=False, head=0.0)  # the photo's own
    inputs = np.empty((rows, size, size, INPUT_CHANNELS[mask]), np.float32)
    masks = np.empty((rows, size, size), bool)
    alignment = np.empty((rows, ALIGNMENT_SIZE), np.float32)
    for k, (face, crop) in enumerate(zip(faces, crops, strict=True)):
        photo = crop_image(photos.images[labels.photo[face]], crop).astype(np.float32) / 255
        image = np.where(out.raster.mask[k][..., None], out.image[k], photo)
        image = photo_like(image, out.raster.mask[k], points[k], rng, surroundings)
        alignment[k] = Crop(1.0, (0.0, 0.0), size).alignment_to(crop_for_landmarks(points[k], size))
        masks[k] = input_mask(points[k], size, mask)
        inputs[k] = masked_colours(np.clip(image, 0, 1) - 0.5, masks[k], mask)
    return NetworkBatch(inputs, masks, alignment), shown.pack()


@dataclass(frozen=True)
class PairedFaces:
    """Faces whose MediaPipe points were measured (``python -m training.landmark_noise --paired``).

    parameters: (N, P) packed face parameters; offsets: (N, 468, 2) the detected minus the true
    points of each, in units of its true landmark box (as :class:`MeasuredOffsets`). The corpus
    renders such a face again and crops it by its own pattern, so that the network learns what
    MediaPipe's crop and mask outline say about the face they were found on.
    """

    parameters: np.ndarray
    offsets: np.ndarray

    def save(self, path: Path) -> None:
        np.savez_compressed(path, parameters=self.parameters.astype(np.float32),
                            offsets=self.offsets.astype(np.float16))  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> PairedFaces:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["parameters"].astype(np.float32), data["offsets"].astype(np.float64))

    def offsets_by_pose(self, model: FaceModel) -> MeasuredOffsets:
        """The same patterns indexed by pitch and yaw only (what the fit and the plain corpus use)."""
        rotation = FaceParameters.unpack(model.layout, self.parameters).rotation
        return MeasuredOffsets(np.degrees(rotation[:, :2]), self.offsets)


@dataclass
class SyntheticStream:
    """Deterministic, resumable batches: batch k depends only on (seed, k).

    Parameters come from ``distribution``, or, when ``pool`` is given (self-supervised
    bootstrapping, paper section 7), from pool vectors (N, P); either way plus Gaussian
    noise of per-dimension standard deviation ``noise`` (P,) when given. With ``paired``, a
    share ``paired_share`` of each batch are measured faces cropped by their own MediaPipe
    pattern instead (:class:`PairedFaces`; needs ``realism``). With ``photos``, a share ``photo_share``
    are real photos labelled by the fit (:class:`training.photo_labels.PhotoFaces`), and another share
    ``composite_share`` rendered faces in those photos (:func:`rendered_into_photos`).
    """

    model: FaceModel
    size: int
    batch_size: int
    seed: int
    distribution: CorpusDistribution = PAPER
    pool: np.ndarray | None = None
    noise: np.ndarray | None = None
    realism: Realism = Realism.none()
    alignment: bool = False  # targets also carry the crop alignment (for networks with crop alignment)
    mask: str = "face"  # the network's input mask rule (inversefacenet.preprocess.INPUT_MASKS)
    paired: PairedFaces | None = None
    paired_share: float = 0.0
    photos: PhotoFaces | None = None  # real photos labelled by the fit (training.photo_labels)
    photo_share: float = 0.0
    composite_share: float = 0.0
    mirror_share: float = 0.0  # share of rows flipped left-right, with their mirror images' answers

    def __post_init__(self) -> None:
        if not 0 <= self.paired_share <= 1:
            raise ValueError(f"paired_share is a share of each batch, in [0, 1]; got {self.paired_share}")
        if self.paired_share and self.paired is None:
            raise ValueError("paired_share needs paired faces (training.landmark_noise --paired)")
        if self.paired_share and not self.realism.active:
            raise ValueError("paired faces need realism: their photos are photo-like")
        if bool(self.photo_share) != (self.photos is not None) or not 0 <= self.photo_share <= 1:
            raise ValueError(f"photo_share is a share of each batch in [0, 1] and needs labelled photos; got "
                             f"{self.photo_share}")  # fmt: skip
        if self.composite_share and (self.photos is None or not 0 <= self.composite_share <= 1):
            raise ValueError(f"composite_share is a share of each batch in [0, 1] and needs labelled photos; got "
                             f"{self.composite_share}")  # fmt: skip
        if self.paired is not None and self.paired.parameters.shape[1] != self.model.layout.size:
            raise ValueError(f"paired faces have {self.paired.parameters.shape[1]} parameters, the face model "
                             f"{self.model.layout.size}: measured with another face model")  # fmt: skip
        if not 0 <= self.mirror_share <= 1:
            raise ValueError(f"mirror_share is a share of each batch, in [0, 1]; got {self.mirror_share}")
        self._mirror = ParameterMirror.of(self.model) if self.mirror_share else None

    def parameters(self, rng: np.random.Generator) -> FaceParameters:
        if self.pool is None:
            chosen = sample_parameters(self.model, self.batch_size, rng, self.distribution).pack()
        else:
            chosen = self.pool[rng.integers(len(self.pool), size=self.batch_size)]
        if self.noise is None:
            return FaceParameters.unpack(self.model.layout, chosen)
        params = FaceParameters.unpack(self.model.layout, (chosen + rng.normal(size=chosen.shape) * self.noise))
        params = params.map(lambda group: group.astype(np.float32))
        params.expression = np.clip(params.expression, 0, 1)
        return params

    def batch(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (B, S, S, C), target vectors (B, P), or (B, P + 3) with the crop alignment after the parameters)."""
        rng = np.random.default_rng([self.seed, index])
        params, own_offsets = self.with_paired(self.parameters(rng), rng)
        rendered = render_batch(self.model, params, self.size, self.realism, rng, self.mask, own_offsets)
        inputs, packed, alignment = rendered.inputs, params.pack(), rendered.alignment
        taken = np.zeros(self.batch_size, bool)
        if self.photo_share:  # a share of the rows: real photos with the fit's answer
            taken = rng.uniform(size=self.batch_size) < self.photo_share
            rows = np.flatnonzero(taken)
            if len(rows):
                inputs[rows], packed[rows], alignment[rows] = self.photos.sample(len(rows), rng)
        if self.composite_share:  # another share: rendered faces among those photos' surroundings
            rows = np.flatnonzero((rng.uniform(size=self.batch_size) < self.composite_share) & ~taken)
            if len(rows):
                composites, packed[rows] = rendered_into_photos(self.model, self.photos, len(rows), rng,
                                                                self.realism, self.mask)  # fmt: skip
                inputs[rows], alignment[rows] = composites.inputs, composites.alignment
        targets = np.concatenate([packed, alignment], axis=1) if self.alignment else packed
        if self._mirror is not None:  # a face and its mirror image are equally likely faces
            rows = np.flatnonzero(rng.uniform(size=self.batch_size) < self.mirror_share)
            inputs[rows], targets[rows] = inputs[rows, :, ::-1], self._mirror(targets[rows])
        return inputs, targets

    def with_paired(self, params: FaceParameters, rng: np.random.Generator,
                    ) -> tuple[FaceParameters, list[np.ndarray | None] | None]:  # fmt: skip
        """``params`` with a ``paired_share`` of its rows replaced by measured faces, and each row's own pattern."""
        if not self.paired_share:
            return params, None
        rows = np.flatnonzero(rng.uniform(size=self.batch_size) < self.paired_share)
        faces = rng.integers(len(self.paired.parameters), size=len(rows))
        packed = params.pack()
        packed[rows] = self.paired.parameters[faces]
        own_offsets: list[np.ndarray | None] = [None] * self.batch_size
        for row, face in zip(rows, faces, strict=True):
            own_offsets[row] = self.paired.offsets[face]
        return FaceParameters.unpack(self.model.layout, packed).map(lambda group: group.astype(np.float32)), own_offsets

    def __iter__(self, start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        index = start
        while True:
            yield self.batch(index)
            index += 1
