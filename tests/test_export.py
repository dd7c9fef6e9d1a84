import json
import struct

import numpy as np
import pytest
import scipy.ndimage
import trimesh
from PIL import Image
from scipy.signal import find_peaks
from scipy.sparse.csgraph import connected_components
from scipy.spatial.transform import Rotation

from inversefacenet import FaceParameters, export_mesh
from inversefacenet.atlas import ISLANDS, UVAtlas
from inversefacenet.export import bake_face_texture, bake_texture, export_face
from inversefacenet.facemodel.model import FaceModelError
from inversefacenet.render.camera import rotation_matrix
from inversefacenet.render.renderer import render, to_uint8
from tests.conftest import known_face
from tools.atlas_figure import render_glb, uv_quality


@pytest.fixture(scope="module")
def atlas(model):
    return UVAtlas.for_model(model)


@pytest.fixture(scope="module")
def face(model):
    """A posed face with an open mouth, lit by ambient light only (so the image is the albedo)."""
    params = known_face(model, 4)
    params.sh[:] = 0
    params.sh[0, 0] = 1.0
    vertices = model.geometry(params.shape, params.expression)[0]
    return params, vertices, np.clip(model.albedo(params.albedo)[0], 0, 1)


@pytest.fixture(scope="module")
def exported(model, face, tmp_path_factory):
    params, vertices, albedo = face
    folder = tmp_path_factory.mktemp("export")
    texture = bake_face_texture(model, albedo)
    rotation = rotation_matrix(params.rotation)[0]
    written = {
        s: export_face(folder / f"face{s}", model, vertices, albedo, rotation, texture) for s in (".obj", ".glb")
    }
    written[".ply"] = export_face(folder / "face.ply", model, vertices, albedo, rotation)
    return folder, written


def test_atlas_matches_the_model_and_keeps_the_skin_in_one_island(model, atlas):
    corners = atlas.vertex[atlas.triangles]  # (T', 3, 2): each atlas vertex blends two model vertices
    parents = model.closed().triangles[atlas.face_triangles]
    assert (corners[..., None] == parents[:, None, None, :]).any(axis=-1).all()  # ... of the triangle it is in
    assert len(atlas.vertex) > model.n_vertices  # seams duplicate vertices
    skin = atlas.triangles[atlas.island == ISLANDS.index("skin")]
    mesh = trimesh.Trimesh(np.zeros((len(atlas.vertex), 3)), skin, process=False)
    _, label = connected_components(mesh.edges_sparse, directed=False)
    assert len(np.unique(label[skin])) == 1
    # ... and upright, as a photo of the face: forehead above chin, the face's right (x < 0) on the left
    points, uv = atlas.split(model.vertices_mean)[np.unique(skin)], atlas.uv[np.unique(skin)]
    assert uv[points[:, 1] > 50, 1].min() > uv[points[:, 1] < -50, 1].max()
    assert uv[points[:, 0] < -50, 0].max() < uv[points[:, 0] > 50, 0].min()
    eyes = atlas.island == ISLANDS.index("eyes")
    assert model.mask_eyes[model.triangles[atlas.face_triangles[eyes]]].all()


def test_the_forehead_ends_in_a_smooth_edge(model, atlas):
    """The model's own top edge is a saw-tooth; the exported one rises to the middle and falls, once."""

    def teeth(vertices, triangles):
        """Peaks and valleys of over 0.3 mm along the top of the outer boundary loop, in loop order."""
        loop = max(trimesh.Trimesh(vertices, triangles, process=False).outline().entities, key=lambda e: len(e.points))
        points = vertices[loop.points[:-1]]
        top = (points[:, 1] > 40) & (np.abs(np.degrees(np.arctan2(points[:, 0], points[:, 2]))) < 110)
        order = np.roll(np.arange(len(points)), -(np.flatnonzero(~top)[-1] + 1))  # the top in one run
        height = points[order[top[order]], 1]
        return len(find_peaks(height, prominence=0.3)[0]) + len(find_peaks(-height, prominence=0.3)[0])

    assert teeth(model.vertices_mean, model.triangles) > 10
    assert teeth(atlas.split(model.vertices_mean), atlas.triangles) == 1


def test_a_closed_models_atlas_is_the_open_ones(model, atlas):
    """The views hold the closed model: its atlas is the same, cap and all (not the cap dropped or added twice)."""
    closed = UVAtlas.for_model(model.closed())
    for name in ("vertex", "weight", "uv", "triangles", "face_triangles", "island"):
        np.testing.assert_array_equal(getattr(closed, name), getattr(atlas, name))
    assert len(atlas.cap) == len(model.mouth_cap()) > 0 and closed.cap_first == atlas.cap_first


def test_atlas_refuses_another_mesh(model):
    with pytest.raises(FaceModelError, match="another face model"):
        UVAtlas.for_model(model.coarse())


@pytest.mark.parametrize("suffix", [".obj", ".glb"])
def test_exported_uvs_neither_overlap_nor_flip(exported, atlas, suffix):
    folder, _ = exported
    mesh = trimesh.load(folder / f"face{suffix}", process=False, force="mesh")
    assert len(mesh.vertices) == len(atlas.vertex)  # the same seam split in every format
    np.testing.assert_array_equal(mesh.faces, atlas.triangles)
    uv, cap = np.asarray(mesh.visual.uv), np.arange(len(atlas.triangles)) >= atlas.cap_first
    quality = uv_quality(uv, mesh.faces[~cap])
    assert quality["overlap"] <= 0.005
    assert quality["flipped"] == 0 and quality["degenerate"] == 0
    assert quality["covered_texels"] > 0.5 * 1024**2
    assert uv_quality(uv, mesh.faces[cap])["degenerate"] == 1  # the throat's cap: one uv, one texel's colour


def test_an_open_mouth_is_closed_at_the_throat_in_every_download(model, exported, atlas):
    """The face model's mouth interior ends in two open loops (the throat), through which a wide-open mouth showed
    the background; the downloads carry a cap: no open edge is left at the mouth's interior (the fixture's mouth is
    open), and the cap is wound as its neighbours (seams joined, each edge runs one way once)."""
    folder, _ = exported
    keys = np.column_stack([atlas.vertex, np.round(atlas.weight * 1e6)])
    _, place = np.unique(keys, axis=0, return_inverse=True)  # a seam's copies of a point share their place

    def interior_on_the_rim(faces):
        ids = place[faces]
        directed = np.concatenate([ids[:, [0, 1]], ids[:, [1, 2]], ids[:, [2, 0]]])
        assert len(np.unique(directed, axis=0)) == len(directed)
        edges, counts = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
        rim = np.unique(atlas.vertex[np.isin(place, edges[counts == 1]) & (atlas.weight == 0), 0])
        return int(model.mask_mouth_interior[rim].sum())

    cap = np.arange(len(atlas.triangles)) >= atlas.cap_first
    assert interior_on_the_rim(atlas.triangles[~cap]) == 92  # the two loops, 60 and 32 vertices, without the cap
    for suffix in (".obj", ".glb", ".ply"):
        faces = trimesh.load(folder / f"face{suffix}", process=False, force="mesh").faces
        np.testing.assert_array_equal(faces, atlas.triangles)
        assert interior_on_the_rim(faces) == 0


def test_uv_quality_sees_overlaps_and_flips():
    uv = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9], [0.4, 0.4]])
    quality = uv_quality(uv, np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3]]), size=128)
    # Triangles 2 and 3 (the last one clockwise) cover 0.24 of triangle 1's 0.32: 75 % claimed twice.
    assert quality["overlap"] == pytest.approx(0.75, abs=0.03)
    assert quality["flipped"] == pytest.approx(1 / 3)


def test_obj_and_ply_stay_in_the_head_frame(exported, atlas, face):
    folder, written = exported
    _, vertices, albedo = face
    assert {p.suffix for p in written[".obj"]} == {".obj", ".mtl", ".png"}
    obj = trimesh.load(folder / "face.obj", process=False, force="mesh")
    np.testing.assert_allclose(obj.vertices, atlas.split(vertices), atol=1e-3)
    ply = trimesh.load(folder / "face.ply", process=False)
    np.testing.assert_allclose(ply.vertices, atlas.split(vertices), atol=1e-3)
    np.testing.assert_array_equal(ply.faces, atlas.triangles)
    np.testing.assert_allclose(ply.visual.vertex_colors[:, :3] / 255, atlas.split(albedo), atol=1 / 255 + 1e-6)


def glb_json(path):
    """The JSON chunk of a binary glTF (12-byte header, then chunk length and type)."""
    data = path.read_bytes()
    (length,) = struct.unpack_from("<I", data, 12)
    return json.loads(data[20 : 20 + length])


def test_glb_node_holds_the_pose_and_the_material_is_not_metal(exported, atlas, face):
    folder, _ = exported
    params, vertices, _ = face
    tree = glb_json(folder / "face.glb")
    (node,) = tree["nodes"]
    assert "matrix" not in node
    posed = Rotation.from_quat(node["rotation"]).apply(atlas.split(vertices))  # glTF quaternions are x, y, z, w
    np.testing.assert_allclose(posed, atlas.split(vertices) @ rotation_matrix(params.rotation)[0].T, atol=1e-3)
    assert tree["materials"][0]["pbrMetallicRoughness"]["metallicFactor"] == 0
    assert "NORMAL" in tree["meshes"][0]["primitives"][0]["attributes"]  # else viewers draw flat facets
    mesh = trimesh.load(folder / "face.glb", process=False, force="mesh")
    # smooth normals agree with the faces around them, across seams and the clipped edge too
    corner_normals = mesh.vertex_normals[mesh.faces]
    assert np.einsum("tkc,tc->tk", corner_normals, mesh.face_normals).min() > 0


def test_texture_look_ups_at_the_vertices_give_the_albedo(exported, atlas, face):
    folder, _ = exported
    mesh = trimesh.load(folder / "face.glb", process=False, force="mesh")
    colours = mesh.visual.to_color().vertex_colors[:, :3] / 255
    error = np.abs(colours - atlas.split(face[2])).max(axis=1)
    # Every vertex, eyes and mouth included: no chart paints over another.
    assert error.mean() < 0.01 and np.percentile(error, 99) < 0.05


def test_glb_renders_like_the_projects_albedo_render(model, exported, face):
    """pyrender (flat, textured, the GLB's node rotation) against the project's own renderer."""
    folder, _ = exported
    params = face[0]
    assert np.abs(params.rotation).max() > np.radians(5)  # the pose matters
    size = 384
    own = render(model, params, size)
    colour, covered = render_glb(folder / "face.glb", size, float(own.crop_scale[0]), own.crop_offset[0])
    mask = own.raster.mask[0]
    assert (mask & covered).sum() / (mask | covered).sum() > 0.99  # both end at the region cut (was 0.93 uncut)
    inside = scipy.ndimage.binary_erosion(mask & covered, iterations=2)
    difference = np.abs(colour.astype(float) - to_uint8(own.image[0]).astype(float))
    assert difference[inside].mean() < 4


def test_generic_export_writes_a_textured_triangle(tmp_path):
    vertices = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], float)
    uv = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]])
    export_mesh(tmp_path / "tri.glb", vertices, np.array([[0, 1, 2]]), np.eye(3), uv)
    mesh = trimesh.load(tmp_path / "tri.glb", process=False, force="mesh")
    np.testing.assert_allclose(mesh.vertices, vertices * 1e-3, atol=1e-7)
    np.testing.assert_allclose(mesh.visual.uv, uv, atol=1e-6)


def test_an_obj_leaves_the_photo_of_the_same_name_alone(tmp_path):
    photo = tmp_path / "me.png"  # what a user who exports next to the photo has there
    Image.new("RGB", (4, 4), "red").save(photo)
    before = photo.read_bytes()
    triangle = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], float)
    written = export_mesh(tmp_path / "me.obj", triangle, np.array([[0, 1, 2]]), np.eye(3), triangle[:, :2] / 10)
    assert {p.name for p in written} == {"me.obj", "me.mtl", "me_albedo.png"}
    assert photo.read_bytes() == before
    assert "map_Kd me_albedo.png" in (tmp_path / "me.mtl").read_text()


def test_bake_fills_a_triangle_with_interpolated_colour():
    uv = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]])
    colours = np.eye(3)
    texture = bake_texture(uv, np.array([[0, 1, 2]]), colours, size=64)
    # texel near uv (0.1, 0.1) -> row (1 - 0.1) * 64, column 0.1 * 64: mostly red
    assert texture[56, 8, 0] > 200 and texture[56, 8, 1] < 50
    assert texture.shape == (64, 64, 3)


def test_unknown_suffix_is_refused(model, face, tmp_path):
    with pytest.raises(ValueError, match="unsupported mesh format '.stl'"):
        export_face(tmp_path / "face.stl", model, face[1], face[2])


def test_neutral_face_parameters_export(model, tmp_path):
    params = FaceParameters.neutral(model.layout)
    vertices = model.geometry(params.shape, params.expression)[0]
    written = export_face(tmp_path / "face.glb", model, vertices, np.clip(model.albedo(params.albedo)[0], 0, 1))
    scene = trimesh.load(written[0])
    np.testing.assert_allclose(scene.graph["face"][0], np.eye(4))  # no pose given: identity node
