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
        return direction_of(np.float64(self.azimuth_deg), np.float64(self.elevation_deg))


def direction_of(azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> np.ndarray:
    """(..., 3) unit vectors towards lamps at these angles (degrees, as :class:`Light`'s), camera frame."""
    azimuth, elevation = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.stack([np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)],
                    axis=-1)  # fmt: skip


PRESETS: dict[str, Light] = {
    "studio": Light(azimuth_deg=-25, elevation_deg=30, intensity=1.1, ambient=0.55),
    "side light": Light(azimuth_deg=80, elevation_deg=10, intensity=1.3, ambient=0.45),
    "rim": Light(azimuth_deg=150, elevation_deg=20, intensity=1.6, ambient=0.6, colour=(0.85, 0.9, 1.0)),
    "sunset": Light(azimuth_deg=-60, elevation_deg=5, intensity=1.4, ambient=0.35, colour=(1.0, 0.62, 0.35)),
}
"""Named lights; the app adds "recovered" (the photo's own SH) in front of these."""


def lamp_basis(directions: np.ndarray) -> np.ndarray:
    """(..., 9) SH coefficients of a white lamp of intensity 1 from each of ``directions`` (..., 3, unit vectors
    towards the lamp), without ambient: the clamped cosine projected onto our basis (exact up to band 2)."""
    directions = np.asarray(directions, np.float64)
    x, y, z = directions[..., 0], directions[..., 1], directions[..., 2]
    band2 = 15 / 32  # 5/16 * P2 = 5/16 * (3 t^2 - 1) / 2; the t^2 part carries 15/32
    return np.stack([np.full(x.shape, 1 / 4), y / 2, z / 2, x / 2,  # the clamped cosine averages 1/4 over the sphere
                     band2 * 2 * x * y, band2 * 2 * y * z, band2 * (3 * z * z - 1) / 6, band2 * 2 * x * z,
                     band2 * (x * x - y * y) / 2], axis=-1)  # fmt: skip


def sh_from_light(light: Light) -> np.ndarray:
    """(9, 3) SH coefficients of the light's irradiance (exact up to band 2)."""
    sh = light.intensity * lamp_basis(light.direction)[:, None] * np.asarray(light.colour, np.float64)[None, :]
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


HIGHLIGHT_SDS = 2.0
"""Where :func:`face_highlight` puts a face's lit side: this many sds of the irradiance over the face above its mean."""


def face_highlight(sh: np.ndarray) -> float:
    """How bright the lit side of a face facing the camera is under ``sh`` (9, 3), in its brightest channel: the
    irradiance's mean over the face plus :data:`HIGHLIGHT_SDS` of its sd there (:data:`FACE_SH_MOMENTS`)."""
    sh = np.asarray(sh, np.float64).reshape(N_SH_BANDS, 3)
    mean = FACE_SH_MOMENTS[0] @ sh  # the moments' own first row (FACE_SH_WEIGHTS within 0.004): one table
    square = np.einsum("kc,kj,jc->c", sh, FACE_SH_MOMENTS, sh)  # mean of the squared irradiance, per channel
    return float(np.max(mean + HIGHLIGHT_SDS * np.sqrt(np.maximum(square - mean * mean, 0.0))))


def matched(light: Light, reference_sh: np.ndarray) -> Light:
    """The light scaled (lamp and ambient together) to the face irradiance of ``reference_sh``
    (:func:`face_irradiance`), so a preset keeps the photo's exposure instead of turning the face dark or white;
    less where that, in the photo's white balance (:func:`matched_sh`), would light the face's lit side brighter
    than ``reference_sh`` does (:func:`face_highlight`): the photo's own lit side is what its camera showed
    unclipped. A lamp from one side, or a tinted one, puts more of the light on that side or in that channel, and on
    a brightly lit photo the mean alone blew half the face out (a trial: the example under "sunset", 46 % of the
    face's red at 255; ``python benchmarks/presets.py``)."""
    sh = sh_from_light(light)
    factor = face_irradiance(reference_sh) / max(face_irradiance(sh), 1e-6)
    lit_side = face_highlight(sh * white_balance(reference_sh))
    factor = max(min(factor, face_highlight(reference_sh) / max(lit_side, 1e-6)), 0.0)  # a light that darkens: none
    return replace(light, intensity=light.intensity * factor, ambient=light.ambient * factor)


WHITE_BALANCE_RANGE = (0.5, 2.0)
""":func:`white_balance` keeps each channel's factor within this range (a fitted light can be near black in one)."""


def white_balance(sh: np.ndarray) -> np.ndarray:
    """(3,) the colour a light gives a face: its face irradiance per channel (:func:`face_irradiance_rgb`) over
    their mean, so (1, 1, 1) for a white light; each factor within :data:`WHITE_BALANCE_RANGE`."""
    face = np.maximum(face_irradiance_rgb(sh), 1e-6)
    return np.clip(face / face.mean(), *WHITE_BALANCE_RANGE)


def matched_sh(light: Light, reference_sh: np.ndarray) -> np.ndarray:
    """(9, 3) SH of ``light`` at the exposure, or less (:func:`matched`), and white balance (:func:`white_balance`) of
    ``reference_sh``: a white lamp keeps the photo's colours and a tinted one adds its tint to them. A photo's
    recovered light carries its white balance (and the part of the skin's colour the fit gave the light): against
    it, a white preset turned warm skin grey-green and grey hair blue (a trial)."""
    return (sh_from_light(matched(light, reference_sh)) * white_balance(reference_sh)).astype(np.float32)


def preset_sh(name: str, reference_sh: np.ndarray) -> np.ndarray:
    """(9, 3) SH of the preset ``name`` (:data:`PRESETS`) at the exposure (or less) and white balance of
    ``reference_sh`` (a photo's recovered light, (9, 3); :func:`matched_sh`): how the app, the page and the API apply
    a preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown light preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return matched_sh(PRESETS[name], reference_sh)


FACE_SH_MOMENTS = np.array([
    [1.000, -0.024, 0.777, 0.017, -0.002, -0.008, 0.916, 0.010, 0.192],
    [-0.024, 0.083, -0.008, -0.002, 0.000, 0.060, 0.026, -0.001, 0.008],
    [0.777, -0.008, 0.638, 0.010, -0.001, 0.001, 0.851, 0.007, 0.113],
    [0.017, -0.002, 0.010, 0.276, -0.009, -0.001, 0.004, 0.173, 0.009],
    [-0.002, 0.000, -0.001, -0.009, 0.017, 0.000, -0.001, -0.004, -0.001],
    [-0.008, 0.060, 0.001, -0.001, 0.000, 0.045, 0.024, -0.001, 0.006],
    [0.916, 0.026, 0.851, 0.004, -0.001, 0.024, 1.417, 0.004, 0.029],
    [0.010, -0.001, 0.007, 0.173, -0.004, -0.001, 0.004, 0.119, 0.005],
    [0.192, 0.008, 0.113, 0.009, -0.001, 0.006, 0.029, 0.005, 0.124],
])  # fmt: skip
"""(9, 9) the mean over a face, as the camera sees it, of each product of two SH basis functions: per pixel inside
the face mask of the mean face, frontal, as the renderer shades it (``tests/test_lighting.py`` re-measures it; its
first row is :data:`FACE_SH_WEIGHTS` within 0.004). Two lights a and b (9, 3) differ on a face by the sum over
channels of (a - b)^T M (a - b): the mean squared difference of their irradiance there."""
LAMP_OFF_FACE = 0.01
"""Weight of two lights' difference over the whole sphere (the identity) beside their difference on the face, in
:func:`light_from_sh`: among lamps that light a face alike, it takes the one nearest the SH everywhere."""
LAMP_METRIC = FACE_SH_MOMENTS + LAMP_OFF_FACE * np.eye(N_SH_BANDS)
"""(9, 9) the norm in which :func:`light_from_sh` compares lights."""
LAMP_GRID_DEG = 5.0
"""Spacing of the directions :func:`light_from_sh` tries first (azimuth and elevation)."""
LAMP_PRECISION_DEG = 1e-4
"""Where :func:`light_from_sh`'s search around the best of them stops (the sliders show 0.01 degrees)."""


def _inner(a: np.ndarray, b: np.ndarray) -> float:
    """a^T M b summed over channels, for two lights (9, 3), in :data:`LAMP_METRIC`'s norm M."""
    return float(np.einsum("kc,kj,jc->", a, LAMP_METRIC, b))


def _lamp_costs(sh: np.ndarray, norm: float, directions: np.ndarray) -> np.ndarray:
    """(D,) how far the best lamp (intensity >= 0, per channel) and ambient from each of ``directions`` (D, 3)
    stay from ``sh`` (9, 3), in :data:`LAMP_METRIC`'s norm: at the least-squares solution x of the normal
    equations G x = r, the squared norm of ``sh`` (``norm``) less x . r."""
    lamp = lamp_basis(directions)  # (D, 9)
    weighted = lamp @ LAMP_METRIC
    g11, g12, g22 = (weighted * lamp).sum(axis=1)[:, None], weighted[:, :1], LAMP_METRIC[0, 0]  # lamp, ambient
    r1, r2 = weighted @ sh, LAMP_METRIC[0] @ sh  # (D, 3), (3,)
    det = g11 * g22 - g12**2
    intensity = (g22 * r1 - g12 * r2) / det
    ambient = (g11 * r2 - g12 * r1) / det
    explained = np.where(intensity < 0, r2**2 / g22, intensity * r1 + ambient * r2)  # a lamp cannot take light away
    return norm - explained.sum(axis=1)


def _lamp_direction(sh: np.ndarray) -> tuple[float, float]:
    """(azimuth, elevation) in degrees of the lamp that best explains ``sh`` (:func:`_lamp_costs`): the best of a
    grid, then a pattern search that halves its step down to :data:`LAMP_PRECISION_DEG` (the page's the same).
    Costs within a millionth of a millionth of the SH's own squared norm are ties: the first is taken, and a step
    must gain more than that, so that rounding (numpy's sums here, loops in the page) decides nothing."""
    norm = _inner(sh, sh)
    tie = 1e-12 * norm
    around, up = np.arange(-180, 180, LAMP_GRID_DEG), np.arange(-90 + LAMP_GRID_DEG, 90, LAMP_GRID_DEG)
    azimuth, elevation = (grid.ravel() for grid in np.meshgrid(around, up))
    costs = _lamp_costs(sh, norm, direction_of(azimuth, elevation))
    k = int(np.argmax(costs <= costs.min() + tie))  # the first of ties, as the page takes it
    best, az, el, step = costs[k], azimuth[k], elevation[k], LAMP_GRID_DEG / 2
    while step >= LAMP_PRECISION_DEG:
        moves = np.array([[az + step, el], [az - step, el], [az, min(el + step, 90)], [az, max(el - step, -90)]])
        costs = _lamp_costs(sh, norm, direction_of(moves[:, 0], moves[:, 1]))
        k = int(np.argmin(costs))
        if costs[k] < best - tie:
            best, az, el = costs[k], moves[k, 0], moves[k, 1]
        else:
            step /= 2
    return float((az + 180) % 360 - 180), float(el)


def _lamp_and_ambient(sh: np.ndarray, lamp: np.ndarray, colour: np.ndarray) -> tuple[float, float]:
    """Intensity (>= 0) and white ambient of a lamp of ``colour`` (3,) with SH ``lamp`` (9,) at intensity 1 that
    best explain ``sh`` (9, 3) in :data:`LAMP_METRIC`'s norm."""
    unit, white = np.outer(lamp, colour), np.outer(np.eye(N_SH_BANDS)[0], np.ones(3))
    g11, g12, g22 = _inner(unit, unit), _inner(unit, white), _inner(white, white)
    r1, r2 = _inner(unit, sh), _inner(white, sh)
    det = g11 * g22 - g12**2
    intensity = (g22 * r1 - g12 * r2) / det if det > 1e-12 else 0.0
    if intensity <= 0:
        return 0.0, r2 / g22
    return intensity, (g11 * r2 - g12 * r1) / det


def light_from_sh(sh: np.ndarray) -> Light:
    """The lamp + white ambient that light a face most like SH coefficients (9, 3), to start the sliders from.

    A fitted light is known only where a face's normals point: its constant, z and 3z^2 - 1 terms trade off (more
    ambient and less light from the front light a face alike), so its linear band alone can point the lamp behind
    the head of a face lit from the front (docs/app.md). The direction is the one whose best lamp and ambient
    differ least from ``sh`` on a face
    (:data:`FACE_SH_MOMENTS`, plus :data:`LAMP_OFF_FACE` of their difference everywhere); the colour is that of the
    light arriving from there (ambient included: a weak bluish lamp over white ambient looks near white, and a
    colour read from the lamp alone was a saturated swatch); the intensity and ambient are the least-squares fit of
    that lamp on the face. Exact for lamps made by ``sh_from_light`` (a coloured one comes back paler, its colour
    mixed with the ambient); the sliders add what the lamp leaves unexplained (``demo.ui``). A light without a lamp
    (nothing beyond the constant band, or no lamp that adds light) is ambient alone, and one that is not finite
    nothing at all, both with the lamp at its default place.
    """
    sh = np.asarray(sh, np.float64).reshape(N_SH_BANDS, 3)
    if not np.isfinite(sh).all():
        return Light(intensity=0.0, ambient=0.0)
    if np.abs(sh[1:]).max() < 1e-6:
        return Light(intensity=0.0, ambient=float(sh[0].mean()))
    azimuth, elevation = _lamp_direction(sh)
    direction = direction_of(np.float64(azimuth), np.float64(elevation))
    arriving = np.maximum(sh_basis(direction) @ sh, 0.0)
    colour = arriving / max(arriving.max(), 1e-6)
    intensity, ambient = _lamp_and_ambient(sh, lamp_basis(direction), colour)
    if intensity == 0:
        return Light(intensity=0.0, ambient=ambient)
    return Light(azimuth_deg=azimuth, elevation_deg=elevation, intensity=intensity, ambient=ambient,
                 colour=tuple(float(c) for c in colour))  # type: ignore[arg-type]  # fmt: skip


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
