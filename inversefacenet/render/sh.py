"""Second-order spherical-harmonics irradiance (paper eq. 4).

We use the unnormalised real SH basis common in face reconstruction,
``H(n) = [1, y, z, x, xy, yz, 3z^2 - 1, xz, x^2 - y^2]``: the normalisation constants and
the Lambertian convolution are folded into the coefficients, so the first coefficient is
the ambient irradiance (the paper samples it from U(0.6, 1.2)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from inversefacenet.arrays import stack

N_SH_BANDS = 9
"""Number of SH basis functions for bands 0..2."""


def sh_basis(normals: Any) -> Any:
    """SH basis values of unit normals.

    normals: (..., 3) unit vectors, numpy or torch.
    Returns (..., 9) with the same type and dtype.
    """
    if normals.shape[-1] != 3:
        raise ValueError(f"expected normals of shape (..., 3), got {tuple(normals.shape)}")
    x, y, z = normals[..., 0], normals[..., 1], normals[..., 2]
    one = x * 0 + 1
    return stack([one, y, z, x, x * y, y * z, 3 * z * z - 1, x * z, x * x - y * y], axis=-1)


def sh_irradiance(normals: Any, coefficients: Any) -> Any:
    """RGB irradiance B(n) = sum_k theta_k H_k(n).

    normals: (B, V, 3) unit vectors; coefficients: (B, 9, 3) RGB SH coefficients.
    Returns (B, V, 3).
    """
    if coefficients.shape[-2:] != (N_SH_BANDS, 3):
        raise ValueError(f"expected SH coefficients (B, 9, 3), got {tuple(coefficients.shape)}")
    # (B, V, 9) @ (B, 9, 3): irradiance per vertex and colour channel
    return sh_basis(normals) @ coefficients


def sphere_directions(count: int) -> np.ndarray:
    """(count, 3) unit vectors spread evenly over the sphere (a Fibonacci lattice)."""
    k = np.arange(count) + 0.5
    z = 1 - 2 * k / count
    angle = np.pi * (3 - np.sqrt(5)) * k
    ring = np.sqrt(1 - z * z)
    return np.stack([ring * np.cos(angle), ring * np.sin(angle), z], axis=1)


def rotate_sh(coefficients: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(B, 9, 3) SH coefficients -> those of the same light turned by the (3, 3) ``rotation`` (as the scene is
    turned: B'(R n) = B(n)). Bands 0-2 are each closed under rotation, so a least-squares fit over directions is
    exact."""
    directions = sphere_directions(64)
    basis = sh_basis(directions)
    turned = np.linalg.lstsq(basis, sh_basis(directions @ rotation), rcond=None)[0]  # basis(R^T m) in the basis
    return np.einsum("jk,bkc->bjc", turned, coefficients).astype(coefficients.dtype)
