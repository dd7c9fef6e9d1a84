// Every face of a photo, with 478 MediaPipe face-mesh landmarks each, in photo pixels: the rule of
// inversefacenet/detection.py. Search: the face detector (@mediapipe/face_detection) in its full-range
// model over a pyramid of square tiles (small faces) and its short-range model on the whole photo
// (large faces), boxes merged by non-maximum suppression; if nothing is found, the photo turned by
// 90, 180, 270 degrees. Then the face mesh (@mediapipe/face_mesh) on a square crop around each box.
// Both packages' wasm and model files are served next to the page; nothing is fetched elsewhere.
// The legacy detector reports no score, so merging keeps the first box in pass order and the rotated
// passes stop at the first turn with a face (Python keeps the most confident box and turn).

/** Side (px) of the square face crop given to the face mesh. */
const MESH_INPUT = 256;
/** Side of that crop relative to the larger side of the detector's box. */
const CONTEXT = 1.9;
/** A tracked face's mesh crop (inversefacenet/tracking.py): the mesh model reads 192 px, and 1.7 times the
 * previous landmarks' box (which is larger than a detector box) leaves room for the motion of one frame. */
const TRACK_INPUT = 192;
const TRACK_CONTEXT = 1.7;
/** Full-range detector input (px); the short-range one takes 128. */
const TILE = 192;
/** Face sizes (box side / tile side) one tile pass is trusted with; levels 3x apart (see detection.py). */
const TILE_FACES = [1 / 12, 1 / 4];
/** A level whose tile is within this factor of the whole photo is skipped (see detection.py). */
const MERGE_LEVELS = 1.1;
/** The rotated passes look for faces this many times minFace and larger (see detection.py). */
const ROTATED_MIN_FACE = 2;
/** Boxes overlapping more than this are one face. */
const NMS_IOU = 0.5;

export type Box = [number, number, number, number]; // x0, y0, x1, y1, photo px

interface NormalizedLandmark {
  x: number;
  y: number;
  z: number;
}
interface Results {
  multiFaceLandmarks?: NormalizedLandmark[][];
  detections?: { boundingBox: { xCenter: number; yCenter: number; width: number; height: number } }[];
}
interface LegacySolution {
  setOptions(options: Record<string, unknown>): void;
  onResults(callback: (results: Results) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLCanvasElement }): Promise<void>;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

/** One legacy MediaPipe solution, called like a function: image in, its results out. */
class Solution {
  private latest: Results = {};

  private constructor(private readonly solution: LegacySolution) {
    solution.onResults((results) => (this.latest = results));
  }

  static async create(base: string, name: string, options: Record<string, unknown>): Promise<Solution> {
    const Class = (window as unknown as Record<string, new (config: object) => LegacySolution>)[name];
    const solution = new Class({ locateFile: (file: string) => `${base}mediapipe/${file}` });
    solution.setOptions(options);
    await solution.initialize(); // one at a time: the solutions' wasm loaders share global names
    return new Solution(solution);
  }

  async run(image: HTMLCanvasElement): Promise<Results> {
    this.latest = {};
    await this.solution.send({ image });
    return this.latest;
  }
}

function canvas(width: number, height: number): [HTMLCanvasElement, CanvasRenderingContext2D] {
  const out = document.createElement("canvas");
  out.width = width;
  out.height = height;
  const context = out.getContext("2d")!;
  context.imageSmoothingQuality = "high";
  context.fillStyle = "black"; // what lies beyond the photo, as in Python
  context.fillRect(0, 0, width, height);
  return [out, context];
}

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h;
  return (w * h) / Math.max(union, 1e-9);
}

/** Indices of the boxes kept, in order: a box overlapping a kept one by IoU > NMS_IOU is dropped. */
function nms(boxes: Box[]): number[] {
  const kept: number[] = [];
  boxes.forEach((box, k) => {
    if (kept.every((j) => iou(box, boxes[j]) <= NMS_IOU)) kept.push(k);
  });
  return kept;
}

/** Each pyramid level's tile side (photo px), finest first: min_face / TILE_FACES[0], then 3x that, ..., then the
 * whole photo; a level within MERGE_LEVELS of the whole photo is left to it (as detection.py's _levels). */
function tileSides(minFace: number, longest: number): number[] {
  const tiles = [minFace / TILE_FACES[0]];
  while (tiles[tiles.length - 1] < longest) tiles.push((tiles[tiles.length - 1] * TILE_FACES[1]) / TILE_FACES[0]);
  tiles[tiles.length - 1] = longest;
  if (tiles.length > 1 && longest < MERGE_LEVELS * tiles[tiles.length - 2]) tiles.splice(tiles.length - 2, 1);
  return tiles;
}

/** Tile corners along one side of a level: TILE windows overlapping by TILE_FACES[1] of a tile. */
function starts(length: number): number[] {
  const span = Math.max(0, length - TILE);
  const count = 1 + Math.ceil(span / (TILE * (1 - TILE_FACES[1])));
  return Array.from({ length: count }, (_, k) => Math.round(count === 1 ? 0 : (span * k) / (count - 1)));
}

/** The photo turned counterclockwise by a quarter, as numpy's rot90. */
function quarterTurn(image: HTMLCanvasElement): HTMLCanvasElement {
  const [out, context] = canvas(image.height, image.width);
  context.setTransform(0, -1, 1, 0, 0, image.width);
  context.drawImage(image, 0, 0);
  return out;
}

/** 478 x (x, y) points in a photo turned `turns` quarter turns -> the same points in the photo, in place. */
function unturn(points: Float32Array, turns: number, width: number, height: number): Float32Array {
  for (let step = turns; step > 0; step--) {
    const below = (step - 1) % 2 === 0 ? width : height; // width of the photo one quarter turn back
    for (let k = 0; k < points.length; k += 2) [points[k], points[k + 1]] = [below - points[k + 1], points[k]];
  }
  return points;
}

function area(face: Float32Array): number {
  const box = boxOf(face);
  return (box[2] - box[0]) * (box[3] - box[1]);
}

/** (x0, y0, x1, y1) of the 468 mesh points. */
export function boxOf(face: Float32Array): Box {
  const box: Box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < 468 * 2; k += 2) {
    box[0] = Math.min(box[0], face[k]);
    box[1] = Math.min(box[1], face[k + 1]);
    box[2] = Math.max(box[2], face[k]);
    box[3] = Math.max(box[3], face[k + 1]);
  }
  return box;
}

/** The face mesh's options for photos; the tracking mesh adds CPU inference. */
const MESH_OPTIONS = { maxNumFaces: 1, refineLandmarks: true, selfieMode: false, minDetectionConfidence: 0.5 };

export class LandmarkDetector {
  private trackingMesh: Promise<Solution> | null = null;

  private constructor(
    private readonly base: string,
    private readonly shortRange: Solution,
    private readonly fullRange: Solution,
    private readonly mesh: Solution,
    readonly maxFaces: number,
    readonly minFace: number,
  ) {}

  /** `maxFaces` caps the faces of a photo; `minFace` (px, detector box side) sets the finest tiles. */
  static async create(base: string, maxFaces = 64, minFace = 40): Promise<LandmarkDetector> {
    await loadScript(`${base}mediapipe/face_mesh.js`);
    await loadScript(`${base}mediapipe/face_detection.js`);
    const detector = { minDetectionConfidence: 0.5, selfieMode: false };
    const shortRange = await Solution.create(base, "FaceDetection", { ...detector, model: "short" });
    const fullRange = await Solution.create(base, "FaceDetection", { ...detector, model: "full" });
    const mesh = await Solution.create(base, "FaceMesh", MESH_OPTIONS);
    return new LandmarkDetector(base, shortRange, fullRange, mesh, maxFaces, minFace);
  }

  /** Faces as (478 * 2) pixel coordinates, largest first; the photo turned when upright finds none. */
  async detect(image: HTMLCanvasElement): Promise<Float32Array[]> {
    let turned = image;
    for (let turns = 0; turns < 4; turns++, turned = quarterTurn(turned)) {
      const faces = await this.detectUpright(turned, turns === 0 ? this.minFace : ROTATED_MIN_FACE * this.minFace);
      if (faces.length > 0) {
        faces.forEach((face) => unturn(face, turns, image.width, image.height));
        return faces.sort((a, b) => area(b) - area(a));
      }
    }
    return [];
  }

  private async detectUpright(image: HTMLCanvasElement, minFace: number): Promise<Float32Array[]> {
    const faces: Float32Array[] = [];
    for (const box of await this.search(image, minFace)) {
      const face = await this.meshInSquare(image, box);
      if (face) faces.push(face);
    }
    return nms(faces.map(boxOf)).map((k) => faces[k]);
  }

  /** Detector boxes (photo px), at most maxFaces: full range over each pyramid level's tiles, short range whole. */
  async search(image: HTMLCanvasElement, minFace: number): Promise<Box[]> {
    const boxes: Box[] = [];
    const longest = Math.max(image.width, image.height);
    let level = image;
    for (const tile of tileSides(minFace, longest)) {
      const scale = TILE / tile;
      const [next, context] = canvas(Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)));
      context.drawImage(level, 0, 0, next.width, next.height);
      level = next;
      const factor = [image.width / level.width, image.height / level.height];
      for (const y of starts(level.height)) {
        for (const x of starts(level.width)) {
          const [window, windowContext] = canvas(TILE, TILE);
          windowContext.drawImage(level, -x, -y);
          boxes.push(...(await this.boxes(this.fullRange, window, [x, y], factor)));
        }
      }
      if (tile === longest) {
        const [whole, wholeContext] = canvas(128, 128); // the last level is one tile: the short-range pass
        wholeContext.drawImage(level, 0, 0, 128 * (level.width / TILE), 128 * (level.height / TILE));
        boxes.push(...(await this.boxes(this.shortRange, whole, [0, 0], factor.map((f) => (f * TILE) / 128))));
      }
    }
    return nms(boxes)
      .slice(0, this.maxFaces)
      .map((k) => boxes[k]);
  }

  /** One detector on one square window: boxes in photo px ((window px + corner) * factor). */
  private async boxes(detector: Solution, window: HTMLCanvasElement, corner: number[], factor: number[]): Promise<Box[]> {
    const side = window.width;
    return ((await detector.run(window)).detections ?? []).map(({ boundingBox: b }) => {
      const [x0, y0] = [(b.xCenter - b.width / 2) * side + corner[0], (b.yCenter - b.height / 2) * side + corner[1]];
      return [x0 * factor[0], y0 * factor[1], (x0 + b.width * side) * factor[0], (y0 + b.height * side) * factor[1]];
    });
  }

  /**
   * A video frame's face from the previous frame's landmarks (478 x [x, y] px): the mesh alone on a square
   * around them, no detector; null when the mesh finds no face there (the caller then detects again).
   */
  async track(image: HTMLCanvasElement, previous: Float32Array): Promise<Float32Array | null> {
    // Its own graph, made on first use: it keeps one video's state (like tracking.py's per-track graph), and
    // its inference runs in wasm (XNNPACK): the default WebGL inference costs over 100 ms a frame on a
    // software GL (headless, no GPU), and photos keep the graph their detection was measured with.
    this.trackingMesh ??= Solution.create(this.base, "FaceMesh", { ...MESH_OPTIONS, useCpuInference: true });
    return this.meshInSquare(image, boxOf(previous), TRACK_CONTEXT, TRACK_INPUT, await this.trackingMesh);
  }

  /** The mesh of the face in a square around a box (`context` times its larger side), in photo px, or null. */
  private async meshInSquare(image: HTMLCanvasElement, box: Box, context = CONTEXT, side = MESH_INPUT,
    mesh = this.mesh): Promise<Float32Array | null> {
    const scale = side / (Math.max(box[2] - box[0], box[3] - box[1]) * context);
    const shift = [side / 2 - (scale * (box[0] + box[2])) / 2, side / 2 - (scale * (box[1] + box[3])) / 2];
    const [crop, drawing] = canvas(side, side);
    drawing.setTransform(scale, 0, 0, scale, shift[0], shift[1]); // crop = scale * photo + shift
    drawing.drawImage(image, 0, 0);
    const points = (await mesh.run(crop)).multiFaceLandmarks?.[0];
    if (!points) return null;
    const out = new Float32Array(points.length * 2);
    points.forEach((p, k) => {
      out[2 * k] = (p.x * side - shift[0]) / scale;
      out[2 * k + 1] = (p.y * side - shift[1]) / scale;
    });
    return out;
  }
}
