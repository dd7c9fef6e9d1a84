"""The skin-reflectance model the builder samples to make the albedo PCA space.

No scanned albedo can be installed here, so reflectance is synthesised per person:
1. base skin colour from a melanin value that walks a light-to-dark palette of skin
   tones (sRGB anchors from very light to very dark skin, used as reflectance in [0, 1]),
   tinted by a haemoglobin (redness) and a carotene (yellowness) value;
2. regional variation with per-person amplitudes: redder, darker lips; darker brows;
   cheek redness; darker under-eyes; slightly redder eyelids and ears;
3. low-frequency blotches (a few smooth Gaussian bumps on the surface);
4. eyes (sclera, iris of random colour, pupil) and a dark-red mouth interior.
PCA over many such people gives a mean and basis with sigmas (paper eq. 3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SKIN_PALETTE_SRGB = np.array(
    [[246, 237, 228], [243, 231, 219], [247, 234, 208], [234, 218, 186], [215, 189, 150],
     [160, 126, 86], [130, 92, 67], [96, 65, 52], [58, 49, 42], [41, 36, 32]],
    dtype=np.float32,
) / 255.0  # fmt: skip
"""Ten skin tones from very light to very dark (the Monk Skin Tone scale's published hex values)."""


@dataclass(frozen=True)
class AlbedoRegions:
    """Per-vertex weights in [0, 1] of the regions that vary within a face (all (V,))."""

    lips: np.ndarray
    eyelids: np.ndarray
    ears: np.ndarray
    brows: np.ndarray
    cheeks: np.ndarray
    under_eyes: np.ndarray
    skin: np.ndarray
    mouth_interior: np.ndarray
    iris: np.ndarray
    pupil: np.ndarray
    sclera: np.ndarray


def _palette(melanin: np.ndarray) -> np.ndarray:
    """Interpolate the palette at melanin in [0, 1]; returns (N, 3)."""
    position = np.clip(melanin, 0, 1) * (len(SKIN_PALETTE_SRGB) - 1)
    low = np.floor(position).astype(int).clip(0, len(SKIN_PALETTE_SRGB) - 2)
    t = (position - low)[:, None]
    return SKIN_PALETTE_SRGB[low] * (1 - t) + SKIN_PALETTE_SRGB[low + 1] * t


def sample_albedos(regions: AlbedoRegions, vertices: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Sample ``count`` per-vertex RGB reflectances; vertices: (V, 3) mm. Returns (count, V, 3)."""
    n = count
    melanin = rng.beta(1.6, 1.6, n)
    base = _palette(melanin)
    redness = rng.uniform(0, 1, n)[:, None] * np.array([0.0, 0.12, 0.08])
    yellowness = rng.uniform(-1, 1, n)[:, None] * np.array([0.0, 0.0, 0.06])
    skin = np.clip(base * (1 - redness) * (1 - yellowness), 0, 1)  # (n, 3)

    def amplitude(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, (n, 1, 1))

    def tint(weights: np.ndarray, rgb: tuple[float, float, float]) -> np.ndarray:
        """Multiplicative tint 1 + weight * (rgb - 1), shaped (1, V, 3)."""
        return 1 + weights[None, :, None] * (np.array(rgb) - 1)

    albedo = np.broadcast_to(skin[:, None, :], (n, len(vertices), 3)).copy()
    albedo *= 1 + amplitude(0.4, 1.0) * (tint(regions.lips, (0.92, 0.62, 0.66)) - 1)
    albedo *= 1 + amplitude(0.2, 1.0) * (tint(regions.brows, (0.55, 0.5, 0.5)) - 1)
    albedo *= 1 + amplitude(0.0, 1.0) * (tint(regions.cheeks, (1.0, 0.85, 0.88)) - 1)
    albedo *= 1 + amplitude(0.0, 1.0) * (tint(regions.under_eyes, (0.85, 0.82, 0.86)) - 1)
    albedo *= 1 + amplitude(0.0, 1.0) * (tint(regions.eyelids, (0.96, 0.88, 0.88)) - 1)
    albedo *= 1 + amplitude(0.0, 1.0) * (tint(regions.ears, (1.0, 0.9, 0.9)) - 1)

    # Low-frequency blotches: 6 Gaussian bumps of +-6 % at random skin vertices, 25 mm wide.
    skin_ids = np.flatnonzero(regions.skin > 0.5)
    centres = vertices[rng.choice(skin_ids, (n, 6))]  # (n, 6, 3)
    d2 = ((vertices[None, None] - centres[:, :, None]) ** 2).sum(-1)  # (n, 6, V)
    bumps = (rng.uniform(-0.06, 0.06, (n, 6, 1)) * np.exp(-d2 / (2 * 25.0**2))).sum(1)
    albedo *= 1 + bumps[..., None] * regions.skin[None, :, None]

    iris_brown = np.array([0.22, 0.12, 0.06])
    iris_other = rng.choice(np.array([[0.30, 0.42, 0.55], [0.30, 0.40, 0.25], [0.40, 0.28, 0.12]]), n)
    mix = rng.uniform(0, 1, (n, 1)) ** 2
    iris = iris_brown * (1 - mix) + iris_other * mix
    sclera = np.array([0.82, 0.78, 0.74]) * rng.uniform(0.9, 1.05, (n, 1))
    mouth = np.array([0.32, 0.10, 0.10]) * rng.uniform(0.6, 1.2, (n, 1))
    for weights, colour in (
        (regions.sclera, sclera), (regions.iris, iris),
        (regions.pupil, np.full((n, 3), 0.03)), (regions.mouth_interior, mouth),
    ):  # fmt: skip
        w = weights[None, :, None]
        albedo = albedo * (1 - w) + colour[:, None, :] * w
    return np.clip(albedo, 0.0, 1.0).astype(np.float32)
