"""Preset brightness: the closed-form face irradiance and the exposure match of presets."""

import numpy as np
import pytest

from inversefacenet.lighting import (
    PRESETS,
    Light,
    face_irradiance,
    face_irradiance_rgb,
    matched,
    matched_sh,
    preset_sh,
    sh_from_light,
    white_balance,
)
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import face_mask
from inversefacenet.render.renderer import render


def _face_mean(model, sh: np.ndarray) -> np.ndarray:
    """(3,) the renderer's mean irradiance over the mean face, frontal, inside its face mask (white albedo): an
    independent estimate of :func:`face_irradiance_rgb` (per-vertex shading, not the basis's per-pixel mean)."""
    params = FaceParameters.neutral(model.layout)
    params.sh[0] = sh
    out = render(model, params, 256, albedo=np.ones((1, model.n_vertices, 3), np.float32))
    inside = face_mask(out.pixels[0, model.landmarks_mediapipe], 256) & out.raster.mask[0]
    return out.image[0][inside].mean(axis=0)


def test_face_irradiance_is_the_renderers_mean_over_a_face(model):
    lights = [*PRESETS.values(), Light(azimuth_deg=170, elevation_deg=-40, ambient=1.0, colour=(1.0, 0.2, 0.1)),
              Light(azimuth_deg=0, elevation_deg=0, intensity=1.0, ambient=0.0)]  # fmt: skip
    for light in lights:
        sh = sh_from_light(light)
        np.testing.assert_allclose(face_irradiance_rgb(sh), _face_mean(model, sh), rtol=0.01, atol=2e-3)


def test_a_preset_by_name_is_the_matched_preset_and_an_unknown_name_is_refused():
    recovered = sh_from_light(Light(azimuth_deg=-30, intensity=0.5, ambient=0.2, colour=(1.0, 0.8, 0.6)))
    np.testing.assert_allclose(preset_sh("rim", recovered), matched_sh(PRESETS["rim"], recovered))
    with pytest.raises(ValueError, match="unknown light preset 'neon'; choose one of: studio"):
        preset_sh("neon", recovered)


def test_a_white_preset_takes_the_photos_white_balance_and_exposure(model):
    """A warm recovered light (a warm photo): the white preset lights a face in the same colour and as brightly
    (the renderer's mean per channel), only from elsewhere; under a white recovered light it is the preset itself
    at the photo's exposure."""
    warm = sh_from_light(Light(azimuth_deg=-30, intensity=0.9, ambient=0.4, colour=(1.0, 0.8, 0.6)))
    studio = preset_sh("studio", warm)
    per_channel = [_face_mean(model, sh) for sh in (studio, warm)]
    np.testing.assert_allclose(per_channel[0], per_channel[1], rtol=0.015)
    assert np.abs(studio - warm).max() > 0.1  # not the recovered light itself
    white = sh_from_light(Light(azimuth_deg=20, intensity=0.6, ambient=0.5))
    np.testing.assert_allclose(preset_sh("studio", white), sh_from_light(matched(PRESETS["studio"], white)), atol=1e-6)
    np.testing.assert_allclose(white_balance(warm), per_channel[1] / np.mean(per_channel[1]), rtol=0.01)


def test_presets_matched_to_a_dim_photo_keep_its_exposure():
    recovered = sh_from_light(Light(azimuth_deg=10, intensity=0.4, ambient=0.3))
    for light in PRESETS.values():
        adjusted = matched(light, recovered)
        assert abs(face_irradiance(sh_from_light(adjusted)) - face_irradiance(recovered)) < 1e-6
        assert adjusted.azimuth_deg == light.azimuth_deg and adjusted.colour == light.colour
