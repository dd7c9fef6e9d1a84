"""InverseFaceNet: single-shot inverse face rendering (pose, shape, expression, albedo, SH light).

Names are imported on first use (PEP 562), so ``import inversefacenet`` and ``--help`` do not load torch, numba,
OpenCV and MediaPipe until something needs them. Rendering is the subpackage ``inversefacenet.render``
(``from inversefacenet.render import render``).
"""

from inversefacenet.lazy import lazy_names

_WHERE = {
    "Camera": "inversefacenet.render.camera",
    "rotation_matrix": "inversefacenet.render.camera",
    "InputError": "inversefacenet.errors",
    "NoFaceError": "inversefacenet.errors",
    "export_mesh": "inversefacenet.export",
    "FaceModel": "inversefacenet.facemodel.model",
    "FaceModelError": "inversefacenet.facemodel.model",
    "load_image": "inversefacenet.images",
    "FaceParameters": "inversefacenet.params",
    "ParameterLayout": "inversefacenet.params",
    "FaceResult": "inversefacenet.pipeline",
    "Reconstructor": "inversefacenet.pipeline",
    "RenderOutput": "inversefacenet.render.renderer",
    "sh_basis": "inversefacenet.render.sh",
    "sh_irradiance": "inversefacenet.render.sh",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
