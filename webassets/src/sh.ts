// Second-order SH irradiance (inversefacenet/render/sh.py): the unnormalised basis [1, y, z, x, xy, yz, 3z^2 - 1, xz,
// x^2 - y^2], so the first coefficient is the ambient irradiance. The view's shader has the same sum in GLSL.

/** RGB irradiance at unit normal (x, y, z) under `sh` (9 x RGB), written into out[at..at+2]. */
export function shIrradiance(x: number, y: number, z: number, sh: number[][], out: Float32Array | Float64Array,
  at: number): void {
  const b4 = x * y; // the basis beyond the first band, as scalars: no array per call
  const b5 = y * z;
  const b6 = 3 * z * z - 1;
  const b7 = x * z;
  const b8 = x * x - y * y;
  for (let c = 0; c < 3; c++) { // summed from 0 in the basis's order
    out[at + c] = 0 + 1 * sh[0][c] + y * sh[1][c] + z * sh[2][c] + x * sh[3][c] + b4 * sh[4][c] + b5 * sh[5][c]
      + b6 * sh[6][c] + b7 * sh[7][c] + b8 * sh[8][c];
  }
}
