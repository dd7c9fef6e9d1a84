"""What both rasterizers return: per-pixel triangle ids, barycentrics and depth.

Coverage rule (shared by the numba and torch rasterizers so they agree pixel for pixel):
a pixel belongs to a front-facing triangle when its centre (j + 0.5, i + 0.5) has all three
barycentrics >= 0 and, given per-vertex cut values, their interpolation there is >= 0 (the
face region's cut, :mod:`inversefacenet.facemodel.region`: a cut-away fragment shows what is
behind it); the nearest such triangle wins and exact depth ties go to the lower triangle id.
Depth, attributes and cut values are interpolated with screen-space barycentrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class RasterOutput:
    """Fragments of a batch of B images of H x W pixels (numpy arrays or torch tensors).

    triangle_id: (B, H, W) int, -1 for background.
    barycentric: (B, H, W, 3) float32 weights of the triangle's three vertices.
    depth: (B, H, W) float32 mm from the camera, +inf for background.
    """

    triangle_id: Any
    barycentric: Any
    depth: Any

    @property
    def mask(self) -> Any:
        """(B, H, W) bool, True where the face covers the pixel."""
        return self.triangle_id >= 0
