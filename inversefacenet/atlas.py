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

from dataclasses import dataclass, replace
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
    triangles: (T', 3) atlas vertex indices, counter-clockwise seen from outside and in uv; the mouth's cap last
        (each of its loops on points of its own at one uv: no area in uv).
    face_triangles: (T',) the triangle of ``model.closed()`` each one lies in (the cap's after the model's own);
        island: (T',) index into :data:`ISLANDS`.
    """

    vertex: np.ndarray
    weight: np.ndarray
    uv: np.ndarray
    triangles: np.ndarray
    face_triangles: np.ndarray
    island: np.ndarray
    face_model_sha256: str
    cap_first: int = -1
    """Where the mouth's cap starts in ``triangles`` (-1: an atlas as stored, without it)."""

    @property
    def cap(self) -> np.ndarray:
        """(K, 3) the mouth's cap: the last triangles, on points of their own."""
        return self.triangles[self.cap_first :] if self.cap_first >= 0 else self.triangles[:0]

    @classmethod
    def for_model(cls, model: FaceModel, path: str | Path | None = None) -> UVAtlas:
        """The atlas built for ``model``, open or closed (checked by the model file's hash and the mesh), with the
        mouth's cap (:meth:`FaceModel.mouth_cap`) after its triangles: downloads are closed at the throat."""
        atlas = _load(Path(path) if path is not None else DEFAULT_ATLAS_PATH)
        closed, first = model.closed(), len(model.open_triangles)
        # The coarse level shares the file's hash but not its mesh: check the triangles too.
        same = (atlas.face_model_sha256 == model.sha256 and atlas.vertex.max() < model.n_vertices
                and atlas.face_triangles.max() < first)  # fmt: skip
        corners = atlas.vertex[atlas.triangles]  # (T', 3, 2) model vertices
        parents = closed.triangles[atlas.face_triangles] if same else None
        if not same or not (corners[..., None] == parents[:, None, None, :]).any(axis=-1).all():
            raise FaceModelError(
                "the UV atlas was built for another face model; rebuild it with `python tools/build_uv_atlas.py`"
            )
        return atlas._with_cap(closed.triangles[first:], first)

    def save(self, path: str | Path) -> None:
        """Write the atlas as a compressed .npz (no pickles): the builder's, not one from :meth:`for_model`, whose cap
        loading adds again."""
        np.savez_compressed(
            path, vertex=self.vertex, weight=self.weight, uv=self.uv, triangles=self.triangles,
            face_triangles=self.face_triangles, island=self.island, face_model_sha256=np.array(self.face_model_sha256),
        )  # fmt: skip

    def _with_cap(self, cap: np.ndarray, first: int) -> UVAtlas:
        """This atlas and ``cap`` ((K, 3) model triangles, fans over loops of the mouth's interior, the model's
        triangles ``first`` on): each loop on points of its own, all at one uv, its first vertex's in the mouth's
        island, so the throat takes that texel's colour (a fan's uvs spread over the island would smear it)."""
        mouth = np.unique(self.triangles[self.island == ISLANDS.index("mouth interior")])
        plain = mouth[self.weight[mouth] == 0]
        size = max(int(self.vertex.max()), int(cap.max(initial=0))) + 1
        uv_of, loop_start = np.zeros((size, 2), np.float32), np.zeros(size, np.int64)
        uv_of[self.vertex[plain, 0]] = self.uv[plain]
        loop_start[cap] = cap[:, :1]  # a fan's first vertex starts its loop; a loop's vertices are its own
        corners, point = np.unique(cap, return_inverse=True)
        uv = uv_of[loop_start[corners]]
        return replace(
            self, vertex=np.concatenate([self.vertex, np.stack([corners, corners], axis=1)]),
            weight=np.concatenate([self.weight, np.zeros(len(corners), self.weight.dtype)]),
            uv=np.concatenate([self.uv, uv]),
            triangles=np.concatenate([self.triangles, len(self.vertex) + point.reshape(-1, 3)]),
            face_triangles=np.concatenate([self.face_triangles, first + np.arange(len(cap))]),
            island=np.concatenate([self.island, np.full(len(cap), ISLANDS.index("mouth interior"))]),
            cap_first=len(self.triangles),
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
