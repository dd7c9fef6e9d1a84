"""The parameters of a face seen in a horizontally flipped picture (x -> -x in the camera and head frames).

A face and its mirror image are equally likely faces, so a network should read a flipped crop as the mirrored
parameters. Training shows it flipped crops with mirrored answers (``training.corpus``); a network so trained reads
each crop both ways and answers the mean (``NetworkConfig.mirror_reading``, which the predictors honour).

Under the mirror S = diag(-1, 1, 1): a rotation R becomes S R S (pitch kept, yaw and roll negated); the
geometry's vertex k moves to S times the vertex mirrored onto k, which the shape basis expresses by least squares
(the model is near-symmetric, so the map is near-exact); the Left/Right blendshapes swap; the albedo follows its
vertices; SH coefficients odd in x change sign; a crop alignment's x shift changes sign.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.params import ParameterLayout
from inversefacenet.render.sh import sh_basis

FLIP = np.array([-1.0, 1.0, 1.0])
"""The mirror x -> -x."""
_MIRRORS: dict[str, ParameterMirror] = {}
"""Each face-model file's mirror (by its sha256), made once (:meth:`ParameterMirror.of`)."""
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ParameterMirror:
    """Maps (B, P) parameter vectors (or (B, P + 3) with a crop alignment) to their mirror images'.

    shape_map / albedo_map: (N, N) from coefficients to the mirrored face's; shape_offset / albedo_offset: (N,)
    the mirrored mean's coefficients (the model's mean is not exactly symmetric); expression_order: (Ne,) the
    blendshape each mirrored weight comes from; sh_sign: (9,) +-1.
    """

    layout: ParameterLayout
    shape_map: np.ndarray
    shape_offset: np.ndarray
    albedo_map: np.ndarray
    albedo_offset: np.ndarray
    expression_order: np.ndarray
    sh_sign: np.ndarray

    @classmethod
    def of(cls, model: FaceModel) -> ParameterMirror:
        """The mirror of ``model``'s parameters, solved once per face-model file (a least-squares fit over every
        vertex, about half a second) and shared: predictors, the corpus and the exporters all ask for it."""
        with _LOCK:
            if model.sha256 not in _MIRRORS:
                _MIRRORS[model.sha256] = cls._solved(model)
            return _MIRRORS[model.sha256]

    @classmethod
    def _solved(cls, model: FaceModel) -> ParameterMirror:
        mean = model.vertices_mean.astype(np.float64)
        _, mirrored = cKDTree(mean).query(mean * FLIP)  # the vertex each vertex's mirror image lands on
        shape_map, shape_offset = _mirror_map(model.shape_basis, model.shape_std, mean, mirrored, FLIP)
        albedo_map, albedo_offset = _mirror_map(model.albedo_basis, model.albedo_std, model.albedo_mean, mirrored,
                                                np.ones(3))  # fmt: skip
        names = [str(name) for name in model.expression_names]
        swapped = [name.replace("Left", "\0").replace("Right", "Left").replace("\0", "Right") for name in names]
        unknown = sorted(set(swapped) - set(names))
        if unknown:
            raise ValueError(f"no mirror blendshape for {unknown}")
        direction = np.array([[0.3, 0.5, 0.8]]) / np.linalg.norm([0.3, 0.5, 0.8])  # any direction with x, y, z != 0
        sh_sign = np.sign(sh_basis(direction * FLIP)[0] / sh_basis(direction)[0])
        return cls(model.layout, shape_map, shape_offset, albedo_map, albedo_offset,
                   np.array([names.index(name) for name in swapped]), sh_sign)  # fmt: skip

    def both_ways(self, read: Callable[[np.ndarray], np.ndarray], inputs: np.ndarray) -> np.ndarray:
        """A network's (B, outputs) for (B, S, S, C) ``inputs`` read as they are and flipped left-right, averaged
        (the flipped reading mirrored back): one batch of 2B."""
        both = np.asarray(read(np.concatenate([inputs, inputs[:, :, ::-1]])))
        return (both[: len(inputs)] + self(both[len(inputs) :])) / 2

    def __call__(self, vectors: np.ndarray) -> np.ndarray:
        """(B, P) or (B, P + 3) -> the mirror images' vectors, same shape and dtype."""
        slices, out = self.layout.slices, np.array(vectors, copy=True)
        out[:, slices["rotation"].start + 1 : slices["rotation"].stop] *= -1  # yaw, roll
        out[:, slices["shape"]] = vectors[:, slices["shape"]] @ self.shape_map.T + self.shape_offset
        out[:, slices["expression"]] = vectors[:, slices["expression"]][:, self.expression_order]
        out[:, slices["albedo"]] = vectors[:, slices["albedo"]] @ self.albedo_map.T + self.albedo_offset
        sh = slices["sh"]
        out[:, sh] = (vectors[:, sh].reshape(len(out), -1, 3) * self.sh_sign[:, None]).reshape(len(out), -1)
        if out.shape[1] > self.layout.size:  # the crop alignment: (dx, dy, log scale)
            out[:, self.layout.size] *= -1
        return out


def _mirror_map(basis: np.ndarray, std: np.ndarray, mean: np.ndarray, mirrored: np.ndarray,
                flip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(N, N) map and (N,) offset taking coefficients (in sigmas) of ``basis`` (N, V, 3) to the least-squares
    coefficients of the mirrored face: vertex k of the mirror image is ``flip`` times vertex ``mirrored[k]``."""
    scaled = (basis * std[:, None, None]).reshape(len(basis), -1).astype(np.float64).T  # (3V, N)
    flipped = (basis[:, mirrored] * flip * std[:, None, None]).reshape(len(basis), -1).T
    mean = mean.astype(np.float64)
    solved = np.linalg.lstsq(scaled, np.column_stack([flipped, (mean[mirrored] * flip - mean).reshape(-1)]),
                             rcond=None)[0]  # fmt: skip
    return solved[:, :-1], solved[:, -1]


def mirror_for(mirror_reading: bool, model: FaceModel | None) -> ParameterMirror | None:
    """A predictor's mirror: None unless its network reads both ways (``model`` None: the shipped face model)."""
    return ParameterMirror.of(model or FaceModel.load()) if mirror_reading else None
