"""The affine face model (paper eqs. 2-3): geometry and reflectance from parameters.

The model file is a plain ``.npz`` (no pickles) written by :mod:`tools.facemodel.build`.
This module knows nothing of cameras or rasterizers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from inversefacenet.arrays import namespace
from inversefacenet.facemodel.region import ClippedMesh, clip_mesh, edge_cut, fan, open_loops
from inversefacenet.params import ParameterLayout

log = logging.getLogger(__name__)

DEFAULT_MODEL_PATH = Path(__file__).resolve().parents[2] / "assets" / "facemodel.npz"
MESH_POINTS = 468
"""MediaPipe's face mesh points: the first 468 of its 478 landmarks (the 10 iris points after them are not
model vertices); their box is the paper's crop, and the fit matches them."""
"""The shipped face model, built from CC0 MakeHuman data."""

FORMAT_VERSION = 1

_CACHE_LOCK = threading.RLock()
"""Guards every model's lazy ``_cache`` fill: threads sharing a model build each entry once (reentrant: an entry
may be built from others)."""

_REQUIRED = {
    "vertices_mean": 2, "triangles": 2, "triangles_coarse": 2, "uv": 2,
    "shape_basis": 3, "shape_std": 1,
    "expression_basis": 3, "expression_std": 1, "expression_names": 1,
    "albedo_mean": 2, "albedo_basis": 3, "albedo_std": 1,
    "landmarks_mediapipe": 1, "landmarks_ibug68": 1, "ibug68_contour_candidates": 2,
    "mask_face": 1, "mask_mouth_interior": 1, "mask_eyes": 1, "metadata": 0,
}  # fmt: skip


class FaceModelError(ValueError):
    """A face-model file is missing, corrupt or inconsistent."""


@dataclass
class FaceModel:
    """Mean, bases and standard deviations of shape, expression and albedo, plus annotations.

    vertices_mean: (V, 3) float32 mm, head frame (x right, y up, face towards +z).
    triangles: (T, 3) int32, counter-clockwise seen from outside.
    triangles_coarse: (Tc, 3) int32, the Loop control mesh on the first vertices (the mesh
        before subdivision; see :meth:`coarse`).
    uv: (V, 2) float32 texture coordinates in [0, 1].
    shape_basis: (Ns, V, 3) orthonormal over the 3V coordinates; shape_std: (Ns,) mm.
    expression_basis: (Ne, V, 3) unit-norm blendshape directions; expression_std: (Ne,) mm
        per unit blendshape weight, so ``std * basis`` is the blendshape's displacement.
    albedo_mean: (V, 3) RGB reflectance in [0, 1]; albedo_basis: (Nr, V, 3) orthonormal;
        albedo_std: (Nr,).
    landmarks_mediapipe: (478,) vertex indices in MediaPipe face-mesh order.
    landmarks_ibug68: (68,) vertex indices (jaw points 0-16 are frontal-view defaults).
    ibug68_contour_candidates: (17, K) vertex indices per jaw point, ordered from the
        face centre outwards; the silhouette point is the outermost visible one.
    mask_face / mask_mouth_interior / mask_eyes: (V,) bool vertex masks.
    """

    vertices_mean: np.ndarray
    triangles: np.ndarray
    triangles_coarse: np.ndarray
    uv: np.ndarray
    shape_basis: np.ndarray
    shape_std: np.ndarray
    expression_basis: np.ndarray
    expression_std: np.ndarray
    expression_names: list[str]
    albedo_mean: np.ndarray
    albedo_basis: np.ndarray
    albedo_std: np.ndarray
    landmarks_mediapipe: np.ndarray
    landmarks_ibug68: np.ndarray
    ibug68_contour_candidates: np.ndarray
    mask_face: np.ndarray
    mask_mouth_interior: np.ndarray
    mask_eyes: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    # ---- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> FaceModel:
        """Load the shipped model, or another model file written by the builder."""
        path = Path(path) if path is not None else DEFAULT_MODEL_PATH
        if not path.is_file():
            raise FaceModelError(
                f"face model file not found: {path} (rebuild it with `python -m tools.facemodel.build`)"
            )
        raw = path.read_bytes()
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
            raise FaceModelError(f"{path} is not a readable face-model .npz: {error}") from error
        missing = sorted(set(_REQUIRED) - set(arrays))
        if missing:
            raise FaceModelError(f"{path} lacks the arrays {missing}")
        for name, ndim in _REQUIRED.items():
            if arrays[name].ndim != ndim:
                raise FaceModelError(f"{path}: {name} should have {ndim} dimensions, got shape {arrays[name].shape}")
        metadata = json.loads(str(arrays.pop("metadata")))
        if metadata.get("format_version") != FORMAT_VERSION:
            raise FaceModelError(f"{path}: unsupported format version {metadata.get('format_version')}")
        model = cls(
            **{k: _as_float32(v) for k, v in arrays.items() if k != "expression_names"},
            expression_names=[str(n) for n in arrays["expression_names"]],
            metadata=metadata,
            sha256=hashlib.sha256(raw).hexdigest(),
        )
        model.validate()
        return model

    def validate(self) -> None:
        """Check that every array agrees on V, T and the group sizes."""
        v = self.n_vertices
        checks = {
            "triangles": (self.triangles.shape[1] == 3 and self.triangles.min() >= 0
                          and self.triangles.max() < v),
            "uv": self.uv.shape == (v, 2),
            "triangles_coarse": self.triangles_coarse.min() >= 0 and self.triangles_coarse.max() < v,
            "shape": self.shape_basis.shape[1:] == (v, 3) and len(self.shape_std) == self.n_shape,
            "expression": (self.expression_basis.shape[1:] == (v, 3)
                           and len(self.expression_std) == self.n_expression
                           and len(self.expression_names) == self.n_expression),
            "albedo": (self.albedo_mean.shape == (v, 3) and self.albedo_basis.shape[1:] == (v, 3)
                       and len(self.albedo_std) == self.n_albedo),
            "landmarks": (self.landmarks_mediapipe.shape == (478,)
                          and self.landmarks_ibug68.shape == (68,)
                          and self.ibug68_contour_candidates.shape[0] == 17),
            "masks": all(m.shape == (v,) for m in (self.mask_face, self.mask_mouth_interior,
                                                   self.mask_eyes)),
            "finite": all(np.isfinite(a).all() for a in (self.vertices_mean, self.shape_basis,
                                                         self.expression_basis, self.albedo_basis)),
        }  # fmt: skip
        indices = (self.landmarks_mediapipe, self.landmarks_ibug68, self.ibug68_contour_candidates)
        checks["landmark range"] = all(a.min() >= 0 and a.max() < v for a in indices)
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise FaceModelError(f"inconsistent face model: {', '.join(bad)}")

    def save(self, path: str | Path) -> None:
        """Write the model as a compressed .npz; bases are stored as float16 to stay small."""
        arrays = {name: getattr(self, name) for name in _REQUIRED if name != "metadata"}
        for name in ("shape_basis", "expression_basis", "albedo_basis"):
            arrays[name] = arrays[name].astype(np.float16)
        arrays["expression_names"] = np.array(self.expression_names)
        arrays["metadata"] = np.array(json.dumps(dict(self.metadata, format_version=FORMAT_VERSION)))
        np.savez_compressed(path, **arrays)

    # ---- sizes ---------------------------------------------------------------------------
    @property
    def n_vertices(self) -> int:
        return int(self.vertices_mean.shape[0])

    @property
    def n_triangles(self) -> int:
        return int(self.triangles.shape[0])

    @property
    def n_shape(self) -> int:
        return int(self.shape_basis.shape[0])

    @property
    def n_expression(self) -> int:
        return int(self.expression_basis.shape[0])

    @property
    def n_albedo(self) -> int:
        return int(self.albedo_basis.shape[0])

    @property
    def layout(self) -> ParameterLayout:
        return ParameterLayout(self.n_shape, self.n_expression, self.n_albedo)

    # ---- evaluation (numpy or torch, by the type of the coefficients) --------------------
    def geometry(self, shape: Any, expression: Any) -> Any:
        """F_g = a_g + sum b_s sigma_s theta_s + sum b_e sigma_e theta_e (paper eq. 2).

        shape: (B, Ns), expression: (B, Ne). Returns (B, V, 3) mm, head frame.
        """
        a = self._arrays_like(shape)
        batch = shape.shape[0]
        # (B, K) @ (K, 3V): BLAS matrix products, the corpus renderer's first hot step.
        flat = (shape * a["shape_std"]) @ a["shape_basis"] + (expression * a["expression_std"]) @ a["expression_basis"]
        return a["vertices_mean"] + flat.reshape(batch, self.n_vertices, 3)

    def albedo(self, albedo: Any) -> Any:
        """F_r = a_r + sum b_r sigma_r theta_r (paper eq. 3). albedo: (B, Nr) -> (B, V, 3)."""
        a = self._arrays_like(albedo)
        flat = (albedo * a["albedo_std"]) @ a["albedo_basis"]
        return a["albedo_mean"] + flat.reshape(albedo.shape[0], self.n_vertices, 3)

    def coarse(self) -> FaceModel:
        """The same model on its Loop control mesh: about 4x fewer vertices and triangles.

        Keeps the first vertices (those of ``triangles_coarse``) plus every landmark vertex,
        with landmark indices remapped, so crops and landmarks agree with the full mesh.
        Meant for low-resolution corpus rendering, where the full mesh's triangles are
        smaller than a pixel.
        """
        return self._cached("coarse", self._build_coarse)

    def mouth_cap(self) -> np.ndarray:
        """(K, 3) triangles that close the mouth's interior where the model's cut leaves it open (the throat: two
        loops of open edges), wound as the interior is, so they face into the mouth. Without them a wide-open mouth
        shows what lies behind the head through its corners."""
        return self._cached("mouth_cap", self._build_mouth_cap)

    def _build_mouth_cap(self) -> np.ndarray:
        try:
            return fan(open_loops(self.triangles, self.mask_mouth_interior), self.vertices_mean)
        except ValueError as error:  # another model file: shown and exported open rather than not at all
            log.warning("the mouth is left open: %s", error)
            return np.zeros((0, 3), self.triangles.dtype)

    def inner_triangles(self) -> np.ndarray:
        """(T,) bool: the triangles inside the head, all of whose vertices are the mouth's interior or the eyes."""
        return self._cached("inner_triangles",
                            lambda: (self.mask_mouth_interior | self.mask_eyes)[self.triangles].all(axis=1))

    @property
    def open_triangles(self) -> np.ndarray:
        """The triangles without the mouth's cap: all of an open model's, those before the cap of a closed one."""
        return self.triangles[: self.n_triangles - int(self.metadata.get("mouth_cap", 0))]

    def closed(self) -> FaceModel:
        """The same model with :meth:`mouth_cap` appended to its triangles: what people look at and download
        (the previews, the exports). The corpus, the fit and the network keep the open mesh they were made with
        (same file, same hash), and a closed model's vertices and parameters are the open one's. A model with nothing
        to close (a closed one) is its own; ``metadata["mouth_cap"]`` counts the triangles appended."""
        if not len(self.mouth_cap()):
            return self
        return self._cached("closed", lambda: replace(
            self, triangles=np.concatenate([self.triangles, self.mouth_cap()]).astype(self.triangles.dtype),
            metadata=dict(self.metadata, mouth_cap=len(self.mouth_cap())), _cache={}))  # fmt: skip

    def _build_coarse(self) -> FaceModel:
        n_control = int(self.triangles_coarse.max()) + 1
        landmarks = np.concatenate([self.landmarks_mediapipe, self.landmarks_ibug68,
                                    self.ibug68_contour_candidates.ravel()])  # fmt: skip
        keep = np.concatenate([np.arange(n_control), np.setdiff1d(landmarks, np.arange(n_control))])
        remap = np.full(self.n_vertices, -1)
        remap[keep] = np.arange(len(keep))
        return FaceModel(
            vertices_mean=self.vertices_mean[keep], triangles=self.triangles_coarse,
            triangles_coarse=self.triangles_coarse, uv=self.uv[keep],
            shape_basis=self.shape_basis[:, keep], shape_std=self.shape_std,
            expression_basis=self.expression_basis[:, keep], expression_std=self.expression_std,
            expression_names=self.expression_names, albedo_mean=self.albedo_mean[keep],
            albedo_basis=self.albedo_basis[:, keep], albedo_std=self.albedo_std,
            landmarks_mediapipe=remap[self.landmarks_mediapipe],
            landmarks_ibug68=remap[self.landmarks_ibug68],
            ibug68_contour_candidates=remap[self.ibug68_contour_candidates],
            mask_face=self.mask_face[keep], mask_mouth_interior=self.mask_mouth_interior[keep],
            mask_eyes=self.mask_eyes[keep], metadata=dict(self.metadata, level_of_detail="coarse"),
            sha256=self.sha256,
        )  # fmt: skip

    # ---- the face region (see :mod:`inversefacenet.facemodel.region`) ---------------------
    def region_cut(self) -> np.ndarray:
        """(V,) float32 mm: how far each vertex of the mean face lies inside the face region, between
        the forehead and jaw curves (negative outside).

        Renders keep the fragments where it interpolates to >= 0; exports are clipped at its zero line.
        """
        return self._cached("region_cut", lambda: self._region_cut64().astype(np.float32))

    def region_mesh(self) -> ClippedMesh:
        """The mesh clipped at the face region's edges: its first V points are the model's vertices."""
        return self._cached("region_mesh", lambda: clip_mesh(self._region_cut64(), self.triangles))

    def coarse_region_mesh(self) -> ClippedMesh:
        """The coarse level's closed region mesh (:meth:`closed`) over this model's vertices, only its used points:
        about 4x fewer triangles than :meth:`region_mesh`, for previews drawn at video rate on a software GL.

        The coarse level keeps this model's first vertices in order and its triangles use only those, so
        its points blend this model's vertices as they are; ``parent`` indexes the closed coarse level's triangles.
        """
        mesh = self.coarse().closed().region_mesh()
        used = np.unique(mesh.triangles)
        if mesh.vertex[used].max() > self.triangles_coarse.max():
            raise FaceModelError("the coarse triangles use vertices beyond the control mesh")
        remap = np.full(len(mesh.vertex), -1)
        remap[used] = np.arange(len(used))
        return ClippedMesh(vertex=mesh.vertex[used], weight=mesh.weight[used], triangles=remap[mesh.triangles],
                           parent=mesh.parent)  # fmt: skip

    def _region_cut64(self) -> np.ndarray:
        return edge_cut(self.vertices_mean.astype(np.float64), self.mask_mouth_interior | self.mask_eyes)

    def _cached(self, key: str, build: Callable[[], Any]) -> Any:
        """``self._cache[key]``, built by ``build()`` once per model even when threads ask together."""
        with _CACHE_LOCK:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def ibug68_points(self, pixels: np.ndarray, visible: np.ndarray) -> np.ndarray:
        """2D iBUG-68 points with the jaw line on the silhouette, as 2D annotations place it.

        pixels: (B, V, 2) projected vertices (x right); visible: (B, V) bool.
        Each jaw point takes the visible candidate on its level that lies furthest outwards
        (away from the face centre in x); inner points are the fixed landmark vertices.
        Returns (B, 68, 2).
        """
        points = pixels[:, self.landmarks_ibug68].copy()
        centre_x = pixels[:, self.landmarks_ibug68[27:36], 0].mean(axis=1)  # nose points
        for k, candidates in enumerate(self.ibug68_contour_candidates):
            x = pixels[:, candidates, 0]
            side = np.sign(pixels[:, candidates[-1], 0] - pixels[:, candidates[0], 0] + 1e-9)
            outward = np.where(visible[:, candidates], side[:, None] * (x - centre_x[:, None]), -np.inf)
            best = candidates[np.argmax(outward, axis=1)]
            has_visible = np.isfinite(outward.max(axis=1))
            chosen = pixels[np.arange(len(pixels)), best]
            points[:, k] = np.where(has_visible[:, None], chosen, points[:, k])
        return points

    def _arrays_like(self, like: Any) -> dict[str, Any]:
        """The model arrays in the namespace, dtype and device of ``like`` (converted once, cached)."""
        names = ("vertices_mean", "shape_basis", "shape_std", "expression_basis",
                 "expression_std", "albedo_mean", "albedo_basis", "albedo_std")  # fmt: skip
        key = (type(like).__module__, str(getattr(like, "device", "cpu")), str(like.dtype))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with _CACHE_LOCK:
            if key in self._cache:
                return self._cache[key]
            # bases flattened to (K, 3V) so that evaluation is one matrix product
            arrays = {n: getattr(self, n) for n in names}
            arrays = {n: a.reshape(a.shape[0], a.shape[1] * a.shape[2]) if n.endswith("_basis") else a
                      for n, a in arrays.items()}  # fmt: skip
            if namespace(like) is np:
                self._cache[key] = {n: np.ascontiguousarray(a, dtype=like.dtype) for n, a in arrays.items()}
            else:
                import torch

                self._cache[key] = {
                    n: torch.as_tensor(a, dtype=like.dtype, device=like.device) for n, a in arrays.items()
                }
        return self._cache[key]


def _as_float32(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float32) if array.dtype.kind == "f" else array
