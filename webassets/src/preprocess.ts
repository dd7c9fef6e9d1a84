// Photo + landmarks -> the network's input, as inversefacenet/preprocess.py does it:
// square crop of the 468 mesh points' box x crop_scale, face mask (oval minus lips and eyes),
// colour (pixel / 255 - 0.5) * mask, channels first.
import type { FaceModelIndex } from "./facemodel";

/** The MediaPipe mesh points (the first 468 of 478; the rest are irises): their box is the crop's. */
export const MESH_POINTS = 468;

/** The face mask's polygons as MediaPipe indices (facemodel.json). */
export type FaceMaskRule = FaceModelIndex["face_mask"];

export interface Crop {
  scale: number; // crop pixel = scale * photo pixel + offset
  offset: [number, number];
  size: number;
}

export function cropForLandmarks(points: Float32Array, size: number, cropScale: number): Crop {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < MESH_POINTS; k++) {
    const [x, y] = [points[2 * k], points[2 * k + 1]];
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const side = Math.max(x1 - x0, y1 - y0) * cropScale;
  const scale = size / side;
  return { scale, offset: [size / 2 - scale * ((x0 + x1) / 2), size / 2 - scale * ((y0 + y1) / 2)], size };
}

/**
 * The crop a network with crop alignment points to (Python's Crop.aligned): `shift` is its output after the
 * parameters, the centre's shift (dx, dy, in crop sides) and the log of the scale change.
 */
export function alignedCrop(crop: Crop, shift: ArrayLike<number>): Crop {
  const scale = crop.scale * Math.exp(shift[2]);
  const centre = [0, 1].map((i) => ((shift[i] + 0.5) * crop.size - crop.offset[i]) / crop.scale);
  return { scale, offset: [crop.size / 2 - scale * centre[0], crop.size / 2 - scale * centre[1]], size: crop.size };
}

/** Where `target` lies in `crop` (Python's Crop.alignment_to): alignedCrop's inverse, [dx, dy, log scale]. */
export function alignmentTo(crop: Crop, target: Crop): number[] {
  const centre = [0, 1].map((i) => ((target.size / 2 - target.offset[i]) / target.scale) * crop.scale + crop.offset[i]);
  return [centre[0] / crop.size - 0.5, centre[1] / crop.size - 0.5, Math.log(target.scale / crop.scale)];
}

export function toCrop(points: Float32Array, crop: Crop): Float32Array {
  return points.map((v, i) => v * crop.scale + crop.offset[i % 2]);
}

function canvas(size: number): CanvasRenderingContext2D {
  const context = new OffscreenCanvas(size, size).getContext("2d", { willReadFrequently: true });
  if (!context) throw new Error("no 2D canvas");
  return context as unknown as CanvasRenderingContext2D;
}

/** The photo resampled into the crop (continuous coordinates, high-quality filtering when shrinking). */
export function cropImage(photo: CanvasImageSource, crop: Crop): Uint8ClampedArray {
  const context = canvas(crop.size);
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "high";
  context.setTransform(crop.scale, 0, 0, crop.scale, crop.offset[0], crop.offset[1]);
  context.drawImage(photo, 0, 0);
  return context.getImageData(0, 0, crop.size, crop.size).data;
}

/** One polygon edge as an 8-connected pixel line (pixel-index coordinates), as cv2.fillPoly draws its outline. */
function drawEdge(mask: Uint8Array, size: number, from: number[], to: number[], value: number): void {
  const major = Math.abs(to[0] - from[0]) >= Math.abs(to[1] - from[1]) ? 0 : 1;
  const [a, b] = from[major] <= to[major] ? [from, to] : [to, from];
  const slope = b[major] === a[major] ? 0 : (b[1 - major] - a[1 - major]) / (b[major] - a[major]);
  for (let t = Math.round(a[major]); t <= Math.round(b[major]); t++) {
    const u = Math.round(a[1 - major] + (t - a[major]) * slope);
    const [x, y] = major === 0 ? [t, u] : [u, t];
    if (x >= 0 && x < size && y >= 0 && y < size) mask[y * size + x] = value;
  }
}

/** cv2.fillPoly's rule: the pixels whose centres lie inside a polygon (even-odd, both ends of a span included)
 * and the pixels of its outline. Points in crop pixels (continuous: pixel j spans [j, j + 1)). */
function fillPolygon(mask: Uint8Array, size: number, points: Float32Array, ids: number[], value: number): void {
  // pixel-index coordinates on the 1/16 pixel grid the Python side hands to cv2 (shift = 4)
  const corners = ids.map((id) => [0, 1].map((c) => Math.round(points[2 * id + c] * 16 - 8) / 16));
  for (let i = 0; i < size; i++) {
    const crossings: number[] = [];
    corners.forEach(([xa, ya], k) => {
      const [xb, yb] = corners[(k + 1) % corners.length];
      const [y0, y1] = [Math.round(ya), Math.round(yb)]; // cv2 walks edges between vertex rows rounded to pixels
      if (y0 !== y1 && Math.min(y0, y1) <= i && i < Math.max(y0, y1)) {
        crossings.push(xa + ((i - y0) * (xb - xa)) / (y1 - y0));
      }
    });
    crossings.sort((a, b) => a - b);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const first = Math.max(0, Math.ceil(crossings[k]));
      const last = Math.min(size - 1, Math.floor(crossings[k + 1]));
      if (first <= last) mask.fill(value, i * size + first, i * size + last + 1);
    }
  }
  corners.forEach((corner, k) => drawEdge(mask, size, corner, corners[(k + 1) % corners.length], value));
}

/** (size * size) mask: inside the face oval, outside the inner lips and the eyes. Landmarks in crop pixels. */
export function faceMask(points: Float32Array, size: number, rule: FaceMaskRule): Uint8Array {
  const mask = new Uint8Array(size * size);
  fillPolygon(mask, size, points, rule.oval, 1);
  for (const ids of [rule.inner_lips, ...rule.eyes]) fillPolygon(mask, size, points, ids, 0);
  return mask;
}

/** What of the crop a network reads (preprocess.INPUT_MASKS): the colours inside the face mask, the whole crop, or
 * the whole crop with the mask as a 4th channel. */
export type InputMask = "face" | "none" | "split";

/** preprocess.INPUT_CHANNELS: the channels of a network's input under each rule. */
export const INPUT_CHANNELS: Record<InputMask, number> = { face: 3, none: 3, split: 4 };

/**
 * (channels, size, size) network input from a crop's RGBA pixels and the mask of its rule (preprocess.network_input):
 * the colours inside the mask, or for "split" all the colours and the mask.
 */
export function networkInput(rgba: Uint8ClampedArray, mask: Uint8Array, size: number,
  rule: InputMask = "face"): Float32Array {
  const area = size * size;
  const input = new Float32Array(INPUT_CHANNELS[rule] * area);
  for (let i = 0; i < area; i++) {
    const kept = rule === "split" || mask[i];
    for (let c = 0; c < 3; c++) input[c * area + i] = kept ? rgba[4 * i + c] / 255 - 0.5 : 0;
  }
  if (rule === "split") for (let i = 0; i < area; i++) input[3 * area + i] = mask[i] ? 1 : 0;
  return input;
}

/** fitting.GREY_LEVELS: colours that stray from their own grey by less than this on average (0-255) are grey. */
export const GREY_LEVELS = 1.0;

/** The photo pixel landmark `k` (of x y pairs) falls in, clipped to a `width` x `height` photo. */
export function landmarkPixel(points: Float32Array, k: number, width: number, height: number): [number, number] {
  const clip = (v: number, size: number) => Math.min(Math.max(Math.trunc(v), 0), size - 1);
  return [clip(points[2 * k], width), clip(points[2 * k + 1], height)];
}

/**
 * Whether a face is grey in its photo (pipeline.is_grey_face): its colours at its 468 landmarks (photo pixels,
 * stride 2), each at the pixel it falls in, clipped to the photo (`photoWidth` x `photoHeight`). `region` holds the
 * RGBA pixels of the part of the photo whose top-left pixel is `origin` and that covers those points.
 */
export function isGreyFace(points: Float32Array, photoWidth: number, photoHeight: number,
  region: { data: ArrayLike<number>; width: number }, origin: [number, number] = [0, 0]): boolean {
  let stray = 0;
  for (let k = 0; k < MESH_POINTS; k++) {
    const [x, y] = landmarkPixel(points, k, photoWidth, photoHeight);
    const i = 4 * ((y - origin[1]) * region.width + x - origin[0]);
    const [r, g, b] = [region.data[i], region.data[i + 1], region.data[i + 2]];
    const mean = (r + g + b) / 3;
    stray += Math.abs(r - mean) + Math.abs(g - mean) + Math.abs(b - mean);
  }
  return stray / (3 * MESH_POINTS) < GREY_LEVELS;
}

/** fitting.desaturated: (N x 3) colours as the grey a black-and-white photo makes of them (ITU-R BT.601). */
export function desaturated(colours: Float32Array): Float32Array {
  const out = new Float32Array(colours.length);
  for (let i = 0; i < colours.length; i += 3) {
    out[i] = out[i + 1] = out[i + 2] = 0.299 * colours[i] + 0.587 * colours[i + 1] + 0.114 * colours[i + 2];
  }
  return out;
}
