"""InverseFaceNet: single-shot inverse face rendering (pose, shape, expression, albedo, SH light)."""

from inversefacenet.camera import Camera, rotation_matrix
from inversefacenet.export import export_mesh
from inversefacenet.facemodel.model import FaceModel, FaceModelError
from inversefacenet.params import FaceParameters, ParameterLayout
from inversefacenet.renderer import RenderOutput, render
from inversefacenet.sh import sh_basis, sh_irradiance

__all__ = [
    "Camera",
    "FaceModel",
    "FaceModelError",
    "FaceParameters",
    "ParameterLayout",
    "RenderOutput",
    "export_mesh",
    "render",
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
]
