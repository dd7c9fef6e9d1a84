"""The model-space parameter loss (paper eqs. 6-8), the plain L2 baseline, and two optional
terms of ours: face-region geometry in mm and shaded skin colour."""

from __future__ import annotations

import numpy as np
import torch

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import N_SH
from inversefacenet.render.camera import rotation_matrix
from inversefacenet.render.raster_numba import vertex_normals
from inversefacenet.render.sh import N_SH_BANDS, sh_basis

PAPER_WEIGHTS = {"rotation": 400.0, "shape": 50.0, "expression": 50.0, "albedo": 100.0, "sh": 20.0}


def model_space_weights(model: FaceModel, weights: dict[str, float] = PAPER_WEIGHTS) -> np.ndarray:
    """The diagonal of Sigma = diag(w_R 1_3, w_s sigma_s, w_e sigma_e, w_r sigma_r, w_i 1_27).

    Our sigmas are norms over all 3V coordinates; they are divided by sqrt(V) so that each is
    the RMS per-vertex displacement (mm) or reflectance change of one unit, the scale of the
    paper's per-vertex model statistics.
    """
    per_vertex = np.sqrt(model.n_vertices)
    parts = [
        np.full(3, weights["rotation"]),
        weights["shape"] * model.shape_std / per_vertex,
        weights["expression"] * model.expression_std / per_vertex,
        weights["albedo"] * model.albedo_std / per_vertex,
        np.full(N_SH, weights["sh"]),
    ]
    return np.concatenate(parts).astype(np.float32)


class AppearanceTerm(torch.nn.Module):
    """Mean squared error of shaded skin colour, albedo x SH irradiance, in grey levels (0-255).

    With our model's scales the paper's albedo and light weights leave those groups at about 1 %
    of the parameter loss, and a network trained on it predicted neither (its SH error equalled
    the spread of the truth). A photo shows their product, so this term compares the product:
    on every ``stride``-th face-region vertex, with the mean face's normals turned by the true
    rotation (cheap, and independent of the predicted geometry).
    """

    def __init__(self, model: FaceModel, stride: int = 4) -> None:
        super().__init__()
        index = np.nonzero(model.mask_face)[0][::stride]
        normals = vertex_normals(model.vertices_mean[None], model.triangles)
        basis = model.albedo_basis.reshape(model.n_albedo, model.n_vertices, 3)[:, index]
        self.register_buffer("normals", torch.as_tensor(normals[0, index]))
        self.register_buffer("albedo_mean", torch.as_tensor(model.albedo_mean.reshape(-1, 3)[index]))
        self.register_buffer(
            "albedo_basis", torch.as_tensor(basis.reshape(model.n_albedo, -1) * model.albedo_std[:, None])
        )
        self.slices = model.layout.slices

    def colour(self, vector: torch.Tensor, normals: torch.Tensor) -> torch.Tensor:
        albedo = self.albedo_mean + (vector[:, self.slices["albedo"]] @ self.albedo_basis).reshape(len(vector), -1, 3)
        return albedo * (sh_basis(normals) @ vector[:, self.slices["sh"]].reshape(-1, N_SH_BANDS, 3))

    def forward(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        normals = self.normals @ rotation_matrix(target[:, self.slices["rotation"]]).transpose(1, 2)
        difference = (self.colour(predicted, normals) - self.colour(target, normals)) * 255
        return (difference**2).mean()


class GeometryTerm(torch.nn.Module):
    """Mean squared displacement (mm^2) of the face-region vertices, shape and expression together.

    The model-space loss weighs each basis vector by its whole-head RMS displacement and treats
    them as independent: the back of the head and the tongue count, and overlapping blendshapes
    (jawOpen and mouthClose, say) are not traded against each other. The geometric error is
    measured on the face region, so this term measures exactly that, as the quadratic form of
    the bases' Gram matrix on those vertices (no mesh is built per step).
    """

    def __init__(self, model: FaceModel) -> None:
        super().__init__()
        face = model.mask_face
        bases = np.concatenate([model.shape_basis[:, face] * model.shape_std[:, None, None],
                                model.expression_basis[:, face] * model.expression_std[:, None, None]])  # fmt: skip
        flat = bases.reshape(len(bases), -1).astype(np.float64)
        self.register_buffer("gram", torch.as_tensor(flat @ flat.T / face.sum(), dtype=torch.float32))
        slices = model.layout.slices
        assert slices["shape"].stop == slices["expression"].start, "shape and expression must be adjacent"
        self.span = slice(slices["shape"].start, slices["expression"].stop)

    def forward(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        difference = predicted[:, self.span] - target[:, self.span]
        return ((difference @ self.gram) * difference).sum(dim=1).mean()


class ParameterLoss(torch.nn.Module):
    """L(theta, theta_g) = || Sigma (theta - theta_g) ||^2 averaged over the batch.

    ``kind="model"`` uses the model-space Sigma; ``kind="l2"`` uses Sigma = I (the baseline).
    ``appearance_weight`` > 0 adds that many times :class:`AppearanceTerm` (grey levels squared),
    ``geometry_weight`` > 0 that many times :class:`GeometryTerm` (mm squared).
    ``alignment_size`` > 0 (the input size, px): the vectors carry the crop alignment after the
    parameters (``preprocess.ALIGNMENT_SIZE`` values), and ``alignment_weight`` times its squared
    error in input pixels (the shift, and the log scale at half the side) is added.
    """

    def __init__(self, model: FaceModel, kind: str = "model", appearance_weight: float = 0.0,
                 geometry_weight: float = 0.0, alignment_weight: float = 0.0,
                 alignment_size: int = 0) -> None:  # fmt: skip
        super().__init__()
        if kind not in ("model", "l2"):
            raise ValueError(f"unknown loss {kind!r}; use 'model' or 'l2'")
        weights = model_space_weights(model) if kind == "model" else np.ones(model.layout.size, np.float32)
        self.register_buffer("weights", torch.as_tensor(weights))
        self.register_buffer("alignment_px", torch.tensor([1.0, 1.0, 0.5]) * alignment_size)
        self.aligned = alignment_size > 0
        self.kind = kind
        self.appearance_weight = appearance_weight
        self.appearance = AppearanceTerm(model) if appearance_weight > 0 else None
        self.geometry_weight = geometry_weight
        self.geometry = GeometryTerm(model) if geometry_weight > 0 else None
        self.alignment_weight = alignment_weight
        self.n_parameters = model.layout.size

    def forward(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.aligned:
            shift = (predicted[:, self.n_parameters :] - target[:, self.n_parameters :]) * self.alignment_px
            alignment = self.alignment_weight * (shift**2).sum(dim=1).mean()
            predicted, target = predicted[:, : self.n_parameters], target[:, : self.n_parameters]
        else:
            alignment = 0.0
        loss = ((self.weights * (predicted - target)) ** 2).sum(dim=1).mean() + alignment
        if self.appearance is not None:
            loss = loss + self.appearance_weight * self.appearance(predicted, target)
        if self.geometry is not None:
            loss = loss + self.geometry_weight * self.geometry(predicted, target)
        return loss
