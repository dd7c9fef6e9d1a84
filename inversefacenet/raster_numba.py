"""Batched z-buffer rasterizer and vertex normals in numba: the corpus renderer's fast path."""

from __future__ import annotations

import numba
import numpy as np

from inversefacenet.raster import RasterOutput


@numba.njit(parallel=True, cache=True)
def _shade(vertices, albedo, sh, triangles, normals, colour):  # noqa: ANN001, ANN202
    for b in numba.prange(vertices.shape[0]):
        v, n, c = vertices[b], normals[b], colour[b]
        for t in range(triangles.shape[0]):
            i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
            ax, ay, az = v[i1, 0] - v[i0, 0], v[i1, 1] - v[i0, 1], v[i1, 2] - v[i0, 2]
            bx, by, bz = v[i2, 0] - v[i0, 0], v[i2, 1] - v[i0, 1], v[i2, 2] - v[i0, 2]
            cx, cy, cz = ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx
            for i in (i0, i1, i2):
                n[i, 0] += cx
                n[i, 1] += cy
                n[i, 2] += cz
        for i in range(v.shape[0]):
            length = np.sqrt(n[i, 0] ** 2 + n[i, 1] ** 2 + n[i, 2] ** 2)
            if length > 0:
                n[i] /= length
            x, y, z = n[i, 0], n[i, 1], n[i, 2]
            for ch in range(3):
                s = sh[b, :, ch]
                # the SH basis of inversefacenet.sh.sh_basis, unrolled
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
    _shade(np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(albedo, np.float32),
           np.ascontiguousarray(sh, np.float32), np.ascontiguousarray(triangles, np.int32), normals, colour)  # fmt: skip
    return normals, colour


@numba.njit(parallel=True, cache=True)
def _rasterize(pixels, depth, triangles, height, width, tri_out, bary_out, depth_out) -> None:  # noqa: ANN001
    for b in numba.prange(pixels.shape[0]):
        p, d = pixels[b], depth[b]
        zbuf = depth_out[b]
        for t in range(triangles.shape[0]):
            i0, i1, i2 = triangles[t, 0], triangles[t, 1], triangles[t, 2]
            x0, y0, x1, y1, x2, y2 = p[i0, 0], p[i0, 1], p[i1, 0], p[i1, 1], p[i2, 0], p[i2, 1]
            area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
            if area >= 0:  # back-facing or degenerate (image y points down)
                continue
            # pixel centres j + 0.5 inside [min, max]
            xmin = max(int(np.ceil(min(x0, x1, x2) - 0.5)), 0)
            xmax = min(int(np.floor(max(x0, x1, x2) - 0.5)), width - 1)
            ymin = max(int(np.ceil(min(y0, y1, y2) - 0.5)), 0)
            ymax = min(int(np.floor(max(y0, y1, y2) - 0.5)), height - 1)
            inv_area = np.float32(1.0) / area
            for i in range(ymin, ymax + 1):
                py = np.float32(i + 0.5)
                for j in range(xmin, xmax + 1):
                    px = np.float32(j + 0.5)
                    w0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) * inv_area
                    w1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) * inv_area
                    w2 = ((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)) * inv_area
                    if w0 < 0 or w1 < 0 or w2 < 0:
                        continue
                    z = w0 * d[i0] + w1 * d[i1] + w2 * d[i2]
                    if z < zbuf[i, j]:
                        zbuf[i, j] = z
                        tri_out[b, i, j] = t
                        bary_out[b, i, j, 0] = w0
                        bary_out[b, i, j, 1] = w1
                        bary_out[b, i, j, 2] = w2


def rasterize(pixels: np.ndarray, depth: np.ndarray, triangles: np.ndarray, size: int) -> RasterOutput:
    """Rasterize a batch of meshes into size x size images.

    pixels: (B, V, 2) float32 pixel positions (x right, y down); depth: (B, V) float32 mm
    distance from the camera; triangles: (T, 3) int32.
    """
    batch = pixels.shape[0]
    tri = np.full((batch, size, size), -1, dtype=np.int32)
    bary = np.zeros((batch, size, size, 3), dtype=np.float32)
    zbuf = np.full((batch, size, size), np.inf, dtype=np.float32)
    _rasterize(np.ascontiguousarray(pixels, np.float32), np.ascontiguousarray(depth, np.float32),
               np.ascontiguousarray(triangles, np.int32), size, size, tri, bary, zbuf)  # fmt: skip
    return RasterOutput(tri, bary, zbuf)


@numba.njit(parallel=True, cache=True)
def interpolate(values: np.ndarray, triangles: np.ndarray, triangle_id: np.ndarray,
                barycentric: np.ndarray) -> np.ndarray:  # fmt: skip
    """Barycentric interpolation of per-vertex values (B, V, C) -> (B, H, W, C), 0 off the face."""
    batch, height, width = triangle_id.shape
    channels = values.shape[2]
    out = np.zeros((batch, height, width, channels), dtype=np.float32)
    for b in numba.prange(batch):
        for i in range(height):
            for j in range(width):
                t = triangle_id[b, i, j]
                if t < 0:
                    continue
                for k in range(3):
                    w = barycentric[b, i, j, k]
                    vi = triangles[t, k]
                    for c in range(channels):
                        out[b, i, j, c] += w * values[b, vi, c]
    return out


@numba.njit(parallel=True, cache=True)
def visible_vertices(triangles: np.ndarray, triangle_id: np.ndarray, n_vertices: int) -> np.ndarray:
    """(B, V) bool: vertices of triangles that own at least one pixel."""
    batch, height, width = triangle_id.shape
    out = np.zeros((batch, n_vertices), dtype=np.bool_)
    for b in numba.prange(batch):
        for i in range(height):
            for j in range(width):
                t = triangle_id[b, i, j]
                if t >= 0:
                    for k in range(3):
                        out[b, triangles[t, k]] = True
    return out
