// The image formation's camera (inversefacenet/render/camera.py): head frame (mm, x right, y up, face along +z) ->
// camera frame (the camera at the origin looking down -z, the head at distance_mm) -> perspective
// projection -> the square crop around the projected mesh landmarks, in float32 as Python computes it.

const f = Math.fround;

/** How a network's faces are framed: the camera distance and the crop rule's scale (the ONNX metadata). */
export interface Camera {
  distanceMm: number;
  cropScale: number;
}

/** Head-frame vertices (V * 3, mm) rotated by `rotation` (row-major 3 x 3 Rot_xyz), at z - distance: camera frame. */
export function toCamera(vertices: Float32Array, rotation: number[], camera: Camera): Float32Array {
  const out = new Float32Array(vertices.length);
  for (let i = 0; i < vertices.length; i += 3) {
    const [x, y, z] = [vertices[i], vertices[i + 1], vertices[i + 2]];
    for (let r = 0; r < 3; r++) out[i + r] = rotation[3 * r] * x + rotation[3 * r + 1] * y + rotation[3 * r + 2] * z;
    out[i + 2] = f(out[i + 2] - camera.distanceMm);
  }
  return out;
}

/**
 * Camera-frame points (V * 3, z < 0) -> crop pixels (V * 2, x right, y down): the projection (x / -z, -y / -z)
 * scaled and shifted so that the square box of the `cropVertices`' projections x cropScale spans `size` px.
 */
export function toCropPixels(inCamera: Float32Array, cropVertices: ArrayLike<number>, size: number,
  camera: Camera): Float32Array {
  const projected = new Float32Array((inCamera.length / 3) * 2);
  for (let v = 0; v < projected.length / 2; v++) {
    const inverseDepth = f(1 / -inCamera[3 * v + 2]);
    projected[2 * v] = f(inCamera[3 * v] * inverseDepth);
    projected[2 * v + 1] = f(-inCamera[3 * v + 1] * inverseDepth);
  }
  const [low, high] = [[Infinity, Infinity], [-Infinity, -Infinity]];
  for (let k = 0; k < cropVertices.length; k++) {
    for (let c = 0; c < 2; c++) {
      const value = projected[2 * cropVertices[k] + c];
      [low[c], high[c]] = [Math.min(low[c], value), Math.max(high[c], value)];
    }
  }
  const side = f(Math.max(f(high[0] - low[0]), f(high[1] - low[1])) * camera.cropScale);
  const scale = f(size / side);
  const offset = [0, 1].map((c) => f(size / 2 - f(scale * f(f(low[c] + high[c]) / 2))));
  return projected.map((value, i) => f(f(value * scale) + offset[i % 2]));
}
