"""Image formation (paper section 4): parameters -> face model -> camera -> SH shading -> pixels.

One pipeline for both back ends: numpy parameters run the numba fast path (corpus), torch
parameters the differentiable torch path (fitting, tests). Only shading, rasterization and
interpolation have two implementations; everything else is the shared formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from inversefacenet.arrays import namespace
from inversefacenet.facemodel.model import MESH_POINTS, FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.render import camera as cam
from inversefacenet.render.raster import RasterOutput


@dataclass
class RenderOutput:
    """A rendered batch (numpy or torch, matching the parameters).

    image: (B, H, W, 3) float32 colour (albedo x irradiance), 0 off the face.
    raster: per-pixel fragments; ``raster.mask`` is the face mask.
    pixels: (B, V, 2) vertex positions in crop pixels; vertices: (B, V, 3) camera frame, mm.
    vertex_colour: (B, V, 3) shaded vertex colours; vertex_visible: (B, V) bool.
    crop_scale: (B,), crop_offset: (B, 2): crop pixel = scale * normalised image point + offset.
    normals: (B, V, 3) unit vertex normals, camera frame (the ones the shading used).
    """

    image: Any
    raster: RasterOutput
    pixels: Any
    vertices: Any
    vertex_colour: Any
    vertex_visible: Any
    crop_scale: Any
    crop_offset: Any
    normals: Any = None


def _backend(xp: Any) -> Any:
    if xp is np:
        from inversefacenet.render import raster_numba

        return raster_numba
    from inversefacenet.render import raster_torch

    return raster_torch


def render(
    model: FaceModel,
    params: FaceParameters,
    size: int,
    camera: cam.Camera = cam.DEFAULT_CAMERA,
    crop: tuple[Any, Any] | None = None,
    crop_vertices: np.ndarray | None = None,
    albedo: Any = None,
) -> RenderOutput:
    """Render a batch of faces into size x size crops, the face ending at the model's region cut.

    crop: (scale (B,), offset (B, 2)) mapping normalised image points to crop pixels, e.g.
        from a photo's landmark box; by default the square box around the projected crop
        landmarks (the MediaPipe mesh points) as in the paper.
    crop_vertices: vertex indices whose box defines the default crop (defaults to the
        model's 468 MediaPipe mesh landmarks).
    albedo: per-vertex reflectance (B, V, 3) used instead of the model's, e.g. a uniform
        grey to show the geometry alone.
    """
    xp = namespace(params.rotation)
    backend = _backend(xp)
    face = project_face(model, params, size, camera, crop, crop_vertices)
    triangles, cut = mesh_arrays(model, xp)
    reflectance = model.albedo(params.albedo) if albedo is None else albedo
    # a closed model's walls keep the normals of the open mesh: its cap shares their vertices at the throat's rim
    opened = triangles[: len(model.open_triangles)]
    normals, colour = backend.shade_vertices(face.in_camera, reflectance, params.sh, opened)
    depth = -face.in_camera[..., 2]
    raster, image, visible = backend.rasterize(face.pixels, depth, triangles, size, colour, cut)
    return RenderOutput(image, raster, face.pixels, face.in_camera, colour, visible, face.scale, face.offset, normals)


@dataclass
class ProjectedFace:
    """Where a face's vertices go: in_camera (B, V, 3) mm, camera frame; pixels (B, V, 2) crop pixels;
    the crop's scale (B,) and offset (B, 2) (crop pixel = scale * normalised image point + offset)."""

    in_camera: Any
    pixels: Any
    scale: Any
    offset: Any


def project_face(
    model: FaceModel,
    params: FaceParameters,
    size: int,
    camera: cam.Camera = cam.DEFAULT_CAMERA,
    crop: tuple[Any, Any] | None = None,
    crop_vertices: np.ndarray | None = None,
) -> ProjectedFace:
    """Geometry -> camera -> perspective projection -> crop: the one chain the renderer and the fit share
    (numpy or torch). ``crop`` and ``crop_vertices`` as in :func:`render`."""
    vertices = model.geometry(params.shape, params.expression)
    in_camera = cam.to_camera(vertices, cam.rotation_matrix(params.rotation), camera)
    image_points = cam.project(in_camera)
    index = model.landmarks_mediapipe[:MESH_POINTS] if crop_vertices is None else crop_vertices
    pixels, scale, offset = cam.to_crop_pixels(image_points, image_points[:, index], size, camera, crop)
    return ProjectedFace(in_camera, pixels, scale, offset)


def mesh_arrays(model: FaceModel, xp: Any) -> tuple[Any, Any]:
    """The model's triangles and per-vertex region cut values in the parameters' array library."""
    if xp is np:
        return model.triangles, model.region_cut()
    return xp.as_tensor(model.triangles.astype(np.int64)), xp.as_tensor(model.region_cut())


def to_uint8(image: Any, background: float = 0.0) -> np.ndarray:
    """Float image(s) in [0, 1] -> uint8 numpy, for saving and display."""
    array = image.detach().cpu().numpy() if namespace(image) is not np else image
    return (np.clip(array + background * (array.sum(-1, keepdims=True) == 0), 0, 1) * 255 + 0.5).astype(np.uint8)


__all__ = ["RenderOutput", "render", "to_uint8"]
