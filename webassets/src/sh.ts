// Second-order SH irradiance (inversefacenet/render/sh.py): the unnormalised basis [1, y, z, x, xy, yz, 3z^2 - 1, xz,
// x^2 - y^2], so the first coefficient is the ambient irradiance. The view's shader has the same sum in GLSL.

/** RGB irradiance at unit normal (x, y, z) under `sh` (9 x RGB), written into out[at..at+2]. */
export function shIrradiance(x: number, y: number, z: number, sh: number[][], out: Float32Array, at: number): void {
  const basis = [1, y, z, x, x * y, y * z, 3 * z * z - 1, x * z, x * x - y * y];
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let k = 0; k < 9; k++) sum += basis[k] * sh[k][c];
    out[at + c] = sum;
  }
}
