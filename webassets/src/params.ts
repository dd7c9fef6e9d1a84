// The network's flat parameter vector <-> the named groups of params.json (inversefacenet.pipeline).
import type { FaceModelIndex } from "./facemodel";

export interface FaceParameters {
  rotation_deg: { pitch: number; yaw: number; roll: number };
  shape: number[];
  expression: Record<string, number>;
  albedo: number[];
  sh: number[][]; // 9 x RGB
  face_model_sha256: string;
}

export function unpack(vector: Float32Array, index: FaceModelIndex): FaceParameters {
  const part = (name: string) => Array.from(vector.subarray(...index.parameter_layout[name]));
  const [pitch, yaw, roll] = part("rotation").map((r) => (r * 180) / Math.PI);
  const expression: Record<string, number> = {};
  part("expression").forEach((value, k) => {
    expression[index.expression_names[k]] = Math.min(Math.max(value, 0), 1); // weights are in [0, 1]
  });
  const flat = part("sh");
  const sh = Array.from({ length: 9 }, (_, k) => flat.slice(3 * k, 3 * k + 3));
  return {
    rotation_deg: { pitch, yaw, roll },
    shape: part("shape"),
    expression,
    albedo: part("albedo"),
    sh,
    face_model_sha256: index.face_model_sha256,
  };
}

/** Rot_xyz = Rz(roll) Ry(yaw) Rx(pitch), row-major 3x3 (inversefacenet/render/camera.py). */
export function rotationMatrix(pitchDeg: number, yawDeg: number, rollDeg: number): number[] {
  const [a, b, g] = [pitchDeg, yawDeg, rollDeg].map((d) => (d * Math.PI) / 180);
  const [ca, cb, cg, sa, sb, sg] = [Math.cos(a), Math.cos(b), Math.cos(g), Math.sin(a), Math.sin(b), Math.sin(g)];
  return [
    cg * cb, cg * sb * sa - sg * ca, cg * sb * ca + sg * sa,
    sg * cb, sg * sb * sa + cg * ca, sg * sb * ca - cg * sa,
    -sb, cb * sa, cb * ca,
  ];
}

/** The shortest decimal that reads back to the float32 nearest `value` (0.88, not 0.8799999952316284). */
function shortestFloat32(value: number): number {
  const single = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) { // 9 significant digits always read back to a float32
    const decimal = Number(single.toPrecision(digits));
    if (Math.fround(decimal) === single) return decimal;
  }
  return single;
}

/** JSON text of params.json's groups (or a recording's frames) as Python writes them
 * (inversefacenet.animate.frame_dict): the head's angles in degrees to 1e-4, times as they are, every other number
 * the shortest decimal of its float32. */
export function parametersJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (key, item) => {
    if (typeof item !== "number" || !Number.isFinite(item) || key === "time_s") return item;
    return key === "pitch" || key === "yaw" || key === "roll" ? Math.round(item * 1e4) / 1e4 : shortestFloat32(item);
  }, indent);
}
