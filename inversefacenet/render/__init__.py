"""Image formation (paper section 4): face parameters -> pixels.

Data flow of :func:`render`: the face model's geometry (head frame, mm) -> ``camera`` (rotation, then
in front of the camera) -> perspective projection and the landmark-box crop (``camera``, joined by
``renderer.project_face``) -> per-vertex Lambertian SH shading (``sh``) -> rasterization (z-buffer
fragments, interpolated vertex colours).

- ``camera``: ``Camera``, rotation (Rot_xyz), camera frame, perspective projection, crop transform.
- ``sh``: second-order SH basis and irradiance (9 coefficients per colour channel).
- ``raster``: ``RasterOutput``, the per-pixel fragments and the coverage rule both rasterizers share.
- ``raster_numba``: batched numba z-buffer, shading and normals (numpy in; the corpus' fast path).
- ``raster_torch``: its differentiable torch twin with the same coverage (torch in; fitting, tests).
- ``renderer``: ``render``, ``project_face``, ``RenderOutput``: the one pipeline over either back end.
- ``render_gl``: pyrender (OpenGL, 4x MSAA) drawing of the same shaded vertices, for the app's previews.

Names are imported on first use (PEP 562): ``import inversefacenet.render`` loads neither numba nor torch,
and pyrender only loads when ``render_gl`` draws.
"""

from inversefacenet.lazy import lazy_names

_WHERE = {
    "Camera": "inversefacenet.render.camera",
    "DEFAULT_CAMERA": "inversefacenet.render.camera",
    "rotation_matrix": "inversefacenet.render.camera",
    "sh_basis": "inversefacenet.render.sh",
    "sh_irradiance": "inversefacenet.render.sh",
    "RenderOutput": "inversefacenet.render.renderer",
    "project_face": "inversefacenet.render.renderer",
    "render": "inversefacenet.render.renderer",
    "to_uint8": "inversefacenet.render.renderer",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
