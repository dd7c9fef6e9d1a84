"""Preset brightness: the closed-form face irradiance and the exposure match of presets."""

import numpy as np
import pytest

from inversefacenet.lighting import (
    FACE_SH_MOMENTS,
    PRESETS,
    Light,
    face_highlight,
    face_irradiance,
    face_irradiance_rgb,
    light_from_sh,
    matched,
    matched_sh,
    preset_sh,
    sh_from_light,
    white_balance,
)
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import face_mask
from inversefacenet.render.renderer import render


def _face_pixels(model, sh: np.ndarray) -> np.ndarray:
    """(P, 3) the renderer's irradiance at each pixel of the mean face, frontal, inside its face mask (white
    albedo, per-vertex shading)."""
    params = FaceParameters.neutral(model.layout)
    params.sh[0] = sh
    out = render(model, params, 256, albedo=np.ones((1, model.n_vertices, 3), np.float32))
    inside = face_mask(out.pixels[0, model.landmarks_mediapipe], 256) & out.raster.mask[0]
    return out.image[0][inside]


def _face_mean(model, sh: np.ndarray) -> np.ndarray:
    """(3,) the renderer's mean irradiance over a face: an independent estimate of :func:`face_irradiance_rgb`
    (per-vertex shading, not the basis's per-pixel mean)."""
    return _face_pixels(model, sh).mean(axis=0)


def test_face_sh_moments_are_the_renderers_over_a_face(model):
    """Each basis function alone as the light: the mean products of the rendered images."""
    basis = np.stack([_face_pixels(model, np.outer(np.eye(9)[k], np.ones(3)))[:, 0] for k in range(9)], axis=1)
    np.testing.assert_allclose(FACE_SH_MOMENTS, basis.T @ basis / len(basis), atol=6e-4)


FRONT_LIT = [[1.009, 1.073, 1.151], [0.247, 0.294, 0.343], [-0.013, -0.257, -0.464], [-0.086, -0.043, -0.039],
             [-0.023, -0.042, -0.043], [-0.172, -0.228, -0.229], [0.129, 0.224, 0.303], [0.107, 0.079, 0.09],
             [-0.143, -0.205, -0.308]]  # fmt: skip
"""The light the pipeline found on a portrait lit from the front (``clm_chuck_crop.jpg`` of the development set):
brightest where the face looks at the camera, yet its linear band points backwards (z < 0)."""


def test_the_sliders_lamp_lights_the_face_as_the_recovered_light_does(model):
    """The lamp read from a fitted light is in front when the face is lit from the front, and alone (without the
    rest the sliders add) it lights the face within 10 % of the recovered light (the linear band's lamp: from
    170 deg, 25 %)."""
    sh = np.array(FRONT_LIT)
    lamp = light_from_sh(sh)
    assert abs(lamp.azimuth_deg) < 30 and abs(lamp.elevation_deg) < 30
    recovered, by_lamp = _face_pixels(model, sh), _face_pixels(model, sh_from_light(lamp))
    assert np.sqrt(((by_lamp - recovered) ** 2).mean()) / recovered.mean() < 0.1


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


def test_presets_keep_the_photos_exposure_or_its_lit_side():
    """A preset takes the photo's mean face irradiance, or less: as much as keeps its lit side (in the brightest
    channel, in the photo's white balance) no brighter than the photo's; its direction and colour stay."""
    for recovered in (sh_from_light(Light(azimuth_deg=10, intensity=0.4, ambient=0.3)), np.array(FRONT_LIT)):
        kept = []
        for light in PRESETS.values():
            adjusted = matched(light, recovered)
            sh = matched_sh(light, recovered)
            mean_kept = abs(face_irradiance(sh_from_light(adjusted)) - face_irradiance(recovered)) < 1e-6
            lit_side_kept = abs(face_highlight(sh) - face_highlight(recovered)) < 1e-5
            assert face_irradiance(sh_from_light(adjusted)) <= face_irradiance(recovered) + 1e-6
            assert face_highlight(sh) <= face_highlight(recovered) + 1e-5 and (mean_kept or lit_side_kept)
            assert adjusted.azimuth_deg == light.azimuth_deg and adjusted.colour == light.colour
            kept.append(mean_kept)
        assert any(kept) and not all(kept)  # the rim light keeps the mean; the side light and the sunset cannot


def test_a_preset_lights_the_face_about_as_bright_as_the_photo_where_the_photo_is_brightest(model):
    """A trial: on the brightly, frontally lit example, "sunset" at the photo's mean face irradiance put 46 % of the
    face's red at 255. On the renderer's face under a front-lit photo's light, a preset's brightest 2 % (brightest
    channel) now stay within 20 % of the photo's, where the photo's mean alone put the side light's and the sunset's
    70-100 % above it."""
    recovered = np.array(FRONT_LIT) * 0.4  # a face that the renderer does not clip under any of them
    photo = np.percentile(_face_pixels(model, recovered).max(-1), 98)
    for name, light in PRESETS.items():
        relit = np.percentile(_face_pixels(model, preset_sh(name, recovered)).max(-1), 98)
        mean_only = sh_from_light(light) * face_irradiance(recovered) / face_irradiance(sh_from_light(light))
        by_mean = np.percentile(_face_pixels(model, mean_only * white_balance(recovered)).max(-1), 98)
        assert relit < 1.2 * photo, name
        if name in ("side light", "sunset"):
            assert by_mean > 1.7 * photo, name


def test_a_light_without_a_lamp_reads_as_ambient_alone_and_a_broken_one_as_nothing():
    """Nothing beyond the constant band, a lamp under an ambient that leaves no light anywhere, a NaN (a broken
    network output): the sliders get no lamp (intensity 0, at its default place), not an error."""
    flat = np.zeros((9, 3))
    flat[0] = 0.7
    darkening = sh_from_light(Light(azimuth_deg=0, elevation_deg=0, intensity=1.0, ambient=-2.0))
    broken = np.full((9, 3), np.nan)
    for sh, ambient in ((flat, 0.7), (darkening, None), (broken, 0.0)):
        light = light_from_sh(sh)
        assert (light.intensity, light.azimuth_deg, light.elevation_deg) == (0.0, Light().azimuth_deg,
                                                                            Light().elevation_deg)  # fmt: skip
        assert ambient is None or light.ambient == pytest.approx(ambient)
