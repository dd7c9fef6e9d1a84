"""Analysis-by-synthesis fit of the face model to one cropped face (beyond the paper: its
conclusion proposes it; it is also the optimisation baseline the paper compares against).

Three stages, all in the crop's pixel frame. In the paper's convention the model's own landmark box
defines the crop; MediaPipe's box is not the model's, so the fit also finds where the model's crop lies
in this one (a shift and a scale, :attr:`FitResult.alignment`):
1. landmarks: pose, shape, expression and that placement from the 468 MediaPipe points (Adam, torch);
   skipped from a network's prediction (``NETWORK_START_FIT``), which reads the face better than
   MediaPipe's scattered points say;
2. appearance: SH lighting and albedo in closed form (ridge least squares) from the photo's
   colours at the visible face vertices; on a grayscale photo the light is grey (the photo says
   nothing of its colour, and a tinted light would paint the albedo and the photo texture in the
   opposite tint);
3. joint refinement (``mode="full"``): all parameters by Adam on the per-vertex photometric
   error + landmarks (a weak pull from a network's start) + the model's priors, with visibility from
   the numba rasterizer.
Fitting runs on the model's coarse level; results apply to the full mesh unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import torch

from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.render import raster_torch
from inversefacenet.render.camera import DEFAULT_CAMERA, Camera
from inversefacenet.render.renderer import RenderOutput, project_face, render
from inversefacenet.render.sh import sh_basis

FitMode = Literal["fast", "full"]


def warm_up(model: FaceModel, camera: Camera = DEFAULT_CAMERA) -> None:
    """Pay the fit's one-time costs of a process now (at load), not in the first face's timings: torch's first
    optimiser imports its compiler (0.9 s here) and numba loads the cached renderer (0.4 s); a trial read 1.5 s of
    fit on the first face of a command-line run, against 0.3 s on the next."""
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    render(model.coarse(), FaceParameters.neutral(model.layout), 16, camera)


@dataclass(frozen=True)
class FitConfig:
    """Iterations and weights. Landmark error is in crop pixels; colours in [0, 1]."""

    landmark_iterations: int = 120
    refine_iterations: int = 60
    shape_prior: float = 2e-2
    expression_prior: float = 5e-3
    albedo_prior: float = 5e-3
    photometric_weight: float = 300.0
    appearance_rounds: int = 3
    # Adam step sizes per parameter group, landmark stage then joint refinement (radians / sigmas / weights / SH)
    landmark_rates: tuple[float, float, float] = (0.03, 0.08, 0.04)  # rotation, shape, expression
    refine_rates: tuple[float, float, float, float] = (0.005, 0.03, 0.02, 0.01)  # rotation, shape+albedo, expr., SH
    charbonnier_epsilon: float = 1e-3  # robust photometric error sqrt(d^2 + eps): outliers count less than squared
    landmark_weight: float = 1.0  # of the landmark error in both stages (MediaPipe's points scatter per face)
    placement_rates: tuple[float, float] | None = (0.3, 0.005)  # shift (crop px), log scale; None: the box's place
    refine_placement_rates: tuple[float, float] | None = None  # the same in the joint refinement
    start_anchor: float = 0.0  # Gaussian pull towards the starting point (a network's prediction), see _prior
    min_observed_vertices: int = 50  # fewer visible skin vertices in the mask: appearance is not fitted


DEFAULT_FIT = FitConfig()
"""The fit from the mean face."""
NETWORK_START_FIT = replace(DEFAULT_FIT, landmark_iterations=0, refine_iterations=30, landmark_weight=0.01,
                            refine_placement_rates=(0.05, 0.001), shape_prior=6e-3, expression_prior=1.5e-3,
                            albedo_prior=1.5e-3)  # fmt: skip
"""The fit from a network's prediction: led by the photo's colours, with the face's place free and MediaPipe's
points as a weak pull only. A network trained on MediaPipe-like crops already reads the pose and shape better than
those points say, so a fit that follows them makes it worse. Its priors are 0.3 x the mean face's: started at the
true face, the fit with the mean face's priors walks 2.3 mm away from it, pulled towards the mean face (``python
benchmarks/fit_start.py --from-truth --prior-scales 1``)."""


@dataclass
class FitResult:
    """Fitted parameters (batch of 1, numpy) and how well they explain the crop."""

    params: FaceParameters
    landmark_error_px: float  # mean over the 468 mesh points, crop pixels
    photometric_rmse: float  # 0-255, inside the mask where the model covers the face
    render: RenderOutput  # the fitted face on the full mesh at the crop's size
    alignment: np.ndarray  # (3,) where the parameters' own crop lies in the fitted one (Crop.alignment_to)
    ms: dict[str, float] = field(default_factory=dict)


def _placed(pixels: Any, placement: Any, size: int) -> Any:
    """Crop pixels (..., 2) of the model's own framing -> the fitted crop's, where the model's crop lies
    ``placement`` (3,) off: a shift in crop pixels, then a log scale about the crop's centre (numpy or torch)."""
    grow = placement[2].exp() if isinstance(placement, torch.Tensor) else np.exp(placement[2])
    return (pixels - size / 2) * grow + size / 2 + placement[:2]


def _render_placed(model: FaceModel, params: FaceParameters, size: int, camera: Camera,
                   placement: np.ndarray) -> RenderOutput:  # fmt: skip
    """The numba render of the face framed by the crop rule, then placed (:func:`_placed`)."""
    if not placement.any():  # the rule's own framing: no projection needed to find it
        return render(model, params, size, camera)
    face = project_face(model, params, size, camera)
    grow = np.exp(placement[2])
    return render(model, params, size, camera, crop=(face.scale * grow, _placed(face.offset, placement, size)))


def _placement_tensors(placement: np.ndarray, trainable: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The (3,) placement as Adam's parameters: the shift (2,) and the log scale (1,)."""
    return (torch.tensor(placement[:2], dtype=torch.float32, requires_grad=trainable),
            torch.tensor(placement[2:], dtype=torch.float32, requires_grad=trainable))  # fmt: skip


def _placement_array(shift: torch.Tensor, log_scale: torch.Tensor) -> np.ndarray:
    return torch.cat([shift, log_scale]).detach().numpy().astype(np.float64)


def _landmark_pixels(model: FaceModel, params: FaceParameters, size: int, camera: Camera,
                     placement: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Projected 468 mesh landmarks in crop pixels under the paper's crop rule, placed: (B, 468, 2)."""
    pixels = project_face(model, params, size, camera).pixels[:, model.landmarks_mediapipe[:MESH_POINTS]]
    return _placed(pixels, placement, size)


def landmark_error(residual: torch.Tensor) -> torch.Tensor:
    """Mean squared distance (crop px^2) of the (1, 468, 2) model points from MediaPipe's."""
    return (residual**2).sum(-1).mean()


def _torch_params(params: FaceParameters) -> FaceParameters:
    return params.map(lambda group: torch.tensor(np.asarray(group), dtype=torch.float32))


def _numpy_params(params: FaceParameters) -> FaceParameters:
    return params.map(lambda group: group.detach().numpy().astype(np.float32))


ANCHOR_ROTATION = 0.05
"""Radians that count as one standard deviation of the start anchor's rotation term (about a network's error)."""


def _prior(p: FaceParameters, config: FitConfig, start: FaceParameters, albedo: bool = False) -> torch.Tensor:
    """The model's Gaussian priors on shape and expression (and albedo), before the pixel scale, centred on the mean
    face; with ``config.start_anchor``, also a pull of rotation, shape and expression towards ``start`` (torch)."""
    prior = config.shape_prior * (p.shape**2).sum() + config.expression_prior * (p.expression**2).sum()
    if albedo:
        prior = prior + config.albedo_prior * (p.albedo**2).sum()
    if config.start_anchor:
        moved = ((p.rotation - start.rotation) / ANCHOR_ROTATION) ** 2
        moved = moved.sum() + ((p.shape - start.shape) ** 2).sum() + ((p.expression - start.expression) ** 2).sum()
        prior = prior + config.start_anchor * moved
    return prior


def _fit_landmarks(model: FaceModel, params: FaceParameters, target: torch.Tensor, size: int,
                   config: FitConfig, camera: Camera,
                   placement: np.ndarray) -> tuple[FaceParameters, np.ndarray]:  # fmt: skip
    """Pose, shape and expression (and, with ``config.placement_rates``, the placement) from the landmarks."""
    p = _torch_params(params)
    for t in (p.rotation, p.shape, p.expression):
        t.requires_grad_(True)
    start = _torch_params(params)
    shift, log_scale = _placement_tensors(placement, config.placement_rates is not None)
    groups = [[p.rotation], [p.shape], [p.expression]] + ([[shift], [log_scale]] if config.placement_rates else [])
    rates = config.landmark_rates + (config.placement_rates or ())
    optimiser = torch.optim.Adam([{"params": g, "lr": lr} for g, lr in zip(groups, rates, strict=True)])
    for _ in range(config.landmark_iterations):
        optimiser.zero_grad()
        error = landmark_error(_landmark_pixels(model, p, size, camera, torch.cat([shift, log_scale])) - target)
        loss = config.landmark_weight * error + _prior(p, config, start) * size / 100
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            p.expression.clamp_(0, 1)
    return _numpy_params(p), _placement_array(shift, log_scale)


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear colours (N, 3) in [0, 1] of an (S, S, 3) uint8 image at continuous pixel points (N, 2)."""
    size = image.shape[0]
    x = np.clip(points[:, 0] - 0.5, 0, size - 1.001)
    y = np.clip(points[:, 1] - 0.5, 0, size - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    im = image.astype(np.float32) / 255
    top = im[y0, x0] * (1 - fx) + im[y0, x0 + 1] * fx
    bottom = im[y0 + 1, x0] * (1 - fx) + im[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _observed_vertices(model: FaceModel, params: FaceParameters, image: np.ndarray, mask: np.ndarray, camera: Camera,
                       placement: np.ndarray) -> tuple[np.ndarray, RenderOutput]:  # fmt: skip
    """Indices of face-skin vertices that are visible and fall inside the photo's mask, and the render."""
    out = _render_placed(model, params, image.shape[0], camera, placement)
    pixels = out.pixels[0]
    inside = np.all((pixels >= 0) & (pixels < image.shape[0] - 1), axis=1)
    ij = np.clip(pixels.astype(int), 0, image.shape[0] - 1)
    in_mask = inside & mask[ij[:, 1], ij[:, 0]]
    skin = model.mask_face & ~model.mask_eyes & ~model.mask_mouth_interior
    return np.flatnonzero(out.vertex_visible[0] & in_mask & skin), out


GREY_LEVELS = 1.0
"""A face whose colours stray from their own grey by less than this on average (0-255) is a grayscale photo."""


def is_grey(colours: np.ndarray) -> bool:
    """Whether (N, 3) colours (0-255) are grey: a black-and-white photo, whatever JPEG's rounding left."""
    return len(colours) > 0 and float(np.abs(colours - colours.mean(axis=1, keepdims=True)).mean()) < GREY_LEVELS


LUMINANCE = np.array([0.299, 0.587, 0.114])
"""ITU-R BT.601 weights: how a black-and-white photo (and PIL's "L" mode) makes grey of colour."""


def desaturated(colours: np.ndarray) -> np.ndarray:
    """(..., 3) colours as the grey a black-and-white photo makes of them, in the same dtype: the albedo a face
    in a grayscale photo shows (the photo says nothing of the skin's colour; the model's mean skin would tint it)."""
    return np.repeat((colours @ LUMINANCE)[..., None], 3, axis=-1).astype(colours.dtype)


def grey_light(sh: np.ndarray) -> np.ndarray:
    """(..., 9, 3) SH with each band's colour replaced by its grey (the mean over the channels)."""
    return np.repeat(sh.mean(axis=-1, keepdims=True), 3, axis=-1).astype(sh.dtype)


def _solve_light(basis: np.ndarray, albedo: np.ndarray, observed: np.ndarray, grey: bool,
                 weights: np.ndarray) -> np.ndarray:  # fmt: skip
    """(9, 3) SH with observed = albedo * (basis @ sh) in weighted least squares (``weights`` (N,) per vertex):
    per channel, or one grey light for all."""
    root = np.sqrt(weights)[:, None]
    if grey:
        design = np.concatenate([basis * albedo[:, c : c + 1] * root for c in range(3)])
        target = (observed * root).T.reshape(-1)
        return np.repeat(np.linalg.lstsq(design, target, rcond=None)[0][:, None], 3, axis=1)
    return np.stack([np.linalg.lstsq(basis * albedo[:, c : c + 1] * root, observed[:, c] * root[:, 0], rcond=None)[0]
                     for c in range(3)], axis=1)  # fmt: skip


OUTLIER_SCALE = 3.0
"""A vertex whose colour error is this many times the median error weighs half (Cauchy weights): a mark, a
highlight or a strand of hair on the face moves the light and the albedo little."""


def robust_weights(error: np.ndarray) -> np.ndarray:
    """(N,) Cauchy weights in (0, 1] of per-vertex colour errors (N,), scaled by their median."""
    scale = OUTLIER_SCALE * max(float(np.median(error)), 1e-6)
    return 1 / (1 + (error / scale) ** 2)


def _fit_appearance(model: FaceModel, params: FaceParameters, image: np.ndarray, mask: np.ndarray, config: FitConfig,
                    camera: Camera, placement: np.ndarray,
                    grey: bool) -> tuple[FaceParameters, np.ndarray]:  # fmt: skip
    """Closed-form SH (one grey light if ``grey``) and albedo given the geometry; returns parameters and observed
    vertices."""
    ids, out = _observed_vertices(model, params, image, mask, camera, placement)
    if len(ids) < config.min_observed_vertices:
        return params, ids
    observed = _sample(image, out.pixels[0, ids]).astype(np.float64)  # (N, 3)
    basis = sh_basis(out.normals[0, ids].astype(np.float64))  # (N, 9): the normals the render shaded with
    mean = model.albedo_mean[ids].astype(np.float64)
    components = (model.albedo_basis[:, ids] * model.albedo_std[:, None, None]).astype(np.float64)  # (K, N, 3)
    albedo_coeffs = params.albedo[0].astype(np.float64)
    sh = params.sh[0].astype(np.float64)
    weights = np.ones(len(ids))
    for round_ in range(config.appearance_rounds):
        albedo = mean + np.einsum("k,knc->nc", albedo_coeffs, components)
        if round_:  # reweighted by the last round's colour errors (IRLS)
            weights = robust_weights(np.linalg.norm(observed - albedo * (basis @ sh), axis=1))
        sh = _solve_light(basis, albedo, observed, grey, weights)
        irradiance = basis @ sh  # (N, 3)
        root = np.repeat(np.sqrt(weights), 3)[:, None]  # per row of the (3N,) system
        design = (components * irradiance[None]).reshape(len(components), -1).T * root  # (3N, K)
        residual = (observed - mean * irradiance).reshape(-1) * root[:, 0]
        ridge = config.albedo_prior * 3 * weights.sum() * np.eye(len(components))
        albedo_coeffs = np.linalg.solve(design.T @ design + ridge, design.T @ residual)
    fitted = FaceParameters(params.rotation, params.shape, params.expression,
                            albedo_coeffs[None].astype(np.float32), sh[None].astype(np.float32))  # fmt: skip
    return fitted, ids


def _refine(model: FaceModel, params: FaceParameters, image: np.ndarray, ids: np.ndarray, target: torch.Tensor,
            config: FitConfig, camera: Camera, placement: np.ndarray, start: FaceParameters,
            grey: bool) -> tuple[FaceParameters, np.ndarray]:  # fmt: skip
    """Joint Adam on per-vertex photometric error + landmarks + priors (the anchor's centre: ``start``, numpy); the
    placement moves too with ``config.refine_placement_rates``. ``grey`` keeps the light grey (each step's SH
    replaced by its mean over the channels). Returns the parameters and the placement."""
    if len(ids) < config.min_observed_vertices:
        return params, placement
    p = _torch_params(params).map(lambda group: group.requires_grad_(True))
    anchor = _torch_params(start)
    groups = ([p.rotation], [p.shape, p.albedo], [p.expression], [p.sh])
    optimiser = torch.optim.Adam([{"params": g, "lr": lr} for g, lr in zip(groups, config.refine_rates, strict=True)])
    size = image.shape[0]
    photo = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None] / 255
    triangles = torch.as_tensor(model.triangles.astype(np.int64))
    index = torch.as_tensor(ids)
    shift, log_scale = _placement_tensors(placement, config.refine_placement_rates is not None)
    if config.refine_placement_rates:
        optimiser.add_param_group({"params": [shift], "lr": config.refine_placement_rates[0]})
        optimiser.add_param_group({"params": [log_scale], "lr": config.refine_placement_rates[1]})
    for _ in range(config.refine_iterations):
        optimiser.zero_grad()
        face = project_face(model, p, size, camera)
        pixels = _placed(face.pixels, torch.cat([shift, log_scale]), size)  # (1, V, 2)
        _, colour = raster_torch.shade_vertices(face.in_camera, model.albedo(p.albedo), p.sh, triangles)
        grid = (pixels[:, index] / size * 2 - 1)[:, None]  # (1, 1, N, 2) in [-1, 1]
        observed = torch.nn.functional.grid_sample(photo, grid, align_corners=False)[0, :, 0].T  # (N, 3)
        # robust (Charbonnier) error: hair, glasses and specular spots the model cannot explain
        photometric = (((colour[0, index] - observed) ** 2).sum(-1) + config.charbonnier_epsilon).sqrt().mean() * 0.1
        landmark = landmark_error(pixels[:, model.landmarks_mediapipe[:MESH_POINTS]] - target)
        prior = _prior(p, config, anchor, albedo=True) * size / 100
        loss = config.photometric_weight * photometric + config.landmark_weight * landmark + prior
        loss.backward()
        optimiser.step()
        with torch.no_grad():
            p.expression.clamp_(0, 1)
            if grey:
                p.sh.copy_(p.sh.mean(dim=-1, keepdim=True).expand_as(p.sh))
    return _numpy_params(p), _placement_array(shift, log_scale)


def fit(
    model: FaceModel,
    image: np.ndarray,
    mask: np.ndarray,
    landmarks: np.ndarray,
    init: FaceParameters | None = None,
    mode: FitMode = "full",
    config: FitConfig = DEFAULT_FIT,
    camera: Camera = DEFAULT_CAMERA,
    alignment: np.ndarray | None = None,
    grey: bool | None = None,
) -> FitResult:
    """Fit the model to a crop.

    image: (S, S, 3) uint8 crop; mask: (S, S) bool face mask; landmarks: (>=468, 2) MediaPipe
    points in crop pixels; init: starting parameters (default: the mean face), e.g. a
    network prediction. ``mode="fast"`` skips the joint refinement. ``camera``: the camera distance and crop
    rule the crop was cut by (a checkpoint's ``config.camera``, so the fit and its network share one camera).

    The crop rule frames the face by its landmark box, and MediaPipe's box is not the model's: its contour
    points, which span the box, scatter most. So the fit also finds where the model's own crop lies in this
    one (:attr:`FitResult.alignment`, from ``alignment``, e.g. where a network put it; default: here), from
    all 468 points, instead of bending the face to fit the box. ``grey``: whether the face is grey in its photo
    (then the light is grey too); default: decided from the crop's colours in the mask (:func:`is_grey`).
    """
    coarse = model.coarse()
    size = image.shape[0]
    target = torch.tensor(landmarks[None, :MESH_POINTS, :2], dtype=torch.float32)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    start_params = init or FaceParameters.neutral(model.layout)
    aligned = np.zeros(3) if alignment is None else np.asarray(alignment, np.float64)
    placement = np.array([aligned[0] * size, aligned[1] * size, -aligned[2]])
    params, placement = _fit_landmarks(coarse, start_params, target, size, config, camera, placement)
    timings["fit_landmarks"] = (time.perf_counter() - start) * 1000
    start = time.perf_counter()
    grey = is_grey(image[mask].astype(np.float64)) if grey is None else grey
    params, ids = _fit_appearance(coarse, params, image, mask, config, camera, placement, grey)
    timings["fit_appearance"] = (time.perf_counter() - start) * 1000
    if mode == "full":
        start = time.perf_counter()
        params, placement = _refine(coarse, params, image, ids, target, config, camera, placement, start_params, grey)
        params, _ = _fit_appearance(coarse, params, image, mask, config, camera, placement, grey)
        timings["fit_refine"] = (time.perf_counter() - start) * 1000
    landmark_error, rmse, out = evaluate_fit(model, params, image, mask, landmarks, camera, placement)
    alignment = np.array([placement[0] / size, placement[1] / size, -placement[2]])
    return FitResult(params, landmark_error, rmse, out, alignment, timings)


def evaluate_fit(model: FaceModel, params: FaceParameters, image: np.ndarray, mask: np.ndarray, landmarks: np.ndarray,
                 camera: Camera = DEFAULT_CAMERA, placement: np.ndarray | None = None,
                 ) -> tuple[float, float, RenderOutput]:  # fmt: skip
    """Mean landmark error (crop px, 468 points), photometric RMSE (0-255) inside mask and face,
    and the render they were measured on (placed by ``placement``, :func:`_placed`; default: the crop rule's)."""
    size = image.shape[0]
    out = _render_placed(model, params, size, camera, np.zeros(3) if placement is None else placement)
    projected = out.pixels[0, model.landmarks_mediapipe[:MESH_POINTS]]
    landmark_error = float(np.linalg.norm(projected - landmarks[:MESH_POINTS, :2], axis=1).mean())
    both = mask & out.raster.mask[0]
    if not both.any():
        return landmark_error, float("nan"), out
    difference = np.clip(out.image[0], 0, 1)[both] * 255 - image[both].astype(np.float32)
    return landmark_error, float(np.sqrt((difference**2).mean())), out
