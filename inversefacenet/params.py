"""The parameter vector theta = (R, shape, expression, albedo, SH) (paper eq. 1), defined once.

Every consumer (renderers, corpus, networks, loss, API) slices the flat vector through
:class:`ParameterLayout`; no literal offsets anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from inversefacenet.arrays import concatenate
from inversefacenet.render.sh import N_SH_BANDS

N_ROTATION = 3
N_SH = N_SH_BANDS * 3


EXPRESSION_CONTROLS = (
    "jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthPucker",
    "mouthFunnel", "cheekPuff", "browInnerUp", "browDownLeft", "browDownRight", "browOuterUpLeft",
    "browOuterUpRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeWideLeft", "eyeWideRight",
)  # fmt: skip
"""The ARKit blendshapes both UIs (the app and the page) expose as sliders; the others keep their recovered values."""


@dataclass(frozen=True)
class ParameterLayout:
    """Sizes of the parameter groups; the order is rotation, shape, expression, albedo, sh."""

    n_shape: int
    n_expression: int
    n_albedo: int

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "rotation": N_ROTATION,
            "shape": self.n_shape,
            "expression": self.n_expression,
            "albedo": self.n_albedo,
            "sh": N_SH,
        }

    @property
    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for name, size in self.sizes.items():
            out[name] = slice(start, start + size)
            start += size
        return out

    @property
    def size(self) -> int:
        return sum(self.sizes.values())


@dataclass
class FaceParameters:
    """Named parameter groups for a batch of B faces (numpy arrays or torch tensors).

    rotation: (B, 3) radians (alpha pitch about x, beta yaw about y, gamma roll about z);
    shape: (B, Ns), expression: (B, Ne), albedo: (B, Nr) in units of the model's sigmas
    (expression: blendshape weights); sh: (B, 9, 3) RGB SH coefficients.
    """

    rotation: Any
    shape: Any
    expression: Any
    albedo: Any
    sh: Any

    @classmethod
    def neutral(cls, layout: ParameterLayout, batch: int = 1, ambient: float = 0.8) -> FaceParameters:
        """Mean face, frontal, neutral expression, mean albedo, grey ambient light (numpy float32)."""
        sh = np.zeros((batch, N_SH_BANDS, 3), np.float32)
        sh[:, 0] = ambient
        return cls(
            np.zeros((batch, N_ROTATION), np.float32), np.zeros((batch, layout.n_shape), np.float32),
            np.zeros((batch, layout.n_expression), np.float32), np.zeros((batch, layout.n_albedo), np.float32), sh,
        )  # fmt: skip

    def map(self, function: Callable[[Any], Any]) -> FaceParameters:
        """Apply ``function`` to every group, e.g. to convert, slice or detach all of them."""
        return FaceParameters(*(function(getattr(self, f.name)) for f in fields(self)))

    def select(self, faces: slice | np.ndarray) -> FaceParameters:
        """The faces at ``faces`` (a slice or an index array) of the batch, every group alike."""
        return self.map(lambda group: group[faces])

    @classmethod
    def concatenate(cls, items: list[FaceParameters]) -> FaceParameters:
        """Join batches (numpy) along the batch axis."""
        return cls(*(np.concatenate([getattr(p, f.name) for p in items]) for f in fields(cls)))

    @property
    def batch_size(self) -> int:
        return int(self.rotation.shape[0])

    def pack(self) -> Any:
        """Flat (B, P) vector in the layout's order."""
        parts = [getattr(self, f.name) for f in fields(self)]
        parts[-1] = parts[-1].reshape(self.batch_size, N_SH)
        return concatenate(parts, axis=1)

    @classmethod
    def unpack(cls, layout: ParameterLayout, vector: Any) -> FaceParameters:
        """Split a (B, P) vector; raises if P does not match the layout."""
        if vector.ndim != 2 or vector.shape[1] != layout.size:
            raise ValueError(f"expected a parameter vector of shape (B, {layout.size}), got {tuple(vector.shape)}")
        groups = {name: vector[:, s] for name, s in layout.slices.items()}
        groups["sh"] = groups["sh"].reshape(vector.shape[0], N_SH_BANDS, 3)
        return cls(**groups)
