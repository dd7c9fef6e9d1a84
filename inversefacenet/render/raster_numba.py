"""Batched z-buffer rasterizer and vertex normals in numba: the corpus renderer's fast path."""

from __future__ import annotations

import numba
import numpy as np

from inversefacenet.render.raster import RasterOutput


def _contiguous(array: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(array, dtype)


@numba.njit(cache=True, nogil=True)
def accumulate_normals(v, triangles, n):  # noqa: ANN001, ANN201
    """Add each triangle's cross product (its normal times twice its area) to its corners' rows of n (V, 3)."""
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        ax, ay, az = v[i1, 0] - v[i0, 0], v[i1, 1] - v[i0, 1], v[i1, 2] - v[i0, 2]
        bx, by, bz = v[i2, 0] - v[i0, 0], v[i2, 1] - v[i0, 1], v[i2, 2] - v[i0, 2]
        cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
        for i in (i0, i1, i2):
            n[i, 0] += cx
            n[i, 1] += cy
            n[i, 2] += cz


@numba.njit(parallel=True, cache=True)
def _shade(vertices, albedo, sh, triangles, normals, colour):  # noqa: ANN001, ANN202
    for b in numba.prange(vertices.shape[0]):
        v, n, c = vertices[b], normals[b], colour[b]
        accumulate_normals(v, triangles, n)
        for i in range(v.shape[0]):
            length = np.sqrt(n[i, 0] ** 2 + n[i, 1] ** 2 + n[i, 2] ** 2)
            if length > 0:
                n[i] /= length
            x, y, z = n[i, 0], n[i, 1], n[i, 2]
            for ch in range(3):
                s = sh[b, :, ch]
                # the SH basis of inversefacenet.render.sh.sh_basis, unrolled
                irradiance = (s[0] + s[1] * y + s[2] * z + s[3] * x + s[4] * x * y + s[5] * y * z
                              + s[6] * (3 * z * z - 1) + s[7] * x * z + s[8] * (x * x - y * y))  # fmt: skip
                c[i, ch] = albedo[b, i, ch] * irradiance


def shade_vertices(
    vertices: np.ndarray, albedo: np.ndarray, sh: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted unit vertex normals and Lambertian SH colours in one pass.

    vertices: (B, V, 3) mm; albedo: (B, V, 3); sh: (B, 9, 3); triangles: (T, 3)
    counter-clockwise seen from outside. Returns normals (B, V, 3) and colour (B, V, 3),
    float32; colour = albedo * sh_irradiance(normals, sh).
    """
    normals = np.zeros(vertices.shape, dtype=np.float32)
    colour = np.empty(vertices.shape, dtype=np.float32)
    arrays = [_contiguous(a, np.float32) for a in (vertices, albedo, sh)]
    _shade(*arrays, _contiguous(triangles, np.int32), normals, colour)
    return normals, colour


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(B, V, 3) area-weighted unit vertex normals of (B, V, 3) meshes with (T, 3) counter-clockwise triangles."""
    vertices = np.asarray(vertices, np.float32)
    return shade_vertices(vertices, np.zeros_like(vertices), np.zeros((len(vertices), 9, 3), np.float32), triangles)[0]


@numba.njit(cache=True)
def rasterize_into(p, d, cut, triangles, tri_out, bary_out, zbuf):  # noqa: ANN001, ANN201
    """Z-buffer one mesh: p (V, 2) pixels, d (V,) depth, cut (V,) -> tri_out, bary_out, zbuf (H, W[, 3])."""
    height, width = zbuf.shape
    tri_out[:] = -1  # cleared here, per image and in parallel, rather than by a serial np.full
    zbuf[:] = np.inf
    for t in range(triangles.shape[0]):
        i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
        x0, y0, x1, y1, x2, y2 = p[i0, 0], p[i0, 1], p[i1, 0], p[i1, 1], p[i2, 0], p[i2, 1]
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area >= 0:  # back-facing or degenerate (image y points down)
            continue
        k0, k1, k2 = cut[i0], cut[i1], cut[i2]
        if k0 < 0 and k1 < 0 and k2 < 0:  # wholly cut away
            continue
        clipped = k0 < 0 or k1 < 0 or k2 < 0
        # pixel centres j + 0.5 inside [min, max]
        xmin = max(int(np.ceil(min(x0, x1, x2) - 0.5)), 0)
        xmax = min(int(np.floor(max(x0, x1, x2) - 0.5)), width - 1)
        ymin = max(int(np.ceil(min(y0, y1, y2) - 0.5)), 0)
        ymax = min(int(np.floor(max(y0, y1, y2) - 0.5)), height - 1)
        # barycentrics are affine in the pixel position: w_k = a_k * x + b_k * y + c_k
        inv = np.float32(1.0) / area
        a0, b0 = -(y2 - y1) * inv, (x2 - x1) * inv
        a1, b1 = -(y0 - y2) * inv, (x0 - x2) * inv
        c0 = -(a0 * x1 + b0 * y1)
        c1 = -(a1 * x2 + b1 * y2)
        d0, d1, d2 = d[i0], d[i1], d[i2]
        for i in range(ymin, ymax + 1):
            py = np.float32(i + 0.5)
            for j in range(xmin, xmax + 1):
                px = np.float32(j + 0.5)
                w0 = a0 * px + b0 * py + c0
                w1 = a1 * px + b1 * py + c1
                w2 = np.float32(1.0) - w0 - w1
                if w0 < 0 or w1 < 0 or w2 < 0:
                    continue
                if clipped and w0 * k0 + w1 * k1 + w2 * k2 < 0:
                    continue
                z = w0 * d0 + w1 * d1 + w2 * d2
                if z < zbuf[i, j]:
                    zbuf[i, j] = z
                    tri_out[i, j] = t
                    bary_out[i, j, 0] = w0
                    bary_out[i, j, 1] = w1
                    bary_out[i, j, 2] = w2


@numba.njit(cache=True)
def _interpolate_into(values, triangles, tri, bary, out, visible):  # noqa: ANN001, ANN202
    """Interpolate one image's per-vertex values (V, C) into out (H, W, C); mark visible vertices."""
    height, width = tri.shape
    for i in range(height):
        for j in range(width):
            t = tri[i, j]
            if t < 0:
                continue
            visible[triangles[t, 0]] = True
            visible[triangles[t, 1]] = True
            visible[triangles[t, 2]] = True
            for c in range(values.shape[1]):
                out[i, j, c] = (bary[i, j, 0] * values[triangles[t, 0], c] + bary[i, j, 1] * values[triangles[t, 1], c]
                                + bary[i, j, 2] * values[triangles[t, 2], c])  # fmt: skip


@numba.njit(parallel=True, cache=True)
def _rasterize_batch(pixels, depth, cut, triangles, tri, bary, zbuf):  # noqa: ANN001, ANN202
    for b in numba.prange(pixels.shape[0]):
        rasterize_into(pixels[b], depth[b], cut, triangles, tri[b], bary[b], zbuf[b])


@numba.njit(parallel=True, cache=True)
def _interpolate_batch(values, triangles, tri, bary, image, visible):  # noqa: ANN001, ANN202
    for b in numba.prange(values.shape[0]):
        _interpolate_into(values[b], triangles, tri[b], bary[b], image[b], visible[b])


def rasterize(
    pixels: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: int, values: np.ndarray | None = None,
    cut: np.ndarray | None = None,
) -> tuple[RasterOutput, np.ndarray | None, np.ndarray | None]:  # fmt: skip
    """Rasterize a batch of meshes into size x size images, optionally interpolating values.

    pixels: (B, V, 2) float32 pixel positions (x right, y down); depth: (B, V) float32 mm
    distance from the camera; triangles: (T, 3) int32; values: optional (B, V, C) per-vertex
    attributes (e.g. shaded colour); cut: optional (V,) per-vertex cut values (e.g.
    ``FaceModel.region_cut()``): fragments where they interpolate below 0 are dropped.
    Returns the fragments, the interpolated (B, H, W, C) image (0 off the face) and (B, V)
    vertex visibility (vertices of triangles that own a pixel, but not those the cut drops); the
    last two are None without values. Raster and interpolation run in one pass per image, while
    its buffers are in cache.
    """
    batch = pixels.shape[0]
    tri = np.empty((batch, size, size), dtype=np.int32)
    bary = np.zeros((batch, size, size, 3), dtype=np.float32)
    zbuf = np.empty((batch, size, size), dtype=np.float32)
    channels = 0 if values is None else values.shape[2]
    image = np.zeros((batch if channels else 0, size, size, channels), dtype=np.float32)
    visible = np.zeros((batch if channels else 0, pixels.shape[1]), dtype=np.bool_)
    vals = np.zeros((0, 1, 1), np.float32) if values is None else _contiguous(values, np.float32)
    triangles = _contiguous(triangles, np.int32)
    if cut is not None and np.shape(cut) != pixels.shape[1:2]:
        raise ValueError(f"expected cut values ({pixels.shape[1]},), one per vertex, got shape {np.shape(cut)}")
    cut = np.zeros(pixels.shape[1], np.float32) if cut is None else _contiguous(cut, np.float32)  # 0: all kept
    _rasterize_batch(_contiguous(pixels, np.float32), _contiguous(depth, np.float32), cut, triangles, tri, bary, zbuf)
    if channels:
        _interpolate_batch(vals, triangles, tri, bary, image, visible)
        visible &= cut >= 0  # a cut-away vertex is not drawn, though part of its triangle may be
    raster = RasterOutput(tri, bary, zbuf)
    return (raster, image, visible) if channels else (raster, None, None)
