"""A de-lit photo texture: the person's own skin (freckles, brows, lips, make-up) at the UV atlas.

The model's albedo is a 50-component skin-colour space, so every face it explains looks like the
same mannequin. Here each skin texel of the atlas that the fitted face shows in the photo takes
photo colour / SH irradiance of the fitted light (the image formation of :mod:`renderer`, so the
result is in the model albedo's convention: photo values / 255, not linearised, in [0, 1]).
Texels are weighted by visibility (z-buffer of the fitted face), view angle, the photo's face mask,
an outlier test against the model albedo (highlights and cast shadows that the SH cannot explain)
and a skin test (patches unlike the face's own skin that reach the hairline, the hidden outer band
or the nose bridge: hair, collars, glasses); texels with little weight take the mirrored texel where that one is seen,
else the model albedo shifted by a smooth (push-pull) interpolation of the photo-minus-model
difference, so the two meet without seams. Eyes and mouth interior keep the model albedo.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import cv2
import numpy as np
import scipy.ndimage
import scipy.sparse
from scipy.spatial import cKDTree

from inversefacenet.atlas import ISLANDS, UVAtlas
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import Crop, crop_image, face_mask
from inversefacenet.render.raster_numba import rasterize
from inversefacenet.render.renderer import RenderOutput, render
from inversefacenet.render.sh import sh_irradiance

if TYPE_CHECKING:
    from inversefacenet.pipeline import FaceResult

TEXTURE_SIZE = 512
"""Default atlas side (px); the skin island spans about 0.95 x 0.78 of it."""
DEPTH_TOLERANCE_MM = 3.0
"""A texel is seen when it lies no further than this behind the z-buffer at its pixel."""
GRAZING_COS = (0.2, 0.5)
"""View-angle weight: 0 at cos(normal, view) below the first, 1 above the second."""
LUMINANCE_BAND = ((0.12, 0.22), (1.5, 1.9))
"""Photo / model albedo luminance ratio: weight 1 inside the inner pair, 0 outside the outer."""
CHROMA_BAND = (0.12, 0.22)
"""L1 distance of the chromaticities (r, g, b) / (r + g + b) of photo and model albedo: weight 1 below, 0 above."""
SHINE_BAND = (0.08, 0.16)
"""Least per-channel excess of photo over model albedo: weight 1 below, 0 above. A specular highlight
lifts all three channels (skin's blue most, relatively); freckles, brows, lips and blush lower one."""
OCCLUDER_DEVIATION = 0.35
"""Log of photo / model albedo, per channel, against the face's own (median on the cheeks): a texel
darker than that by this much in a channel, or off in hue (channels this far apart), is unlike the
skin (brighter is shading). Such patches are hair (or collar, background) when they reach the
hairline or the unseen outer band (:data:`OUTER_MM`), glasses when they reach the nose bridge;
brows, freckles, lips and stubble do not."""
HAIRLINE_MM = 62.0
"""Height on the mean face (mm, y up) 10 mm above the brows' top; the face model ends at 73 mm."""
OUTER_MM = (55.0, 50.0, -62.0)
"""The face's outer band on the mean face (mm): above the brows (y >), the sides (|x| >), the jaw (y <).
Unseen texels there may be hidden by hair, a collar or the background: patches unlike skin that reach
them are taken as those."""
SATURATED = 250 / 255
"""Photo values at or above this are clipped highlights: not used."""
MIRROR_TOLERANCE_MM = 2.0
"""A texel's mirror image must lie this close to another texel of the mean face."""
CHEEKS, BRIDGE = [205, 425], [168, 6]
"""MediaPipe points at the cheeks' centres and on the nose bridge (zones of :class:`TexelMap`)."""
ZBUFFER_SIZE = 192
"""Side (px) of the visibility render; finer than a texel needs to be, cheaper than the crop."""


@dataclass(frozen=True)
class TexelMap:
    """The atlas's covered texels at one size, as fixed blends of model vertices (built once per size).

    rows, cols: (N,) texel positions; weights: (N, V) sparse, texel value = weights @ per-vertex value;
    skin: (N,) bool, texel of the skin island; mirror: (N,) index of the texel at the mirrored point
    of the mean face (-1: none; skin only); fill: (S * S,) flat pixel index of the nearest covered texel of every
    pixel (for the gutters); to_vertex: (V, N) sparse, per-vertex value = to_vertex @ texel values;
    height: (N,) float32 mm, y of each texel on the mean face; cheeks, bridge: (N,) bool, skin texels
    on the cheeks (plain skin, the face's reference colour) and the nose bridge (where glasses sit);
    outer: (N,) bool, skin texels in the outer band (:data:`OUTER_MM`).
    """

    size: int
    rows: np.ndarray
    cols: np.ndarray
    weights: scipy.sparse.csr_matrix
    skin: np.ndarray
    mirror: np.ndarray
    fill: np.ndarray
    to_vertex: scipy.sparse.csr_matrix
    height: np.ndarray
    cheeks: np.ndarray
    bridge: np.ndarray
    outer: np.ndarray


@dataclass
class PhotoTexture:
    """A face's albedo from its photo, in the model albedo's convention (photo / 255 units, in [0, 1]).

    texture: (S, S, 3) float32 at the UV atlas (row 0 is v = 1), for OBJ and GLB;
    vertex_albedo: (V, 3) float32 per model vertex, for PLY and the previews (``render(albedo=...)``);
    seen: (S, S) float32 in [0, 1], how much of each texel comes from the photo (directly or mirrored);
    ms: time taken.
    """

    texture: np.ndarray
    vertex_albedo: np.ndarray
    seen: np.ndarray
    ms: float

    def texture_uint8(self) -> np.ndarray:
        """(S, S, 3) uint8, what :func:`inversefacenet.export.export_face` takes as ``texture``."""
        return (np.clip(self.texture, 0, 1) * 255 + 0.5).astype(np.uint8)


_maps: dict[tuple[str, int, int], TexelMap] = {}
_maps_lock = threading.Lock()


def texel_map(model: FaceModel, size: int = TEXTURE_SIZE) -> TexelMap:
    """The :class:`TexelMap` of ``model``'s atlas at ``size`` px, built once per process (0.3-1 s)."""
    key = (model.sha256, model.n_vertices, size)
    with _maps_lock:  # the app serves concurrent requests: one build, shared read-only
        if key not in _maps:
            _maps[key] = _build_texel_map(model, UVAtlas.for_model(model), size)
        return _maps[key]


def _uv_fragments(atlas: UVAtlas, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rasterize the atlas in uv: (triangle id (S, S), barycentrics (S, S, 3), atlas triangles (T', 3))."""
    pixels = np.stack([atlas.uv[:, 0], 1 - atlas.uv[:, 1]], axis=1) * size
    corners = pixels[atlas.triangles]
    edge1, edge2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    area = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]
    # the rasterizer keeps clockwise triangles in image space (y down); flip the others
    oriented = np.where((area > 0)[:, None], atlas.triangles[:, [0, 2, 1]], atlas.triangles).astype(np.int32)
    depth = np.zeros((1, len(pixels)), np.float32)
    raster, _, _ = rasterize(pixels[None].astype(np.float32), depth, oriented, size)
    return raster.triangle_id[0], raster.barycentric[0], oriented


def _build_texel_map(model: FaceModel, atlas: UVAtlas, size: int) -> TexelMap:
    triangle, bary, oriented = _uv_fragments(atlas, size)
    rows, cols = np.nonzero(triangle >= 0)
    tri = triangle[rows, cols]
    corners = oriented[tri]  # (N, 3) atlas vertices
    # each atlas vertex blends two model vertices: 6 weights per texel
    w = bary[rows, cols][..., None] * np.stack([1 - atlas.weight[corners], atlas.weight[corners]], axis=-1)
    n = len(rows)
    weights = scipy.sparse.csr_matrix(
        (w.reshape(-1), (np.repeat(np.arange(n), 6), atlas.vertex[corners].reshape(-1))), shape=(n, model.n_vertices)
    )
    skin = atlas.island[tri] == ISLANDS.index("skin")
    _, (near_rows, near_cols) = scipy.ndimage.distance_transform_edt(triangle < 0, return_indices=True)
    points = weights @ model.vertices_mean
    landmarks = model.vertices_mean[model.landmarks_mediapipe]
    outer = (points[:, 1] > OUTER_MM[0]) | (np.abs(points[:, 0]) > OUTER_MM[1]) | (points[:, 1] < OUTER_MM[2])

    def near(indices: list[int], radius: float) -> np.ndarray:
        return skin & (cKDTree(landmarks[indices]).query(points)[0] < radius)

    return TexelMap(
        size, rows, cols, weights.astype(np.float32), skin, _mirror(points, skin),
        (near_rows * size + near_cols).reshape(-1), _to_vertex(model, weights), points[:, 1].astype(np.float32),
        near(CHEEKS, 15.0), near(BRIDGE, 7.0), skin & outer,
    )  # fmt: skip


def _to_vertex(model: FaceModel, weights: scipy.sparse.csr_matrix) -> scipy.sparse.csr_matrix:
    """(V, N): each vertex's mean over the texels it shades, by their weights (an area average, so no
    aliasing); the few vertices off the atlas (above its forehead curve) take their nearest vertex's."""
    splat = weights.T.tocsr()
    total = np.asarray(splat.sum(axis=1)).ravel()
    have = np.flatnonzero(total > 0)
    source = np.arange(len(total))
    missing = np.flatnonzero(total == 0)
    source[missing] = have[cKDTree(model.vertices_mean[have]).query(model.vertices_mean[missing])[1]]
    return (scipy.sparse.diags(1 / total[source]) @ splat[source]).astype(np.float32).tocsr()


def _mirror(points: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Index of the skin texel at each skin texel's mirror image x -> -x (-1 where none is close)."""
    ids = np.flatnonzero(skin)
    distance, nearest = cKDTree(points[ids]).query(points[ids] * [-1, 1, 1])
    mirror = np.full(len(points), -1)
    mirror[ids] = np.where(distance < MIRROR_TOLERANCE_MM, ids[nearest], -1)
    return mirror


def _ramp(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((x - low) / (high - low), 0, 1)


def _sample(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Values of an (H, W, C) float32 image at continuous pixel points (N, 2), pixel centres at +0.5.

    cv2.remap takes maps of at most 32767 per side, so the points are laid out in rows of 1024."""
    n = len(points)
    padded = np.zeros((-(-n // 1024) * 1024, 2), np.float32)
    padded[:n] = points - 0.5
    grid = padded.reshape(-1, 1024, 2)
    out = cv2.remap(image, grid[..., 0], grid[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, *image.shape[2:])[:n]


def _outlier_weight(albedo: np.ndarray, model_albedo: np.ndarray) -> np.ndarray:
    """(N,) in [0, 1]: 0 where the de-lit colour (3, N) is too far from the model albedo (3, N) to be
    skin: too dark, too bright, another hue, shiny."""
    luminance = np.array([0.299, 0.587, 0.114], np.float32)
    ratio = (luminance @ albedo) / np.maximum(luminance @ model_albedo, 1e-3)
    (low0, low1), (high0, high1) = LUMINANCE_BAND
    brightness = np.minimum(_ramp(ratio, low0, low1), 1 - _ramp(ratio, high0, high1))
    chroma = np.abs(albedo / np.maximum(albedo.sum(0), 1e-3) - model_albedo / np.maximum(model_albedo.sum(0), 1e-3))
    shine = (albedo - model_albedo).min(0)  # a highlight adds about the same to every channel
    return brightness * (1 - _ramp(chroma.sum(0), *CHROMA_BAND)) * (1 - _ramp(shine, *SHINE_BAND))


def _occluders(albedo: np.ndarray, model_albedo: np.ndarray, seen: np.ndarray, texels: TexelMap) -> np.ndarray:
    """(N,) bool: hair and glasses, as patches of seen texels unlike the face's own skin (see
    :data:`OCCLUDER_DEVIATION`); albedo, model_albedo: (3, N); seen: (N,) bool."""
    ratio = np.log(np.maximum(albedo, 1e-3) / np.maximum(model_albedo, 1e-3))
    cheeks = seen & texels.cheeks
    reference = np.median(ratio[:, cheeks], axis=1) if cheeks.sum() > 50 else np.zeros(3, np.float32)
    deviation = ratio - reference[:, None]  # darker (hair, frames, shadow) or another hue; brighter is shading
    different = seen & ((deviation.min(0) < -OCCLUDER_DEVIATION) | (np.ptp(deviation, axis=0) > OCCLUDER_DEVIATION))
    open_edge = ~seen & texels.outer  # where hair, a collar or the background may hide the face
    image = np.zeros((texels.size, texels.size), bool)
    image[texels.rows, texels.cols] = different
    image = scipy.ndimage.binary_dilation(image, iterations=max(1, texels.size // 512))  # join broken frames, strands
    labels = scipy.ndimage.label(image | _scatter(open_edge, texels))[0][texels.rows, texels.cols]
    anchors = open_edge | (different & (texels.bridge | (texels.height > HAIRLINE_MM)))
    return seen & np.isin(labels, labels[anchors & (labels > 0)])


def _scatter(values: np.ndarray, texels: TexelMap) -> np.ndarray:
    """Per-texel values (N, ...) -> an (S, S, ...) image, zero off the atlas."""
    image = np.zeros((texels.size, texels.size, *values.shape[1:]), values.dtype)
    image[texels.rows, texels.cols] = values
    return image


def _observe(model: FaceModel, params: FaceParameters, model_albedo: np.ndarray, image: np.ndarray,
             mask: np.ndarray, texels: TexelMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """De-light the texels: (photo albedo (3, N), its weight (N,), 0 off the skin, model albedo (3, N)).

    model_albedo: (V, 3); image: (R, R, 3) uint8 crop in the render's framing (the fit's crop rule);
    mask: (R, R) bool. Irradiance is interpolated from the vertices, as the renderer shades.
    Channels come first: numpy reduces (3, N) arrays much faster than (N, 3).
    """
    size = image.shape[0]
    zsize = min(size, ZBUFFER_SIZE)
    out = render(model, params, zsize, albedo=model_albedo[None])
    position = out.vertices[0]
    cos_view = -(out.normals[0] * position).sum(1) / np.linalg.norm(position, axis=1)
    irradiance = sh_irradiance(out.normals, params.sh)[0]
    per_vertex = np.concatenate([out.pixels[0], -position[:, 2:], cos_view[:, None], irradiance, model_albedo], 1)
    x, y, depth, cos_view, *rest = np.ascontiguousarray((texels.weights @ per_vertex.astype(np.float32)).T)
    irradiance, texel_model = np.stack(rest[:3]), np.stack(rest[3:])
    inside = (x >= 0) & (y >= 0) & (x < zsize) & (y < zsize) & texels.skin
    col, row = (np.where(inside, x, 0).astype(np.int32), np.where(inside, y, 0).astype(np.int32))
    seen = inside & (depth <= out.raster.depth[0][row, col] + DEPTH_TOLERANCE_MM) & (irradiance.min(0) > 0.05)
    x, y = x * (size / zsize), y * (size / zsize)  # crop pixels
    seen &= mask[np.minimum(y, size - 1).astype(np.int32) * seen, np.minimum(x, size - 1).astype(np.int32) * seen]
    colour = _sample(image.astype(np.float32) / 255, np.stack([x, y], 1)).T
    albedo = np.clip(colour / np.maximum(irradiance, 0.05), 0, 1)
    seen &= colour.max(0) < SATURATED
    weight = seen * _ramp(cos_view, *GRAZING_COS) * _outlier_weight(albedo, texel_model)
    weight *= ~_occluders(albedo, texel_model, seen, texels)
    return albedo, weight.astype(np.float32), texel_model


def _with_mirror(albedo: np.ndarray, weight: np.ndarray, mirror: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill weak texels from their mirror image: (albedo (3, N), weight (N,)) of direct + mirrored."""
    mirrored = np.where(mirror >= 0, weight[mirror], 0) * (1 - weight)
    total = weight + mirrored
    return (albedo * weight + albedo[:, mirror] * mirrored) / np.maximum(total, 1e-6), total


def _push_pull(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Smooth fill of (S, S, C) values known with weight (S, S) in [0, 1]: keeps them where the
    weight is 1 and interpolates a pyramid of weighted means elsewhere (a fast membrane fill)."""
    levels = [(values * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 4:
        levels.append(tuple(cv2.pyrDown(a) for a in levels[-1]))
    total, weights = levels[-1]
    filled = np.broadcast_to(total.sum((0, 1)) / max(weights.sum(), 1e-6), total.shape).astype(np.float32)
    for total, weights in reversed(levels):
        up = cv2.resize(filled, weights.shape[::-1], interpolation=cv2.INTER_LINEAR).reshape(total.shape)
        alpha = np.clip(weights * 4, 0, 1)[..., None]
        filled = alpha * total / np.maximum(weights, 1e-6)[..., None] + (1 - alpha) * up
    return filled


def delight(model: FaceModel, params: FaceParameters, image: np.ndarray, mask: np.ndarray,
            size: int = TEXTURE_SIZE) -> PhotoTexture:  # fmt: skip
    """The photo texture of one face from its crop.

    model, params: the fitted face (batch of 1); image: (R, R, 3) uint8 crop in the render's framing
    (``render(model, params, R)`` lands on the face); mask: (R, R) bool where the crop shows face
    skin (e.g. :func:`inversefacenet.preprocess.face_mask`); size: texture side.
    """
    start = time.perf_counter()
    texels = texel_map(model, size)
    model_albedo = np.clip(model.albedo(params.albedo)[0], 0, 1)
    albedo, weight, texel_model = _observe(model, params, model_albedo, image, mask, texels)
    albedo, weight = _with_mirror(albedo, weight, texels.mirror)
    difference = (albedo - texel_model).T * texels.skin[:, None]  # (N, 3); eyes and mouth keep the model's
    seen = _scatter(weight, texels)
    seen = np.minimum(seen, cv2.GaussianBlur(seen, (0, 0), size / 512))  # feather hard mask edges
    weight = seen[texels.rows, texels.cols, None]
    smooth = _push_pull(_scatter(difference, texels), seen)[texels.rows, texels.cols]
    difference = (weight * difference + (1 - weight) * smooth) * texels.skin[:, None]
    texture = _scatter(texel_model.T + difference, texels).reshape(-1, 3)[texels.fill].reshape(size, size, 3)
    vertex_albedo = np.clip(model_albedo + texels.to_vertex @ difference, 0, 1)
    ms = (time.perf_counter() - start) * 1000
    return PhotoTexture(np.clip(texture, 0, 1), vertex_albedo.astype(np.float32), seen, ms)


def from_photo(model: FaceModel, params: FaceParameters, photo: np.ndarray, crop: Crop, landmarks: np.ndarray,
               size: int = TEXTURE_SIZE) -> PhotoTexture:  # fmt: skip
    """The photo texture of a face fitted in ``photo`` (H, W, 3) uint8.

    crop: the fit's crop (``FaceResult.crop``); landmarks: (478, 2+) detected MediaPipe points in
    photo pixels, for the face mask. The crop is resampled at the photo's own resolution, at most ``size``.
    """
    side = int(np.clip(round(crop.size / crop.scale), 64, size))
    factor = side / crop.size
    at = Crop(crop.scale * factor, (crop.offset[0] * factor, crop.offset[1] * factor), side)
    mask = face_mask(at.to_crop(landmarks[:, :2]), side)
    return delight(model, params, crop_image(photo, at), mask, size)


def for_face(face: FaceResult, photo: np.ndarray, size: int = TEXTURE_SIZE) -> PhotoTexture:
    """The photo texture of a reconstructed face; ``photo`` is the (H, W, 3) uint8 image it came from."""
    return from_photo(face.model, face.params, photo, face.crop, face.detected_landmarks, size)


def relit(model: FaceModel, params: FaceParameters, texture: PhotoTexture, size: int, sh: np.ndarray | None = None,
          crop: tuple[np.ndarray, np.ndarray] | None = None) -> RenderOutput:  # fmt: skip
    """The face with its photo albedo under ``sh`` ((1, 9, 3); default the fitted light), as :func:`render`."""
    lit = params if sh is None else replace(params, sh=np.asarray(sh, np.float32).reshape(1, 9, 3))
    return render(model, lit, size, crop=crop, albedo=texture.vertex_albedo[None])


__all__ = ["PhotoTexture", "TexelMap", "delight", "for_face", "from_photo", "relit", "texel_map"]
