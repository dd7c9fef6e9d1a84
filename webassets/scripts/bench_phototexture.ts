// The page's photo texture (delight() of src/phototexture.ts) timed in Node on a golden Python wrote, and compared
// with Python's texture (benchmarks/photo_texture_page.py writes one at the app's sizes and runs this):
//   npm run --silent bench-phototexture -- GOLDENS.json [REPEATS]   ->  one JSON line on stdout
// PROFILE=out.cpuprofile also writes a V8 CPU profile of the timed calls (open it in Chrome's DevTools).
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { delight } from "../src/phototexture";
import { type AtlasFaceModel, buildTexelMap } from "../src/texelmap";

const golden = JSON.parse(readFileSync(process.argv[2], "utf8")).photo_texture;
const repeats = Number(process.argv[3] ?? 20);
const { model: m, face, crop, camera, size } = golden;
const model: AtlasFaceModel = {
  nVertices: m.mean.length / 3, mean: Float32Array.from(m.mean), triangles: Uint32Array.from(m.triangles),
  landmarks: Uint32Array.from(m.landmarks),
  atlas: { vertex: Uint32Array.from(m.atlas.vertex), weight: Float32Array.from(m.atlas.weight),
    uv: Float32Array.from(m.atlas.uv), triangles: Uint32Array.from(m.atlas.triangles),
    island: Uint8Array.from(m.atlas.island) },
};
let start = performance.now();
const texels = buildTexelMap(model, size);
const texelMapMs = performance.now() - start;
const rgba = new Uint8ClampedArray(crop.size * crop.size * 4)
  .map((_, i) => (i % 4 === 3 ? 255 : crop.rgb[3 * (i >> 2) + (i % 4)]));
const fitted = { vertices: Float32Array.from(face.vertices), albedo: Float32Array.from(face.albedo),
  rotation: face.rotation, sh: face.sh };
const input = { rgba, mask: Uint8Array.from(crop.mask), size: crop.size };
const lens = { distanceMm: camera.distance_mm, cropScale: camera.crop_scale };
let result = delight(fitted, input, texels, model, lens);
const firstMs = result.ms; // the JIT compiles as it goes: apart
const session = process.env.PROFILE ? new Session() : null;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
}
const [wall, cpu]: number[][] = [[], []];
for (let r = 0; r < repeats; r++) {
  start = performance.now();
  const used = process.cpuUsage();
  result = delight(fitted, input, texels, model, lens);
  wall.push(performance.now() - start);
  const { user, system } = process.cpuUsage(used);
  cpu.push((user + system) / 1000);
}
if (session) writeFileSync(process.env.PROFILE!, JSON.stringify((await session.post("Profiler.stop")).profile));
const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
let [textureMax, textureDiffer, albedoMax, seenMax] = [0, 0, 0, 0];
for (const p of golden.texels.pixel as number[]) {
  let differ = false;
  for (let c = 0; c < 3; c++) {
    const d = Math.abs(result.texture[4 * p + c] - golden.texture[3 * p + c]);
    textureMax = Math.max(textureMax, d);
    differ ||= d > 0;
  }
  textureDiffer += Number(differ);
}
result.vertexAlbedo.forEach((a, i) => (albedoMax = Math.max(albedoMax, Math.abs(a - golden.vertex_albedo[i]))));
result.seen.forEach((s, i) => (seenMax = Math.max(seenMax, Math.abs(s - golden.seen[i]))));
/** A checksum of values rounded to 1e-7: equal for implementations that agree to float32 rounding. */
const digest = (values: ArrayLike<number>) => {
  let hash = 0;
  for (let i = 0; i < values.length; i++) hash = (hash * 31 + Math.round(values[i] * 1e7)) % 1000000007;
  return hash;
};
console.log(JSON.stringify({ size, crop: crop.size, repeats, first_ms: firstMs, median_wall_ms: median(wall),
  min_wall_ms: Math.min(...wall), median_cpu_ms: median(cpu), min_cpu_ms: Math.min(...cpu), texel_map_ms: texelMapMs,
  texture_max_diff: textureMax, texture_share_differing: textureDiffer / golden.texels.pixel.length,
  vertex_albedo_max_diff: albedoMax, seen_max_diff: seenMax,
  digest: [digest(result.texture), digest(result.vertexAlbedo), digest(result.seen)] }));
