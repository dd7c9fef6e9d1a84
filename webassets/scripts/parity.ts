// The page's re-implementations run in Node on the golden inputs Python wrote (export/goldens.py):
//   npm run --silent parity -- GOLDENS.json   ->  the page's outputs as JSON on stdout
// tests/test_web_parity.py compares them with Python's.
import { readFileSync } from "node:fs";
import { type FaceModelIndex, vertexNormals } from "../src/facemodel";
import { lightFromSh, matched, matchedSh, shFromLight } from "../src/lighting";
import type { LandmarkDetector } from "../src/landmarks";
import { IdentityHold, Tracker } from "../src/live";
import { bothWays, mirrored, withFlipped } from "../src/mirror";
import { parametersJson, rotationMatrix, unpack } from "../src/params";
import { delight } from "../src/phototexture";
import {
  alignedCrop, alignmentTo, cropForLandmarks, desaturated, faceMask, type InputMask, isGreyFace, networkInput,
} from "../src/preprocess";
import { type AtlasFaceModel, buildTexelMap } from "../src/texelmap";

interface PythonLight {
  azimuth_deg: number;
  elevation_deg: number;
  intensity: number;
  ambient: number;
  colour: [number, number, number];
}

/** Python's RGB pixels as a canvas's opaque RGBA. */
function opaqueRgba(rgb: number[]): Uint8ClampedArray {
  return new Uint8ClampedArray((rgb.length / 3) * 4).map((_, i) => (i % 4 === 3 ? 255 : rgb[3 * (i >> 2) + (i % 4)]));
}

/** The photo texture of the golden's painted render: the texel map, then the de-lit texture. */
function photoTexture(golden: PhotoTextureGolden) {
  const { model: m, face, crop, camera, size } = golden;
  const model: AtlasFaceModel = {
    nVertices: m.mean.length / 3, mean: Float32Array.from(m.mean), triangles: Uint32Array.from(m.triangles),
    landmarks: Uint32Array.from(m.landmarks),
    atlas: { vertex: Uint32Array.from(m.atlas.vertex), weight: Float32Array.from(m.atlas.weight),
      uv: Float32Array.from(m.atlas.uv), triangles: Uint32Array.from(m.atlas.triangles),
      island: Uint8Array.from(m.atlas.island) },
  };
  const texels = buildTexelMap(model, size);
  const rgba = opaqueRgba(crop.rgb);
  const result = delight({ vertices: Float32Array.from(face.vertices), albedo: Float32Array.from(face.albedo),
    rotation: face.rotation, sh: face.sh }, { rgba, mask: Uint8Array.from(crop.mask), size: crop.size }, texels, model,
  { distanceMm: camera.distance_mm, cropScale: camera.crop_scale });
  const zone = (values: Uint8Array) => Array.from(values);
  return {
    texels: { pixel: Array.from(texels.pixel),
      mirror: Array.from(texels.mirror, (m) => (m >= 0 ? texels.pixel[m] : -1)),
      skin: zone(texels.skin), cheeks: zone(texels.cheeks), bridge: zone(texels.bridge), outer: zone(texels.outer) },
    texture: Array.from(result.texture).filter((_, i) => i % 4 !== 3),
    vertex_albedo: Array.from(result.vertexAlbedo),
    seen: Array.from(result.seen),
  };
}

interface PhotoTextureGolden {
  model: { mean: number[]; triangles: number[]; landmarks: number[];
    atlas: { vertex: number[]; weight: number[]; uv: number[]; triangles: number[]; island: number[] } };
  face: { vertices: number[]; albedo: number[]; rotation: number[]; sh: number[][] };
  crop: { rgb: number[]; mask: number[]; size: number };
  camera: { distance_mm: number; crop_scale: number };
  size: number;
}

interface IdentityGolden {
  ranges: [number, number][];
  readings: number[][];
  timeline: [number, number | null][];
}

/** The live tracker's output on each frame of the golden's timeline (null without a face), with a stand-in
 * detector (a face of the timeline's size, or none) and network (the golden's readings in turn). */
async function keptIdentity(g: IdentityGolden): Promise<(number[] | null)[]> {
  let face: Float32Array | null = null;
  const detector = { track: async () => face, findLarge: async () => face, detect: async () => [] } as unknown as
    LandmarkDetector;
  let read = 0;
  const tracker = new Tracker(detector, async () => ({ output: Float32Array.from(g.readings[read++]),
    crop: { scale: 1, offset: [0, 0], size: 1 }, alignment: null, preprocess_ms: 0, network_ms: 0 }), g.ranges);
  const outputs = [];
  for (const [seconds, size] of g.timeline) {
    face = size === null ? null : Float32Array.from({ length: 478 * 2 }, (_, i) => (i % 7) * 20 * size); // 120 px
    const { output } = await tracker.step({} as HTMLCanvasElement, seconds);
    outputs.push(output && Array.from(output));
  }
  return outputs;
}

const golden = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { crop, mask, normals } = golden;
const cropped = cropForLandmarks(Float32Array.from(crop.landmarks), crop.size, crop.crop_scale);
const outputs = {
  rotation: golden.rotation.angles_deg.map(([p, y, r]: number[]) => rotationMatrix(p, y, r)),
  lamp_sh: golden.lamp_sh.lights.map((l: PythonLight) =>
    shFromLight({ azimuthDeg: l.azimuth_deg, elevationDeg: l.elevation_deg, intensity: l.intensity,
      ambient: l.ambient, colour: l.colour })),
  light_from_sh: golden.light_from_sh.sh.map((sh: number[][]) => {
    const l = lightFromSh(sh);
    return [l.azimuthDeg, l.elevationDeg, l.intensity, l.ambient, ...l.colour];
  }),
  params_json: golden.params_json.vectors.map((vector: number[]) => {
    const index = { parameter_layout: golden.params_json.layout, expression_names: golden.params_json.expression_names,
      face_model_sha256: "" } as unknown as FaceModelIndex;
    const { face_model_sha256: _, ...groups } = unpack(Float32Array.from(vector), index);
    return JSON.parse(parametersJson(groups));
  }),
  light_from_broken_sh: (() => { // JSON has no NaN: the golden's first light with one coefficient made NaN here
    const l = lightFromSh(golden.light_from_sh.sh[0].map((row: number[], k: number) => k ? row : [NaN, ...row.slice(1)]));
    return [l.azimuthDeg, l.elevationDeg, l.intensity, l.ambient, ...l.colour];
  })(),
  matched: golden.light_from_sh.lamps.map((l: PythonLight, k: number) => {
    const lamp = matched({ azimuthDeg: l.azimuth_deg, elevationDeg: l.elevation_deg, intensity: l.intensity,
      ambient: l.ambient, colour: l.colour }, golden.light_from_sh.sh[k]);
    return [lamp.intensity, lamp.ambient];
  }),
  matched_sh: golden.light_from_sh.lamps.map((l: PythonLight, k: number) =>
    matchedSh({ azimuthDeg: l.azimuth_deg, elevationDeg: l.elevation_deg, intensity: l.intensity,
      ambient: l.ambient, colour: l.colour }, golden.light_from_sh.sh[k])),
  normals: Array.from(vertexNormals(Float32Array.from(normals.vertices), Uint32Array.from(normals.triangles))),
  crop: { scale: cropped.scale, offset: cropped.offset },
  aligned: golden.aligned.shifts.map((shift: number[]) => {
    const { scale, offset } = alignedCrop({ scale: golden.crop.scale, offset: golden.crop.offset, size: crop.size },
      shift);
    return [scale, ...offset];
  }),
  alignment_to: golden.alignment_to.targets.map(([scale, x, y]: number[]) =>
    alignmentTo({ scale: golden.crop.scale, offset: golden.crop.offset, size: crop.size },
      { scale, offset: [x, y], size: crop.size })),
  mask: Array.from(faceMask(Float32Array.from(mask.landmarks), mask.size, mask.rule)),
  network_input: ((g) => {
    const rgba = opaqueRgba(g.rgb);
    const rules = Object.keys(g.inputs) as InputMask[];
    return Object.fromEntries(rules.map((rule) =>
      [rule, Array.from(networkInput(rgba, Uint8Array.from(g.mask), g.size, rule))]));
  })(golden.network_input),
  photo_texture: photoTexture(golden.photo_texture),
  grey: ((g) => {
    const [height, width] = g.size;
    const points = Float32Array.from(g.points);
    return { grey: g.photos.map((rgb: number[]) => isGreyFace(points, width, height, { data: opaqueRgba(rgb), width })),
      desaturated: Array.from(desaturated(Float32Array.from(g.colours))) };
  })(golden.grey),
  identity: ((g) => {
    const hold = new IdentityHold(g.ranges, g.frames);
    return g.readings.map((reading: number[], k: number) =>
      Array.from(hold.hold(Float32Array.from(reading), Float32Array.from(g.filtered[k]))));
  })(golden.identity),
  kept: await keptIdentity(golden.identity),
  mirror: ((g) => {
    const maps = { shapeMap: g.maps.mirror_shape_map, shapeOffset: g.maps.mirror_shape_offset,
      albedoMap: g.maps.mirror_albedo_map, albedoOffset: g.maps.mirror_albedo_offset,
      expressionOrder: g.maps.mirror_expression_order, shSign: g.sh_sign };
    const vectors = g.vectors.map((v: number[]) => Float32Array.from(v));
    const pair = (k: number) => { const both = new Float32Array(2 * vectors[k].length); both.set(vectors[k]);
      both.set(vectors[k], vectors[k].length); return both; };
    return {
      mirrored: vectors.map((v: Float32Array) => Array.from(mirrored(v, maps, g.layout))),
      both_ways: vectors.map((_: Float32Array, k: number) => Array.from(bothWays(pair(k), maps, g.layout))),
      with_flipped: Array.from(withFlipped(Float32Array.from(g.input), g.size)),
    };
  })(golden.mirror),
};
process.stdout.write(JSON.stringify(outputs));
