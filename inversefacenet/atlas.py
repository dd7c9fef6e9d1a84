"""The face model's UV atlas: skin in one island, eyes and mouth interior in their own charts.

The face model's own ``uv`` is one cylindrical projection (eyes and mouth interior land on the
cheeks, a third of the covered texels are claimed twice), so textures baked at it are scrambled.
The atlas lives in its own small asset (``assets/facemodel_uv.npz``, built by
``tools/build_uv_atlas.py``) because ``assets/facemodel.npz``'s hash is baked into the shipped
network checkpoint. Seams duplicate vertices. The atlas is built on ``FaceModel.region_mesh()``,
the mesh clipped at the smooth forehead and jaw curves that the previews end at too
(:mod:`inversefacenet.facemodel.region`), so an atlas vertex may lie on a model edge, a fixed blend
of two model vertices (linear, so positions, normals and albedo alike are blended).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from inversefacenet.facemodel.model import FaceModel, FaceModelError

DEFAULT_ATLAS_PATH = Path(__file__).resolve().parents[1] / "assets" / "facemodel_uv.npz"
ISLANDS = ("skin", "eyes", "mouth interior")
"""Names of the ``island`` codes."""


@dataclass(frozen=True)
class UVAtlas:
    """A seam-split, region-clipped copy of the face model's mesh with non-overlapping uvs.

    vertex: (W, 2) model vertices and weight: (W,) blend of each atlas vertex,
        ``(1 - weight) * x[vertex[:, 0]] + weight * x[vertex[:, 1]]`` (both columns equal and
        weight 0 for a plain model vertex); uv: (W, 2) in [0, 1], v up.
    triangles: (T', 3) atlas vertex indices, counter-clockwise seen from outside and in uv.
    face_triangles: (T',) the model triangle each one lies in; island: (T',) index into :data:`ISLANDS`.
    """

    vertex: np.ndarray
    weight: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    face_triangles: np.ndarray
    island: np.ndarray
    face_model_sha256: str

    @classmethod
    def for_model(cls, model: FaceModel, path: str | Path | None = None) -> UVAtlas:
        """The atlas built for ``model`` (checked by the model file's hash and the mesh)."""
        atlas = _load(Path(path) if path is not None else DEFAULT_ATLAS_PATH)
        # The coarse level shares the file's hash but not its mesh: check the triangles too.
        same = (atlas.face_model_sha256 == model.sha256 and atlas.vertex.max() < model.n_vertices
                and atlas.face_triangles.max() < model.n_triangles)  # fmt: skip
        corners = atlas.vertex[atlas.triangles]  # (T', 3, 2) model vertices
        parents = model.triangles[atlas.face_triangles] if same else None
        if not same or not (corners[..., None] == parents[:, None, None, :]).any(axis=-1).all():
            raise FaceModelError(
                "the UV atlas was built for another face model; rebuild it with `python tools/build_uv_atlas.py`"
            )
        return atlas

    def save(self, path: str | Path) -> None:
        """Write the atlas as a compressed .npz (no pickles)."""
        np.savez_compressed(
            path, vertex=self.vertex, weight=self.weight, uv=self.uv, triangles=self.triangles,
            face_triangles=self.face_triangles, island=self.island, face_model_sha256=np.array(self.face_model_sha256),
        )  # fmt: skip

    def split(self, per_vertex: np.ndarray) -> np.ndarray:
        """Per-model-vertex values (V, ...) -> per-atlas-vertex values (W, ...)."""
        weight = self.weight.reshape(-1, *[1] * (per_vertex.ndim - 1)).astype(per_vertex.dtype)
        return per_vertex[self.vertex[:, 0]] * (1 - weight) + per_vertex[self.vertex[:, 1]] * weight


@cache
def _load(path: Path) -> UVAtlas:
    if not path.is_file():
        raise FaceModelError(f"UV atlas not found: {path} (build it with `python tools/build_uv_atlas.py`)")
    with np.load(path, allow_pickle=False) as data:
        return UVAtlas(
            vertex=data["vertex"].astype(np.int64), weight=data["weight"].astype(np.float32),
            uv=data["uv"].astype(np.float32),
            triangles=data["triangles"].astype(np.int64), face_triangles=data["face_triangles"].astype(np.int64),
            island=data["island"].astype(np.int64), face_model_sha256=str(data["face_model_sha256"]),
        )  # fmt: skip
