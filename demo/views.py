"""The app's preview images of one face: relit, geometry only, albedo only, and composited into the photo.

All views use the project's image formation (the one the network was trained on) at one
fixed framing: the crop of the recovered face. Edits (expression, pose) then move the face
inside a still frame instead of re-centring it, and the relit face can be pasted back into
the photo through the same crop the fit used. The pixels come from the numba rasterizer or,
after ``use_preview``, from OpenGL (pyrender: the same SH vertex colours, anti-aliased edges).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Literal

import cv2
import numpy as np
import scipy.ndimage

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.fitting import LUMINANCE
from inversefacenet.lighting import PRESETS, sh_from_light, white_balance
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import FACE_OVAL, Crop, face_mask
from inversefacenet.render import render_gl
from inversefacenet.render.renderer import ProjectedFace, RenderOutput, project_face, render, to_uint8
from inversefacenet.render.sh import sh_basis

PREVIEW_SIZE = 512
PREVIEW_ZOOM = 0.8
"""Previews show the recovered face's crop zoomed out by this factor: room for edited poses."""
BACKGROUND = 1.0  # white behind the face
GEOMETRY_GREY = 0.72
GEOMETRY_MOUTH_GREY = 0.2
"""The geometry view's mouth interior: darker than the skin, as its shadow would be (the shading has no occlusion)."""
STUDIO_SH = sh_from_light(PRESETS["studio"])
UNLIT_SH = np.eye(9, 3, dtype=np.float32)[:, :1].repeat(3, axis=1)  # irradiance 1 everywhere: albedo alone
MIN_SELF_CHECK_IOU = 0.9
"""A GL context whose face mask overlaps numba's less than this draws something else: not used."""

log = logging.getLogger(__name__)
_gl: render_gl.GLRenderer | None = None
"""The process's OpenGL preview renderer; None draws with numba (set by ``use_preview``, cleared when a draw fails)."""


def use_preview(choice: Literal["auto", "pyrender", "numba"]) -> str:
    """Pick the renderer of every preview in this process and return the one in use ("pyrender" or "numba").

    "auto" and "pyrender" both fall back to numba, with a log line, when no OpenGL context can
    be made or its face does not cover numba's: the app keeps serving either way.
    """
    global _gl
    _gl = None
    if choice == "numba":
        return "numba"
    problem = render_gl.probe()
    if problem is None:
        try:
            renderer = render_gl.GLRenderer()
            problem = _self_check(renderer)
        except Exception as error:  # noqa: BLE001 - any GL failure means numba, never a crash
            problem = f"{type(error).__name__}: {error}"
    if problem is not None:
        log.log(logging.WARNING if choice == "pyrender" else logging.INFO,
                "Previews: numba (no usable OpenGL context: %s)", problem)  # fmt: skip
        return "numba"
    _gl = renderer
    log.info("Previews: pyrender (OpenGL through %s, 4x MSAA)", render_gl.platform())
    return "pyrender"


def _self_check(renderer: render_gl.GLRenderer, size: int = 64) -> str | None:
    """Why the context cannot stand in for numba (the mean face's masks disagree), or None."""
    model = FaceModel.load()
    params = FaceParameters.neutral(model.layout)
    out = render(model, params, size)
    _, coverage = renderer.render(model, params, size, (out.crop_scale, out.crop_offset))
    mask, drawn = out.raster.mask[0], coverage[0] >= 0.5
    iou = (mask & drawn).sum() / max((mask | drawn).sum(), 1)
    return None if iou >= MIN_SELF_CHECK_IOU else f"its face mask overlaps numba's by IoU {iou:.2f}"


@dataclass
class Framing:
    """Crop transform of the recovered face for a 1-pixel crop (scale it by the image size)."""

    scale: float
    offset: tuple[float, float]

    @classmethod
    def of(cls, projected: ProjectedFace, size: int) -> Framing:
        """The crop rule's framing of a face projected at ``size`` px (:func:`project_face`)."""
        return cls(float(projected.scale[0]) / size, (float(projected.offset[0, 0]) / size,
                                                      float(projected.offset[0, 1]) / size))  # fmt: skip

    def at(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([self.scale * size], np.float32), np.array([self.offset], np.float32) * size

    def zoomed(self, zoom: float) -> Framing:
        """The same framing scaled by ``zoom`` about the image centre (< 1: more room around the face)."""
        return Framing(*_zoom(self.scale, self.offset, zoom, 1.0))


def _zoom(scale: float, offset: tuple[float, float], zoom: float, side: float) -> tuple[float, tuple[float, float]]:
    """A crop transform (pixel = scale * point + offset, image ``side`` px) zoomed about the image centre."""
    centre = (1 - zoom) * side / 2
    return scale * zoom, (offset[0] * zoom + centre, offset[1] * zoom + centre)


def zoomed(crop: Crop, zoom: float) -> Crop:
    """The same crop of a photo zoomed by ``zoom`` about its centre (< 1: more room around the face)."""
    return Crop(*_zoom(crop.scale, crop.offset, zoom, crop.size), crop.size)


LIT_SHADE_FROM = 2.0
""":meth:`FaceViews.lit_shade`: where a new light gives the face more than this many times the old irradiance, the
de-lit skin begins to take the photo's place."""


class FaceViews:
    """Renders one face's preview images at ``size`` px, framed by its recovered parameters, on the model's closed
    mesh (:meth:`FaceModel.closed`: an open mouth is dark inside, not open to the white behind the face)."""

    def __init__(self, model: FaceModel, recovered: FaceParameters, size: int = PREVIEW_SIZE,
                 zoom: float = PREVIEW_ZOOM) -> None:  # fmt: skip
        self.model = model.closed()
        self.size = size
        self.zoom = zoom
        self.framing = Framing.of(project_face(model, recovered, size), size).zoomed(zoom)
        self._grey = np.full((1, model.n_vertices, 3), GEOMETRY_GREY, np.float32)
        self._grey[0, model.mask_mouth_interior] = GEOMETRY_MOUTH_GREY
        self.recovered = recovered
        self._recovered_render: RenderOutput | None = None  # the photo's face under its own light, for own_skin
        self._recovered_irradiance: np.ndarray | None = None  # its irradiance, for lit_shade

    def _draw(self, params: FaceParameters, albedo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (S, S, 3) on white, face mask (S, S) bool) from the process's renderer."""
        global _gl
        crop = self.framing.at(self.size)
        gl = _gl
        if gl is not None:
            try:
                image, coverage = gl.render(self.model, params, self.size, crop, albedo, BACKGROUND)
                return image[0], coverage[0] >= 0.5
            except Exception:  # noqa: BLE001 - e.g. a context that cannot be made or was lost
                log.exception("pyrender preview failed; previews use numba from now on")
                _gl = None
        out = render(self.model, params, self.size, crop=crop, albedo=albedo)
        return to_uint8(out.image[0], BACKGROUND), out.raster.mask[0]

    def in_photo(self, crop: Crop) -> Crop:
        """Where the previews lie in the photo, given the fit's crop (the recovered face's framing there)."""
        return zoomed(crop, self.zoom)

    def relit(self, params: FaceParameters, albedo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (S, S, 3) on white, face mask (S, S) bool) under ``params.sh``; ``albedo`` (1, V, 3)
        replaces the model's (the photo texture's skin)."""
        return self._draw(params, albedo)

    def own_skin(self, photo: np.ndarray, params: FaceParameters, crop: Crop, person: np.ndarray | None = None,
                 drawn: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        """The photo's own face relit to ``params.sh`` (:func:`own_skin_in_photo`; with ``person``, the photo's person
        mask, the head around the face too); ``params`` at the photo's pose and expression; ``crop`` the previews'
        place in ``photo`` (:meth:`in_photo`). The change is against the recovered light itself (the app's sliders
        start from it, tint and all): the recovered light gives the photo back. Float renders by numba (a ratio of
        uint8 pixels bands) at half the previews' size (the shading is smooth; the photo keeps its own detail), the
        recovered one once; the fade as wide as the live tab's in the fit's crop. With ``drawn``, the face under
        ``params`` in the photo texture's de-lit skin (:meth:`relit`: image and mask), that is pasted where the new
        light reaches the photo's deep shade (:meth:`lit_shade`)."""
        size = self.size // 2
        lit = render(self.model, params, size, crop=self.framing.at(size))
        lights = (params.sh[0], self.recovered.sh[0])
        own = own_skin_in_photo(photo, self.model, lit, self._recovered_half(), crop, lights,
                                OWN_SKIN_FADE * self.zoom, person)  # fmt: skip
        if drawn is None:
            return own
        return composite(own, drawn[0], drawn[1] * self.lit_shade(params), crop)

    def lit_shade(self, params: FaceParameters) -> np.ndarray:
        """(S, S) float32 in [0, 1]: where ``params.sh`` gives the face more than :data:`LIT_SHADE_FROM` times the
        recovered light's irradiance in some channel, fully from :data:`MAX_SHADING_RATIO` (where the photo's pixels
        times the change are clipped): light reaching what lay in the photo's shade. The photo's pixels there are
        dark, noisy and hold light the SH does not (a coloured spill); multiplied, they stayed too dark or took the
        spill's colour: under a harsh film-still light relit from the other side the composite was at 21.3 against
        the de-lit skin's 12.1, whose deep shade takes the lit side's mirror image (``python
        benchmarks/photo_texture.py --light harsh``)."""
        if self._recovered_irradiance is None:  # two requests of one session may both make it: the same render
            self._recovered_irradiance = self._irradiance(self.recovered)
        gain = (self._irradiance(params) / np.maximum(self._recovered_irradiance, MIN_OLD_SHADING)).max(axis=-1)
        weight = np.clip((gain - LIT_SHADE_FROM) / (MAX_SHADING_RATIO - LIT_SHADE_FROM), 0, 1).astype(np.float32)
        weight = cv2.GaussianBlur(weight, (0, 0), 1.0)
        return cv2.resize(weight, (self.size, self.size), interpolation=cv2.INTER_LINEAR)

    def _irradiance(self, params: FaceParameters) -> np.ndarray:
        """(s, s, 3) the face's irradiance under ``params.sh`` at half the previews' size (a white albedo)."""
        size = self.size // 2
        white = np.ones((1, self.model.n_vertices, 3), np.float32)
        return render(self.model, params, size, crop=self.framing.at(size), albedo=white).image[0]

    def _recovered_half(self) -> RenderOutput:
        """The photo's face under its own light at half the previews' size, made once (two requests of one session
        may both make it: the same render)."""
        if self._recovered_render is None:
            size = self.size // 2
            self._recovered_render = render(self.model, self.recovered, size, crop=self.framing.at(size))
        return self._recovered_render

    def moved(self, params: FaceParameters) -> np.ndarray:
        """(S, S) float32 in [0, 1]: where ``params`` (at the photo's pose, another expression) draw the face
        elsewhere than the recovered parameters do: 0 where the surface moved less than MOVED_PX[0] preview pixels,
        1 from MOVED_PX[1]; the rest of the face is as in the photo. At half the previews' size, blurred, enlarged."""
        size = self.size // 2
        framing = self.framing.at(size)
        before = self._recovered_half().pixels[0]
        after = project_face(self.model, params, size, crop=framing).pixels[0]
        shift = np.linalg.norm(after - before, axis=-1) * (self.size / size)  # (V,) preview px
        lit = replace(params, sh=UNLIT_SH[None])
        spread = render(self.model, lit, size, crop=framing, albedo=np.repeat(shift[None, :, None], 3, axis=-1))
        weight = np.clip((spread.image[0, ..., 0] - MOVED_PX[0]) / (MOVED_PX[1] - MOVED_PX[0]), 0, 1)
        weight = cv2.GaussianBlur(weight.astype(np.float32), (0, 0), 2.0)
        return cv2.resize(weight, (self.size, self.size), interpolation=cv2.INTER_LINEAR)

    def geometry(self, params: FaceParameters) -> np.ndarray:
        """The shape and expression alone: uniform grey under a fixed studio light."""
        return self._draw(replace(params, sh=STUDIO_SH[None]), albedo=self._grey)[0]

    def albedo(self, params: FaceParameters, albedo: np.ndarray | None = None) -> np.ndarray:
        """The reflectance alone (no shading): the model's, or ``albedo`` (1, V, 3)."""
        return self._draw(replace(params, sh=UNLIT_SH[None]), albedo)[0]


def grey_change(photo: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """``changed`` (H, W, 3) uint8, an edit of ``photo``, with only its change of brightness kept: the photo's
    colours stay (a black-and-white photo stays black and white under a sunset or a pasted red mouth). Worked out
    over the rows and columns that changed only: a 40 MP photo in float took 3 s and 1 GB for a face (a review)."""
    differs = np.any(changed != photo, axis=-1)
    rows, columns = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    out = changed.copy()
    if rows.size:
        region = slice(rows[0], rows[-1] + 1), slice(columns[0], columns[-1] + 1)
        change = (changed[region].astype(np.float32) - photo[region]) @ LUMINANCE.astype(np.float32)
        out[region] = np.clip(photo[region] + change[..., None] + 0.5, 0, 255).astype(np.uint8)
    return out


def composite(photo: np.ndarray, face: np.ndarray, mask: np.ndarray, crop: Crop, feather_px: float = 2.0) -> np.ndarray:
    """Paste a rendered face (S x S, framed like ``crop`` scaled to S) into the photo.

    The mask is softened by ``feather_px`` photo pixels so the seam does not show.
    """
    warped, alpha, region = _to_photo(face, mask, crop, photo.shape[:2], feather_px)
    out = photo.copy()
    out[region] = (photo[region] * (1 - alpha) + warped * alpha + 0.5).astype(np.uint8)
    return out


MAX_SHADING_RATIO = 3.0
"""The most a pixel is brightened by :func:`relight_in_photo` (where the old shading is near black, a ratio would
amplify noise)."""


MIN_OLD_SHADING = 0.02
"""Below this the old render is off the face or near black: the ratio there is 1 (the photo left as it is), so the
warp's blend at the face's edge and a black grazing pixel neither darken nor blow up."""


def shading_ratio(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """(S, S, 3) renders of one face under two lights -> their ratio, the new light's shading over the old one's:
    the albedo, the same in both, cancels."""
    ratio = np.clip(new / np.maximum(old, MIN_OLD_SHADING), 0.0, MAX_SHADING_RATIO)
    return np.where(old > MIN_OLD_SHADING, ratio, 1.0)


HOLE_BLUR = 0.03
"""The eyes and the mouth take the skin's ratio around them averaged with a Gaussian this part of the frame's side
wide (the nearest skin pixel's gave the teeth blocky patches with stepped edges, a trial)."""


def over_the_face(ratio: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A shading ratio (S, S, 3) kept on the skin (S, S) bool (the face mask: the oval without eyes and mouth) and
    carried into the eyes and the mouth from the skin around them (:data:`HOLE_BLUR`; beyond the oval and where no
    skin is near, the nearest skin pixel's), with the mask of the whole oval. The model's own eyes and dark mouth
    interior would give the teeth and the eyelids a ratio of their own, and they glowed."""
    _, (rows, cols) = scipy.ndimage.distance_transform_edt(~skin, return_indices=True)
    filled, region = ratio[rows, cols], scipy.ndimage.binary_fill_holes(skin)
    holes = region & ~skin
    if holes.any():
        sigma = HOLE_BLUR * len(skin)
        weight = cv2.GaussianBlur(skin.astype(np.float32), (0, 0), sigma)
        around = cv2.GaussianBlur((ratio * skin[..., None]).astype(np.float32), (0, 0), sigma)
        near = holes & (weight > 0.05)
        filled[near] = around[near] / weight[near][:, None]
    return filled, region


def relight_in_photo(photo: np.ndarray, ratio: np.ndarray, mask: np.ndarray, crop: Crop,
                     feather_px: float = 2.0) -> np.ndarray:  # fmt: skip
    """The photo's own face under another light: its pixels times ``ratio`` (S x S x 3, framed like ``crop``
    scaled to S, :func:`shading_ratio`) inside the mask ((S, S) bool, or a weight in [0, 1]). The person's skin,
    brows and freckles stay; only the shading changes (a ratio image, as in relighting by quotient images)."""
    warped, alpha, region = _to_photo(ratio.astype(np.float32), mask, crop, photo.shape[:2], feather_px)
    out = photo.copy()
    out[region] = np.clip(photo[region] * (1 + alpha * (warped - 1)) + 0.5, 0, 255).astype(np.uint8)
    return out


OWN_SKIN_FADE = 0.08
"""Width of the fade from the relit face to the photo as shot, outwards from the face's oval (the face mask), in parts
of the fit's crop side, where no person mask says how far the person reaches: the face model ends below the hairline
and at the jaw and the ears, the person's skin does not, so the shading's change carries on over the forehead, the
ears and the neck, dying away."""

OWN_SKIN_BORDER = 0.08
"""With a person mask, the relit person fades into the photo as shot over this part of the frame's side at the frame's
edges (the change is computed inside the frame only)."""

PERSON_CARRY = 3.0
"""With a person mask, the face's own change (against the head's) carries this many fade widths beyond the face,
over the ears and the neck: the head's stand-in alone left them nearly as shot beside a darkened cheek (a trial)."""

PERSON_FOUND = 0.5
"""A person mask is used when it covers the face this much on average; else it missed the person (the selfie model
saw nobody in one old black-and-white portrait) and the change fades out as without a mask."""

PERSON_EDGE = (0.5, 0.9)
"""The person mask's soft edge (a 256 px model's, enlarged) is made sharper: relit from 0.5, fully from 0.9. The
background it half covers beside the hair glowed under a lamp from that side."""

MOVED_PX = (1.0, 4.0)
"""With the photo texture and an edited expression, the photo's own face stays where the edit moves the surface less
than the first (preview pixels) and the render takes over fully from the second (:meth:`FaceViews.moved`)."""

HEAD_SIZE = (1.2, 1.25)
"""The head's stand-in beyond the face model: an ellipsoid this many times the face oval's width and height..."""
HEAD_RAISE = 0.1
"""...its centre raised by this part of the oval's height (the skull reaches above the hairline, the chin ends the
face)."""
HEAD_REACH = 1.6
"""With a person mask, the person is relit in full up to the head's outline and less and less beyond it, not at all
from this many head radii (the neck and the shoulders' top: hands, cards and the people behind stay as shot)."""
HEAD_COARSE = 4
"""The head's stand-in is shaded at 1 / HEAD_COARSE of the frame's side (its shading is smooth), then enlarged."""


def head_coordinates(oval: np.ndarray, size: int) -> np.ndarray:
    """(S, S, 2) where each pixel of an S x S frame lies in a smooth stand-in for the head around the face, in the
    stand-in's radii from its centre (x right, y up): an ellipsoid (:data:`HEAD_SIZE`, :data:`HEAD_RAISE`) over the
    face oval's (N, 2) points (crop pixels)."""
    low, high = oval.min(axis=0), oval.max(axis=0)
    centre = (low + high) / 2 - np.array([0.0, HEAD_RAISE * (high[1] - low[1])])
    radii = (high - low) / 2 * np.array(HEAD_SIZE)
    pixels = np.arange(size, dtype=np.float32) + 0.5
    qx = np.broadcast_to(((pixels - centre[0]) / radii[0])[None, :], (size, size))
    qy = np.broadcast_to(((centre[1] - pixels) / radii[1])[:, None], (size, size))  # image y runs down
    return np.stack([qx, qy], axis=-1).astype(np.float32)


def head_normals(q: np.ndarray) -> np.ndarray:
    """(..., 3) unit normals (camera frame: x right, y up, z to the viewer) of the head's stand-in at (..., 2)
    :func:`head_coordinates`; beyond its outline the normal turns from the outline's back to the viewer over one
    radius (a neck and shoulders face the camera more than the head's side does)."""
    r = np.linalg.norm(q, axis=-1, keepdims=True)
    on_head = r <= 1
    beyond = np.clip(r - 1, 0, 1)
    sideways = np.where(on_head, 1, (1 - beyond) / np.maximum(r, 1e-6))  # on the head (qx, qy), beyond the outline's
    normals = np.concatenate([q * sideways, np.where(on_head, np.sqrt(np.clip(1 - r**2, 0, 1)), beyond)], axis=-1)
    return normals / np.linalg.norm(normals, axis=-1, keepdims=True)


def own_skin_in_photo(photo: np.ndarray, model: FaceModel, lit: RenderOutput, before: RenderOutput, crop: Crop,
                      lights: tuple[np.ndarray, np.ndarray], fade: float = OWN_SKIN_FADE,
                      person: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The photo's own face (its pixels: skin, brows, freckles, stubble) under the light of ``lit``: times the
    shading ratio of two renders of the face at its photo pose and expression (S x S, framed like ``crop`` scaled to
    S), ``lit`` under the new light and ``before`` under the photo's (its recovered light; a preset carries that
    light's white balance, :func:`inversefacenet.lighting.matched_sh`); ``lights`` their (9, 3) SH.

    Beyond the face's oval the change is the one of a smooth head (:func:`head_normals`) under the two lights, matched
    to the face's at its edge (the nearest face pixel's ratio to the head's, blurred, fading to 1): the side of the
    head away from a new lamp darkens, ears and neck with it. With ``person`` ((H, W) in [0, 1], the photo's person
    mask, :func:`demo.person.person_mask`, or the same at another size, e.g. the display's for the photo itself) the
    person around the face is relit (hair, ears, neck: up to :data:`HEAD_REACH`) and the background is left as shot;
    without, the change fades out over ``fade`` of S beyond the oval (:data:`OWN_SKIN_FADE` when S is the fit's
    crop)."""
    size = lit.image.shape[1]
    points = np.asarray(lit.pixels[0])[model.landmarks_mediapipe]
    skin = face_mask(points, size, convex=True) & skin_drawn(model, lit) & skin_drawn(model, before)
    ratio, face_region = over_the_face(shading_ratio(lit.image[0], before.image[0]), skin)
    ratio = cv2.medianBlur(ratio.astype(np.float32), 5)  # the lips' corners' creases gave specks of their own
    in_frame = None if person is None else _in_frame(person, crop, size, person.shape[1] / photo.shape[1])
    if in_frame is not None and in_frame[face_region].mean() < PERSON_FOUND:  # it missed this person: as without
        in_frame = None
    coarse = size // HEAD_COARSE  # the stand-in is smooth: worked out at a quarter of the size, enlarged
    q = head_coordinates(points[FACE_OVAL] * (coarse / size), coarse)
    head = cv2.resize(_head_ratio(q, lights), (size, size), interpolation=cv2.INTER_LINEAR)
    width = fade * size
    distance = scipy.ndimage.distance_transform_edt(~face_region)
    near = np.clip(1 - distance / width, 0, 1).astype(np.float32)
    carry = near if in_frame is None else np.clip(1 - distance / (PERSON_CARRY * width), 0, 1).astype(np.float32)
    # the face's own ratio against the head's at the nearest face pixel: blurred (it runs out in streaks), fading out
    match = cv2.GaussianBlur(ratio / np.maximum(head, 1e-3), (0, 0), width / 3)
    ratio = np.where(face_region[..., None], ratio, head * (1 + (match - 1) * carry[..., None]))
    if in_frame is None:
        return relight_in_photo(photo, ratio, near, crop, feather_px=0)
    return relight_in_photo(photo, ratio, _person_alpha(in_frame, face_region, q), crop, feather_px=0)


def skin_drawn(model: FaceModel, out: RenderOutput) -> np.ndarray:
    """(S, S) bool: where a render (batch of one) draws the skin, not the mouth's interior or the eyes. Their own
    shading (a dark throat, the mouth's walls at its corners) gave the photo's mouth corners a ratio of their own:
    dark or glowing red patches under a side light (a trial)."""
    triangle = np.asarray(out.raster.triangle_id[0])
    return (triangle >= 0) & ~model.inner_triangles()[np.maximum(triangle, 0)]


def _head_ratio(q: np.ndarray, lights: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(s, s, 3) the shading ratio of the head's stand-in at (s, s, 2) :func:`head_coordinates` under ``lights``
    (new, old; (9, 3) SH each): its brightness from their grey, its colour their overall change (white balance):
    a fitted light's colour varies with the direction, and the hair took a blue sheen from it (a trial)."""
    basis = sh_basis(head_normals(q))
    grey = [basis @ light.mean(axis=-1, keepdims=True) for light in lights]
    return shading_ratio(*grey) * (white_balance(lights[0]) / white_balance(lights[1])).astype(np.float32)


def _person_alpha(in_frame: np.ndarray, face_region: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(S, S) float32: how much of the change the photo takes: the face's region (its edge softened by a pixel: steps
    against a background), and the person (``in_frame``, sharpened: :data:`PERSON_EDGE`) up to :data:`HEAD_REACH`
    head radii (``q``, (s, s, 2) :func:`head_coordinates`), fading out at the frame's edges."""
    size = len(face_region)
    centres = np.arange(size) + 0.5
    edge = np.minimum.outer(*2 * [np.minimum(centres, size - centres)])  # (S, S) px to the frame's nearest edge
    sure = np.clip((in_frame - PERSON_EDGE[0]) / (PERSON_EDGE[1] - PERSON_EDGE[0]), 0, 1)
    reach = cv2.resize(np.clip((HEAD_REACH - np.linalg.norm(q, axis=-1)) / (HEAD_REACH - 1), 0, 1), (size, size))
    face = cv2.GaussianBlur(face_region.astype(np.float32), (0, 0), 1.0)
    return np.maximum(face, sure * reach * np.clip(edge / (OWN_SKIN_BORDER * size), 0, 1)).astype(np.float32)


def _in_frame(person: np.ndarray, crop: Crop, size: int, resolution: float = 1.0) -> np.ndarray:
    """The photo's person mask in the S x S frame that ``crop`` scaled to S cuts from the photo; the mask is
    ``resolution`` times the photo's size (the display's mask for the photo itself: not enlarged to 40 MP)."""
    in_mask = Crop(crop.scale / resolution, crop.offset, crop.size)
    return cv2.warpAffine(person.astype(np.float32), _to_frame(in_mask, size), (size, size), flags=cv2.INTER_LINEAR)


def _to_frame(crop: Crop, size: int) -> np.ndarray:
    """(2, 3) affine map from photo pixels to the S x S frame ``crop`` scaled to S (pixel centres: photo pixel
    centre p lands on crop pixel centre scale * (p + 0.5) + offset - 0.5)."""
    frame = crop.resized(size)
    return np.array([[frame.scale, 0, frame.offset[0] + 0.5 * frame.scale - 0.5],
                     [0, frame.scale, frame.offset[1] + 0.5 * frame.scale - 0.5]])  # fmt: skip


Region = tuple[slice, slice]
"""Rows and columns of a photo."""


def _to_photo(image: np.ndarray, mask: np.ndarray, crop: Crop, shape: tuple[int, int],
              feather_px: float) -> tuple[np.ndarray, np.ndarray, Region]:  # fmt: skip
    """An S x S image framed like ``crop`` scaled to S, and its mask as an alpha feathered inwards, in photo
    pixels: (h, w, C) and (h, w, 1) over the part of the photo the crop covers (the region), so that a video
    frame's pixels outside the face are not warped, blurred and blended for nothing."""
    size = image.shape[0]
    frame = crop.resized(size)
    scale, (ox, oy) = frame.scale, frame.offset
    height, width = shape
    x0 = min(max(int(np.floor(-ox / scale)), 0), width - 1)
    y0 = min(max(int(np.floor(-oy / scale)), 0), height - 1)
    x1, y1 = min(int(np.ceil((size - ox) / scale)) + 1, width), min(int(np.ceil((size - oy) / scale)) + 1, height)
    x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)  # a crop off the photo: a region of one pixel, alpha 0
    to_region = cv2.invertAffineTransform(_to_frame(crop, size)) - np.array([[0, 0, x0], [0, 0, y0]])
    warped = cv2.warpAffine(image, to_region, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(mask.astype(np.float32), to_region, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    if feather_px > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), feather_px) * alpha  # soften only inwards
    return warped, alpha[..., None], (slice(y0, y1), slice(x0, x1))
