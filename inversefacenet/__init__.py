"""InverseFaceNet: single-shot inverse face rendering (pose, shape, expression, albedo, SH light)."""

from inversefacenet.camera import Camera, rotation_matrix
from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.export import export_mesh
from inversefacenet.facemodel.model import FaceModel, FaceModelError
from inversefacenet.images import load_image
from inversefacenet.params import FaceParameters, ParameterLayout
from inversefacenet.pipeline import FaceResult, Reconstructor
from inversefacenet.renderer import RenderOutput, render
from inversefacenet.sh import sh_basis, sh_irradiance

__all__ = [
    "Camera",
    "FaceModel",
    "FaceModelError",
    "FaceParameters",
    "FaceResult",
    "InputError",
    "NoFaceError",
    "ParameterLayout",
    "Reconstructor",
    "RenderOutput",
    "export_mesh",
    "load_image",
    "render",
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
]
