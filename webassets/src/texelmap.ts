// The UV atlas's covered texels at one texture size as fixed blends of model vertices, with the zones the
// photo texture treats apart (skin, mirror images, cheeks, nose bridge, outer band): TexelMap of
// inversefacenet/photo_texture.py, built once per size (the same raster, so the same texels).
import { gutterSources } from "./imageops";
import { rasterize } from "./raster";

/** A texel's mirror image must lie this close (mm) to another texel of the mean face. */
const MIRROR_TOLERANCE_MM = 2;
/** MediaPipe points at the cheeks' centres (plain skin: the face's reference colour), and on the nose bridge. */
const CHEEKS = [205, 425];
const BRIDGE = [168, 6];
const [CHEEK_RADIUS_MM, BRIDGE_RADIUS_MM] = [15, 7];
/** The outer band on the mean face (mm): above the brows (y >), the sides (|x| >), the jaw (y <). */
const OUTER_MM = [55, 50, -62];

/** What the texel map needs of the face model; FaceModel has it. Atlas as in facemodel.ts. */
export interface AtlasFaceModel {
  nVertices: number;
  /** (V * 3) mm, head frame */
  mean: Float32Array;
  /** (T * 3) model triangles, counter-clockwise seen from outside */
  triangles: Uint32Array;
  /** 478 MediaPipe points -> model vertex */
  landmarks: Uint32Array;
  atlas: { vertex: Uint32Array; weight: Float32Array; uv: Float32Array; triangles: Uint32Array;
    island: Uint8Array };
}

/** Model vertices and their weights per texel: 3 atlas corners x 2 blended model vertices, before the zero weights
 * (half of them: an atlas vertex is mostly one model vertex) are left out. */
const BLEND = 6;

export interface TexelMap {
  size: number;
  /** (N) row * size + column of each covered texel, row-major */
  pixel: Int32Array;
  /** The texels' blends, row-compressed: texel n's model vertices and weights are vertex[k], weight[k] for k from
   * start[n] to start[n + 1] (exclusive), and texel value = sum_k weight[k] * per-vertex value[vertex[k]] */
  start: Int32Array;
  vertex: Int32Array;
  weight: Float32Array;
  /** (N) 1 on the skin island (not eyes, not mouth interior) */
  skin: Uint8Array;
  /** (N) the skin texel at the mirror image x -> -x of the mean face, -1 where none is close */
  mirror: Int32Array;
  /** (N) mm, y of the texel on the mean face */
  height: Float32Array;
  /** (N) 1 on skin near the cheeks' centres, the nose bridge, in the outer band */
  cheeks: Uint8Array;
  bridge: Uint8Array;
  outer: Uint8Array;
  /** (V) total texel weight of each vertex, and the vertex whose texels give its value (off the atlas: the nearest
   * vertex on it), so that per-vertex value = its texels' weighted mean: an area average, no aliasing */
  vertexTotal: Float64Array;
  vertexSource: Int32Array;
  /** (size * size) the covered texel whose colour each texel of the texture takes: itself where covered, the one
   * fillEmptyTexels() would copy in the gutters, -1 where none */
  gutter: Int32Array;
}

/** The texels and their blend weights: what blend() reads. */
type Blends = Pick<TexelMap, "pixel" | "start" | "vertex" | "weight">;

/** Per-texel values (N * channels) of per-vertex values (V * channels) by the texels' blend weights. */
export function blend(texels: Blends, values: Float32Array, channels: number): Float32Array {
  const { start, vertex, weight } = texels;
  const out = new Float32Array(texels.pixel.length * channels);
  for (let n = 0; n < texels.pixel.length; n++) {
    for (let k = start[n]; k < start[n + 1]; k++) {
      const w = weight[k];
      const v = vertex[k] * channels;
      for (let c = 0; c < channels; c++) out[n * channels + c] += w * values[v + c];
    }
  }
  return out;
}

/** Per-vertex values (V * channels): each vertex's mean over the texels it shades, by their weights. */
export function toVertices(texels: TexelMap, values: Float32Array, channels: number): Float32Array {
  const { start, vertex, weight, vertexTotal, vertexSource } = texels;
  const sums = new Float64Array(vertexTotal.length * channels);
  for (let n = 0; n < texels.pixel.length; n++) {
    const from = n * channels;
    for (let k = start[n]; k < start[n + 1]; k++) {
      const w = weight[k];
      const v = vertex[k] * channels;
      for (let c = 0; c < channels; c++) sums[v + c] += w * values[from + c];
    }
  }
  const out = new Float32Array(sums.length);
  for (let v = 0; v < vertexSource.length; v++) {
    const [source, total] = [vertexSource[v] * channels, vertexTotal[vertexSource[v]]];
    for (let c = 0; c < channels; c++) out[v * channels + c] = sums[source + c] / total;
  }
  return out;
}

/** The atlas rasterized in uv at `size` px (row 0 is v = 1): fragments and the triangles as rasterized. */
function uvFragments(atlas: AtlasFaceModel["atlas"], size: number) {
  const f = Math.fround;
  const pixels = new Float32Array(atlas.uv.length);
  for (let i = 0; i < pixels.length; i += 2) {
    pixels[i] = f(atlas.uv[i] * size);
    pixels[i + 1] = f(f(1 - atlas.uv[i + 1]) * size);
  }
  // the rasterizer keeps clockwise triangles in image space (y down); flip the others
  const oriented = Uint32Array.from(atlas.triangles);
  for (let t = 0; t < oriented.length; t += 3) {
    const [a, b, c] = [oriented[t], oriented[t + 1], oriented[t + 2]];
    const area = f(f(f(pixels[2 * b] - pixels[2 * a]) * f(pixels[2 * c + 1] - pixels[2 * a + 1]))
      - f(f(pixels[2 * b + 1] - pixels[2 * a + 1]) * f(pixels[2 * c] - pixels[2 * a])));
    if (area > 0) [oriented[t + 1], oriented[t + 2]] = [c, b];
  }
  return { fragments: rasterize(pixels, new Float32Array(pixels.length / 2), oriented, size), oriented };
}

/** Build the texel map of `model`'s atlas at `size` px (about a second at 512 px; build once, share). */
export function buildTexelMap(model: AtlasFaceModel, size: number): TexelMap {
  const { atlas } = model;
  const { fragments, oriented } = uvFragments(atlas, size);
  const pixel = Int32Array.from(fragments.triangle.keys()).filter((k) => fragments.triangle[k] >= 0);
  const count = pixel.length;
  const [vertex, weight] = [new Uint32Array(count * BLEND), new Float32Array(count * BLEND)];
  const skin = new Uint8Array(count);
  pixel.forEach((p, n) => {
    const t = fragments.triangle[p];
    skin[n] = atlas.island[t] === 0 ? 1 : 0;
    for (let corner = 0; corner < 3; corner++) {
      const [a, w] = [oriented[3 * t + corner], fragments.barycentric[3 * p + corner]];
      const k = n * BLEND + 2 * corner;
      [vertex[k], vertex[k + 1]] = [atlas.vertex[2 * a], atlas.vertex[2 * a + 1]];
      weight[k] = Math.fround(w * Math.fround(1 - atlas.weight[a]));
      weight[k + 1] = Math.fround(w * atlas.weight[a]);
    }
  });
  const blends = { pixel, ...compressed(vertex, weight, count) };
  const points = blend(blends, model.mean, 3); // (N * 3) mm on the mean face
  const covered = new Uint8Array(size * size);
  pixel.forEach((p) => (covered[p] = 1));
  return { size, ...blends, skin, mirror: mirror(points, skin), ...zones(model, points, skin),
    ...vertexSources(model, blends), gutter: gutterSources(covered, size) };
}

/** height, cheeks, bridge, outer of the TexelMap from the texels' points on the mean face. */
function zones(model: AtlasFaceModel, points: Float32Array, skin: Uint8Array) {
  const count = skin.length;
  const landmark = (id: number) => Array.from(model.mean.subarray(3 * model.landmarks[id]).subarray(0, 3));
  const near = (ids: number[], radius: number) => {
    const centres = ids.map(landmark);
    return Uint8Array.from({ length: count }, (_, n) => Number(skin[n] === 1 && centres.some(
      (c) => Math.hypot(points[3 * n] - c[0], points[3 * n + 1] - c[1], points[3 * n + 2] - c[2]) < radius)));
  };
  const outer = Uint8Array.from({ length: count }, (_, n) => Number(skin[n] === 1 && (points[3 * n + 1] > OUTER_MM[0]
    || Math.abs(points[3 * n]) > OUTER_MM[1] || points[3 * n + 1] < OUTER_MM[2])));
  const height = Float32Array.from({ length: count }, (_, n) => points[3 * n + 1]);
  return { height, cheeks: near(CHEEKS, CHEEK_RADIUS_MM), bridge: near(BRIDGE, BRIDGE_RADIUS_MM), outer };
}

/** Index of the skin texel at each skin texel's mirror image (x -> -x), -1 where none lies within tolerance. */
function mirror(points: Float32Array, skin: Uint8Array): Int32Array {
  const side = 0.5; // mm, grid cells: a texel at 512 px is about 0.4 mm, so a match is usually one cell away
  const index = (c: number) => Math.floor(c / side) + 512; // a face spans far fewer than 1024 cells (512 mm)
  const key = (i: number, j: number, k: number) => i + 1024 * (j + 1024 * k); // < 2^30: a small-integer key
  const grid = new Map<number, number[]>();
  skin.forEach((s, n) => {
    if (!s) return;
    const cell = key(index(points[3 * n]), index(points[3 * n + 1]), index(points[3 * n + 2]));
    if (!grid.has(cell)) grid.set(cell, []);
    grid.get(cell)!.push(n);
  });
  const found = new Int32Array(skin.length).fill(-1);
  skin.forEach((s, n) => {
    if (!s) return;
    const [x, y, z] = [-points[3 * n], points[3 * n + 1], points[3 * n + 2]];
    const [i, j, k] = [index(x), index(y), index(z)];
    let best = MIRROR_TOLERANCE_MM ** 2; // squared distances
    // cubes of r cells around the query hold every point within r * side: widen until the best is that close
    for (let r = 1; r <= Math.ceil(MIRROR_TOLERANCE_MM / side) && best > ((r - 1) * side) ** 2; r++) {
      for (let a = i - r; a <= i + r; a++) for (let b = j - r; b <= j + r; b++) for (let c = k - r; c <= k + r; c++) {
        for (const m of grid.get(key(a, b, c)) ?? []) {
          const distance = (points[3 * m] - x) ** 2 + (points[3 * m + 1] - y) ** 2 + (points[3 * m + 2] - z) ** 2;
          if (distance < best) [best, found[n]] = [distance, m];
        }
      }
    }
  });
  return found;
}

/** start, vertex, weight of the TexelMap: the blends (count * BLEND) without their zero weights. */
function compressed(all: Uint32Array, allWeights: Float32Array, count: number) {
  let kept = 0;
  allWeights.forEach((w) => (kept += Number(w !== 0)));
  const [start, vertex, weight] = [new Int32Array(count + 1), new Int32Array(kept), new Float32Array(kept)];
  let k = 0;
  for (let n = 0; n < count; n++) {
    start[n] = k;
    for (let j = n * BLEND; j < (n + 1) * BLEND; j++) {
      if (allWeights[j] === 0) continue; // adds nothing
      [vertex[k], weight[k]] = [all[j], allWeights[j]];
      k++;
    }
  }
  start[count] = k;
  return { start, vertex, weight };
}

/** vertexTotal and vertexSource of the TexelMap: vertices no texel covers take their nearest covered vertex's. */
function vertexSources(model: AtlasFaceModel, texels: Blends) {
  const vertexTotal = new Float64Array(model.nVertices);
  texels.vertex.forEach((v, k) => (vertexTotal[v] += texels.weight[k]));
  const covered = Array.from(vertexTotal.keys()).filter((v) => vertexTotal[v] > 0);
  const p = model.mean;
  const vertexSource = Int32Array.from(vertexTotal.keys(), (v) => {
    if (vertexTotal[v] > 0) return v;
    let [best, nearest] = [Infinity, v];
    for (const u of covered) {
      const d = (p[3 * u] - p[3 * v]) ** 2 + (p[3 * u + 1] - p[3 * v + 1]) ** 2 + (p[3 * u + 2] - p[3 * v + 2]) ** 2;
      if (d < best) [best, nearest] = [d, u];
    }
    return nearest;
  });
  return { vertexTotal, vertexSource };
}
