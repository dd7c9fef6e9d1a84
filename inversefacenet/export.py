"""Mesh export through trimesh: OBJ (+MTL + baked albedo PNG), PLY (per-vertex albedo), GLB.

OBJ and PLY are written in millimetres (the face model's unit) in the head frame; GLB in metres,
as glTF requires, with the head pose as its node's rotation. Colours are the albedo
(reflectance), not the shaded image. Faces of the face model are written on its UV atlas
(:mod:`inversefacenet.atlas`): the same seam-split vertices and triangles in every format.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.ndimage
import trimesh
from PIL import Image
from scipy.spatial.transform import Rotation
from trimesh.iteration import IndexedDict

from inversefacenet.atlas import UVAtlas
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import write_whole
from inversefacenet.render.raster_numba import rasterize, vertex_normals

SUFFIXES = (".obj", ".ply", ".glb")
TEXTURE_SIZE = 1024


def bake_texture(uv: np.ndarray, triangles: np.ndarray, colours: np.ndarray, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Rasterize per-vertex colours (V, 3) in [0, 1] into a size x size RGB uint8 texture.

    Texture row 0 is v = 1 (image convention).
    """
    pixels = np.stack([uv[:, 0], 1 - uv[:, 1]], axis=1) * size
    corners = pixels[triangles]
    area = (corners[:, 1, 0] - corners[:, 0, 0]) * (corners[:, 2, 1] - corners[:, 0, 1]) - (
        corners[:, 1, 1] - corners[:, 0, 1]) * (corners[:, 2, 0] - corners[:, 0, 0])  # fmt: skip
    oriented = np.where((area > 0)[:, None], triangles[:, [0, 2, 1]], triangles).astype(np.int32)
    depth = np.zeros((1, len(uv)), np.float32)
    raster, texture, _ = rasterize(pixels[None].astype(np.float32), depth, oriented, size, colours[None])
    texture = texture[0]
    # Every empty texel takes the colour of the nearest filled one, so bilinear and mipmapped
    # look-ups at chart borders do not bleed black.
    _, (rows, cols) = scipy.ndimage.distance_transform_edt(~raster.mask[0], return_indices=True)
    texture = texture[rows, cols]
    return (np.clip(texture, 0, 1) * 255 + 0.5).astype(np.uint8)


def glb_bytes(
    vertices: np.ndarray,
    triangles: np.ndarray,
    uv: np.ndarray,
    texture: Image.Image,
    rotation: np.ndarray | None = None,
    normals: np.ndarray | None = None,
    extend: Callable[[IndexedDict, dict], None] | None = None,
) -> bytes:
    """A textured mesh as GLB bytes, in metres, with the head pose as its node's rotation.

    Arguments as in :func:`export_mesh` (vertices in mm). ``extend(buffer_items, tree)`` may add
    data to trimesh's glTF before it is written (morph targets, animations: :mod:`inversefacenet.animate`).
    """
    # skin is not metal: glTF's default metallic factor is 1
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=texture, metallicFactor=0.0, roughnessFactor=1.0)
    visual = trimesh.visual.TextureVisuals(uv=uv, image=texture, material=material)
    mesh = trimesh.Trimesh(vertices * 1e-3, triangles, vertex_normals=normals, visual=visual, process=False)
    scene = trimesh.Scene()
    scene.add_geometry(mesh, node_name="face", geom_name="face")
    quaternion = Rotation.from_matrix(np.eye(3) if rotation is None else rotation).as_quat()  # x, y, z, w as glTF

    def rotate_node(tree: dict) -> None:
        (node,) = tree["nodes"]
        node.pop("matrix", None)
        node["rotation"] = quaternion.tolist()

    return trimesh.exchange.gltf.export_glb(
        scene, include_normals=normals is not None, tree_postprocessor=rotate_node, buffer_postprocessor=extend
    )


def export_mesh(
    path: str | Path,
    vertices: np.ndarray,
    triangles: np.ndarray,
    albedo: np.ndarray,
    uv: np.ndarray,
    texture: np.ndarray | None = None,
    rotation: np.ndarray | None = None,
    normals: np.ndarray | None = None,
) -> list[Path]:
    """Write a mesh; the format follows the suffix (.obj, .ply or .glb).

    vertices: (V, 3) mm; triangles: (T, 3); albedo: (V, 3) in [0, 1]; uv: (V, 2);
    texture: the albedo already baked by :func:`bake_texture` (baked here when omitted);
    rotation: (3, 3) head pose, written as the GLB node's rotation (OBJ and PLY have none);
    normals: (V, 3) unit vertex normals for OBJ and GLB (glTF viewers draw flat facets without).
    Returns the files written: an OBJ also writes ``STEM.mtl`` and its texture ``STEM_albedo.png`` (not ``STEM.png``,
    which is often the photo the face came from).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"unsupported mesh format {path.suffix!r}; use one of {', '.join(SUFFIXES)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".ply":
        colours = (np.clip(albedo, 0, 1) * 255 + 0.5).astype(np.uint8)
        mesh = trimesh.Trimesh(vertices, triangles, vertex_colors=colours, process=False)
        write_whole(path, mesh.export(file_type="ply"))
        return [path]
    texture = Image.fromarray(bake_texture(uv, triangles, albedo) if texture is None else texture)
    if suffix == ".glb":
        write_whole(path, glb_bytes(vertices, triangles, uv, texture, rotation, normals))
        return [path]
    material = trimesh.visual.material.SimpleMaterial(image=texture, diffuse=(255, 255, 255, 255),
                                                      name=f"{path.stem}_albedo")  # the texture's file name too
    visual = trimesh.visual.TextureVisuals(uv=uv, image=texture, material=material)
    mesh = trimesh.Trimesh(vertices, triangles, vertex_normals=normals, visual=visual, process=False)
    stem = path.stem
    obj_text, extras = trimesh.exchange.obj.export_obj(
        mesh, include_texture=True, mtl_name=f"{stem}.mtl", return_texture=True
    )
    write_whole(path, obj_text)
    written = [path]
    for name, data in extras.items():
        extra = path.parent / name
        write_whole(extra, data)
        written.append(extra)
    return written


def bake_face_texture(model: FaceModel, albedo: np.ndarray, size: int = TEXTURE_SIZE) -> np.ndarray:
    """Bake a face's per-vertex albedo (V, 3) at the model's UV atlas."""
    atlas = UVAtlas.for_model(model)
    return bake_texture(atlas.uv, atlas.triangles, atlas.split(albedo), size)


def export_face(
    path: str | Path,
    model: FaceModel,
    vertices: np.ndarray,
    albedo: np.ndarray,
    rotation: np.ndarray | None = None,
    texture: np.ndarray | None = None,
) -> list[Path]:
    """Write a face of ``model`` (vertices (V, 3) mm, albedo (V, 3)) on its UV atlas.

    rotation and texture as in :func:`export_mesh` (texture from :func:`bake_face_texture`).
    """
    atlas = UVAtlas.for_model(model)
    return export_mesh(
        path, atlas.split(vertices), atlas.triangles, atlas.split(albedo), atlas.uv, texture, rotation,
        face_normals(model, vertices),
    )  # fmt: skip


def face_normals(model: FaceModel, vertices: np.ndarray) -> np.ndarray:
    """(W, 3) or (B, W, 3) unit normals at the atlas vertices of faces of ``model`` (vertices (V, 3) or (B, V, 3) mm).

    Taken from the whole open model mesh with the renderer's rule (area-weighted), so that seams and the clipped edge
    shade like their neighbours and exports shade like the previews; the mouth's cap, on points of its own, from its
    own triangles (the mouth's walls around it face other ways; the previews' cap shares the walls' vertices and
    their normals).
    """
    batch = np.asarray(vertices, np.float32).reshape(-1, model.n_vertices, 3)
    atlas = UVAtlas.for_model(model)
    normals = atlas.split(vertex_normals(batch, model.open_triangles).transpose(1, 0, 2))
    points, local = np.unique(atlas.cap, return_inverse=True)
    at_cap = atlas.split(batch.transpose(1, 0, 2))[points].transpose(1, 0, 2)
    normals[points] = vertex_normals(at_cap, local.reshape(-1, 3)).transpose(1, 0, 2)
    normals = (normals / np.linalg.norm(normals, axis=-1, keepdims=True)).transpose(1, 0, 2)
    return normals.reshape(*np.shape(vertices)[:-2], -1, 3)
