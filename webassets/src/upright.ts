// Faces tilted beyond the network's roll range, read in an upright copy of their surroundings and turned back, as
// inversefacenet/upright.py does it (parity: tests/test_web.py against the Python side).
import { MESH_POINTS } from "./preprocess";

/** upright.ROLL_LIMIT_DEG: faces turned further are read upright (the corpus's roll range is 15 degrees). */
export const ROLL_LIMIT_DEG = 20;
/** upright.MESH_UPSIDE_DOWN_DEG: faces turned further are read as they are (MediaPipe's upside-down meshes). */
const MESH_UPSIDE_DOWN_DEG = 120;
/** upright.WINDOW: the copy's side over the larger side of the face's landmark box. */
const WINDOW = 2.5;
/** upright.WINDOW_MAX_PX: the copy's largest side. */
const WINDOW_MAX_PX = 1024;

/** Photo px -> copy px: [a, c, e, b, d, f] of x' = a x + c y + e, y' = b x + d y + f (the rows of a 2 x 3 matrix). */
export interface Upright {
  matrix: number[];
  size: number;
  roll: number; // radians: the face's counter-clockwise turn in the photo
}

/** upright.face_roll: radians the face is turned counter-clockwise, from its eyes' centres (`eyes`: the two eyes'
 * contours as MediaPipe indices, the face's right eye first) in its points (x, y per point). */
export function faceRoll(points: Float32Array, eyes: number[][]): number {
  const [right, left] = eyes.map((ids) => [0, 1].map((c) => ids.reduce((sum, k) => sum + points[2 * k + c], 0) /
    ids.length));
  return Math.atan2(-(left[1] - right[1]), left[0] - right[0]); // y down: up the photo is -y
}

/** upright.is_tilted. */
export function isTilted(points: Float32Array, eyes: number[][]): boolean {
  const degrees = Math.abs((faceRoll(points, eyes) * 180) / Math.PI);
  return degrees > ROLL_LIMIT_DEG && degrees <= MESH_UPSIDE_DOWN_DEG;
}

/** upright.Upright.of: the copy around a face given by its points (photo px). */
export function uprightOf(points: Float32Array, eyes: number[][]): Upright {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < MESH_POINTS; k++) {
    const [x, y] = [points[2 * k], points[2 * k + 1]];
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const side = WINDOW * Math.max(x1 - x0, y1 - y0);
  const size = Math.min(WINDOW_MAX_PX, Math.ceil(side));
  const roll = faceRoll(points, eyes);
  const [scale, cx, cy] = [size / side, (x0 + x1) / 2, (y0 + y1) / 2];
  // turned by -roll (clockwise as shown) about the face's centre, which goes to the copy's centre (as OpenCV's
  // getRotationMatrix2D(centre, -roll, scale) and a shift)
  const [alpha, beta] = [scale * Math.cos(roll), -scale * Math.sin(roll)];
  return { matrix: [alpha, beta, size / 2 - alpha * cx - beta * cy, -beta, alpha, size / 2 + beta * cx - alpha * cy],
    size, roll };
}

/** The copy of a photo (black outside it), drawn with the canvas's own smoothing. */
export function uprightImage(photo: HTMLCanvasElement, upright: Upright): HTMLCanvasElement {
  const copy = document.createElement("canvas");
  [copy.width, copy.height] = [upright.size, upright.size];
  const context = copy.getContext("2d")!;
  context.fillStyle = "black";
  context.fillRect(0, 0, upright.size, upright.size);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  const [a, c, e, b, d, f] = upright.matrix;
  context.setTransform(a, b, c, d, e, f);
  context.drawImage(photo, 0, 0);
  return copy;
}

/** Points (x, y per point) through the copy's matrix, or back (`inverse`). */
export function mapped(points: Float32Array, upright: Upright, inverse = false): Float32Array {
  let [a, c, e, b, d, f] = upright.matrix;
  if (inverse) {
    const det = a * d - b * c;
    [a, c, e, b, d, f] = [d / det, -c / det, (c * f - d * e) / det, -b / det, a / det, (b * e - a * f) / det];
  }
  const out = new Float32Array(points.length);
  for (let k = 0; k < points.length; k += 2) {
    out[k] = a * points[k] + c * points[k + 1] + e;
    out[k + 1] = b * points[k] + d * points[k + 1] + f;
  }
  return out;
}

/** upright.Upright.turned_back on a network output (parameters in `layout`'s places, radians): the face read in the
 * copy as the photo shows it, the head and the light turned by the roll about the camera's axis (the turn adds to the
 * roll; the light's x and y bands turn with it). */
export function turnedBack(output: Float32Array, roll: number, layout: Record<string, [number, number]>): Float32Array {
  const out = output.slice();
  const at = layout.rotation[0] + 2;
  out[at] = ((output[at] + roll + 3 * Math.PI) % (2 * Math.PI)) - Math.PI;
  const [c, s, c2, s2] = [Math.cos(roll), Math.sin(roll), Math.cos(2 * roll), Math.sin(2 * roll)];
  // basis [1, y, z, x, xy, yz, 3z^2 - 1, xz, x^2 - y^2], RGB per band: the turned light's (render/sh.rotate_sh)
  for (let channel = 0; channel < 3; channel++) {
    const v = (band: number) => output[layout.sh[0] + 3 * band + channel];
    const set = (band: number, value: number) => (out[layout.sh[0] + 3 * band + channel] = value);
    [set(1, c * v(1) + s * v(3)), set(3, -s * v(1) + c * v(3))];
    [set(4, c2 * v(4) + 2 * s2 * v(8)), set(8, -0.5 * s2 * v(4) + c2 * v(8))];
    [set(5, c * v(5) + s * v(7)), set(7, -s * v(5) + c * v(7))];
  }
  return out;
}
