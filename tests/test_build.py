"""The builder's pure steps (the full build needs anny and mediapipe: `make model`)."""

import numpy as np
import trimesh

from tools.facemodel.albedo import AlbedoRegions, sample_albedos
from tools.facemodel.build import loop_subdivision, pca, similarity_align


def test_subdivision_operator_reproduces_trimesh():
    mesh = trimesh.creation.icosphere(subdivisions=1)
    operator, triangles = loop_subdivision(mesh.vertices, mesh.faces)
    expected_vertices, expected_faces = trimesh.remesh.subdivide_loop(mesh.vertices, mesh.faces)
    np.testing.assert_allclose(operator @ mesh.vertices, expected_vertices, atol=1e-9)
    np.testing.assert_array_equal(triangles, expected_faces)


def test_pca_recovers_a_known_low_rank_space():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(30, 3)))[0].T
    samples = rng.normal(size=(500, 3)) * [5, 2, 1] @ basis
    mean, found, std, explained = pca(samples, 3)
    np.testing.assert_allclose(std, [5, 2, 1], rtol=0.15)
    assert explained > 0.999
    np.testing.assert_allclose(np.abs(found @ basis.T), np.eye(3), atol=0.05)


def test_similarity_alignment_undoes_rotation_translation_and_scale():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(50, 3))
    angle = 0.4
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    moved = 1.3 * reference @ rot.T + [3, -2, 1]
    np.testing.assert_allclose(similarity_align(moved[None], reference)[0], reference, atol=1e-9)


def test_albedo_sampler_spans_light_to_dark_skin():
    v = 200
    rng = np.random.default_rng(2)
    zero = np.zeros(v)
    regions = AlbedoRegions(
        lips=zero,
        eyelids=zero,
        ears=zero,
        brows=zero,
        cheeks=zero,
        under_eyes=zero,
        skin=np.ones(v),
        mouth_interior=zero,
        iris=zero,
        pupil=zero,
        sclera=zero,
    )
    albedo = sample_albedos(regions, rng.normal(size=(v, 3)) * 50, 400, rng)
    assert albedo.min() >= 0 and albedo.max() <= 1
    brightness = albedo.mean(axis=(1, 2))
    assert brightness.min() < 0.25 and brightness.max() > 0.8
