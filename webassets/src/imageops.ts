// The image operations inversefacenet/photo_texture.py takes from OpenCV and SciPy, as they define them, on
// square float images: bilinear look-ups (cv2.remap), Gaussian blur, pyramid down, bilinear resize, binary
// dilation and connected components (scipy.ndimage), and the gutter fill of texture atlases.

/** A square image: data (size * size * channels), row-major, channels interleaved. */
export interface FloatImage {
  data: Float32Array;
  size: number;
  channels: number;
}

/** cv2's default border (BORDER_REFLECT_101): -1 -> 1, n -> n - 2. */
function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

const TAB = 32; // cv2.remap's sub-pixel steps (INTER_TAB_SIZE): positions are rounded to 1/32 px

/**
 * RGB of an RGBA uint8 image (side `size`) at a continuous point (x, y) in pixels, pixel centres at +0.5, in
 * [0, 1]; bilinear with cv2.remap's 1/32 px positions and its replicated border. Written into out[at..at+2].
 */
export function sampleRgb(rgba: ArrayLike<number>, size: number, x: number, y: number, out: Float32Array,
  at: number): void {
  const [qx, qy] = [Math.round((x - 0.5) * TAB), Math.round((y - 0.5) * TAB)];
  const [fx, fy] = [(qx & (TAB - 1)) / TAB, (qy & (TAB - 1)) / TAB];
  const [x0, y0] = [qx >> 5, qy >> 5];
  const clamp = (v: number) => Math.min(Math.max(v, 0), size - 1);
  const [xa, xb, ya, yb] = [clamp(x0), clamp(x0 + 1), clamp(y0), clamp(y0 + 1)];
  const [w00, w01, w10, w11] = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
  for (let c = 0; c < 3; c++) {
    out[at + c] = (rgba[4 * (ya * size + xa) + c] * w00 + rgba[4 * (ya * size + xb) + c] * w01
      + rgba[4 * (yb * size + xa) + c] * w10 + rgba[4 * (yb * size + xb) + c] * w11) / 255;
  }
}

/** Separable filter of every channel along x then y with `kernel` (odd length, centred), reflect-101 borders. */
function separable(image: FloatImage, kernel: number[]): FloatImage {
  const { size, channels } = image;
  const half = (kernel.length - 1) / 2;
  let source = image.data;
  for (const [dx, dy] of [[1, 0], [0, 1]]) {
    const out = new Float32Array(source.length);
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) {
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let k = -half; k <= half; k++) {
            const [x, y] = [dx ? reflect101(j + k, size) : j, dy ? reflect101(i + k, size) : i];
            sum += kernel[k + half] * source[(y * size + x) * channels + c];
          }
          out[(i * size + j) * channels + c] = sum;
        }
      }
    }
    source = out;
  }
  return { data: source, size, channels };
}

/** cv2.GaussianBlur(image, (0, 0), sigma) of a float image: kernel side round(8 sigma + 1) | 1. */
export function gaussianBlur(image: FloatImage, sigma: number): FloatImage {
  const side = Math.round(sigma * 8 + 1) | 1;
  const weights = Array.from({ length: side }, (_, i) => Math.exp(-((i - (side - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  return separable(image, weights.map((w) => w / total));
}

/** cv2.pyrDown: the 5-tap binomial filter, then every other pixel; side ceil(size / 2). */
export function pyrDown(image: FloatImage): FloatImage {
  const blurred = separable(image, [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]);
  const { size, channels } = image;
  const half = Math.ceil(size / 2);
  const data = new Float32Array(half * half * channels);
  for (let i = 0; i < half; i++) {
    for (let j = 0; j < half; j++) {
      for (let c = 0; c < channels; c++) {
        data[(i * half + j) * channels + c] = blurred.data[(2 * i * size + 2 * j) * channels + c];
      }
    }
  }
  return { data, size: half, channels };
}

/** cv2.resize(..., INTER_LINEAR) to side `size`: pixel centres aligned, edges clamped. */
export function resizeLinear(image: FloatImage, size: number): FloatImage {
  const { size: from, channels } = image;
  const taps = Array.from({ length: size }, (_, d) => {
    const position = Math.max((d + 0.5) * (from / size) - 0.5, 0);
    const low = Math.min(Math.floor(position), from - 1);
    return { low, high: Math.min(low + 1, from - 1), t: low === from - 1 ? 0 : position - low };
  });
  const data = new Float32Array(size * size * channels);
  for (let i = 0; i < size; i++) {
    const y = taps[i];
    for (let j = 0; j < size; j++) {
      const x = taps[j];
      for (let c = 0; c < channels; c++) {
        const at = (row: number, col: number) => image.data[(row * from + col) * channels + c];
        const top = at(y.low, x.low) * (1 - x.t) + at(y.low, x.high) * x.t;
        const bottom = at(y.high, x.low) * (1 - x.t) + at(y.high, x.high) * x.t;
        data[(i * size + j) * channels + c] = top * (1 - y.t) + bottom * y.t;
      }
    }
  }
  return { data, size, channels };
}

/** The 4-neighbours of pixel k of a size x size grid that lie inside it. */
function neighbours(k: number, size: number): number[] {
  const [i, j] = [Math.floor(k / size), k % size];
  const found: number[] = [];
  if (j > 0) found.push(k - 1);
  if (j < size - 1) found.push(k + 1);
  if (i > 0) found.push(k - size);
  if (i < size - 1) found.push(k + size);
  return found;
}

/** scipy.ndimage.binary_dilation(mask, iterations=n): the cross (4-neighbour) element, nothing beyond the edge. */
export function dilate(mask: Uint8Array, size: number, iterations: number): Uint8Array {
  let current = mask;
  for (let n = 0; n < iterations; n++) {
    const next = Uint8Array.from(current);
    for (let k = 0; k < current.length; k++) {
      if (current[k]) for (const m of neighbours(k, size)) next[m] = 1;
    }
    current = next;
  }
  return current;
}

/** scipy.ndimage.label(mask) (4-connected): a component number per pixel, 0 off the mask. */
export function components(mask: Uint8Array, size: number): Int32Array {
  const labels = new Int32Array(mask.length);
  let count = 0;
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    stack.push(start);
    while (stack.length) {
      for (const m of neighbours(stack.pop()!, size)) {
        if (mask[m] && !labels[m]) {
          labels[m] = count;
          stack.push(m);
        }
      }
    }
  }
  return labels;
}

/**
 * Fill an RGBA atlas's empty texels (alpha 0) from their filled neighbours, one ring a pass, so that bilinear
 * and mipmapped look-ups at chart borders do not bleed the background in.
 */
export function fillEmptyTexels(pixels: Uint8Array | Uint8ClampedArray, size: number): void {
  let empty = [] as number[];
  for (let i = 0; i < size * size; i++) if (pixels[4 * i + 3] === 0) empty.push(i);
  while (empty.length) {
    const filled: [number, number][] = [];
    const left: number[] = [];
    for (const i of empty) {
      const neighbour = neighbours(i, size).find((n) => pixels[4 * n + 3] > 0);
      if (neighbour === undefined) left.push(i);
      else filled.push([i, neighbour]);
    }
    if (!filled.length) break;
    for (const [i, n] of filled) pixels.set(pixels.subarray(4 * n, 4 * n + 4), 4 * i);
    empty = left;
  }
}
