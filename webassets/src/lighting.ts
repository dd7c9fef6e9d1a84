// One lamp + white ambient -> 2nd-order SH coefficients (9 x RGB), the closed form of inversefacenet/lighting.py.

import { shIrradiance } from "./sh";

export interface Light {
  azimuthDeg: number; // 0 = from the camera, +90 = from the viewer's right
  elevationDeg: number;
  intensity: number;
  ambient: number;
  colour: [number, number, number];
}

/** Unit vector towards a lamp at these angles (degrees), camera frame (lighting.py's direction_of). */
function directionOf(azimuthDeg: number, elevationDeg: number): [number, number, number] {
  const az = (azimuthDeg * Math.PI) / 180;
  const el = (elevationDeg * Math.PI) / 180;
  return [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
}

/** SH of a white lamp of intensity 1 from ``direction``, without ambient (lighting.py's lamp_basis). */
function lampBasis([x, y, z]: [number, number, number]): number[] {
  const band2 = 15 / 32;
  return [1 / 4, y / 2, z / 2, x / 2, band2 * 2 * x * y, band2 * 2 * y * z, (band2 * (3 * z * z - 1)) / 6,
    band2 * 2 * x * z, (band2 * (x * x - y * y)) / 2];
}

export function shFromLight(light: Light): number[][] {
  const lamp = lampBasis(directionOf(light.azimuthDeg, light.elevationDeg));
  return lamp.map((value, k) => light.colour.map((c) => light.intensity * value * c + (k === 0 ? light.ambient : 0)));
}

export function hexToRgb(hex: string): [number, number, number] {
  const digits = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16) / 255) as [number, number, number];
}

export function rgbToHex(colour: [number, number, number]): string {
  return "#" + colour.map((c) => Math.round(Math.min(Math.max(c, 0), 1) * 255).toString(16).padStart(2, "0")).join("");
}

/** Each product of two SH basis functions' mean over a face as the camera sees it (lighting.py's FACE_SH_MOMENTS). */
const FACE_SH_MOMENTS = [
  [1.0, -0.024, 0.777, 0.017, -0.002, -0.008, 0.916, 0.01, 0.192],
  [-0.024, 0.083, -0.008, -0.002, 0.0, 0.06, 0.026, -0.001, 0.008],
  [0.777, -0.008, 0.638, 0.01, -0.001, 0.001, 0.851, 0.007, 0.113],
  [0.017, -0.002, 0.01, 0.276, -0.009, -0.001, 0.004, 0.173, 0.009],
  [-0.002, 0.0, -0.001, -0.009, 0.017, 0.0, -0.001, -0.004, -0.001],
  [-0.008, 0.06, 0.001, -0.001, 0.0, 0.045, 0.024, -0.001, 0.006],
  [0.916, 0.026, 0.851, 0.004, -0.001, 0.024, 1.417, 0.004, 0.029],
  [0.01, -0.001, 0.007, 0.173, -0.004, -0.001, 0.004, 0.119, 0.005],
  [0.192, 0.008, 0.113, 0.009, -0.001, 0.006, 0.029, 0.005, 0.124],
];
/** FACE_SH_MOMENTS plus LAMP_OFF_FACE (0.01) of the identity: the norm in which lightFromSh compares lights. */
const LAMP_METRIC = FACE_SH_MOMENTS.map((row, k) => row.map((v, j) => v + (j === k ? 0.01 : 0)));
const LAMP_GRID_DEG = 5; // lighting.py's LAMP_GRID_DEG and LAMP_PRECISION_DEG
const LAMP_PRECISION_DEG = 1e-4;

/** aᵀ M b in LAMP_METRIC's norm, for vectors of 9. */
function inner(a: number[], b: number[]): number {
  let sum = 0;
  for (let k = 0; k < 9; k++) for (let j = 0; j < 9; j++) sum += a[k] * LAMP_METRIC[k][j] * b[j];
  return sum;
}

const channel = (sh: number[][], c: number) => sh.map((row) => row[c]);
const WHITE = [1, 0, 0, 0, 0, 0, 0, 0, 0];

/** A direction's lamp in LAMP_METRIC's norm: M l and the normal equations' lamp terms lᵀ M l, lᵀ M e0. */
interface LampTerms { weighted: number[]; g11: number; g12: number }

function lampTerms(direction: [number, number, number]): LampTerms {
  const lamp = lampBasis(direction);
  const weighted = LAMP_METRIC.map((row) => row.reduce((sum, m, j) => sum + m * lamp[j], 0));
  return { weighted, g11: weighted.reduce((sum, w, k) => sum + w * lamp[k], 0), g12: weighted[0] };
}

/** The grid's directions and their lamps, made once: azimuth inside elevation, as lighting.py's meshgrid. */
let lampGrid: { azimuth: number; elevation: number; terms: LampTerms }[] | null = null;

function grid(): NonNullable<typeof lampGrid> {
  if (!lampGrid) {
    lampGrid = [];
    for (let elevation = -90 + LAMP_GRID_DEG; elevation < 90; elevation += LAMP_GRID_DEG) {
      for (let azimuth = -180; azimuth < 180; azimuth += LAMP_GRID_DEG) {
        lampGrid.push({ azimuth, elevation, terms: lampTerms(directionOf(azimuth, elevation)) });
      }
    }
  }
  return lampGrid;
}

/** What a light ``sh`` brings to every lamp's cost: its channels, their squared norm and their ambient terms. */
interface Target { channels: number[][]; norm: number; r2: number[] }

function target(sh: number[][]): Target {
  const channels = [0, 1, 2].map((c) => channel(sh, c));
  return { channels, norm: channels.reduce((sum, v) => sum + inner(v, v), 0), r2: channels.map((v) => inner(WHITE, v)) };
}

/** How far the best lamp (intensity >= 0, per channel) and ambient of ``terms`` stay from the target: its squared
 * norm less x . r at the normal equations' solution x (lighting.py's _lamp_costs). */
function lampCost({ channels, norm, r2 }: Target, { weighted, g11, g12 }: LampTerms): number {
  const g22 = LAMP_METRIC[0][0];
  const det = g11 * g22 - g12 * g12;
  let explained = 0;
  for (let c = 0; c < 3; c++) {
    const r1 = weighted.reduce((sum, w, k) => sum + w * channels[c][k], 0);
    const intensity = (g22 * r1 - g12 * r2[c]) / det;
    const ambient = (g11 * r2[c] - g12 * r1) / det;
    explained += intensity < 0 ? (r2[c] * r2[c]) / g22 : intensity * r1 + ambient * r2[c]; // no negative lamp
  }
  return norm - explained;
}

/** Azimuth and elevation (degrees) of the lamp that best explains ``sh``: the best of a grid, then a pattern search
 * halving its step; costs within 1e-12 of the SH's squared norm are ties, and a step must gain more than that
 * (lighting.py's _lamp_direction). */
function lampDirection(sh: number[][]): [number, number] {
  const aim = target(sh);
  const tie = 1e-12 * aim.norm;
  const costs = grid().map(({ terms }) => lampCost(aim, terms));
  const least = Math.min(...costs);
  const first = costs.findIndex((cost) => cost <= least + tie);
  let [az, el, best] = [grid()[first].azimuth, grid()[first].elevation, costs[first]];
  for (let step = LAMP_GRID_DEG / 2; step >= LAMP_PRECISION_DEG;) {
    const moves = [[az + step, el], [az - step, el], [az, Math.min(el + step, 90)], [az, Math.max(el - step, -90)]];
    const around = moves.map(([a, e]) => lampCost(aim, lampTerms(directionOf(a, e))));
    const k = around.indexOf(Math.min(...around));
    if (around[k] < best - tie) [az, el, best] = [moves[k][0], moves[k][1], around[k]];
    else step /= 2;
  }
  return [((((az + 180) % 360) + 360) % 360) - 180, el];
}

/** The lamp + white ambient that light a face most like SH coefficients (9 x RGB), as inversefacenet/lighting.py's
 * light_from_sh: the direction whose best lamp and ambient differ least from ``sh`` on a face, the colour of the
 * light arriving from there (ambient included), intensity and ambient by least squares on the face. */
export function lightFromSh(sh: number[][]): Light {
  const ambientOnly = (ambient: number): Light => ({ azimuthDeg: 0, elevationDeg: 20, intensity: 0, ambient,
    colour: [1, 1, 1] });
  if (!sh.flat().every(Number.isFinite)) return ambientOnly(0); // a broken light: nothing, not an exception
  if (Math.max(...sh.slice(1).flat().map(Math.abs)) < 1e-6) return ambientOnly((sh[0][0] + sh[0][1] + sh[0][2]) / 3);
  const [azimuthDeg, elevationDeg] = lampDirection(sh);
  const [x, y, z] = directionOf(azimuthDeg, elevationDeg);
  const arriving = new Float64Array(3);
  shIrradiance(x, y, z, sh, arriving, 0);
  const top = Math.max(arriving[0], arriving[1], arriving[2], 1e-6);
  const colour = Array.from(arriving, (v) => Math.max(v, 0) / top) as [number, number, number];
  // intensity and white ambient: least squares of the lamp of this colour, over the three channels
  const lamp = lampBasis([x, y, z]);
  const sum = (f: (c: number) => number) => f(0) + f(1) + f(2);
  const g11 = sum((c) => colour[c] * colour[c]) * inner(lamp, lamp);
  const g12 = sum((c) => colour[c]) * inner(lamp, WHITE);
  const g22 = 3 * inner(WHITE, WHITE);
  const r1 = sum((c) => colour[c] * inner(lamp, channel(sh, c)));
  const r2 = sum((c) => inner(WHITE, channel(sh, c)));
  const det = g11 * g22 - g12 * g12;
  const intensity = det > 1e-12 ? (g22 * r1 - g12 * r2) / det : 0;
  if (intensity <= 0) return ambientOnly(r2 / g22); // no lamp that adds light
  return { azimuthDeg, elevationDeg, intensity, ambient: (g11 * r2 - g12 * r1) / det, colour };
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

/** Where faceHighlight puts a face's lit side: this many sds above its mean (lighting.py's HIGHLIGHT_SDS). */
const HIGHLIGHT_SDS = 2;

/** How bright the lit side of a face facing the camera is under ``sh``, in its brightest channel: the irradiance's
 * mean over the face plus HIGHLIGHT_SDS of its sd there (lighting.py's face_highlight). */
function faceHighlight(sh: number[][]): number {
  const means = [0, 1, 2].map((c) => FACE_SH_MOMENTS[0].reduce((sum, w, k) => sum + w * sh[k][c], 0));
  return Math.max(...means.map((mean, c) => {
    let square = 0; // the mean of the squared irradiance over the face
    for (let k = 0; k < 9; k++) for (let j = 0; j < 9; j++) square += sh[k][c] * FACE_SH_MOMENTS[k][j] * sh[j][c];
    return mean + HIGHLIGHT_SDS * Math.sqrt(Math.max(square - mean * mean, 0));
  }));
}

/** The light scaled (lamp and ambient together) to the face irradiance of ``reference``, so a preset keeps the
 * photo's exposure instead of turning the face dark or white; less where that, in the photo's white balance, would
 * light the face's lit side brighter than ``reference`` does (faceHighlight): lighting.py's matched. */
export function matched(light: Light, reference: number[][]): Light {
  const sh = shFromLight(light);
  const balance = whiteBalance(reference);
  const litSide = faceHighlight(sh.map((row) => row.map((v, c) => v * balance[c])));
  const factor = Math.max(Math.min(faceIrradiance(reference) / Math.max(faceIrradiance(sh), 1e-6),
    faceHighlight(reference) / Math.max(litSide, 1e-6)), 0); // a light that darkens: none
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
