// Photo + landmarks -> the network's input, as inversefacenet/preprocess.py does it:
// square crop of the 468 mesh points' box x crop_scale, face mask (oval minus lips and eyes),
// colour (pixel / 255 - 0.5) * mask, channels first.
import type { FaceModelIndex } from "./facemodel";

export interface Crop {
  scale: number; // crop pixel = scale * photo pixel + offset
  offset: [number, number];
  size: number;
}

export function cropForLandmarks(points: Float32Array, size: number, cropScale: number): Crop {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < 468; k++) {
    const [x, y] = [points[2 * k], points[2 * k + 1]];
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const side = Math.max(x1 - x0, y1 - y0) * cropScale;
  const scale = size / side;
  return { scale, offset: [size / 2 - scale * ((x0 + x1) / 2), size / 2 - scale * ((y0 + y1) / 2)], size };
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

/** (size * size) mask: inside the face oval, outside the inner lips and the eyes. Landmarks in crop pixels. */
export function faceMask(points: Float32Array, size: number, index: FaceModelIndex): Uint8Array {
  const context = canvas(size);
  const polygon = (ids: number[], colour: string) => {
    context.beginPath();
    ids.forEach((id, k) => (k ? context.lineTo : context.moveTo).call(context, points[2 * id], points[2 * id + 1]));
    context.closePath();
    context.fillStyle = colour;
    context.fill();
  };
  polygon(index.face_mask.oval, "#fff");
  for (const ids of [index.face_mask.inner_lips, ...index.face_mask.eyes]) polygon(ids, "#000");
  const pixels = context.getImageData(0, 0, size, size).data;
  const mask = new Uint8Array(size * size);
  for (let i = 0; i < mask.length; i++) mask[i] = pixels[4 * i] >= 128 ? 1 : 0; // pixel centre inside
  return mask;
}

export function networkInput(rgba: Uint8ClampedArray, mask: Uint8Array, size: number): Float32Array {
  const input = new Float32Array(3 * size * size);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) input[c * size * size + i] = mask[i] ? rgba[4 * i + c] / 255 - 0.5 : 0;
  }
  return input;
}
