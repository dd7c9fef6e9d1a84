// A network that reads each crop both ways (inversefacenet/mirror.py, NetworkConfig.mirror_reading): the crop and
// its left-right flip go through the network as one batch of two, and the answer is the mean of the first reading and
// the mirror image of the second. The maps are Python's (ParameterMirror), exported into facemodel.bin/.json.

/** ParameterMirror's maps: shape and albedo (N, N) row-major with their (N,) offsets, the blendshape each mirrored
 * weight comes from, and the sign of each of the 9 SH coefficients. */
export interface MirrorMaps {
  shapeMap: ArrayLike<number>;
  shapeOffset: ArrayLike<number>;
  albedoMap: ArrayLike<number>;
  albedoOffset: ArrayLike<number>;
  expressionOrder: ArrayLike<number>;
  shSign: ArrayLike<number>;
}

/** `input` (C, S, S) followed by its copy flipped left-right: the batch of two that a reading both ways runs. */
export function withFlipped(input: Float32Array, size: number): Float32Array {
  const out = new Float32Array(2 * input.length);
  out.set(input);
  const flipped = out.subarray(input.length);
  for (let row = 0; row < input.length / size; row++) {
    const start = row * size;
    for (let x = 0; x < size; x++) flipped[start + x] = input[start + size - 1 - x];
  }
  return out;
}

/** out = map @ coefficients + offset, for the parameter group [start, stop) of `vector`. */
function mapped(out: Float32Array, vector: ArrayLike<number>, [start, stop]: [number, number],
  map: ArrayLike<number>, offset: ArrayLike<number>): void {
  const n = stop - start;
  for (let i = 0; i < n; i++) {
    let sum = offset[i];
    for (let j = 0; j < n; j++) sum += map[i * n + j] * vector[start + j];
    out[start + i] = sum;
  }
}

/** The outputs (parameters, then the crop alignment if any) of the mirror image of the face `vector` describes
 * (ParameterMirror.__call__): yaw and roll negated, shape and albedo through their maps, blendshapes swapped Left and
 * Right, SH odd in x negated, the alignment's x shift negated. */
export function mirrored(vector: Float32Array, maps: MirrorMaps, layout: Record<string, [number, number]>): Float32Array {
  const out = Float32Array.from(vector);
  const [rotation] = layout.rotation;
  out[rotation + 1] = -vector[rotation + 1];
  out[rotation + 2] = -vector[rotation + 2];
  mapped(out, vector, layout.shape, maps.shapeMap, maps.shapeOffset);
  mapped(out, vector, layout.albedo, maps.albedoMap, maps.albedoOffset);
  const [expression, expressionStop] = layout.expression;
  for (let k = 0; k < expressionStop - expression; k++) out[expression + k] = vector[expression + maps.expressionOrder[k]];
  const [sh, shStop] = layout.sh;
  for (let k = sh; k < shStop; k++) out[k] = vector[k] * maps.shSign[Math.floor((k - sh) / 3)];
  const parameters = Math.max(...Object.values(layout).map(([, stop]) => stop));
  if (vector.length > parameters) out[parameters] = -vector[parameters];
  return out;
}

/** The answer of a reading both ways from the network's outputs for withFlipped's batch of two. */
export function bothWays(outputs: Float32Array, maps: MirrorMaps, layout: Record<string, [number, number]>): Float32Array {
  const n = outputs.length / 2;
  const back = mirrored(outputs.subarray(n), maps, layout);
  return outputs.subarray(0, n).map((value, k) => (value + back[k]) / 2);
}
