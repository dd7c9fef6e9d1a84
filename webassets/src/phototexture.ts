// The de-lit photo texture (inversefacenet/photo_texture.py, same rule, same constants): each skin texel of
// the UV atlas that the fitted face shows in the photo takes photo colour / SH irradiance of the fitted light
// (the model albedo's convention: photo / 255, in [0, 1]), weighted by visibility (z-buffer), view angle, the
// face mask, the light there (deep shade gives way to the mirrored side), an outlier test against the model
// albedo (highlights, cast shadows) and a skin test (patches unlike the cheeks' skin that reach the hairline, the
// hidden outer band or the nose bridge: hair, collars, glasses); weak texels take the mirrored texel where that
// one is seen, else the model albedo shifted by a push-pull fill of the photo-minus-model difference, so the two
// meet without seams. Eyes and mouth interior keep the model albedo. Golden data from Python checks it (scripts/parity.ts).
import { type Camera, toCamera, toCropPixels } from "./camera";
import { vertexNormals } from "./facemodel";
import { dilate, featheredMin, flood, type FloatImage, linearTaps, pyrDown, resizeLinear, sampleRgb } from "./imageops";
import { type Crop, cropImage, faceMask, type FaceMaskRule, MESH_POINTS, toCrop } from "./preprocess";
import { type Fragments, rasterize } from "./raster";
import { shIrradiance } from "./sh";
import { type AtlasFaceModel, type TexelMap, toVertices } from "./texelmap";

/** Default atlas side (px), as Python's: a face in a photo rarely has more detail. */
export const TEXTURE_SIZE = 512;
const DEPTH_TOLERANCE_MM = 3; // a texel is seen when no further than this behind the z-buffer
const GRAZING_COS = [0.2, 0.5]; // view-angle weight: 0 below the first cos(normal, view), 1 above the second
const LUMINANCE_BAND = [0.12, 0.22, 1.5, 1.9]; // photo / model luminance: 1 inside the inner pair, 0 outside
const CHROMA_BAND = [0.12, 0.22]; // L1 distance of the chromaticities: 1 below, 0 above
const SHINE_BAND = [0.08, 0.16]; // least per-channel excess of photo over model (a highlight lifts all three)
const OCCLUDER_DEVIATION = Math.fround(0.35); // log photo / model against the cheeks': darker or off in hue
const HAIRLINE_MM = 62; // mean face height 10 mm above the brows' top
const SHADED = [0.25, 0.5]; // irradiance luminance over the SH's first coefficient's: 0 below, 1 above (deep shade)
const SATURATED = Math.fround(250 / 255); // clipped highlights: not used
const MIN_IRRADIANCE = Math.fround(0.05);
const ZBUFFER_SIZE = 192; // side (px) of the visibility render
const [LUMA_R, LUMA_G, LUMA_B] = [0.299, 0.587, 0.114];
const VALUES = 10; // per vertex: x, y (z-buffer px), depth (mm), cos(normal, view), irradiance RGB, model albedo RGB
const f = Math.fround;

/** The face as the network (or a fit) recovered it. */
export interface FittedFace {
  /** (V * 3) mm, head frame */
  vertices: Float32Array;
  /** (V * 3) the model albedo in [0, 1] */
  albedo: Float32Array;
  /** row-major 3 x 3 Rot_xyz */
  rotation: number[];
  /** 9 x RGB */
  sh: number[][];
}

/** The photo cut by the render's framing (`size` px square, RGBA) and where it shows face skin (size * size). */
export interface FaceCrop {
  rgba: ArrayLike<number>;
  mask: Uint8Array;
  size: number;
}

export interface PhotoTexture {
  /** (S * S * 4) RGBA uint8 atlas (row 0 is v = 1), gutters filled: the OBJ/GLB texture */
  texture: Uint8ClampedArray<ArrayBuffer>;
  /** (V * 3) per model vertex in [0, 1]: the 3D view and the PLY */
  vertexAlbedo: Float32Array;
  /** (S * S) in [0, 1]: how much of each texel comes from the photo (directly or mirrored) */
  seen: Float32Array;
  size: number;
  /** time taken (ms) */
  ms: number;
}

/**
 * What the texels see: de-lit photo colour (N * 3, 0 where not seen), its weight (N, 0 off the skin), the model
 * albedo (N * 3), whether the photo shows them (N) and their log photo / model albedo (N * 3, where seen).
 */
interface Observation {
  albedo: Float32Array;
  weight: Float32Array;
  model: Float32Array;
  seen: Uint8Array;
  ratio: Float32Array;
}

const ramp = (x: number, low: number, high: number) => Math.min(Math.max((x - low) / (high - low), 0), 1);

/**
 * Per vertex, channels [x, y (z-buffer pixels), depth (mm), cos(normal, view), irradiance RGB, model albedo RGB],
 * and the z-buffer of the face at `size` px.
 */
function shadeVertices(face: FittedFace, model: AtlasFaceModel, size: number, camera: Camera) {
  const inCamera = toCamera(face.vertices, face.rotation, camera);
  const pixels = toCropPixels(inCamera, model.landmarks.subarray(0, MESH_POINTS), size, camera);
  const depth = new Float32Array(model.nVertices);
  for (let v = 0; v < model.nVertices; v++) depth[v] = -inCamera[3 * v + 2];
  const fragments = rasterize(pixels, depth, model.triangles, size);
  const normals = vertexNormals(inCamera, model.triangles);
  const values = new Float32Array(model.nVertices * VALUES);
  for (let v = 0; v < model.nVertices; v++) {
    const i = 3 * v;
    const at = VALUES * v;
    const nx = normals[i];
    const ny = normals[i + 1];
    const nz = normals[i + 2];
    const px = inCamera[i];
    const py = inCamera[i + 1];
    const pz = inCamera[i + 2];
    values[at] = pixels[2 * v];
    values[at + 1] = pixels[2 * v + 1];
    values[at + 2] = depth[v];
    values[at + 3] = -(nx * px + ny * py + nz * pz) / Math.hypot(px, py, pz);
    shIrradiance(nx, ny, nz, face.sh, values, at + 4);
    for (let c = 0; c < 3; c++) values[at + 7 + c] = face.albedo[i + c];
  }
  return { values, pixels, fragments };
}

/**
 * 0 where the de-lit colour albedo[at..at+2] is too far from the model's model[at..at+2] to be skin: too dark, too
 * bright, another hue, shiny.
 */
function outlierWeight(albedo: Float32Array, model: Float32Array, at: number): number {
  const a0 = albedo[at];
  const a1 = albedo[at + 1];
  const a2 = albedo[at + 2];
  const m0 = model[at];
  const m1 = model[at + 1];
  const m2 = model[at + 2];
  const ratio = (LUMA_R * a0 + LUMA_G * a1 + LUMA_B * a2) / Math.max(LUMA_R * m0 + LUMA_G * m1 + LUMA_B * m2, 1e-3);
  const brightness = Math.min(ramp(ratio, LUMINANCE_BAND[0], LUMINANCE_BAND[1]),
    1 - ramp(ratio, LUMINANCE_BAND[2], LUMINANCE_BAND[3]));
  const sumA = Math.max(a0 + a1 + a2, 1e-3);
  const sumM = Math.max(m0 + m1 + m2, 1e-3);
  const chroma = Math.abs(a0 / sumA - m0 / sumM) + Math.abs(a1 / sumA - m1 / sumM) + Math.abs(a2 / sumA - m2 / sumM);
  const shine = Math.min(a0 - m0, a1 - m1, a2 - m2);
  return brightness * (1 - ramp(chroma, CHROMA_BAND[0], CHROMA_BAND[1]))
    * (1 - ramp(shine, SHINE_BAND[0], SHINE_BAND[1]));
}

/**
 * De-light the texels: photo colour / irradiance where the z-buffer, the mask and the tests let the photo speak.
 * One pass over the texels, blending the per-vertex values a texel needs as far as it gets (float32 sums, as
 * blend() of texelmap.ts); texels the photo does not show keep albedo and weight 0.
 */
function observe(face: FittedFace, crop: FaceCrop, texels: TexelMap, model: AtlasFaceModel,
  camera: Camera): Observation {
  const zsize = Math.min(crop.size, ZBUFFER_SIZE);
  const { values, fragments: { depth: zbuffer } } = shadeVertices(face, model, zsize, camera);
  const { pixel, start, vertex, weight: blendWeight, skin } = texels;
  const count = pixel.length;
  const [albedo, modelAlbedo, ratio] = [new Float32Array(count * 3), new Float32Array(count * 3),
    new Float32Array(count * 3)];
  const [weight, seen] = [new Float32Array(count), new Uint8Array(count)];
  const colour = new Float32Array(3);
  const meanLight = f(Math.max(LUMA_R * face.sh[0][0] + LUMA_G * face.sh[0][1] + LUMA_B * face.sh[0][2], 1e-3));
  const zbufferToCrop = f(crop.size / zsize); // z-buffer pixels -> crop pixels
  const last = crop.size - 1;
  for (let n = 0; n < count; n++) {
    const first = start[n];
    const end = start[n + 1];
    let x = 0;
    let y = 0;
    let depth = 0;
    let m0 = 0;
    let m1 = 0;
    let m2 = 0; // no array literals in this loop: they would be allocated per texel
    for (let k = first; k < end; k++) {
      const w = blendWeight[k];
      const v = VALUES * vertex[k];
      x = f(x + w * values[v]);
      y = f(y + w * values[v + 1]);
      depth = f(depth + w * values[v + 2]);
      m0 = f(m0 + w * values[v + 7]);
      m1 = f(m1 + w * values[v + 8]);
      m2 = f(m2 + w * values[v + 9]);
    }
    const at = 3 * n;
    modelAlbedo[at] = m0;
    modelAlbedo[at + 1] = m1;
    modelAlbedo[at + 2] = m2;
    if (skin[n] !== 1 || !(x >= 0 && y >= 0 && x < zsize && y < zsize)) continue;
    if (!(depth <= f(zbuffer[Math.trunc(y) * zsize + Math.trunc(x)] + DEPTH_TOLERANCE_MM))) continue;
    let cosView = 0;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let k = first; k < end; k++) {
      const w = blendWeight[k];
      const v = VALUES * vertex[k];
      cosView = f(cosView + w * values[v + 3]);
      r = f(r + w * values[v + 4]);
      g = f(g + w * values[v + 5]);
      b = f(b + w * values[v + 6]);
    }
    if (!(Math.min(r, g, b) > MIN_IRRADIANCE)) continue;
    const cx = f(x * zbufferToCrop);
    const cy = f(y * zbufferToCrop);
    if (crop.mask[Math.trunc(Math.min(cy, last)) * crop.size + Math.trunc(Math.min(cx, last))] !== 1) continue;
    sampleRgb(crop.rgba, crop.size, cx, cy, colour, 0);
    if (!(Math.max(colour[0], colour[1], colour[2]) < SATURATED)) continue;
    seen[n] = 1;
    albedo[at] = Math.min(Math.max(colour[0] / Math.max(r, 0.05), 0), 1);
    albedo[at + 1] = Math.min(Math.max(colour[1] / Math.max(g, 0.05), 0), 1);
    albedo[at + 2] = Math.min(Math.max(colour[2] / Math.max(b, 0.05), 0), 1);
    for (let c = at; c < at + 3; c++) ratio[c] = Math.log(Math.max(albedo[c], 1e-3) / Math.max(modelAlbedo[c], 1e-3));
    const lit = (LUMA_R * r + LUMA_G * g + LUMA_B * b) / meanLight;
    weight[n] = ramp(cosView, GRAZING_COS[0], GRAZING_COS[1]) * outlierWeight(albedo, modelAlbedo, at)
      * ramp(lit, SHADED[0], SHADED[1]);
  }
  return { albedo, weight, model: modelAlbedo, seen, ratio };
}

/** Per channel, the median of the cheeks' seen log ratios (0 with 50 texels or fewer): the face's own skin. */
function cheekReference(ratio: Float32Array, seen: Uint8Array, texels: TexelMap): number[] {
  const cheeks = new Int32Array(seen.length);
  let count = 0;
  for (let n = 0; n < seen.length; n++) if (seen[n] && texels.cheeks[n]) cheeks[count++] = n;
  if (count <= 50) return [0, 0, 0];
  const sorted = new Float64Array(count);
  return [0, 1, 2].map((c) => {
    for (let k = 0; k < count; k++) sorted[k] = ratio[3 * cheeks[k] + c];
    sorted.sort();
    const middle = count >> 1;
    return count % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  });
}

/**
 * No weight on hair and glasses: patches of seen texels unlike the cheeks' skin (darker in a channel, or off in hue)
 * that reach the hairline or the nose bridge, or touch the unseen outer band (where hair or a collar may hide it).
 */
function dropOccluders({ ratio, seen, weight }: Observation, texels: TexelMap): void {
  const [r0, r1, r2] = cheekReference(ratio, seen, texels);
  const { size, pixel, outer, bridge, height } = texels;
  const count = pixel.length;
  const different = new Uint8Array(count);
  let image: Uint8Array = new Uint8Array(size * size);
  for (let n = 0; n < count; n++) {
    if (seen[n] !== 1) continue;
    const d0 = f(ratio[3 * n] - r0);
    const d1 = f(ratio[3 * n + 1] - r1);
    const d2 = f(ratio[3 * n + 2] - r2);
    const least = Math.min(d0, d1, d2);
    const most = Math.max(d0, d1, d2);
    if (least < -OCCLUDER_DEVIATION || f(most - least) > OCCLUDER_DEVIATION) {
      different[n] = 1;
      image[pixel[n]] = 1;
    }
  }
  image = dilate(image, size, Math.max(1, Math.floor(size / 512))); // join broken frames and strands
  const anchors = new Int32Array(count);
  let anchored = 0;
  for (let n = 0; n < count; n++) {
    const openEdge = !seen[n] && outer[n] === 1;
    if (openEdge) image[pixel[n]] = 1;
    if (openEdge || (different[n] && (bridge[n] || height[n] > HAIRLINE_MM))) anchors[anchored++] = pixel[n];
  }
  flood(image, size, anchors.subarray(0, anchored)); // the patches that reach an anchor: 2
  for (let n = 0; n < count; n++) if (seen[n] === 1 && image[pixel[n]] === 2) weight[n] = 0;
}

/**
 * Weak texels filled from their mirror image: the photo - model albedo of direct + mirrored (N * 3, 0 off the skin)
 * and their weight as a size x size image (0 off the atlas).
 */
function withMirror({ albedo, weight, model }: Observation, texels: TexelMap) {
  const { mirror, pixel, skin, size } = texels;
  const [difference, direct] = [new Float32Array(albedo.length), new Float32Array(size * size)];
  for (let n = 0; n < mirror.length; n++) {
    const m = mirror[n];
    const w = weight[n];
    const mirrored = m >= 0 ? weight[m] * (1 - w) : 0;
    const total = f(w + mirrored);
    const divisor = Math.max(total, 1e-6);
    for (let c = 0; c < 3; c++) {
      const fromMirror = m >= 0 ? albedo[3 * m + c] * mirrored : 0;
      const mixed = f((albedo[3 * n + c] * w + fromMirror) / divisor);
      difference[3 * n + c] = (mixed - model[3 * n + c]) * skin[n];
    }
    direct[pixel[n]] = total;
  }
  return { difference, direct };
}

/**
 * Smooth fill of the texels' `difference` (N * 3) known with weight `seen` (size * size, in [0, 1]): kept where the
 * weight is 1, a pyramid of weighted means interpolated elsewhere (a fast membrane fill). Returns the fill of all
 * levels but the finest (half the side): delight() finishes at the texels only.
 */
function pushPull(difference: Float32Array, seen: Float32Array, texels: TexelMap): FloatImage {
  const { size, pixel } = texels;
  const weighted = new Float32Array(size * size * 3);
  for (let n = 0; n < pixel.length; n++) {
    const p = 3 * pixel[n];
    const w = seen[pixel[n]];
    weighted[p] = difference[3 * n] * w;
    weighted[p + 1] = difference[3 * n + 1] * w;
    weighted[p + 2] = difference[3 * n + 2] * w;
  }
  const finest = { total: { data: weighted, size, channels: 3 }, weight: { data: seen, size, channels: 1 } };
  const levels: { total: FloatImage; weight: FloatImage }[] = [finest];
  while (levels[levels.length - 1].weight.size > 4) {
    const { total, weight: w } = levels[levels.length - 1];
    levels.push({ total: pyrDown(total), weight: pyrDown(w) });
  }
  const coarsest = levels[levels.length - 1];
  let mass = 0;
  const mean = [0, 0, 0];
  coarsest.weight.data.forEach((w) => (mass += w));
  coarsest.total.data.forEach((t, i) => (mean[i % 3] += t));
  mass = Math.max(mass, 1e-6);
  let filled: FloatImage = { ...coarsest.total, data: coarsest.total.data.map((_, i) => mean[i % 3] / mass) };
  for (const { total, weight: w } of levels.slice(1).reverse()) {
    const up = resizeLinear(filled, total.size);
    const data = new Float32Array(total.data.length);
    for (let p = 0; p < w.data.length; p++) {
      const known = w.data[p];
      const alpha = Math.min(Math.max(known * 4, 0), 1);
      const divisor = Math.max(known, 1e-6);
      for (let i = 3 * p; i < 3 * p + 3; i++) data[i] = (alpha * total.data[i]) / divisor + (1 - alpha) * up.data[i];
    }
    filled = { ...total, data };
  }
  return filled;
}

/** The photo texture of one face from its crop; texels: the atlas's texel map at the texture size. */
export function delight(face: FittedFace, crop: FaceCrop, texels: TexelMap, model: AtlasFaceModel,
  camera: Camera): PhotoTexture {
  const start = performance.now();
  const observed = observe(face, crop, texels, model, camera);
  dropOccluders(observed, texels);
  const { difference, direct } = withMirror(observed, texels);
  const { size, pixel, skin, gutter } = texels;
  const seen = featheredMin(direct, size, size / 512); // feather hard mask edges
  const coarser = pushPull(difference, seen, texels);
  // the push-pull's finest level at the texels (resizeLinear of the coarser fill there, the weighted mean where
  // seen), then the blend: the photo where seen, the model albedo shifted by the smooth fill elsewhere
  const [from, filled, { low, high, t }] = [coarser.size, coarser.data, linearTaps(coarser.size, size)];
  const texelModel = observed.model;
  const texture = new Uint8ClampedArray(size * size * 4);
  for (let n = 0; n < pixel.length; n++) {
    const p = pixel[n];
    const i = Math.floor(p / size);
    const j = p % size;
    const w = seen[p];
    const alpha = Math.min(Math.max(w * 4, 0), 1);
    const divisor = Math.max(w, 1e-6);
    const a = (low[i] * from + low[j]) * 3;
    const b = (low[i] * from + high[j]) * 3;
    const c = (high[i] * from + low[j]) * 3;
    const d = (high[i] * from + high[j]) * 3;
    for (let k = 0; k < 3; k++) {
      const at = 3 * n + k;
      const top = filled[a + k] * (1 - t[j]) + filled[b + k] * t[j];
      const bottom = filled[c + k] * (1 - t[j]) + filled[d + k] * t[j];
      const up = f(top * (1 - t[i]) + bottom * t[i]);
      const smooth = f((alpha * f(difference[at] * w)) / divisor + (1 - alpha) * up);
      difference[at] = (w * difference[at] + (1 - w) * smooth) * skin[n];
      texture[4 * p + k] = Math.floor(Math.min(Math.max(texelModel[at] + difference[at], 0), 1) * 255 + 0.5);
    }
    texture[4 * p + 3] = 255;
  }
  for (let p = 0; p < gutter.length; p++) {
    const from = gutter[p]; // the covered texel whose colour an empty one takes (gutters), -1: none
    if (from < 0 || from === p) continue;
    for (let c = 0; c < 4; c++) texture[4 * p + c] = texture[4 * from + c];
  }
  const vertexAlbedo = toVertices(texels, difference, 3);
  for (let i = 0; i < vertexAlbedo.length; i++) {
    vertexAlbedo[i] = Math.min(Math.max(face.albedo[i] + vertexAlbedo[i], 0), 1);
  }
  return { texture, vertexAlbedo, seen, size, ms: performance.now() - start };
}

/**
 * The photo texture of a face found in `photo`: `points` its 478 landmarks (photo pixels, x y pairs), `crop` the
 * network's crop of them. The crop is cut again at the photo's own resolution, at most the texture's side.
 */
export function fromPhoto(photo: CanvasImageSource, points: Float32Array, crop: Crop, face: FittedFace,
  texels: TexelMap, model: AtlasFaceModel, rule: FaceMaskRule, camera: Camera): PhotoTexture {
  const start = performance.now();
  const side = Math.min(Math.max(Math.round(crop.size / crop.scale), 64), texels.size);
  const factor = side / crop.size;
  const offset: [number, number] = [crop.offset[0] * factor, crop.offset[1] * factor];
  const at: Crop = { scale: crop.scale * factor, offset, size: side };
  const mask = faceMask(toCrop(points, at), side, rule);
  const texture = delight(face, { rgba: cropImage(photo, at), mask, size: side }, texels, model, camera);
  return { ...texture, ms: performance.now() - start }; // the crop and mask too: all the time a face adds
}

/** MediaPipe's nose tip: where the stand-in photo has its highlight. */
const NOSE_TIP = 1;
/** The stand-in photo's hair (above this height of the face, mm: the hairline's band) and highlight (this close to
 * the nose tip, mm), as a real photo has them: they take the occluder and clipped-highlight branches. */
const [STAND_IN_HAIR_MM, STAND_IN_SHINE_MM] = [HAIRLINE_MM - 8, 6];
const STAND_IN_HAIR = [0.16, 0.1, 0.07];
const STAND_IN_BACKGROUND = 0.5;

/**
 * A photo to rehearse fromPhoto() on before the first real one, so that V8 has compiled its loops, with the types
 * and branches a real face takes, by the time a user waits for them: `face` rendered `side` px square in its own
 * albedo and light, with dark hair above the hairline and a clipped highlight on the nose tip. Its RGBA pixels,
 * and its 478 landmarks in them (x y pairs).
 */
export function standInPhoto(face: FittedFace, model: AtlasFaceModel, camera: Camera,
  side: number): { rgba: Uint8ClampedArray<ArrayBuffer>; points: Float32Array } {
  const { values, pixels, fragments } = shadeVertices(face, model, side, camera);
  const rgba = paint(fragments, model.triangles, standInColours(face, model, values));
  const points = new Float32Array(model.landmarks.length * 2);
  model.landmarks.forEach((v, k) => points.set(pixels.subarray(2 * v, 2 * v + 2), 2 * k));
  return { rgba, points };
}

/** The stand-in's colour per vertex (V * 3, in [0, 1]): the lit albedo of shadeVertices' `values`, hair, highlight. */
function standInColours(face: FittedFace, model: AtlasFaceModel, values: Float32Array): Float32Array {
  const colour = new Float32Array(model.nVertices * 3);
  const tip = 3 * model.landmarks[NOSE_TIP];
  const [tx, ty, tz] = [face.vertices[tip], face.vertices[tip + 1], face.vertices[tip + 2]];
  for (let v = 0; v < model.nVertices; v++) {
    const [at, i] = [VALUES * v, 3 * v];
    const [x, y, z] = [face.vertices[i], face.vertices[i + 1], face.vertices[i + 2]];
    const shine = Math.hypot(x - tx, y - ty, z - tz) < STAND_IN_SHINE_MM;
    for (let c = 0; c < 3; c++) {
      const lit = Math.min(values[at + 4 + c] * values[at + 7 + c], 1);
      colour[i + c] = shine ? 1 : y > STAND_IN_HAIR_MM ? STAND_IN_HAIR[c] : lit;
    }
  }
  return colour;
}

/** RGBA of rasterized `fragments`: each pixel its triangle's corner colours (V * 3) blended, the background grey. */
function paint({ size, triangle, barycentric }: Fragments, triangles: Uint32Array,
  colour: Float32Array): Uint8ClampedArray<ArrayBuffer> {
  const rgba = new Uint8ClampedArray(size * size * 4).fill(255);
  for (let p = 0; p < size * size; p++) {
    const t = triangle[p];
    for (let c = 0; c < 3; c++) {
      let value = STAND_IN_BACKGROUND;
      if (t >= 0) {
        value = 0;
        for (let k = 0; k < 3; k++) value += barycentric[3 * p + k] * colour[3 * triangles[3 * t + k] + c];
      }
      rgba[4 * p + c] = Math.round(value * 255);
    }
  }
  return rgba;
}
