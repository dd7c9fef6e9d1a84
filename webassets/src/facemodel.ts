// The face model as exported by `python -m export.onnx` (facemodel.bin + facemodel.json):
// geometry and albedo from parameters, vertex normals. Same formulas as inversefacenet/facemodel/model.py.
import type { MirrorMaps } from "./mirror";

export interface ArrayEntry {
  offset: number;
  dtype: string;
  shape: number[];
}

export interface FaceModelIndex {
  face_model_sha256: string;
  arrays: Record<string, ArrayEntry>;
  expression_names: string[];
  parameter_layout: Record<string, [number, number]>;
  face_mask: { oval: number[]; inner_lips: number[]; eyes: number[][] };
  atlas_cap_first: number; // the atlas's triangles from here on close the mouth at the throat (FaceModel.mouth_cap)
  expression_sliders: string[];
  mirror_sh_sign: number[]; // ParameterMirror.sh_sign (the other maps are in facemodel.bin)
  light_presets: Record<string, { azimuth_deg: number; elevation_deg: number; intensity: number; ambient: number;
    colour: [number, number, number] }>;
}

function halfToFloat(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    if (exponent === 0) out[i] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) out[i] = fraction ? NaN : sign * Infinity;
    else out[i] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return out;
}

function readArray(buffer: ArrayBuffer, entry: ArrayEntry): Float32Array | Uint32Array | Uint8Array {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  switch (entry.dtype) {
    case "float32":
      return new Float32Array(buffer, entry.offset, count);
    case "float16":
      return halfToFloat(new Uint16Array(buffer, entry.offset, count));
    case "uint32":
      return new Uint32Array(buffer, entry.offset, count);
    case "uint8":
      return new Uint8Array(buffer, entry.offset, count);
    default:
      throw new Error(`facemodel.bin: unknown dtype ${entry.dtype}`);
  }
}

export class FaceModel {
  readonly nVertices: number;
  readonly mean: Float32Array;
  readonly shapeBasis: Float32Array; // (Ns, V*3), pre-multiplied by sigma
  readonly expressionBasis: Float32Array; // (Ne, V*3)
  readonly albedoMean: Float32Array;
  readonly albedoBasis: Float32Array; // (Nr, V*3)
  readonly triangles: Uint32Array;
  readonly landmarks: Uint32Array; // 478 MediaPipe points
  /**
   * The UV atlas the downloads use (inversefacenet/atlas.py): seams duplicate vertices, and the
   * forehead and jaw are clipped along smooth curves, so atlas vertex i blends model vertices
   * vertex[2i] and vertex[2i + 1] by weight[i]; island: per atlas triangle, 0 skin, 1 eyes, 2 mouth interior.
   */
  readonly atlas: BlendedMesh & { uv: Float32Array; island: Uint8Array };
  /** Live mode's view: the coarse level's region mesh (a quarter of the atlas's triangles), no seams or uv. Its
   * points blend only the first nCoarse vertices, those of the coarse level's triangles (trianglesCoarse). */
  readonly live: BlendedMesh;
  readonly trianglesCoarse: Uint32Array;
  readonly nCoarse: number;
  /** The mirror image's parameters, for a network that reads each crop both ways (mirror.ts). */
  readonly mirror: MirrorMaps;

  constructor(
    readonly index: FaceModelIndex,
    buffer: ArrayBuffer,
  ) {
    const a = (name: string) => readArray(buffer, index.arrays[name]);
    this.mean = a("vertices_mean") as Float32Array;
    this.nVertices = this.mean.length / 3;
    this.shapeBasis = a("shape_basis") as Float32Array;
    this.expressionBasis = a("expression_basis") as Float32Array;
    this.albedoMean = a("albedo_mean") as Float32Array;
    this.albedoBasis = a("albedo_basis") as Float32Array;
    this.triangles = a("triangles") as Uint32Array;
    this.landmarks = a("landmarks_mediapipe") as Uint32Array;
    this.atlas = {
      vertex: a("atlas_vertex") as Uint32Array,
      weight: a("atlas_weight") as Float32Array,
      uv: a("atlas_uv") as Float32Array,
      triangles: a("atlas_triangles") as Uint32Array,
      island: a("atlas_island") as Uint8Array,
    };
    this.live = {
      vertex: a("live_vertex") as Uint32Array,
      weight: a("live_weight") as Float32Array,
      triangles: a("live_triangles") as Uint32Array,
    };
    this.trianglesCoarse = a("triangles_coarse") as Uint32Array;
    this.nCoarse = this.trianglesCoarse.reduce((m, i) => Math.max(m, i), 0) + 1;
    this.mirror = {
      shapeMap: a("mirror_shape_map"), shapeOffset: a("mirror_shape_offset"),
      albedoMap: a("mirror_albedo_map"), albedoOffset: a("mirror_albedo_offset"),
      expressionOrder: a("mirror_expression_order"), shSign: index.mirror_sh_sign,
    };
  }

  static async load(base: string): Promise<FaceModel> {
    const [index, buffer] = await Promise.all([
      fetch(`${base}facemodel.json`).then((r) => checked(r).json()),
      fetch(`${base}facemodel.bin`).then((r) => checked(r).arrayBuffer()),
    ]);
    return new FaceModel(index as FaceModelIndex, buffer);
  }

  /** mean + sum_k coefficients_k * basis_k, for each (basis, coefficients) pair; each basis row is `rowLength`
   * long, of which the first mean.length values are used (a prefix of the vertices). */
  private combine(mean: Float32Array, parts: [Float32Array, ArrayLike<number>][], rowLength = mean.length): Float32Array {
    const out = Float32Array.from(mean);
    const n = out.length;
    for (const [basis, coefficients] of parts) {
      const rows = Array.from(coefficients, (c, k) => [c, k]).filter(([c]) => c !== 0);
      // four rows per pass over `out`: live mode rebuilds the face every frame, and memory traffic dominates
      for (let r = 0; r < rows.length; r += 4) {
        const group = rows.slice(r, r + 4);
        while (group.length < 4) group.push([0, group[0][1]]);
        const [[c0, k0], [c1, k1], [c2, k2], [c3, k3]] = group;
        const [b0, b1, b2, b3] = [k0, k1, k2, k3].map((k) => basis.subarray(k * rowLength, k * rowLength + n));
        for (let i = 0; i < n; i++) out[i] += c0 * b0[i] + c1 * b1[i] + c2 * b2[i] + c3 * b3[i];
      }
    }
    return out;
  }

  // The last identity's neutral geometry and albedo: a live track holds its identity (live.ts's IdentityHold), so
  // each frame rebuilds only the expression (the same sums in the same order as without them).
  private readonly neutral = new LastResult();
  private readonly skin = new LastResult();

  geometry(shape: ArrayLike<number>, expression: ArrayLike<number>): Float32Array {
    return this.combine(this.neutralOf(shape), [[this.expressionBasis, expression]]);
  }

  /** geometry() of the first nCoarse vertices only (nCoarse*3 mm): all that the live mesh's points blend. */
  liveGeometry(shape: ArrayLike<number>, expression: ArrayLike<number>): Float32Array {
    const neutral = this.neutralOf(shape);
    return this.combine(neutral.subarray(0, 3 * this.nCoarse), [[this.expressionBasis, expression]], neutral.length);
  }

  /** geometry() at a few model vertices only (indices.length*3 mm): live mode builds only the coarse ones. */
  pointsOf(indices: ArrayLike<number>, shape: ArrayLike<number>, expression: ArrayLike<number>): Float32Array {
    const neutral = this.neutralOf(shape);
    const n = neutral.length;
    const out = new Float32Array(indices.length * 3);
    for (let i = 0; i < indices.length; i++) {
      for (let j = 0; j < 3; j++) {
        const at = 3 * indices[i] + j;
        let value = neutral[at];
        for (let k = 0; k < expression.length; k++) {
          if (expression[k] !== 0) value += expression[k] * this.expressionBasis[k * n + at];
        }
        out[3 * i + j] = value;
      }
    }
    return out;
  }

  /** The identity's neutral face (V*3 mm), kept while the same shape comes again. */
  private neutralOf(shape: ArrayLike<number>): Float32Array {
    return this.neutral.of(shape, () => this.combine(this.mean, [[this.shapeBasis, shape]]));
  }

  /** Unit normals at the live mesh's points of liveGeometry's vertices, from the coarse level's whole mesh. */
  liveNormals(vertices: Float32Array): Float32Array {
    return normalise(this.split(vertexNormals(vertices, this.trianglesCoarse), this.live));
  }

  albedo(albedo: ArrayLike<number>): Float32Array {
    const skin = this.skin.of(albedo, () =>
      this.combine(this.albedoMean, [[this.albedoBasis, albedo]]).map((v) => Math.min(Math.max(v, 0), 1)));
    return Float32Array.from(skin); // the caller's own copy
  }

  /** Per-vertex xyz or rgb (V*3) -> per-atlas-vertex values, the vertex list of every download (or `mesh`'s). */
  split(values: Float32Array, mesh: BlendedMesh = this.atlas): Float32Array {
    const { vertex, weight } = mesh;
    const out = new Float32Array(weight.length * 3);
    for (let i = 0; i < weight.length; i++) {
      const [a, b, w] = [vertex[2 * i] * 3, vertex[2 * i + 1] * 3, weight[i]];
      for (let j = 0; j < 3; j++) out[3 * i + j] = values[a + j] * (1 - w) + values[b + j] * w;
    }
    return out;
  }

  /** Area-weighted unit vertex normals (triangles counter-clockwise seen from outside). */
  normals(vertices: Float32Array): Float32Array {
    return vertexNormals(vertices, this.triangles);
  }

  /**
   * Unit normals (W*3) at the atlas vertices of a face (V*3 mm): taken from the whole model mesh, so that seams
   * and the clipped edges shade like their neighbours, and the mouth's cap, on points of its own, from its own
   * triangles (inversefacenet/export.py's face_normals).
   */
  atlasNormals(vertices: Float32Array): Float32Array {
    const normals = this.split(this.normals(vertices));
    const cap = this.atlas.triangles.subarray(3 * this.index.atlas_cap_first);
    const own = vertexNormals(this.split(vertices), cap);
    for (const point of cap) for (let j = 0; j < 3; j++) normals[3 * point + j] = own[3 * point + j];
    return normalise(normals);
  }

  /**
   * The neutral face of identity `shape` and its blendshapes as morph targets at the atlas vertices, as
   * inversefacenet/animate.py's morph_targets: base positions (W*3 mm, head frame) and unit normals, and per
   * blendshape (expression_names' order) the deltas of the face at that weight 1 (the others 0) from the base.
   */
  morphTargets(shape: ArrayLike<number>): { positions: Float32Array; normals: Float32Array;
    positionDeltas: Float32Array[]; normalDeltas: Float32Array[] } {
    const neutral = this.geometry(shape, []);
    const normals = this.atlasNormals(neutral);
    const n = neutral.length;
    const blendshapes = this.index.expression_names.map((_, i) => this.expressionBasis.subarray(i * n, (i + 1) * n));
    return {
      positions: this.split(neutral),
      normals,
      positionDeltas: blendshapes.map((delta) => this.split(delta)), // the model is linear in the weights
      normalDeltas: blendshapes.map((delta) =>
        this.atlasNormals(neutral.map((x, j) => x + delta[j])).map((x, j) => x - normals[j])),
    };
  }
}

/** A mesh whose point i blends model vertices vertex[2i] and vertex[2i + 1] by weight[i] (T*3 triangles). */
export interface BlendedMesh {
  vertex: Uint32Array;
  weight: Float32Array;
  triangles: Uint32Array;
}

/** The last computed value, kept while the same coefficients come again. */
class LastResult {
  private coefficients: number[] = [];
  private value: Float32Array | null = null;

  of(coefficients: ArrayLike<number>, compute: () => Float32Array): Float32Array {
    const same = this.coefficients.length === coefficients.length &&
      this.coefficients.every((c, i) => c === coefficients[i]);
    if (!this.value || !same) [this.coefficients, this.value] = [Array.from(coefficients), compute()];
    return this.value;
  }
}

/** Area-weighted unit vertex normals of a mesh (V*3 positions, T*3 counter-clockwise triangles). */
export function vertexNormals(vertices: Float32Array, triangles: Uint32Array): Float32Array {
  const normals = new Float32Array(vertices.length);
  const [t, p] = [triangles, vertices];
  for (let f = 0; f < t.length; f += 3) { // scalars only, no arrays per triangle: live mode runs this every frame
    const a = t[f] * 3;
    const b = t[f + 1] * 3;
    const c = t[f + 2] * 3;
    const ux = p[b] - p[a];
    const uy = p[b + 1] - p[a + 1];
    const uz = p[b + 2] - p[a + 2];
    const vx = p[c] - p[a];
    const vy = p[c + 1] - p[a + 1];
    const vz = p[c + 2] - p[a + 2];
    const nx = uy * vz - uz * vy;
    const ny = uz * vx - ux * vz;
    const nz = ux * vy - uy * vx;
    normals[a] += nx;
    normals[a + 1] += ny;
    normals[a + 2] += nz;
    normals[b] += nx;
    normals[b + 1] += ny;
    normals[b + 2] += nz;
    normals[c] += nx;
    normals[c + 1] += ny;
    normals[c + 2] += nz;
  }
  return normalise(normals);
}

/** Scale each of a list of 3-vectors (N*3) to unit length in place (zero vectors stay zero); returns it. */
function normalise(vectors: Float32Array): Float32Array {
  for (let i = 0; i < vectors.length; i += 3) {
    const length = Math.hypot(vectors[i], vectors[i + 1], vectors[i + 2]) || 1;
    for (let j = 0; j < 3; j++) vectors[i + j] /= length;
  }
  return vectors;
}

export function checked(response: Response): Response {
  if (!response.ok) throw new Error(`${response.url}: HTTP ${response.status}`);
  return response;
}
