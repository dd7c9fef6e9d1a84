"""A de-lit photo texture: the person's own skin (freckles, brows, lips, make-up) at the UV atlas.

The model's albedo is a 50-component skin-colour space, so every face it explains looks like the
same mannequin. Here each skin texel of the atlas that the fitted face shows in the photo takes
photo colour / SH irradiance of the fitted light (the image formation of :mod:`renderer`, so the
result is in the model albedo's convention: photo values / 255, not linearised, in [0, 1]).
Texels are weighted by visibility (z-buffer of the fitted face), view angle, the photo's face mask,
the light there (in deep shade the SH leaves the light's colour loose: the mirrored side stands in),
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
import numba
import numpy as np
import scipy.ndimage
import scipy.sparse
from scipy.spatial import cKDTree

from inversefacenet.atlas import ISLANDS, UVAtlas
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.fitting import desaturated
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import Crop, crop_image, face_mask
from inversefacenet.render import camera
from inversefacenet.render.raster_numba import accumulate_normals, rasterize, rasterize_into
from inversefacenet.render.renderer import RenderOutput, mesh_arrays, render

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
SHADED = (0.25, 0.5)
"""Luminance of the SH irradiance at a texel over its mean over all directions (the SH's first coefficient): weight 0
below, 1 above. In the shade the irradiance is small and its colour ill-determined (the SH fitted to the lit side
sets it), so dividing by it paints the shaded cheek in bands of any hue; the mirrored, lit side stands in there."""
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
    outer: (N,) bool, skin texels in the outer band (:data:`OUTER_MM`); pixel: (N,) int32 flat texel
    positions, rows * size + cols.
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
    pixel: np.ndarray


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
        near(CHEEKS, 15.0), near(BRIDGE, 7.0), skin & outer, (rows * size + cols).astype(np.int32),
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


_F = np.float32
_NEAR_ZERO, _TINY = _F(1e-3), _F(1e-6)
_MIN_IRRADIANCE = _F(0.05)
"""Irradiance below this is too dark to de-light (and the floor of the division)."""


def _band(low: float, high: float) -> tuple[np.float32, np.float32]:
    """A ramp's start and width in float32, as numpy evaluates ``(x - low) / (high - low)`` on float32 arrays."""
    return _F(low), _F(high - low)


_GRAZING, _CHROMA, _SHINE = _band(*GRAZING_COS), _band(*CHROMA_BAND), _band(*SHINE_BAND)
_SHADED = _band(*SHADED)
_DARKER, _BRIGHTER = _band(*LUMINANCE_BAND[0]), _band(*LUMINANCE_BAND[1])
_LUMINANCE = (_F(0.299), _F(0.587), _F(0.114))
_DEPTH_TOLERANCE, _SATURATED, _DEVIATION = _F(DEPTH_TOLERANCE_MM), _F(SATURATED), _F(OCCLUDER_DEVIATION)
_HAIRLINE = _F(HAIRLINE_MM)
_TAB = 32
"""cv2.remap's sub-pixel steps (INTER_TAB_SIZE): look-up positions are rounded to 1/32 px."""

# The per-face work runs in serial numba kernels: one pass over the texels per step, no temporaries and no
# thread pool (a parallel region waits for every worker, which costs more than it gives on a loaded machine;
# nogil lets the app's concurrent requests run side by side instead).
_kernel = numba.njit(cache=True, nogil=True)


@_kernel
def _combine(out, coefficients, basis):  # noqa: ANN001, ANN202
    """out (M,) += coefficients (K,) @ basis (K, M), serially (a BLAS product would start its thread pool)."""
    for k in range(basis.shape[0]):
        c = coefficients[k]
        if c != 0:
            for j in range(basis.shape[1]):
                out[j] += c * basis[k, j]


def _linear(mean: np.ndarray, coefficients: np.ndarray, std: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """mean (V, 3) + sum_k coefficients_k std_k basis_k (K, V, 3): the model's geometry and albedo, (V, 3) float32."""
    out = np.array(mean, np.float32).reshape(-1)
    _combine(out, (np.asarray(coefficients, np.float32).reshape(-1) * std).astype(np.float32),
             basis.reshape(len(basis), -1))  # fmt: skip
    return out.reshape(-1, 3)


@_kernel
def _vertex_values(position, pixels, triangles, sh, albedo):  # noqa: ANN001, ANN202
    """(V, 10) per vertex: pixel x, y, depth (mm), cos(normal, view), SH irradiance RGB, model albedo RGB.

    position: (V, 3) camera frame; normals are area-weighted as the renderer's."""
    normals = np.zeros(position.shape, np.float32)
    v = position
    accumulate_normals(v, triangles, normals)
    out = np.empty((len(v), 10), np.float32)
    for i in range(len(v)):
        length = np.sqrt(normals[i, 0] ** 2 + normals[i, 1] ** 2 + normals[i, 2] ** 2)
        if length > 0:
            normals[i] /= length
        x, y, z = normals[i, 0], normals[i, 1], normals[i, 2]
        px, py, pz = v[i, 0], v[i, 1], v[i, 2]
        out[i, 0], out[i, 1], out[i, 2] = pixels[i, 0], pixels[i, 1], -pz
        out[i, 3] = -(x * px + y * py + z * pz) / np.sqrt(px * px + py * py + pz * pz)
        basis = (_F(1), y, z, x, x * y, y * z, _F(3) * z * z - _F(1), x * z, x * x - y * y)  # sh.sh_basis
        for c in range(3):
            irradiance = _F(0)
            for k in range(9):
                irradiance += basis[k] * sh[k, c]
            out[i, 4 + c] = irradiance
            out[i, 7 + c] = albedo[i, c]
    return out


@_kernel
def _ramp(x, band):  # noqa: ANN001, ANN202
    return min(max((x - band[0]) / band[1], _F(0)), _F(1))


@_kernel
def _outlier_weight(a, m):  # noqa: ANN001, ANN202
    """In [0, 1]: 0 where the de-lit colour a (3,) is too far from the model albedo m (3,) to be skin: too dark,
    too bright, another hue, shiny (a highlight adds about the same to every channel)."""
    luminance_a = _LUMINANCE[0] * a[0] + _LUMINANCE[1] * a[1] + _LUMINANCE[2] * a[2]
    luminance_m = _LUMINANCE[0] * m[0] + _LUMINANCE[1] * m[1] + _LUMINANCE[2] * m[2]
    ratio = luminance_a / max(luminance_m, _NEAR_ZERO)
    brightness = min(_ramp(ratio, _DARKER), _F(1) - _ramp(ratio, _BRIGHTER))
    sum_a, sum_m = max(a[0] + a[1] + a[2], _NEAR_ZERO), max(m[0] + m[1] + m[2], _NEAR_ZERO)
    chroma = abs(a[0] / sum_a - m[0] / sum_m) + abs(a[1] / sum_a - m[1] / sum_m) + abs(a[2] / sum_a - m[2] / sum_m)
    shine = min(a[0] - m[0], a[1] - m[1], a[2] - m[2])
    return brightness * (_F(1) - _ramp(chroma, _CHROMA)) * (_F(1) - _ramp(shine, _SHINE))


@_kernel
def _observe_texels(indptr, indices, weights, per_vertex, skin, zbuffer, image, mask, mean_light):  # noqa: ANN001, ANN202
    """De-light the texels: (photo albedo (N, 3), weight (N,) before the occluder test, model albedo (N, 3),
    seen (N,) bool, log photo / model albedo (N, 3), set where seen).

    indptr, indices, weights: the texel map's CSR blend; per_vertex: (V, 10) of :func:`_vertex_values` at the
    z-buffer's (zsize, zsize) pixels; image: (R, R, 3) uint8 crop; mask: (R, R) bool; mean_light: luminance of the
    SH's first coefficient, the light's mean over all directions (:data:`SHADED`). The photo is read
    bilinearly as cv2.remap reads it (1/32 px positions, replicated border), at the crop pixel of each texel.
    """
    count, zsize, size = len(indptr) - 1, zbuffer.shape[0], image.shape[0]
    scale, last = _F(size / zsize), _F(size - 1)
    albedo, ratio = np.zeros((count, 3), np.float32), np.zeros((count, 3), np.float32)
    model = np.empty((count, 3), np.float32)
    weight, seen = np.zeros(count, np.float32), np.zeros(count, np.bool_)
    values, colour = np.empty(10, np.float32), np.empty(3, np.float32)
    for n in range(count):
        values[:] = 0
        for j in range(indptr[n], indptr[n + 1]):
            w, v = weights[j], indices[j]
            for c in range(10):
                values[c] += w * per_vertex[v, c]
        model[n] = values[7:]
        x, y = values[0], values[1]
        if not (skin[n] and x >= 0 and y >= 0 and x < zsize and y < zsize):
            continue
        if values[2] > zbuffer[int(y), int(x)] + _DEPTH_TOLERANCE:  # hidden
            continue
        if min(values[4], values[5], values[6]) <= _MIN_IRRADIANCE:  # too dark to de-light
            continue
        x, y = x * scale, y * scale  # crop pixels
        if not mask[int(min(y, last)), int(min(x, last))]:
            continue
        qx, qy = int(np.rint((x - _F(0.5)) * _F(_TAB))), int(np.rint((y - _F(0.5)) * _F(_TAB)))
        fx, fy = _F(qx & (_TAB - 1)) * _F(1 / _TAB), _F(qy & (_TAB - 1)) * _F(1 / _TAB)
        x0, y0 = qx >> 5, qy >> 5
        xa, xb = min(max(x0, 0), size - 1), min(max(x0 + 1, 0), size - 1)
        ya, yb = min(max(y0, 0), size - 1), min(max(y0 + 1, 0), size - 1)
        w00, w01, w10, w11 = (_F(1) - fy) * (_F(1) - fx), (_F(1) - fy) * fx, fy * (_F(1) - fx), fy * fx
        for c in range(3):
            colour[c] = (_F(image[ya, xa, c]) / _F(255) * w00 + _F(image[ya, xb, c]) / _F(255) * w01
                         + _F(image[yb, xa, c]) / _F(255) * w10 + _F(image[yb, xb, c]) / _F(255) * w11)  # fmt: skip
        if max(colour[0], colour[1], colour[2]) >= _SATURATED:
            continue
        seen[n] = True
        for c in range(3):
            albedo[n, c] = min(max(colour[c] / max(values[4 + c], _MIN_IRRADIANCE), _F(0)), _F(1))
            ratio[n, c] = np.log(max(albedo[n, c], _NEAR_ZERO) / max(model[n, c], _NEAR_ZERO))
        lit = (_LUMINANCE[0] * values[4] + _LUMINANCE[1] * values[5] + _LUMINANCE[2] * values[6]) / mean_light
        weight[n] = _ramp(values[3], _GRAZING) * _outlier_weight(albedo[n], model[n]) * _ramp(lit, _SHADED)
    return albedo, weight, model, seen, ratio


@_kernel
def _occluded(ratio, reference, seen, pixel, outer, bridge, height, size, iterations):  # noqa: ANN001, ANN202
    """(N,) bool: hair and glasses, as patches of seen texels unlike the face's own skin (log ratio (N, 3) against
    ``reference`` (3,), see :data:`OCCLUDER_DEVIATION`; dilated ``iterations`` times by the 4-neighbour cross) that
    reach the hairline or the nose bridge, or touch the unseen outer band (where hair or a collar may hide the face).
    pixel: (N,) flat texel positions in the (size, size) atlas."""
    image = np.zeros(size * size, np.uint8)
    different = np.zeros(len(pixel), np.bool_)
    for n in range(len(pixel)):
        if seen[n]:
            d0, d1, d2 = ratio[n, 0] - reference[0], ratio[n, 1] - reference[1], ratio[n, 2] - reference[2]
            least, most = min(d0, d1, d2), max(d0, d1, d2)
            if least < -_DEVIATION or most - least > _DEVIATION:  # darker (hair, frames) or another hue
                different[n] = True
                image[pixel[n]] = 1
    for _ in range(iterations):  # join broken frames, strands
        grown = image.copy()
        for p in range(size * size):
            if image[p]:
                j = p % size
                if j > 0:
                    grown[p - 1] = 1
                if j < size - 1:
                    grown[p + 1] = 1
                if p >= size:
                    grown[p - size] = 1
                if p < size * (size - 1):
                    grown[p + size] = 1
        image = grown
    stack = np.empty(size * size, np.int32)
    top = 0
    for n in range(len(pixel)):
        if not seen[n] and outer[n]:
            image[pixel[n]] = 1
    for n in range(len(pixel)):  # flood the patches that reach an anchor: 2 = reached
        anchor = (not seen[n] and outer[n]) or (different[n] and (bridge[n] or height[n] > _HAIRLINE))
        if anchor and image[pixel[n]] == 1:
            image[pixel[n]] = 2
            stack[top] = pixel[n]
            top += 1
        while top:
            top -= 1
            p = stack[top]
            j = p % size
            for q, inside in ((p - 1, j > 0), (p + 1, j < size - 1), (p - size, p >= size),
                              (p + size, p < size * (size - 1))):  # fmt: skip
                if inside and image[q] == 1:
                    image[q] = 2
                    stack[top] = q
                    top += 1
    hidden = np.zeros(len(pixel), np.bool_)
    for n in range(len(pixel)):
        hidden[n] = seen[n] and image[pixel[n]] == 2
    return hidden


@_kernel
def _with_mirror(albedo, weight, hidden, model, mirror, skin, pixel, size):  # noqa: ANN001, ANN202
    """Weak texels filled from their mirror image: (photo - model albedo (N, 3), 0 off the skin; the weight of
    direct + mirrored as an (size, size) image, 0 off the atlas). Hidden texels (occluders) weigh nothing."""
    difference = np.empty((len(pixel), 3), np.float32)
    seen = np.zeros(size * size, np.float32)
    for n in range(len(pixel)):
        w = _F(0) if hidden[n] else weight[n]
        m = mirror[n]
        wm = _F(0) if m < 0 or hidden[m] else weight[m]
        mirrored = wm * (_F(1) - w)
        total = w + mirrored
        for c in range(3):
            direct = albedo[n, c] * w
            mixed = (direct + albedo[m, c] * mirrored if m >= 0 else direct) / max(total, _TINY)
            difference[n, c] = (mixed - model[n, c]) * _F(skin[n])
        seen[pixel[n]] = total
    return difference, seen.reshape(size, size)


@_kernel
def _weighted(difference, seen, pixel):  # noqa: ANN001, ANN202
    """The push-pull's finest level: difference (N, 3) x seen (S, S) at the texels, (S, S, 3), 0 off the atlas."""
    size = seen.shape[0]
    out = np.zeros((size * size, 3), np.float32)
    flat = seen.reshape(-1)
    for n in range(len(pixel)):
        for c in range(3):
            out[pixel[n], c] = difference[n, c] * flat[pixel[n]]
    return out.reshape(size, size, 3)


@_kernel
def _fill_level(total, weight, up):  # noqa: ANN001, ANN202
    """One push-pull level: the weighted mean total / weight (H, W, C) where the weight is high, ``up`` elsewhere."""
    out = np.empty(total.shape, np.float32)
    for i in range(total.shape[0]):
        for j in range(total.shape[1]):
            alpha = min(max(weight[i, j] * _F(4), _F(0)), _F(1))
            for c in range(total.shape[2]):
                out[i, j, c] = alpha * total[i, j, c] / max(weight[i, j], _TINY) + (_F(1) - alpha) * up[i, j, c]
    return out


@_kernel
def _finish(difference, seen, up, model, skin, pixel, fill):  # noqa: ANN001, ANN202
    """The finest push-pull level at the texels and the blend: photo where seen, the model albedo shifted by the
    smooth fill elsewhere. Returns the difference (N, 3) to the model albedo and the (S, S, 3) texture, its gutters
    from the nearest covered texel (``fill``), clipped to [0, 1]."""
    size = seen.shape[0]
    flat_seen, flat_up = seen.reshape(-1), up.reshape(-1, 3)
    colour = np.zeros((size * size, 3), np.float32)
    out = np.empty((len(pixel), 3), np.float32)
    for n in range(len(pixel)):
        p = pixel[n]
        w = flat_seen[p]
        alpha = min(max(w * _F(4), _F(0)), _F(1))
        for c in range(3):
            smooth = alpha * (difference[n, c] * w) / max(w, _TINY) + (_F(1) - alpha) * flat_up[p, c]
            out[n, c] = (w * difference[n, c] + (_F(1) - w) * smooth) * _F(skin[n])
            colour[p, c] = min(max(model[n, c] + out[n, c], _F(0)), _F(1))
    texture = np.empty((size * size, 3), np.float32)
    for p in range(size * size):
        texture[p] = colour[fill[p]]
    return out, texture.reshape(size, size, 3)


@_kernel
def _vertex_albedo(indptr, indices, weights, difference, albedo):  # noqa: ANN001, ANN202
    """Per-vertex albedo (V, 3): model albedo (V, 3) + the texels' mean difference (CSR to_vertex), in [0, 1]."""
    out = np.empty(albedo.shape, np.float32)
    for v in range(len(indptr) - 1):
        s0, s1, s2 = _F(0), _F(0), _F(0)
        for j in range(indptr[v], indptr[v + 1]):
            w, n = weights[j], indices[j]
            s0 += w * difference[n, 0]
            s1 += w * difference[n, 1]
            s2 += w * difference[n, 2]
        out[v, 0] = min(max(albedo[v, 0] + s0, _F(0)), _F(1))
        out[v, 1] = min(max(albedo[v, 1] + s1, _F(0)), _F(1))
        out[v, 2] = min(max(albedo[v, 2] + s2, _F(0)), _F(1))
    return out


def _observe(model: FaceModel, params: FaceParameters, model_albedo: np.ndarray, image: np.ndarray,
             mask: np.ndarray, texels: TexelMap) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The texels as the photo shows them, by :func:`_observe_texels` (its outputs), after the fitted face is
    z-buffered at up to :data:`ZBUFFER_SIZE` px in the crop's framing (as ``render(model, params, R)``).

    model_albedo: (V, 3); image: (R, R, 3) uint8 crop in the render's framing (the fit's crop rule);
    mask: (R, R) bool. Irradiance is interpolated from the vertices, as the renderer shades.
    """
    zsize = min(image.shape[0], ZBUFFER_SIZE)
    vertices = _linear(model.vertices_mean, params.shape, model.shape_std, model.shape_basis)
    _combine(vertices.reshape(-1), (params.expression[0] * model.expression_std).astype(np.float32),
             model.expression_basis.reshape(model.n_expression, -1))  # fmt: skip
    position = camera.to_camera(vertices[None], camera.rotation_matrix(params.rotation))
    points = camera.project(position)
    pixels = camera.to_crop_pixels(points, points[:, model.landmarks_mediapipe[:MESH_POINTS]], zsize)[0]
    position, pixels = (np.ascontiguousarray(a[0], np.float32) for a in (position, pixels))
    triangles, cut = mesh_arrays(model, np)  # what render() rasterizes: the triangles and the face region's cut
    triangles = np.ascontiguousarray(triangles, np.int32)
    zbuffer = np.empty((zsize, zsize), np.float32)
    rasterize_into(pixels, np.ascontiguousarray(-position[:, 2]), np.ascontiguousarray(cut, np.float32), triangles,
                    np.empty((zsize, zsize), np.int32), np.empty((zsize, zsize, 3), np.float32), zbuffer)  # fmt: skip
    per_vertex = _vertex_values(position, pixels, triangles, np.asarray(params.sh[0], np.float32), model_albedo)
    w = texels.weights
    mean_light = max(float(np.dot(params.sh[0, 0], _LUMINANCE)), 1e-3)  # over all directions
    return _observe_texels(w.indptr, w.indices, w.data, per_vertex, texels.skin, zbuffer,
                           np.ascontiguousarray(image, np.uint8), np.ascontiguousarray(mask, bool),
                           _F(mean_light))  # fmt: skip


def _push_pull(level0: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Smooth fill of values known with weight (S, S) in [0, 1], from their product level0 (S, S, C): a pyramid
    of weighted means, each level's kept where its weight is high and the coarser one's interpolated elsewhere
    (a fast membrane fill). Returns the second finest level's fill resized to (S, S, C): what
    :func:`_finish` blends the finest level with, at the texels only."""
    levels = [(level0, weight)]
    while min(levels[-1][1].shape) > 4:
        levels.append(tuple(cv2.pyrDown(a) for a in levels[-1]))
    total, weights = levels[-1]
    filled = np.broadcast_to(total.sum((0, 1)) / max(weights.sum(), 1e-6), total.shape).astype(np.float32)
    for total, weights in reversed(levels[1:]):
        up = cv2.resize(filled, weights.shape[::-1], interpolation=cv2.INTER_LINEAR).reshape(total.shape)
        filled = _fill_level(total, weights, up)
    return cv2.resize(filled, weight.shape[::-1], interpolation=cv2.INTER_LINEAR).reshape(level0.shape)


def delight(model: FaceModel, params: FaceParameters, image: np.ndarray, mask: np.ndarray,
            size: int = TEXTURE_SIZE, grey: bool = False) -> PhotoTexture:  # fmt: skip
    """The photo texture of one face from its crop.

    model, params: the fitted face (batch of 1); image: (R, R, 3) uint8 crop in the render's framing
    (``render(model, params, R)`` lands on the face); mask: (R, R) bool where the crop shows face
    skin (e.g. :func:`inversefacenet.preprocess.face_mask`); size: texture side; grey: the face is grey in its
    photo (``FaceResult.grey``), so the model albedo it falls back on is desaturated.
    """
    start = time.perf_counter()
    texels = texel_map(model, size)
    model_albedo = np.clip(_linear(model.albedo_mean, params.albedo, model.albedo_std, model.albedo_basis), 0, 1)
    if grey:  # a face grey in its photo: no skin colour where the photo does not show it either
        model_albedo = desaturated(model_albedo)
    albedo, weight, texel_model, seen, ratio = _observe(model, params, model_albedo, image, mask, texels)
    cheeks = seen & texels.cheeks
    reference = np.median(ratio[cheeks], axis=0) if cheeks.sum() > 50 else np.zeros(3, np.float32)
    hidden = _occluded(ratio, reference.astype(np.float32), seen, texels.pixel, texels.outer, texels.bridge,
                       texels.height, size, max(1, size // 512))  # fmt: skip
    difference, seen = _with_mirror(albedo, weight, hidden, texel_model, texels.mirror, texels.skin, texels.pixel, size)
    seen = np.minimum(seen, cv2.GaussianBlur(seen, (0, 0), size / 512))  # feather hard mask edges
    up = _push_pull(_weighted(difference, seen, texels.pixel), seen)
    difference, texture = _finish(difference, seen, up, texel_model, texels.skin, texels.pixel, texels.fill)
    t = texels.to_vertex
    vertex_albedo = _vertex_albedo(t.indptr, t.indices, t.data, difference, model_albedo)
    ms = (time.perf_counter() - start) * 1000
    return PhotoTexture(texture, vertex_albedo, seen, ms)


def from_photo(model: FaceModel, params: FaceParameters, photo: np.ndarray, crop: Crop, landmarks: np.ndarray,
               size: int = TEXTURE_SIZE, grey: bool = False) -> PhotoTexture:  # fmt: skip
    """The photo texture of a face fitted in ``photo`` (H, W, 3) uint8.

    crop: the fit's crop (``FaceResult.crop``); landmarks: (478, 2+) detected MediaPipe points in
    photo pixels, for the face mask. The crop is resampled at the photo's own resolution, at most ``size``.
    """
    side = int(np.clip(round(crop.size / crop.scale), 64, size))
    factor = side / crop.size
    at = Crop(crop.scale * factor, (crop.offset[0] * factor, crop.offset[1] * factor), side)
    mask = face_mask(at.to_crop(landmarks[:, :2]), side)
    return delight(model, params, crop_image(photo, at), mask, size, grey)


def for_face(face: FaceResult, photo: np.ndarray, size: int = TEXTURE_SIZE) -> PhotoTexture:
    """The photo texture of a reconstructed face; ``photo`` is the (H, W, 3) uint8 image it came from."""
    return from_photo(face.model, face.params, photo, face.crop, face.detected_landmarks, size, face.grey)


def relit(model: FaceModel, params: FaceParameters, texture: PhotoTexture, size: int, sh: np.ndarray | None = None,
          crop: tuple[np.ndarray, np.ndarray] | None = None) -> RenderOutput:  # fmt: skip
    """The face with its photo albedo under ``sh`` ((1, 9, 3); default the fitted light), as :func:`render`."""
    lit = params if sh is None else replace(params, sh=np.asarray(sh, np.float32).reshape(1, 9, 3))
    return render(model, lit, size, crop=crop, albedo=texture.vertex_albedo[None])


__all__ = ["PhotoTexture", "TexelMap", "delight", "for_face", "from_photo", "relit", "texel_map"]
