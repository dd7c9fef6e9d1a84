// One lamp + white ambient -> 2nd-order SH coefficients (9 x RGB), the closed form of inversefacenet/lighting.py.

import { shIrradiance } from "./sh";

export interface Light {
  azimuthDeg: number; // 0 = from the camera, +90 = from the viewer's right
  elevationDeg: number;
  intensity: number;
  ambient: number;
  colour: [number, number, number];
}

export function shFromLight(light: Light): number[][] {
  const az = (light.azimuthDeg * Math.PI) / 180;
  const el = (light.elevationDeg * Math.PI) / 180;
  const [x, y, z] = [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
  const i = light.intensity;
  const band2 = (15 / 32) * i;
  const lamp = [
    i / 4, (i / 2) * y, (i / 2) * z, (i / 2) * x,
    band2 * 2 * x * y, band2 * 2 * y * z, (band2 * (3 * z * z - 1)) / 6, band2 * 2 * x * z, (band2 * (x * x - y * y)) / 2,
  ];
  return lamp.map((value, k) => light.colour.map((c) => value * c + (k === 0 ? light.ambient : 0)));
}

export function hexToRgb(hex: string): [number, number, number] {
  const digits = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16) / 255) as [number, number, number];
}

export function rgbToHex(colour: [number, number, number]): string {
  return "#" + colour.map((c) => Math.round(Math.min(Math.max(c, 0), 1) * 255).toString(16).padStart(2, "0")).join("");
}

/** The lamp + white ambient that best explains SH coefficients (9 x RGB), as inversefacenet/lighting.py's
 * light_from_sh: direction from the linear band, colour of the light arriving from there (ambient included),
 * intensity by least squares of that colour against the linear band along the direction, ambient from the
 * constant band. */
export function lightFromSh(sh: number[][]): Light {
  const linear = [sh[3], sh[1], sh[2]]; // x, y, z rows, RGB columns
  const strength = [0, 1, 2].map((c) => Math.hypot(linear[0][c], linear[1][c], linear[2][c]));
  if (Math.max(...strength) < 1e-6) {
    return { azimuthDeg: 0, elevationDeg: 20, intensity: 0, ambient: (sh[0][0] + sh[0][1] + sh[0][2]) / 3,
      colour: [1, 1, 1] };
  }
  let toward = linear.map((row) => row[0] * strength[0] + row[1] * strength[1] + row[2] * strength[2]);
  if (Math.hypot(...toward) <= 1e-9) { // channels whose lamps point apart cancel: the strongest one's direction
    const strongest = strength.indexOf(Math.max(...strength));
    toward = linear.map((row) => row[strongest]);
  }
  const [x, y, z] = toward.map((v) => v / Math.hypot(...toward));
  const arriving = new Float64Array(3);
  shIrradiance(x, y, z, sh, arriving, 0);
  const top = Math.max(arriving[0], arriving[1], arriving[2], 1e-6);
  const colour = Array.from(arriving, (v) => Math.max(v, 0) / top) as [number, number, number];
  const along = [0, 1, 2].map((c) => x * linear[0][c] + y * linear[1][c] + z * linear[2][c]);
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  const intensity = Math.max((2 * dot(along, colour)) / Math.max(dot(colour, colour), 1e-6), 0);
  const ambient = [0, 1, 2].reduce((sum, c) => sum + sh[0][c] - (intensity / 4) * colour[c], 0) / 3;
  const degrees = 180 / Math.PI;
  return { azimuthDeg: Math.atan2(x, z) * degrees, elevationDeg: Math.asin(Math.min(Math.max(y, -1), 1)) * degrees,
    intensity, ambient, colour };
}

/** Each SH basis function's mean over a face as the camera sees it (lighting.py's FACE_SH_WEIGHTS). */
const FACE_SH_WEIGHTS = [1.0, -0.025, 0.778, 0.017, -0.002, -0.008, 0.92, 0.01, 0.193];

/** Mean irradiance per channel over a face facing the camera (lighting.py's face_irradiance_rgb). */
function faceIrradianceRgb(sh: number[][]): number[] {
  return [0, 1, 2].map((c) => FACE_SH_WEIGHTS.reduce((sum, w, k) => sum + w * sh[k][c], 0));
}

/** faceIrradianceRgb averaged over RGB (lighting.py's face_irradiance). */
export function faceIrradiance(sh: number[][]): number {
  return faceIrradianceRgb(sh).reduce((sum, v) => sum + v, 0) / 3;
}

/** The light scaled (lamp and ambient together) to the face irradiance of ``reference`` (lighting.py's matched),
 * so a preset keeps the photo's exposure instead of turning the face dark or white. */
export function matched(light: Light, reference: number[][]): Light {
  const factor = faceIrradiance(reference) / Math.max(faceIrradiance(shFromLight(light)), 1e-6);
  return { ...light, intensity: light.intensity * factor, ambient: light.ambient * factor };
}

/** The colour a light gives a face: its face irradiance per channel over their mean, each factor within
 * [0.5, 2] (lighting.py's white_balance). */
export function whiteBalance(sh: number[][]): [number, number, number] {
  const face = faceIrradianceRgb(sh).map((v) => Math.max(v, 1e-6));
  const mean = (face[0] + face[1] + face[2]) / 3;
  return face.map((v) => Math.min(Math.max(v / mean, 0.5), 2)) as [number, number, number];
}

/** SH of ``light`` at the exposure and white balance of ``reference`` (lighting.py's matched_sh): how a preset is
 * applied, so that a white preset keeps the photo's colours and a tinted one adds its tint. */
export function matchedSh(light: Light, reference: number[][]): number[][] {
  const balance = whiteBalance(reference);
  return shFromLight(matched(light, reference)).map((row) => row.map((v, c) => v * balance[c]));
}
