"""Preset brightness: the closed-form front irradiance and the exposure match of presets."""

import numpy as np
import pytest

from inversefacenet.lighting import (
    PRESETS,
    Light,
    front_irradiance,
    matched,
    matched_sh,
    preset_sh,
    sh_from_light,
    white_balance,
)
from inversefacenet.render.sh import sh_basis


def _hemisphere_mean(sh: np.ndarray) -> float:
    """Monte Carlo mean of the irradiance over unit normals facing the camera (an independent estimate)."""
    normals = np.random.default_rng(0).normal(size=(400_000, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return float((sh_basis(normals[normals[:, 2] > 0]) @ sh).mean())


def test_front_irradiance_is_the_hemisphere_mean():
    for light in [*PRESETS.values(), Light(azimuth_deg=170, elevation_deg=-40, colour=(1.0, 0.2, 0.1))]:
        sh = sh_from_light(light)
        assert abs(front_irradiance(sh) - _hemisphere_mean(sh)) < 5e-3


def test_a_preset_by_name_is_the_matched_preset_and_an_unknown_name_is_refused():
    recovered = sh_from_light(Light(azimuth_deg=-30, intensity=0.5, ambient=0.2, colour=(1.0, 0.8, 0.6)))
    np.testing.assert_allclose(preset_sh("rim", recovered), matched_sh(PRESETS["rim"], recovered))
    with pytest.raises(ValueError, match="unknown light preset 'neon'; choose one of: studio"):
        preset_sh("neon", recovered)


def test_a_white_preset_takes_the_photos_white_balance_and_exposure():
    """A warm recovered light (a warm photo): the white preset lights a face facing the camera in the same colour
    and as brightly (the hemisphere's mean per channel, estimated independently), only from elsewhere; under a white
    recovered light it is the preset itself at the photo's exposure."""
    warm = sh_from_light(Light(azimuth_deg=-30, intensity=0.9, ambient=0.4, colour=(1.0, 0.8, 0.6)))
    studio = preset_sh("studio", warm)
    per_channel = [[_hemisphere_mean(sh[:, c]) for c in range(3)] for sh in (studio, warm)]
    np.testing.assert_allclose(per_channel[0], per_channel[1], rtol=0.01)
    assert np.abs(studio - warm).max() > 0.1  # not the recovered light itself
    white = sh_from_light(Light(azimuth_deg=20, intensity=0.6, ambient=0.5))
    np.testing.assert_allclose(preset_sh("studio", white), sh_from_light(matched(PRESETS["studio"], white)), atol=1e-6)
    np.testing.assert_allclose(white_balance(warm), np.array(per_channel[1]) / np.mean(per_channel[1]), rtol=0.01)


def test_presets_matched_to_a_dim_photo_keep_its_exposure():
    recovered = sh_from_light(Light(azimuth_deg=10, intensity=0.4, ambient=0.3))
    for light in PRESETS.values():
        adjusted = matched(light, recovered)
        assert abs(front_irradiance(sh_from_light(adjusted)) - front_irradiance(recovered)) < 1e-6
        assert adjusted.azimuth_deg == light.azimuth_deg and adjusted.colour == light.colour
