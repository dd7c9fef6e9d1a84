// The image operations inversefacenet/photo_texture.py takes from OpenCV and SciPy, as they define them, on
// square float images: bilinear look-ups (cv2.remap), Gaussian blur, pyramid down, bilinear resize, binary
// dilation (scipy.ndimage), a flood fill of 4-connected patches, and the gutter fill of texture atlases.

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
  // scalars only (no array literals): this runs per texel
  const qx = Math.round((x - 0.5) * TAB);
  const qy = Math.round((y - 0.5) * TAB);
  const fx = (qx & (TAB - 1)) / TAB;
  const fy = (qy & (TAB - 1)) / TAB;
  const x0 = qx >> 5;
  const y0 = qy >> 5;
  const xa = Math.min(Math.max(x0, 0), size - 1);
  const xb = Math.min(Math.max(x0 + 1, 0), size - 1);
  const ya = Math.min(Math.max(y0, 0), size - 1);
  const yb = Math.min(Math.max(y0 + 1, 0), size - 1);
  const w00 = (1 - fy) * (1 - fx);
  const w01 = (1 - fy) * fx;
  const w10 = fy * (1 - fx);
  const w11 = fy * fx;
  for (let c = 0; c < 3; c++) {
    out[at + c] = (rgba[4 * (ya * size + xa) + c] * w00 + rgba[4 * (ya * size + xb) + c] * w01
      + rgba[4 * (yb * size + xa) + c] * w10 + rgba[4 * (yb * size + xb) + c] * w11) / 255;
  }
}

/** A filter's taps along one axis: the kernel, and per kept output position the source position of each tap. */
interface Taps {
  kernel: Float64Array;
  source: Int32Array;
  kept: number;
  step: number;
}

/** `kernel` (odd length, centred) at every `step`-th of `size` positions (0 first), reflect-101 at the borders. */
function taps(kernel: number[], size: number, step: number): Taps {
  const [width, kept] = [kernel.length, Math.ceil(size / step)];
  const half = (width - 1) / 2;
  const source = Int32Array.from({ length: kept * width }, (_, i) =>
    reflect101(Math.floor(i / width) * step + (i % width) - half, size));
  return { kernel: Float64Array.from(kernel), source, kept, step };
}

/** sum_k kernel[k] * data[at + k * stride], summed from 0 in k's order; pyrDown's 5 and the 512 px feathering's 9
 * taps written out. */
function tapSum(kernel: Float64Array, data: Float32Array, at: number, stride: number): number {
  if (kernel.length === 5) {
    return 0 + kernel[0] * data[at] + kernel[1] * data[at + stride] + kernel[2] * data[at + 2 * stride]
      + kernel[3] * data[at + 3 * stride] + kernel[4] * data[at + 4 * stride];
  }
  if (kernel.length === 9) {
    return 0 + kernel[0] * data[at] + kernel[1] * data[at + stride] + kernel[2] * data[at + 2 * stride]
      + kernel[3] * data[at + 3 * stride] + kernel[4] * data[at + 4 * stride] + kernel[5] * data[at + 5 * stride]
      + kernel[6] * data[at + 6 * stride] + kernel[7] * data[at + 7 * stride] + kernel[8] * data[at + 8 * stride];
  }
  let sum = 0;
  for (let k = 0; k < kernel.length; k++) sum += kernel[k] * data[at + k * stride];
  return sum;
}

/**
 * The filter along x of the rows of a size x size image (channels interleaved) where `rows` is 1: size rows x kept
 * columns, and per row the span of output columns that can be other than 0 (first, last; last < first: none).
 * Outputs whose taps read only zeros are 0 without reading them: the pyramid and the feathering filter images that
 * are 0 away from the face.
 */
function filterRows(image: FloatImage, { kernel, source, kept, step }: Taps, rows: Uint8Array) {
  const { data, size, channels } = image;
  const width = kernel.length;
  const half = (width - 1) / 2;
  const offset = source.map((s) => s * channels);
  // output columns whose taps all lie inside the row read them directly, the others through the reflected table
  const inner = Math.ceil(half / step);
  const outer = Math.min(Math.floor((size - 1 - half) / step), kept - 1);
  const out = new Float32Array(size * kept * channels);
  const [first, last] = [new Int32Array(size), new Int32Array(size).fill(-1)];
  for (let line = 0; line < size; line++) {
    if (!rows[line]) continue;
    const from = line * size * channels;
    let [low, high] = [from, from + size * channels - 1]; // the row's non-zero values
    while (low <= high && data[low] === 0) low++;
    while (high >= low && data[high] === 0) high--;
    if (low > high) continue;
    // taps of output j read positions j * step - half .. j * step + half (reflected ones too lie there, clamped)
    const [lowPixel, highPixel] = [Math.floor((low - from) / channels), Math.floor((high - from) / channels)];
    first[line] = Math.max(Math.ceil((lowPixel - half) / step), 0);
    last[line] = Math.min(Math.floor((highPixel + half) / step), kept - 1);
    const to = line * kept * channels;
    for (let j = first[line]; j <= last[line]; j++) {
      const direct = j >= inner && j <= outer;
      const start = from + (j * step - half) * channels;
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        if (direct) sum = tapSum(kernel, data, start + c, channels);
        else for (let k = 0; k < width; k++) sum += kernel[k] * data[from + offset[j * width + k] + c];
        out[to + j * channels + c] = sum;
      }
    }
  }
  return { out, first, last };
}

/**
 * Separable filter of every channel along x then y with `kernel` (odd length, centred), reflect-101 borders,
 * kept at every `step`-th pixel of each axis (pixel 0 first): side ceil(size / step).
 */
function separable(image: FloatImage, kernel: number[], step = 1): FloatImage {
  const along = taps(kernel, image.size, step);
  const { out: rows, first, last } = filterRows(image, along, new Uint8Array(image.size).fill(1));
  const { kernel: k, source, kept } = along;
  const { channels } = image;
  const line = kept * channels; // one row of the result
  const [data, sums] = [new Float32Array(kept * line), new Float64Array(line)];
  for (let i = 0; i < kept; i++) { // each tap's row at once: the same sums, in the same order, as tap by tap
    sums.fill(0);
    let any = false;
    for (let t = 0; t < k.length; t++) {
      const row = source[i * k.length + t];
      if (last[row] < first[row]) continue; // zeros: they add nothing
      any = true;
      const [w, from] = [k[t], row * line];
      for (let e = first[row] * channels; e < (last[row] + 1) * channels; e++) sums[e] += w * rows[from + e];
    }
    if (any) data.set(sums, i * line);
  }
  return { data, size: kept, channels };
}

/** cv2.getGaussianKernel(round(8 sigma + 1) | 1, sigma): the kernel of cv2.GaussianBlur(image, (0, 0), sigma). */
function gaussianKernel(sigma: number): number[] {
  const side = Math.round(sigma * 8 + 1) | 1;
  const weights = Array.from({ length: side }, (_, i) => Math.exp(-((i - (side - 1) / 2) ** 2) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

/** cv2.GaussianBlur(image, (0, 0), sigma) of a float image. */
export function gaussianBlur(image: FloatImage, sigma: number): FloatImage {
  return separable(image, gaussianKernel(sigma));
}

/**
 * np.minimum(weight, cv2.GaussianBlur(weight, (0, 0), sigma)) of a size x size weight >= 0: hard edges feathered.
 * The blur is only evaluated where the weight is above 0 (elsewhere the minimum is 0).
 */
export function featheredMin(weight: Float32Array, size: number, sigma: number): Float32Array {
  const along = taps(gaussianKernel(sigma), size, 1);
  const { kernel, source } = along;
  const width = kernel.length;
  const needed = new Uint8Array(size); // the rows the blur reads where the weight is above 0
  for (let i = 0; i < size; i++) {
    let any = false;
    for (let j = 0; j < size && !any; j++) any = weight[i * size + j] > 0;
    if (any) for (let t = 0; t < width; t++) needed[source[i * width + t]] = 1;
  }
  const rows = filterRows({ data: weight, size, channels: 1 }, along, needed).out;
  const out = new Float32Array(size * size);
  for (let p = 0; p < out.length; p++) {
    if (!(weight[p] > 0)) continue;
    const i = Math.floor(p / size);
    const j = p % size;
    let sum = 0;
    for (let t = 0; t < width; t++) sum += kernel[t] * rows[source[i * width + t] * size + j];
    out[p] = Math.min(weight[p], Math.fround(sum));
  }
  return out;
}

/** cv2.pyrDown: the 5-tap binomial filter at every other pixel; side ceil(size / 2). */
export function pyrDown(image: FloatImage): FloatImage {
  return separable(image, [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16], 2);
}

/** Per output position of a linear resize from side `from` to `size` (cv2's INTER_LINEAR): the two source
 * positions and the weight of the second (pixel centres aligned, edges clamped). */
export function linearTaps(from: number, size: number): { low: Int32Array; high: Int32Array; t: Float64Array } {
  const [low, high, t] = [new Int32Array(size), new Int32Array(size), new Float64Array(size)];
  for (let d = 0; d < size; d++) {
    const position = Math.max((d + 0.5) * (from / size) - 0.5, 0);
    low[d] = Math.min(Math.floor(position), from - 1);
    high[d] = Math.min(low[d] + 1, from - 1);
    t[d] = low[d] === from - 1 ? 0 : position - low[d];
  }
  return { low, high, t };
}

/** cv2.resize(..., INTER_LINEAR) to side `size`: pixel centres aligned, edges clamped. */
export function resizeLinear(image: FloatImage, size: number): FloatImage {
  const { size: from, channels, data: source } = image;
  const { low, high, t } = linearTaps(from, size);
  const data = new Float32Array(size * size * channels);
  for (let i = 0; i < size; i++) {
    const ty = t[i];
    for (let j = 0; j < size; j++) {
      const tx = t[j];
      const a = (low[i] * from + low[j]) * channels;
      const b = (low[i] * from + high[j]) * channels;
      const c = (high[i] * from + low[j]) * channels;
      const d = (high[i] * from + high[j]) * channels;
      for (let k = 0; k < channels; k++) {
        const top = source[a + k] * (1 - tx) + source[b + k] * tx;
        const bottom = source[c + k] * (1 - tx) + source[d + k] * tx;
        data[(i * size + j) * channels + k] = top * (1 - ty) + bottom * ty;
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
    for (let k = 0; k < current.length; k++) {
      if (!current[k]) continue;
      const j = k % size;
      if (j > 0) next[k - 1] = 1;
      if (j < size - 1) next[k + 1] = 1;
      if (k >= size) next[k - size] = 1;
      if (k < size * (size - 1)) next[k + size] = 1;
    }
    current = next;
  }
  return current;
}

/**
 * Marks 2 in `mask` (1 on the patches, 0 off) every pixel of the 4-connected patches that hold one of `seeds`
 * (pixel indices; those off the mask are ignored): what scipy.ndimage.label's components containing them cover.
 */
export function flood(mask: Uint8Array, size: number, seeds: ArrayLike<number>): void {
  const stack = new Int32Array(mask.length);
  let top = 0;
  const visit = (m: number) => {
    if (mask[m] === 1) {
      mask[m] = 2;
      stack[top++] = m;
    }
  };
  for (let s = 0; s < seeds.length; s++) {
    visit(seeds[s]);
    while (top) {
      const k = stack[--top];
      const j = k % size;
      if (j > 0) visit(k - 1);
      if (j < size - 1) visit(k + 1);
      if (k >= size) visit(k - size);
      if (k < size * (size - 1)) visit(k + size);
    }
  }
}

/**
 * For each pixel of a size x size atlas, the covered pixel whose colour it takes (itself where covered, -1 where
 * none reaches it): empty pixels take a filled 4-neighbour's (left, right, up, down: the first), one ring a pass,
 * so that bilinear and mipmapped look-ups at chart borders do not bleed the background in.
 */
export function gutterSources(covered: Uint8Array, size: number): Int32Array {
  const source = new Int32Array(size * size).fill(-1);
  let empty: number[] = [];
  for (let i = 0; i < size * size; i++) {
    if (covered[i]) source[i] = i;
    else empty.push(i);
  }
  while (empty.length) {
    const filled: number[] = []; // pairs: empty pixel, the neighbour it takes from (as filled before this ring)
    const left: number[] = [];
    for (const i of empty) {
      let neighbour = -1;
      forNeighbours(i, size, (n) => neighbour < 0 && source[n] >= 0 && (neighbour = n));
      if (neighbour < 0) left.push(i);
      else filled.push(i, neighbour);
    }
    if (!filled.length) break;
    for (let k = 0; k < filled.length; k += 2) source[filled[k]] = source[filled[k + 1]];
    empty = left;
  }
  return source;
}

/** Fill an RGBA atlas's empty texels (alpha 0) from their filled neighbours, as gutterSources() says. */
export function fillEmptyTexels(pixels: Uint8Array | Uint8ClampedArray, size: number): void {
  const covered = new Uint8Array(size * size);
  for (let i = 0; i < covered.length; i++) covered[i] = Number(pixels[4 * i + 3] > 0);
  const source = gutterSources(covered, size);
  for (let i = 0; i < source.length; i++) {
    if (source[i] >= 0 && source[i] !== i) pixels.copyWithin(4 * i, 4 * source[i], 4 * source[i] + 4);
  }
}
