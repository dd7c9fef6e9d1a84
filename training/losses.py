"""The model-space parameter loss (paper eqs. 6-8) and the plain L2 baseline."""

from __future__ import annotations

import numpy as np
import torch

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import N_SH

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


class ParameterLoss(torch.nn.Module):
    """L(theta, theta_g) = || Sigma (theta - theta_g) ||^2 averaged over the batch.

    ``kind="model"`` uses the model-space Sigma; ``kind="l2"`` uses Sigma = I (the baseline).
    """

    def __init__(self, model: FaceModel, kind: str = "model") -> None:
        super().__init__()
        if kind not in ("model", "l2"):
            raise ValueError(f"unknown loss {kind!r}; use 'model' or 'l2'")
        weights = model_space_weights(model) if kind == "model" else np.ones(model.layout.size, np.float32)
        self.register_buffer("weights", torch.as_tensor(weights))
        self.kind = kind

    def forward(self, predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return ((self.weights * (predicted - target)) ** 2).sum(dim=1).mean()
