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

/** A filter's taps along one axis: the kernel and, per kept output position, the source position of each tap. */
interface Taps {
  kernel: number[];
  source: Int32Array;
  kept: number;
}

/**
 * One 1D filter pass over `lines` lines (pixel strides: line start `lineIn` / `lineOut`, along the line `alongIn` /
 * `alongOut`), channels interleaved.
 */
function filterLines(data: Float32Array, channels: number, taps: Taps, lines: number,
  [lineIn, alongIn]: number[], [lineOut, alongOut]: number[]): Float32Array {
  const { kernel, source, kept } = taps;
  const out = new Float32Array(lines * kept * channels);
  for (let line = 0; line < lines; line++) {
    for (let j = 0; j < kept; j++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < kernel.length; k++) {
          sum += kernel[k] * data[(line * lineIn + source[j * kernel.length + k] * alongIn) * channels + c];
        }
        out[(line * lineOut + j * alongOut) * channels + c] = sum;
      }
    }
  }
  return out;
}

/**
 * Separable filter of every channel along x then y with `kernel` (odd length, centred), reflect-101 borders,
 * kept at every `step`-th pixel of each axis (pixel 0 first): side ceil(size / step).
 */
function separable(image: FloatImage, kernel: number[], step = 1): FloatImage {
  const { size, channels } = image;
  const kept = Math.ceil(size / step);
  const half = (kernel.length - 1) / 2;
  const source = Int32Array.from({ length: kept * kernel.length }, (_, i) =>
    reflect101(Math.floor(i / kernel.length) * step + (i % kernel.length) - half, size));
  const taps = { kernel, source, kept };
  const rows = filterLines(image.data, channels, taps, size, [size, 1], [kept, 1]); // size rows x kept columns
  const data = filterLines(rows, channels, taps, kept, [1, kept], [1, kept]); // along each of the kept columns
  return { data, size: kept, channels };
}

/** cv2.GaussianBlur(image, (0, 0), sigma) of a float image: kernel side round(8 sigma + 1) | 1. */
export function gaussianBlur(image: FloatImage, sigma: number): FloatImage {
  const side = Math.round(sigma * 8 + 1) | 1;
  const weights = Array.from({ length: side }, (_, i) => Math.exp(-((i - (side - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  return separable(image, weights.map((w) => w / total));
}

/** cv2.pyrDown: the 5-tap binomial filter at every other pixel; side ceil(size / 2). */
export function pyrDown(image: FloatImage): FloatImage {
  return separable(image, [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16], 2);
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

/** Calls visit(m) for the 4-neighbours m of pixel k of a size x size grid that lie inside it. */
function forNeighbours(k: number, size: number, visit: (m: number) => void): void {
  const j = k % size;
  if (j > 0) visit(k - 1);
  if (j < size - 1) visit(k + 1);
  if (k >= size) visit(k - size);
  if (k < size * (size - 1)) visit(k + size);
}

/** scipy.ndimage.binary_dilation(mask, iterations=n): the cross (4-neighbour) element, nothing beyond the edge. */
export function dilate(mask: Uint8Array, size: number, iterations: number): Uint8Array {
  let current = mask;
  for (let n = 0; n < iterations; n++) {
    const next = Uint8Array.from(current);
    for (let k = 0; k < current.length; k++) if (current[k]) forNeighbours(k, size, (m) => (next[m] = 1));
    current = next;
  }
  return current;
}

/** scipy.ndimage.label(mask) (4-connected): a component number per pixel, 0 off the mask. */
export function components(mask: Uint8Array, size: number): Int32Array {
  const labels = new Int32Array(mask.length);
  let count = 0;
  const stack: number[] = [];
  const visit = (m: number) => {
    if (mask[m] && !labels[m]) {
      labels[m] = count;
      stack.push(m);
    }
  };
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || labels[start]) continue;
    labels[start] = ++count;
    stack.push(start);
    while (stack.length) forNeighbours(stack.pop()!, size, visit);
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
      let neighbour: number | undefined;
      forNeighbours(i, size, (n) => (neighbour ??= pixels[4 * n + 3] > 0 ? n : undefined));
      if (neighbour === undefined) left.push(i);
      else filled.push([i, neighbour]);
    }
    if (!filled.length) break;
    for (const [i, n] of filled) pixels.set(pixels.subarray(4 * n, 4 * n + 4), 4 * i);
    empty = left;
  }
}
