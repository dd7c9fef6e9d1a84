// Z-buffer rasterizer on the CPU with the coverage rule of inversefacenet/render/raster.py: a pixel belongs to a
// front-facing (clockwise in image space, y down) triangle when its centre (j + 0.5, i + 0.5) has all three
// barycentrics >= 0; the nearest wins, depth ties go to the lower triangle id. The arithmetic is
// inversefacenet/render/raster_numba.py's in float32 (Math.fround at every step), so both give the same pixels.

const f = Math.fround;

/** Per-pixel fragments of one size x size image (row-major). */
export interface Fragments {
  size: number;
  /** triangle id, -1 for background */
  triangle: Int32Array;
  /** (size * size * 3) barycentrics of the triangle's three corners */
  barycentric: Float32Array;
  /** mm from the camera (or whatever `depth` held), +Infinity for background */
  depth: Float32Array;
}

/**
 * pixels: (V * 2) float32 x y pixel positions (x right, y down); depth: (V) float32; triangles: (T * 3)
 * vertex indices; size: image side (px).
 */
export function rasterize(pixels: Float32Array, depth: Float32Array, triangles: ArrayLike<number>,
  size: number): Fragments {
  const triangle = new Int32Array(size * size).fill(-1);
  const barycentric = new Float32Array(size * size * 3);
  const zbuffer = new Float32Array(size * size).fill(Infinity);
  for (let t = 0; t < triangles.length / 3; t++) { // scalars only: no arrays per triangle or pixel
    const i0 = triangles[3 * t];
    const i1 = triangles[3 * t + 1];
    const i2 = triangles[3 * t + 2];
    const x0 = pixels[2 * i0];
    const y0 = pixels[2 * i0 + 1];
    const x1 = pixels[2 * i1];
    const y1 = pixels[2 * i1 + 1];
    const x2 = pixels[2 * i2];
    const y2 = pixels[2 * i2 + 1];
    const area = f(f(f(x1 - x0) * f(y2 - y0)) - f(f(y1 - y0) * f(x2 - x0)));
    if (area >= 0) continue; // back-facing or degenerate
    const xmin = Math.max(Math.ceil(Math.min(x0, x1, x2) - 0.5), 0);
    const xmax = Math.min(Math.floor(Math.max(x0, x1, x2) - 0.5), size - 1);
    const ymin = Math.max(Math.ceil(Math.min(y0, y1, y2) - 0.5), 0);
    const ymax = Math.min(Math.floor(Math.max(y0, y1, y2) - 0.5), size - 1);
    // barycentrics are affine in the pixel position: w_k = a_k * x + b_k * y + c_k
    const inverse = f(1 / area);
    const a0 = f(-f(y2 - y1) * inverse);
    const b0 = f(f(x2 - x1) * inverse);
    const a1 = f(-f(y0 - y2) * inverse);
    const b1 = f(f(x0 - x2) * inverse);
    const c0 = f(-f(f(a0 * x1) + f(b0 * y1)));
    const c1 = f(-f(f(a1 * x2) + f(b1 * y2)));
    const d0 = depth[i0];
    const d1 = depth[i1];
    const d2 = depth[i2];
    for (let i = ymin; i <= ymax; i++) {
      const py = i + 0.5;
      for (let j = xmin; j <= xmax; j++) {
        const px = j + 0.5;
        const w0 = f(f(f(a0 * px) + f(b0 * py)) + c0);
        const w1 = f(f(f(a1 * px) + f(b1 * py)) + c1);
        const w2 = f(f(1 - w0) - w1);
        if (w0 < 0 || w1 < 0 || w2 < 0) continue;
        const z = f(f(f(w0 * d0) + f(w1 * d1)) + f(w2 * d2));
        const k = i * size + j;
        if (z < zbuffer[k]) {
          zbuffer[k] = z;
          triangle[k] = t;
          barycentric[3 * k] = w0;
          barycentric[3 * k + 1] = w1;
          barycentric[3 * k + 2] = w2;
        }
      }
    }
  }
  return { size, triangle, barycentric, depth: zbuffer };
}
