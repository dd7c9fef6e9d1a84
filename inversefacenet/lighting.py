"""Lighting as one lamp + ambient <-> second-order SH coefficients (relighting, presets, the corpus).

A light here is one distant coloured lamp plus a uniform ambient term. Its exact Lambertian
irradiance ``ambient + intensity * max(0, n . d)`` is projected onto our SH basis (see
``inversefacenet.render.sh``) in closed form: the clamped cosine's Legendre coefficients are 1/4,
1/2 and 5/16 for bands 0, 1 and 2 (Ramamoorthi & Hanrahan 2001). Directions are in the
camera frame: x to the viewer's right, y up, z towards the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inversefacenet.render.sh import N_SH_BANDS, sh_basis


@dataclass(frozen=True)
class Light:
    """One distant lamp and white ambient light.

    azimuth_deg: 0 = from the camera, +90 = from the viewer's right, 180 = from behind.
    elevation_deg: +90 = from above. colour: RGB in [0, 1] (scaled by intensity).
    """

    azimuth_deg: float = 0.0
    elevation_deg: float = 20.0
    intensity: float = 1.2
    ambient: float = 0.5
    colour: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @property
    def direction(self) -> np.ndarray:
        """Unit vector towards the lamp, camera frame."""
        azimuth, elevation = np.radians(self.azimuth_deg), np.radians(self.elevation_deg)
        return np.array([np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)])


PRESETS: dict[str, Light] = {
    "studio": Light(azimuth_deg=-25, elevation_deg=30, intensity=1.1, ambient=0.55),
    "side light": Light(azimuth_deg=80, elevation_deg=10, intensity=1.3, ambient=0.45),
    "rim": Light(azimuth_deg=150, elevation_deg=20, intensity=1.6, ambient=0.6, colour=(0.85, 0.9, 1.0)),
    "sunset": Light(azimuth_deg=-60, elevation_deg=5, intensity=1.4, ambient=0.35, colour=(1.0, 0.62, 0.35)),
}
"""Named lights; the app adds "recovered" (the photo's own SH) in front of these."""


def sh_from_light(light: Light) -> np.ndarray:
    """(9, 3) SH coefficients of the light's irradiance (exact up to band 2)."""
    x, y, z = light.direction
    band2 = 15 / 32 * light.intensity  # 5/16 * P2 = 5/16 * (3 t^2 - 1) / 2; the t^2 part carries 15/32
    lamp = np.array([
        light.intensity / 4,  # the clamped cosine averages 1/4 over the sphere
        light.intensity / 2 * y, light.intensity / 2 * z, light.intensity / 2 * x,
        band2 * 2 * x * y, band2 * 2 * y * z, band2 * (3 * z * z - 1) / 6, band2 * 2 * x * z,
        band2 * (x * x - y * y) / 2,
    ])  # fmt: skip
    sh = lamp[:, None] * np.asarray(light.colour, np.float64)[None, :]
    sh[0] += light.ambient  # white ambient
    return sh.astype(np.float32)


FACE_SH_WEIGHTS = np.array([1.0, -0.025, 0.778, 0.017, -0.002, -0.008, 0.920, 0.010, 0.193])
"""(9,) each SH basis function's mean over a face as the camera sees it: per pixel inside the face mask of the
mean face, frontal (``tests/test_lighting.py`` re-measures it with the renderer). Over the whole hemisphere facing
the camera they would be 1, 0, 1/2, 0, 0, 0, 0, 0, 0; a face's normals crowd towards the camera, so the z terms
weigh more. The fit tells those terms apart poorly (more ambient and less light from the front light a face
alike), and the hemisphere's mean then gave such lights different brightnesses (``benchmarks/photo_texture.py``)."""


def face_irradiance_rgb(sh: np.ndarray) -> np.ndarray:
    """(3,) mean irradiance per channel over a face facing the camera (:data:`FACE_SH_WEIGHTS`): how bright a
    face looks under ``sh`` (9, 3)."""
    return FACE_SH_WEIGHTS @ np.asarray(sh, np.float64).reshape(N_SH_BANDS, 3)


def face_irradiance(sh: np.ndarray) -> float:
    """:func:`face_irradiance_rgb` averaged over RGB."""
    return float(np.mean(face_irradiance_rgb(sh)))


def matched(light: Light, reference_sh: np.ndarray) -> Light:
    """The light scaled (lamp and ambient together) to the face irradiance of ``reference_sh``
    (:func:`face_irradiance`), so a preset keeps the photo's exposure instead of turning the face dark or white."""
    factor = face_irradiance(reference_sh) / max(face_irradiance(sh_from_light(light)), 1e-6)
    return replace(light, intensity=light.intensity * factor, ambient=light.ambient * factor)


WHITE_BALANCE_RANGE = (0.5, 2.0)
""":func:`white_balance` keeps each channel's factor within this range (a fitted light can be near black in one)."""


def white_balance(sh: np.ndarray) -> np.ndarray:
    """(3,) the colour a light gives a face: its face irradiance per channel (:func:`face_irradiance_rgb`) over
    their mean, so (1, 1, 1) for a white light; each factor within :data:`WHITE_BALANCE_RANGE`."""
    face = np.maximum(face_irradiance_rgb(sh), 1e-6)
    return np.clip(face / face.mean(), *WHITE_BALANCE_RANGE)


def matched_sh(light: Light, reference_sh: np.ndarray) -> np.ndarray:
    """(9, 3) SH of ``light`` at the exposure (:func:`matched`) and white balance (:func:`white_balance`) of
    ``reference_sh``: a white lamp keeps the photo's colours and a tinted one adds its tint to them. A photo's
    recovered light carries its white balance (and the part of the skin's colour the fit gave the light): against
    it, a white preset turned warm skin grey-green and grey hair blue (a trial)."""
    return (sh_from_light(matched(light, reference_sh)) * white_balance(reference_sh)).astype(np.float32)


def preset_sh(name: str, reference_sh: np.ndarray) -> np.ndarray:
    """(9, 3) SH of the preset ``name`` (:data:`PRESETS`) at the exposure and white balance of ``reference_sh`` (a
    photo's recovered light, (9, 3); :func:`matched_sh`): how the app, the page and the API apply a preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown light preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return matched_sh(PRESETS[name], reference_sh)


def light_from_sh(sh: np.ndarray) -> Light:
    """The lamp + ambient that best explains SH coefficients, to start the sliders from.

    The direction comes from the linear band (its channels weighted by their strength); the colour is that of the
    light arriving from there (the irradiance of a surface facing the lamp, ambient included); the intensity is the
    least-squares fit of that colour to each channel's linear band along the direction; the ambient is what the
    constant band leaves. A fitted light is often bluer in one band than in the other, and a colour read from one
    band alone was then a saturated swatch for a light that looks near white. Exact for white lamps made by
    ``sh_from_light``; a coloured lamp comes back paler (its colour mixed with the ambient), and the sliders add
    what the lamp leaves unexplained (``demo.ui``).
    """
    sh = np.asarray(sh, np.float64).reshape(N_SH_BANDS, 3)
    linear = sh[[3, 1, 2]]  # (x, y, z) rows, RGB columns
    strength = np.linalg.norm(linear, axis=0)
    if strength.max() < 1e-6:
        return Light(intensity=0.0, ambient=float(sh[0].mean()))
    toward = linear @ strength  # channels whose lamps point apart can cancel: then the strongest one's direction
    toward = toward if np.linalg.norm(toward) > 1e-9 else linear[:, np.argmax(strength)]
    direction = toward / np.linalg.norm(toward)
    arriving = np.maximum(sh_basis(direction) @ sh, 0.0)
    colour = arriving / max(arriving.max(), 1e-6)
    along = direction @ linear  # intensity * colour / 2 for a lamp of sh_from_light's
    intensity = max(2 * float(along @ colour) / max(float(colour @ colour), 1e-6), 0.0)
    ambient = float(np.mean(sh[0] - intensity / 4 * colour))
    x, y, z = direction
    return Light(
        azimuth_deg=float(np.degrees(np.arctan2(x, z))),
        elevation_deg=float(np.degrees(np.arcsin(np.clip(y, -1, 1)))),
        intensity=intensity, ambient=ambient, colour=tuple(float(c) for c in colour),  # type: ignore[arg-type]
    )  # fmt: skip


def hex_to_rgb(value: str) -> tuple[float, float, float]:
    """'#ffaa00' (or 'rgb(255, 170, 0)' / 'rgba(...)', as colour pickers send) -> floats in [0, 1]."""
    value = value.strip()
    if value.startswith("rgb"):
        parts = value[value.index("(") + 1 : value.index(")")].split(",")[:3]
        return tuple(min(max(float(p) / 255, 0.0), 1.0) for p in parts)  # type: ignore[return-value]
    digits = value.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    if len(digits) != 6:
        raise ValueError(f"not a colour: {value!r}")
    return tuple(int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def rgb_to_hex(colour: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in colour)
