import numpy as np
import pytest
import trimesh

from inversefacenet import export_mesh
from inversefacenet.export import bake_texture


@pytest.fixture(scope="module")
def mean_face(model):
    return model.vertices_mean, model.triangles, np.clip(model.albedo_mean, 0, 1), model.uv


def test_ply_round_trip_keeps_geometry_and_vertex_albedo(mean_face, tmp_path):
    vertices, triangles, albedo, uv = mean_face
    export_mesh(tmp_path / "face.ply", vertices, triangles, albedo, uv)
    mesh = trimesh.load(tmp_path / "face.ply", process=False)
    np.testing.assert_allclose(mesh.vertices, vertices, atol=1e-4)
    np.testing.assert_array_equal(mesh.faces, triangles)
    np.testing.assert_allclose(mesh.visual.vertex_colors[:, :3] / 255, albedo, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize("suffix, scale", [(".obj", 1.0), (".glb", 1e-3)])
def test_textured_round_trip(mean_face, tmp_path, suffix, scale):
    vertices, triangles, albedo, uv = mean_face
    written = export_mesh(tmp_path / f"face{suffix}", vertices, triangles, albedo, uv)
    if suffix == ".obj":
        assert {p.suffix for p in written} == {".obj", ".mtl", ".png"}
    mesh = trimesh.load(tmp_path / f"face{suffix}", process=False, force="mesh")
    assert len(mesh.vertices) == len(vertices)
    np.testing.assert_allclose(mesh.vertices, vertices * scale, atol=1e-4 * max(scale, 1e-3) * 10)
    colours = mesh.visual.to_color().vertex_colors[:, :3] / 255
    # Texture look-ups at the vertices reproduce the albedo (bilinear sampling of the bake).
    skin = ~(np.isclose(uv[:, 1], 0.01, atol=0.23))
    assert np.abs(colours[skin] - albedo[skin]).mean() < 0.02


def test_bake_fills_a_triangle_with_interpolated_colour():
    uv = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]])
    colours = np.eye(3)
    texture = bake_texture(uv, np.array([[0, 1, 2]]), colours, size=64)
    # texel near uv (0.1, 0.1) -> row (1 - 0.1) * 64, column 0.1 * 64: mostly red
    assert texture[56, 8, 0] > 200 and texture[56, 8, 1] < 50
    assert texture.shape == (64, 64, 3)


def test_unknown_suffix_is_refused(mean_face, tmp_path):
    with pytest.raises(ValueError, match="unsupported mesh format '.stl'"):
        export_mesh(tmp_path / "face.stl", *mean_face)
