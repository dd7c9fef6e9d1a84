"""The embedded face model: loading (model.py) and building from MakeHuman data (build.py)."""

from inversefacenet.facemodel.model import FaceModel, FaceModelError

__all__ = ["FaceModel", "FaceModelError"]
