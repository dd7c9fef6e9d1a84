"""OpenGL (pyrender) drawing of the project's image formation, with anti-aliased edges.

The shading is the project's own: per-vertex colour = albedo x SH irradiance from
``raster_numba.shade_vertices``, drawn unlit (pyrender's flat shader interpolates the vertex
colours), so only rasterization differs from ``renderer.render``: 4x MSAA on the edges and
perspective-correct interpolation. The camera is the project's: the face is already in the
camera frame (camera at the origin looking down -z), and the crop transform
``pixel = scale * (x / -z, -y / -z) + offset`` is a pinhole with fx = fy = scale and
(cx, cy) = offset. The face ends where ``renderer.render``'s does: the mesh is clipped at the model's
region cut (``FaceModel.region_mesh``), positions and colours blended along the cut edges.
pyrender is imported lazily: it needs ``PYOPENGL_PLATFORM`` before OpenGL loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import FaceParameters
from inversefacenet.render import camera as cam
from inversefacenet.render.raster_numba import shade_vertices

PLATFORM = "egl"
"""PyOpenGL platform unless ``PYOPENGL_PLATFORM`` says otherwise: EGL makes a context on a GPU
(the driver's) and on a CPU (Mesa's llvmpipe). OSMesa would need PyOpenGL 3.1.10, which
pyrender 0.1.45's pin (PyOpenGL 3.1.0) refuses."""

_PROBE = (
    "import pyrender; scene = pyrender.Scene(); scene.add(pyrender.IntrinsicsCamera(8, 8, 8, 8)); "
    "colour, _ = pyrender.OffscreenRenderer(16, 16).render(scene); assert colour.shape == (16, 16, 3)"
)


def platform() -> str:
    """The PyOpenGL platform this process uses (or will use once pyrender is imported)."""
    return os.environ.get("PYOPENGL_PLATFORM", PLATFORM)


def probe(timeout_s: float = 60.0) -> str | None:
    """Why no OpenGL context can be made here, or None when one can.

    Asked in a child process: a broken driver can crash the process that tries instead of
    raising, and PyOpenGL's platform cannot be changed once loaded.
    """
    env = {**os.environ, "PYOPENGL_PLATFORM": platform()}
    try:
        result = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                                timeout=timeout_s)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"no context within {timeout_s:.0f} s"
    if result.returncode == 0:
        return None
    lines = result.stderr.strip().splitlines()
    return f"{env['PYOPENGL_PLATFORM']}: {lines[-1] if lines else f'exit status {result.returncode}'}"


def shade(
    model: FaceModel, params: FaceParameters, albedo: np.ndarray | None = None, camera: cam.Camera = cam.DEFAULT_CAMERA
) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame vertices (B, V, 3) mm and their SH colours (B, V, 3): what the GL draw needs."""
    vertices = cam.to_camera(model.geometry(params.shape, params.expression), cam.rotation_matrix(params.rotation),
                             camera)  # fmt: skip
    reflectance = model.albedo(params.albedo) if albedo is None else albedo
    _, colour = shade_vertices(vertices, reflectance, params.sh, model.open_triangles)  # as renderer.render
    return vertices, colour


class GLRenderer:
    """Draws shaded faces with pyrender from any thread, through one OpenGL context.

    A context is current in the thread that made it (pyrender never releases it), so every
    draw runs in one GL thread of the renderer's own, one at a time; callers shade their
    meshes in their own threads meanwhile. Per-thread contexts would pile up instead: Gradio's
    worker threads come and go, and pyrender cannot delete a context without terminating the
    EGL display that all of them share.
    """

    def __init__(self) -> None:
        os.environ["PYOPENGL_PLATFORM"] = platform()
        import pyrender

        self._pyrender = pyrender
        self._gl_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opengl")
        self._renderer: Any = None  # made in the GL thread by its first draw

    def draw(
        self, vertices: np.ndarray, colour: np.ndarray, triangles: np.ndarray, size: int, scale: float,
        offset: tuple[float, float], background: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """One mesh -> (image uint8 (S, S, 3) over ``background``, coverage (S, S) float32 in [0, 1]).

        vertices: (V, 3) camera frame, mm, in front of the camera; colour: (V, 3) in [0, 1]
        (clamped like ``to_uint8``); crop pixel = scale * normalised image point + offset.
        """
        return self._gl_thread.submit(self._draw, vertices, colour, triangles, size, scale, offset, background).result()

    def _draw(
        self, vertices: np.ndarray, colour: np.ndarray, triangles: np.ndarray, size: int, scale: float,
        offset: tuple[float, float], background: float,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        pyrender = self._pyrender
        depth = -vertices[:, 2]
        # clip planes around the face: pyrender's default zfar (100) would cull a face at 600 mm
        lens = pyrender.IntrinsicsCamera(scale, scale, offset[0], offset[1], znear=0.5 * float(depth.min()),
                                         zfar=2.0 * float(depth.max()))  # fmt: skip
        triangle_list = pyrender.constants.GLTF.TRIANGLES
        mesh = pyrender.Mesh([pyrender.Primitive(vertices, indices=triangles, color_0=colour, mode=triangle_list)])
        scene = pyrender.Scene(bg_color=(background, background, background, 0.0))
        scene.add(mesh)
        scene.add(lens)
        if self._renderer is None:
            self._renderer = pyrender.OffscreenRenderer(size, size)
        self._renderer.viewport_width = self._renderer.viewport_height = size
        rgba, _ = self._renderer.render(scene, flags=pyrender.RenderFlags.FLAT | pyrender.RenderFlags.RGBA)
        return np.ascontiguousarray(rgba[..., :3]), rgba[..., 3].astype(np.float32) / 255  # read-back is flipped

    def render(
        self, model: FaceModel, params: FaceParameters, size: int, crop: tuple[np.ndarray, np.ndarray],
        albedo: np.ndarray | None = None, background: float = 0.0, camera: cam.Camera = cam.DEFAULT_CAMERA,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """A batch of faces at the given crop (scale (B,), offset (B, 2)), like ``renderer.render``.

        Returns images uint8 (B, S, S, 3) over ``background`` and coverage (B, S, S) float32.
        """
        vertices, colour = shade(model, params, albedo, camera)
        region = model.region_mesh()
        scale, offset = crop
        drawn = [self.draw(region.blend(vertices[b]), region.blend(colour[b]), region.triangles, size,
                           float(scale[b]), (float(offset[b, 0]), float(offset[b, 1])), background)
                 for b in range(len(vertices))]  # fmt: skip
        return np.stack([image for image, _ in drawn]), np.stack([coverage for _, coverage in drawn])
