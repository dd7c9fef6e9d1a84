// The de-lit photo texture (inversefacenet/photo_texture.py, same rule, same constants): each skin texel of
// the UV atlas that the fitted face shows in the photo takes photo colour / SH irradiance of the fitted light
// (the model albedo's convention: photo / 255, in [0, 1]), weighted by visibility (z-buffer), view angle, the
// face mask, an outlier test against the model albedo (highlights, cast shadows) and a skin test (patches
// unlike the cheeks' skin that reach the hairline, the hidden outer band or the nose bridge: hair, collars,
// glasses); weak texels take the mirrored texel where that one is seen, else the model albedo shifted by a
// push-pull fill of the photo-minus-model difference, so the two meet without seams. Eyes and mouth interior
// keep the model albedo. Golden data from Python checks it (scripts/parity.ts).
import { type Camera, toCamera, toCropPixels } from "./camera";
import { vertexNormals } from "./facemodel";
import { components, dilate, fillEmptyTexels, type FloatImage, gaussianBlur, pyrDown, resizeLinear,
  sampleRgb } from "./imageops";
import { type Crop, cropImage, faceMask, type FaceMaskRule, MESH_POINTS, toCrop } from "./preprocess";
import { rasterize } from "./raster";
import { shIrradiance } from "./sh";
import { type AtlasFaceModel, blend, type TexelMap, toVertices } from "./texelmap";

/** Default atlas side (px), as Python's: a face in a photo rarely has more detail. */
export const TEXTURE_SIZE = 512;
const DEPTH_TOLERANCE_MM = 3; // a texel is seen when no further than this behind the z-buffer
const GRAZING_COS = [0.2, 0.5]; // view-angle weight: 0 below the first cos(normal, view), 1 above the second
const LUMINANCE_BAND = [0.12, 0.22, 1.5, 1.9]; // photo / model luminance: 1 inside the inner pair, 0 outside
const CHROMA_BAND = [0.12, 0.22]; // L1 distance of the chromaticities: 1 below, 0 above
const SHINE_BAND = [0.08, 0.16]; // least per-channel excess of photo over model (a highlight lifts all three)
const OCCLUDER_DEVIATION = Math.fround(0.35); // log photo / model against the cheeks': darker or off in hue
const HAIRLINE_MM = 62; // mean face height 10 mm above the brows' top
const SATURATED = Math.fround(250 / 255); // clipped highlights: not used
const MIN_IRRADIANCE = Math.fround(0.05);
const ZBUFFER_SIZE = 192; // side (px) of the visibility render
const LUMINANCE = [0.299, 0.587, 0.114];

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

/** What the texels see: de-lit photo colour (N * 3), its weight (N, 0 off the skin), the model albedo (N * 3). */
interface Observation {
  albedo: Float32Array;
  weight: Float32Array;
  model: Float32Array;
}

const ramp = (x: number, low: number, high: number) => Math.min(Math.max((x - low) / (high - low), 0), 1);

/**
 * Per vertex, channels [x, y (z-buffer pixels), depth (mm), cos(normal, view), irradiance RGB, model albedo RGB],
 * and the z-buffer of the face at `size` px.
 */
function shadeVertices(face: FittedFace, model: AtlasFaceModel, size: number, camera: Camera) {
  const inCamera = toCamera(face.vertices, face.rotation, camera);
  const pixels = toCropPixels(inCamera, model.landmarks.subarray(0, MESH_POINTS), size, camera);
  const depth = Float32Array.from({ length: model.nVertices }, (_, v) => -inCamera[3 * v + 2]);
  const zbuffer = rasterize(pixels, depth, model.triangles, size).depth;
  const normals = vertexNormals(inCamera, model.triangles);
  const values = new Float32Array(model.nVertices * 10);
  for (let v = 0; v < model.nVertices; v++) {
    const [n, p] = [normals.subarray(3 * v, 3 * v + 3), inCamera.subarray(3 * v, 3 * v + 3)];
    values.set([pixels[2 * v], pixels[2 * v + 1], depth[v],
      -(n[0] * p[0] + n[1] * p[1] + n[2] * p[2]) / Math.hypot(p[0], p[1], p[2])], 10 * v);
    shIrradiance(n[0], n[1], n[2], face.sh, values, 10 * v + 4);
    values.set(face.albedo.subarray(3 * v, 3 * v + 3), 10 * v + 7);
  }
  return { values, zbuffer };
}

/**
 * 0 where the de-lit colour albedo[at..at+2] is too far from the model's model[at..at+2] to be skin: too dark, too
 * bright, another hue, shiny.
 */
function outlierWeight(albedo: Float32Array, model: Float32Array, at: number): number {
  const dot = (a: Float32Array) => LUMINANCE[0] * a[at] + LUMINANCE[1] * a[at + 1] + LUMINANCE[2] * a[at + 2];
  const ratio = dot(albedo) / Math.max(dot(model), 1e-3);
  const brightness = Math.min(ramp(ratio, LUMINANCE_BAND[0], LUMINANCE_BAND[1]),
    1 - ramp(ratio, LUMINANCE_BAND[2], LUMINANCE_BAND[3]));
  const sum = (a: Float32Array) => Math.max(a[at] + a[at + 1] + a[at + 2], 1e-3);
  const [sumA, sumM] = [sum(albedo), sum(model)];
  let [chroma, shine] = [0, Infinity];
  for (let c = at; c < at + 3; c++) {
    chroma += Math.abs(albedo[c] / sumA - model[c] / sumM);
    shine = Math.min(shine, albedo[c] - model[c]);
  }
  return brightness * (1 - ramp(chroma, CHROMA_BAND[0], CHROMA_BAND[1]))
    * (1 - ramp(shine, SHINE_BAND[0], SHINE_BAND[1]));
}

/** De-light the texels: photo colour / irradiance where the z-buffer, the mask and the tests let the photo speak. */
function observe(face: FittedFace, crop: FaceCrop, texels: TexelMap, model: AtlasFaceModel,
  camera: Camera): Observation {
  const zsize = Math.min(crop.size, ZBUFFER_SIZE);
  const { values: perVertex, zbuffer } = shadeVertices(face, model, zsize, camera);
  const values = blend(texels, perVertex, 10);
  const count = texels.pixel.length;
  const [albedo, weight, modelAlbedo, seen] = [new Float32Array(count * 3), new Float32Array(count),
    new Float32Array(count * 3), new Uint8Array(count)];
  const colour = new Float32Array(3);
  const zbufferToCrop = Math.fround(crop.size / zsize); // z-buffer pixels -> crop pixels
  for (let n = 0; n < count; n++) {
    const v = 10 * n; // x, y, depth, cos_view, irradiance RGB, model albedo RGB
    const [x, y, depth] = [values[v], values[v + 1], values[v + 2]];
    const inside = x >= 0 && y >= 0 && x < zsize && y < zsize && texels.skin[n] === 1;
    let visible = inside && depth <= Math.fround(zbuffer[Math.trunc(y) * zsize + Math.trunc(x)] + DEPTH_TOLERANCE_MM)
      && Math.min(values[v + 4], values[v + 5], values[v + 6]) > MIN_IRRADIANCE;
    const [cx, cy] = [Math.fround(x * zbufferToCrop), Math.fround(y * zbufferToCrop)];
    const [row, col] = [Math.trunc(Math.min(cy, crop.size - 1)), Math.trunc(Math.min(cx, crop.size - 1))];
    visible &&= crop.mask[row * crop.size + col] === 1;
    sampleRgb(crop.rgba, crop.size, cx, cy, colour, 0);
    for (let c = 0; c < 3; c++) {
      albedo[3 * n + c] = Math.min(Math.max(colour[c] / Math.max(values[v + 4 + c], 0.05), 0), 1);
      modelAlbedo[3 * n + c] = values[v + 7 + c];
    }
    visible &&= Math.max(colour[0], colour[1], colour[2]) < SATURATED;
    seen[n] = Number(visible);
    if (visible) {
      weight[n] = ramp(values[v + 3], GRAZING_COS[0], GRAZING_COS[1]) * outlierWeight(albedo, modelAlbedo, 3 * n);
    }
  }
  const hidden = occluders(albedo, modelAlbedo, seen, texels);
  hidden.forEach((h, n) => h && (weight[n] = 0));
  return { albedo, weight, model: modelAlbedo };
}

/** Per channel, the median of the cheeks' seen log ratios (0 with 50 texels or fewer): the face's own skin. */
function cheekReference(ratio: Float32Array, seen: Uint8Array, texels: TexelMap): number[] {
  const cheeks = Array.from(seen.keys()).filter((n) => seen[n] && texels.cheeks[n]);
  if (cheeks.length <= 50) return [0, 0, 0];
  return [0, 1, 2].map((c) => {
    const sorted = Float64Array.from(cheeks, (n) => ratio[3 * n + c]).sort();
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  });
}

/**
 * (N) 1 on hair and glasses: patches of seen texels unlike the cheeks' skin (darker in a channel, or off in hue)
 * that reach the hairline or the nose bridge, or touch the unseen outer band (where hair or a collar may hide it).
 */
function occluders(albedo: Float32Array, model: Float32Array, seen: Uint8Array, texels: TexelMap): Uint8Array {
  const ratio = albedo.map((a, i) => Math.log(Math.max(a, 1e-3) / Math.max(model[i], 1e-3)));
  const reference = cheekReference(ratio, seen, texels);
  const { size, pixel } = texels;
  const [different, openEdge] = [new Uint8Array(pixel.length), new Uint8Array(pixel.length)];
  let image: Uint8Array = new Uint8Array(size * size);
  const deviation = new Float32Array(3);
  pixel.forEach((p, n) => {
    for (let c = 0; c < 3; c++) deviation[c] = ratio[3 * n + c] - reference[c];
    const [least, most] = [Math.min(deviation[0], deviation[1], deviation[2]),
      Math.max(deviation[0], deviation[1], deviation[2])];
    different[n] = Number(seen[n] === 1
      && (least < -OCCLUDER_DEVIATION || Math.fround(most - least) > OCCLUDER_DEVIATION));
    openEdge[n] = Number(!seen[n] && texels.outer[n] === 1);
    image[p] = different[n];
  });
  image = dilate(image, size, Math.max(1, Math.floor(size / 512))); // join broken frames and strands
  pixel.forEach((p, n) => openEdge[n] && (image[p] = 1));
  const labels = components(image, size);
  const anchored = new Set<number>();
  pixel.forEach((p, n) => {
    const anchor = openEdge[n] || (different[n] && (texels.bridge[n] || texels.height[n] > HAIRLINE_MM));
    if (anchor && labels[p] > 0) anchored.add(labels[p]);
  });
  return Uint8Array.from(pixel, (p, n) => Number(seen[n] === 1 && anchored.has(labels[p])));
}

/** Weak texels filled from their mirror image: albedo and weight of direct + mirrored. */
function withMirror({ albedo, weight, model }: Observation, mirror: Int32Array): Observation {
  const [mixed, total] = [new Float32Array(albedo.length), new Float32Array(weight.length)];
  mirror.forEach((m, n) => {
    const mirrored = m >= 0 ? weight[m] * (1 - weight[n]) : 0;
    total[n] = weight[n] + mirrored;
    for (let c = 0; c < 3; c++) {
      const fromMirror = m >= 0 ? albedo[3 * m + c] * mirrored : 0;
      mixed[3 * n + c] = (albedo[3 * n + c] * weight[n] + fromMirror) / Math.max(total[n], 1e-6);
    }
  });
  return { albedo: mixed, weight: total, model };
}

/** Per-texel values (N * channels) -> a size x size image, 0 off the atlas. */
function scatter(values: Float32Array, texels: TexelMap, channels: number): FloatImage {
  const data = new Float32Array(texels.size * texels.size * channels);
  texels.pixel.forEach((p, n) => data.set(values.subarray(n * channels, (n + 1) * channels), p * channels));
  return { data, size: texels.size, channels };
}

/**
 * Smooth fill of `values` known with `weight` (1 channel, in [0, 1]): kept where the weight is 1, a pyramid of
 * weighted means interpolated elsewhere (a fast membrane fill).
 */
function pushPull(values: FloatImage, weight: FloatImage): FloatImage {
  const weighted = values.data.map((v, i) => v * weight.data[Math.floor(i / values.channels)]);
  const levels: { total: FloatImage; weight: FloatImage }[] = [{ total: { ...values, data: weighted }, weight }];
  while (levels[levels.length - 1].weight.size > 4) {
    const { total, weight: w } = levels[levels.length - 1];
    levels.push({ total: pyrDown(total), weight: pyrDown(w) });
  }
  const coarsest = levels[levels.length - 1];
  const mass = Math.max(coarsest.weight.data.reduce((a, b) => a + b, 0), 1e-6);
  const mean = [0, 1, 2].map((c) => coarsest.total.data.reduce((a, v, i) => (i % 3 === c ? a + v : a), 0) / mass);
  let filled: FloatImage = { ...coarsest.total, data: coarsest.total.data.map((_, i) => mean[i % 3]) };
  for (const { total, weight: w } of levels.reverse()) {
    const up = resizeLinear(filled, total.size);
    const data = total.data.map((t, i) => {
      const known = w.data[Math.floor(i / 3)];
      const alpha = Math.min(Math.max(known * 4, 0), 1);
      return (alpha * t) / Math.max(known, 1e-6) + (1 - alpha) * up.data[i];
    });
    filled = { ...total, data };
  }
  return filled;
}

/** The photo texture of one face from its crop; texels: the atlas's texel map at the texture size. */
export function delight(face: FittedFace, crop: FaceCrop, texels: TexelMap, model: AtlasFaceModel,
  camera: Camera): PhotoTexture {
  const start = performance.now();
  const { albedo, weight, model: texelModel } = withMirror(observe(face, crop, texels, model, camera), texels.mirror);
  const { size, pixel, skin } = texels;
  const difference = albedo.map((a, i) => (a - texelModel[i]) * skin[Math.floor(i / 3)]);
  const direct = scatter(weight, texels, 1);
  const blurred = gaussianBlur(direct, size / 512);
  const seen = direct.data.map((w, i) => Math.min(w, blurred.data[i])); // feather hard mask edges
  const smooth = pushPull(scatter(difference, texels, 3), { data: seen, size, channels: 1 });
  const texture = new Uint8ClampedArray(size * size * 4);
  pixel.forEach((p, n) => {
    const w = seen[p];
    for (let c = 0; c < 3; c++) {
      const i = 3 * n + c;
      difference[i] = (w * difference[i] + (1 - w) * smooth.data[3 * p + c]) * skin[n];
      texture[4 * p + c] = Math.floor(Math.min(Math.max(texelModel[i] + difference[i], 0), 1) * 255 + 0.5);
    }
    texture[4 * p + 3] = 255;
  });
  fillEmptyTexels(texture, size);
  const vertexAlbedo = toVertices(texels, difference, 3).map((d, i) => Math.min(Math.max(face.albedo[i] + d, 0), 1));
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
