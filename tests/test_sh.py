import numpy as np
import pytest
import torch

from inversefacenet import sh_basis, sh_irradiance
from inversefacenet.render.camera import rotation_matrix
from inversefacenet.render.sh import rotate_sh, sphere_directions


def test_basis_gram_matrix_matches_closed_form_integrals():
    normals = sphere_directions(200_000)
    h = sh_basis(normals)
    gram = h.T @ h * (4 * np.pi / len(normals))
    pi = np.pi
    expected = np.diag(
        [4 * pi, 4 * pi / 3, 4 * pi / 3, 4 * pi / 3, 4 * pi / 15, 4 * pi / 15, 16 * pi / 5, 4 * pi / 15, 16 * pi / 15]
    )
    np.testing.assert_allclose(gram, expected, atol=2e-3)


def test_known_values_on_axes():
    normals = np.eye(3)[None]  # x, y, z
    coefficients = np.zeros((1, 9, 3))
    coefficients[0, 0] = 0.8  # ambient
    coefficients[0, 2] = [0.3, 0.0, -0.3]  # z band, per colour
    coefficients[0, 6] = 0.1  # 3z^2 - 1
    out = sh_irradiance(normals, coefficients)[0]
    np.testing.assert_allclose(out[2], [0.8 + 0.3 + 0.2, 0.8 + 0.2, 0.8 - 0.3 + 0.2])
    np.testing.assert_allclose(out[0], [0.8 - 0.1] * 3)


def test_constant_light_is_ambient_everywhere():
    normals = sphere_directions(100)[None]
    coefficients = np.zeros((1, 9, 3))
    coefficients[0, 0] = [0.7, 0.8, 0.9]
    np.testing.assert_allclose(sh_irradiance(normals, coefficients)[0], np.tile([0.7, 0.8, 0.9], (100, 1)))


def test_numpy_and_torch_agree_and_gradcheck():
    rng = np.random.default_rng(1)
    normals = sphere_directions(50)[None]
    coefficients = rng.normal(size=(1, 9, 3))
    expected = sh_irradiance(normals, coefficients)
    t_normals = torch.tensor(normals, requires_grad=True)
    t_coeffs = torch.tensor(coefficients, requires_grad=True)
    np.testing.assert_allclose(sh_irradiance(t_normals, t_coeffs).detach().numpy(), expected, rtol=1e-12)
    assert torch.autograd.gradcheck(sh_irradiance, (t_normals, t_coeffs))


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError, match=r"\(B, 9, 3\)"):
        sh_irradiance(np.zeros((1, 4, 3)), np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        sh_basis(np.zeros((4, 2)))


def test_a_turned_light_lights_turned_normals_as_before():
    """rotate_sh: the light turned with the scene gives each turned normal the irradiance the normal had; two turns
    compose."""
    rng = np.random.default_rng(3)
    sh = rng.normal(size=(2, 9, 3))
    normals = sphere_directions(300)[None].repeat(2, axis=0)
    a, b = rotation_matrix(rng.uniform(-np.pi, np.pi, (2, 3)))
    np.testing.assert_allclose(sh_irradiance(normals @ a.T, rotate_sh(sh, a)), sh_irradiance(normals, sh), atol=1e-10)
    np.testing.assert_allclose(rotate_sh(rotate_sh(sh, a), b), rotate_sh(sh, b @ a), atol=1e-10)
    np.testing.assert_allclose(rotate_sh(sh, np.eye(3)), sh, atol=1e-12)
