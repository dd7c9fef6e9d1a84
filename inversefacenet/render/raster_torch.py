"""Pure-torch rasterizer and vertex normals: differentiable for colour, light and vertex
positions (not silhouettes), and the independent oracle for the numba fast path.

Same signatures and coverage rule as :mod:`inversefacenet.render.raster_numba`.
"""

from __future__ import annotations

import torch

from inversefacenet.render.raster import RasterOutput
from inversefacenet.render.sh import sh_irradiance


def vertex_normals(vertices: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals. vertices: (B, V, 3); triangles: (T, 3) -> (B, V, 3).

    The corners are gathered by ``index_select`` along the vertices as the first axis, not by indexing: the
    gradient of indexing sums a vertex's triangles in whatever order CPU threads finish, so the same photo's fit
    came out different from run to run (up to 1e-2 in its parameters); this one's sums them in order, as fast."""
    tri = triangles.long()
    by_vertex = vertices.transpose(0, 1).index_select(0, tri.reshape(-1))  # (T * 3, B, 3)
    corners = by_vertex.unflatten(0, tri.shape).permute(2, 0, 1, 3)  # (B, T, 3 corners, 3 coords)
    face_normals = torch.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0], dim=-1)
    normals = torch.zeros_like(vertices)
    for k in range(3):
        normals = normals.index_add(1, tri[:, k], face_normals)
    return normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def shade_vertices(
    vertices: torch.Tensor, albedo: torch.Tensor, sh: torch.Tensor, triangles: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Vertex normals and Lambertian SH colours (same contract as the numba version)."""
    normals = vertex_normals(vertices, triangles)
    return normals, albedo * sh_irradiance(normals, sh)


def _barycentric(corners: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Screen-space barycentrics of points (px, py) in triangles with pixel corners (N, 3, 2)."""
    x0, y0 = corners[:, 0, 0], corners[:, 0, 1]
    x1, y1 = corners[:, 1, 0], corners[:, 1, 1]
    x2, y2 = corners[:, 2, 0], corners[:, 2, 1]
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    inv_area = 1.0 / area
    w0 = ((x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)) * inv_area
    w1 = ((x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)) * inv_area
    w2 = ((x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)) * inv_area
    return w0, w1, w2, area


def _rasterize_one(
    pixels: torch.Tensor, depth: torch.Tensor, cut: torch.Tensor, tri: torch.Tensor, size: int
) -> torch.Tensor:
    """Triangle id per pixel (size, size) for one mesh with cut values (V,), -1 for background (no gradient)."""
    corners = pixels[tri]  # (T, 3, 2)
    x0, y0 = corners[:, 0, 0], corners[:, 0, 1]
    area = (corners[:, 1, 0] - x0) * (corners[:, 2, 1] - y0) - (corners[:, 1, 1] - y0) * (corners[:, 2, 0] - x0)
    low = torch.ceil(corners.amin(1) - 0.5).clamp_min(0).long()  # pixel centres inside the box
    high = torch.floor(corners.amax(1) - 0.5).clamp_max(size - 1).long()
    extent = (high - low + 1).clamp_min(0)
    count = extent[:, 0] * extent[:, 1] * (area < 0)
    keep = torch.nonzero(count > 0).squeeze(1)
    ids = torch.repeat_interleave(keep, count[keep])
    first = torch.cumsum(count[keep], 0) - count[keep]
    local = torch.arange(len(ids)) - torch.repeat_interleave(first, count[keep])
    cols = low[ids, 0] + local % extent[ids, 0]
    rows = low[ids, 1] + local // extent[ids, 0]
    w0, w1, w2, _ = _barycentric(corners[ids], cols.float() + 0.5, rows.float() + 0.5)
    k = cut[tri[ids]]
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (w0 * k[:, 0] + w1 * k[:, 1] + w2 * k[:, 2] >= 0)
    d = depth[tri[ids]]
    z = w0 * d[:, 0] + w1 * d[:, 1] + w2 * d[:, 2]
    ids, z, flat = ids[inside], z[inside], (rows * size + cols)[inside]
    zbuf = torch.full((size * size,), float("inf")).scatter_reduce(0, flat, z, "amin")
    nearest = z == zbuf[flat]
    sentinel = len(tri)
    winner = torch.full((size * size,), sentinel).scatter_reduce(0, flat[nearest], ids[nearest], "amin")
    return torch.where(winner == sentinel, -1, winner).view(size, size)


def rasterize(
    pixels: torch.Tensor, depth: torch.Tensor, triangles: torch.Tensor, size: int, values: torch.Tensor | None = None,
    cut: torch.Tensor | None = None,
) -> tuple[RasterOutput, torch.Tensor | None, torch.Tensor | None]:  # fmt: skip
    """Rasterize (B, V, 2) pixel positions with (B, V) depths (mm) into size x size images.

    Same contract as :func:`inversefacenet.render.raster_numba.rasterize`. Triangle ids are found
    without gradients; barycentrics, depth and the interpolated values are then recomputed
    differentiably from ``pixels``, ``depth`` and ``values``.
    """
    raster = _fragments(pixels, depth, triangles, size, cut)
    if values is None:
        return raster, None, None
    image = interpolate(values, triangles, raster.triangle_id, raster.barycentric)
    visible = visible_vertices(triangles, raster.triangle_id, pixels.shape[1])
    if cut is not None:  # a cut-away vertex is not drawn, though part of its triangle may be
        visible &= (cut >= 0).cpu()
    return raster, image, visible


def _fragments(
    pixels: torch.Tensor, depth: torch.Tensor, triangles: torch.Tensor, size: int, cut: torch.Tensor | None
) -> RasterOutput:
    """Per-pixel triangle ids (no gradient) and differentiable barycentrics and depth."""
    tri = triangles.long()
    batch, n_vertices = pixels.shape[:2]
    if cut is not None and tuple(cut.shape) != (n_vertices,):
        raise ValueError(f"expected cut values ({n_vertices},), one per vertex, got shape {tuple(cut.shape)}")
    with torch.no_grad():
        cut = torch.zeros(n_vertices, device=pixels.device) if cut is None else cut.detach().float()  # 0: all kept
        ids = torch.stack([_rasterize_one(pixels[b].float(), depth[b].float(), cut, tri, size) for b in range(batch)])
    covered = ids >= 0
    safe = ids.clamp_min(0)
    rows = torch.arange(size, dtype=pixels.dtype).view(1, size, 1).expand(batch, size, size) + 0.5
    cols = torch.arange(size, dtype=pixels.dtype).view(1, 1, size).expand(batch, size, size) + 0.5
    batch_index = torch.arange(batch).view(batch, 1, 1).expand_as(ids)
    vertex_index = tri[safe]  # (B, H, W, 3)
    corners = pixels[batch_index.unsqueeze(-1), vertex_index]  # (B, H, W, 3, 2)
    w0, w1, w2, _ = _barycentric(corners.reshape(-1, 3, 2), cols.reshape(-1), rows.reshape(-1))
    bary = torch.stack([w0, w1, w2], -1).reshape(batch, size, size, 3) * covered.unsqueeze(-1)
    z = (bary * depth[batch_index.unsqueeze(-1), vertex_index]).sum(-1)
    z = torch.where(covered, z, torch.full_like(z, float("inf")))
    return RasterOutput(ids.int(), bary, z)


def interpolate(values: torch.Tensor, triangles: torch.Tensor, triangle_id: torch.Tensor,
                barycentric: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Barycentric interpolation of per-vertex values (B, V, C) -> (B, H, W, C), 0 off the face."""
    batch = values.shape[0]
    vertex_index = triangles.long()[triangle_id.long().clamp_min(0)]  # (B, H, W, 3)
    batch_index = torch.arange(batch).view(batch, 1, 1, 1).expand_as(vertex_index)
    gathered = values[batch_index, vertex_index]  # (B, H, W, 3, C)
    out = (barycentric.unsqueeze(-1) * gathered).sum(-2)
    return out * (triangle_id >= 0).unsqueeze(-1)


def visible_vertices(triangles: torch.Tensor, triangle_id: torch.Tensor, n_vertices: int) -> torch.Tensor:
    """(B, V) bool: vertices of triangles that own at least one pixel."""
    out = torch.zeros(triangle_id.shape[0], n_vertices, dtype=torch.bool)
    for b in range(triangle_id.shape[0]):
        owned = torch.unique(triangle_id[b][triangle_id[b] >= 0]).long()
        out[b, triangles.long()[owned].reshape(-1)] = True
    return out
