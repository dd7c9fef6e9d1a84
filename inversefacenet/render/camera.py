"""Rotation, full perspective projection and the landmark-box crop (paper section 4).

Frames: the face model lives in a head frame (mm, x to the viewer's right, y up, face
looking along +z). The camera sits on the +z axis at ``distance_mm`` looking down -z.
Image coordinates are pixels with x right and y down; pixel (i, j) has its centre at
(j + 0.5, i + 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from inversefacenet.arrays import namespace, stack


@dataclass(frozen=True)
class Camera:
    """Full perspective camera and crop convention, shared by corpus, fit and photos.

    distance_mm: head-origin to camera distance; sets the strength of perspective.
    crop_scale: side of the square crop relative to the longer side of the landmark box.
    """

    distance_mm: float = 600.0
    crop_scale: float = 1.25


DEFAULT_CAMERA = Camera()


def rotation_matrix(angles: Any) -> Any:
    """R = Rot_xyz(alpha, beta, gamma) = Rz(gamma) Ry(beta) Rx(alpha) (paper section 4).

    angles: (B, 3) radians: alpha about x (pitch), beta about y (yaw), gamma about z (roll).
    Returns (B, 3, 3); rotates column vectors: p' = R p.
    """
    xp = namespace(angles)
    ca, cb, cg = xp.cos(angles[:, 0]), xp.cos(angles[:, 1]), xp.cos(angles[:, 2])
    sa, sb, sg = xp.sin(angles[:, 0]), xp.sin(angles[:, 1]), xp.sin(angles[:, 2])
    rows = [
        [cg * cb, cg * sb * sa - sg * ca, cg * sb * ca + sg * sa],
        [sg * cb, sg * sb * sa + cg * ca, sg * sb * ca - cg * sa],
        [-sb, cb * sa, cb * ca],
    ]
    return stack([stack(row, axis=-1) for row in rows], axis=-2)


def to_camera(vertices: Any, rotation: Any, camera: Camera = DEFAULT_CAMERA) -> Any:
    """Rotate head-frame vertices and move them in front of the camera.

    vertices: (B, V, 3) mm, head frame; rotation: (B, 3, 3).
    Returns (B, V, 3) mm, camera frame (the face at z close to -distance_mm).
    """
    rotated = vertices @ rotation.swapaxes(-1, -2)  # p' = R p for row vectors
    offset = rotated[..., 2:3] * 0 - camera.distance_mm
    return stack([rotated[..., 0], rotated[..., 1], rotated[..., 2] + offset[..., 0]], axis=-1)


def project(points: Any) -> Any:
    """Perspective projection of camera-frame points to normalised image coordinates.

    points: (B, V, 3) camera frame, z < 0. Returns (B, V, 2): (x / -z, -y / -z), y down.
    """
    inv_depth = 1.0 / (-points[..., 2])
    return stack([points[..., 0] * inv_depth, -points[..., 1] * inv_depth], axis=-1)


def crop_transform(points_2d: Any, size: int, camera: Camera = DEFAULT_CAMERA) -> tuple[Any, Any]:
    """Square crop around the bounding box of 2D landmarks, resized to ``size`` pixels.

    points_2d: (B, L, 2) landmark positions in any image coordinates (normalised or pixels).
    Returns (scale (B,), offset (B, 2)) with ``pixel = scale * point + offset``.
    """
    xp = namespace(points_2d)
    if xp is np:
        low, high = points_2d.min(axis=1), points_2d.max(axis=1)
        side = (high - low).max(axis=1) * camera.crop_scale
    else:
        low, high = points_2d.amin(dim=1), points_2d.amax(dim=1)
        side = (high - low).amax(dim=1) * camera.crop_scale
    centre = (low + high) / 2
    scale = size / side
    offset = size / 2 - scale[:, None] * centre
    return scale, offset


def to_crop_pixels(
    image_points: Any, crop_points: Any, size: int, camera: Camera = DEFAULT_CAMERA, crop: tuple[Any, Any] | None = None
) -> tuple[Any, Any, Any]:
    """Normalised image points (B, V, 2) -> crop pixels, by ``crop`` or the box of ``crop_points``.

    crop_points: (B, L, 2) landmarks whose box defines the crop when ``crop`` is None.
    Returns (pixels (B, V, 2), scale (B,), offset (B, 2)).
    """
    scale, offset = crop_transform(crop_points, size, camera) if crop is None else crop
    return image_points * scale[:, None, None] + offset[:, None, :], scale, offset
