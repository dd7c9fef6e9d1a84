// Every face of a photo, with 478 MediaPipe face-mesh landmarks each, in photo pixels: the rule of
// inversefacenet/detection.py. Search: the face detector (@mediapipe/face_detection) in its full-range
// model over a pyramid of square tiles (small faces) and its short-range model on the whole photo
// (large faces), boxes merged by non-maximum suppression; a box the full-range model is unsure of gets a
// second look by the short-range model close up, upright and turned 180 degrees (an upside-down face);
// if nothing is found, or only upside-down faces, the photo turned by 90, 180, 270 degrees, adding the most
// confident turn. Then the face mesh (@mediapipe/face_mesh) on a square crop around each box. Both packages'
// wasm and model files are served next to the page; nothing is fetched elsewhere.

/** Side (px) of the square face crop given to the face mesh. (Python meshes a region of the photo with MediaPipe's
 * landmark model instead; the npm face mesh takes no region, so the page keeps the crop rule Python had before.) */
const MESH_INPUT = 256;
/** Side of that crop relative to the larger side of the detector's box. */
const CONTEXT = 1.9;
/** A tracked face's mesh crop: the mesh model reads 192 px, and 1.7 times the previous landmarks' box (which is
 * larger than a detector box) leaves room for the motion of one frame (inversefacenet/tracking.py's rule before it
 * moved to MediaPipe's own region from the previous landmarks, which the npm face mesh cannot be given). */
const TRACK_INPUT = 192;
const TRACK_CONTEXT = 1.7;
/** Full-range detector input (px). */
const TILE = 192;
/** Short-range detector input (px): the whole photo's pass and the second look's crop. */
const SHORT_RANGE_INPUT = 128;
/** Face sizes (box side / tile side) one tile pass is trusted with; levels 3x apart (see detection.py). */
const TILE_FACES = [1 / 12, 1 / 4];
/** A level whose tile is within this factor of the whole photo is skipped (see detection.py). */
const MERGE_LEVELS = 1.1;
/** The rotated passes look for faces this many times minFace and larger, and keep no smaller one unless upright
 * found upside-down faces (see detection.py: a face too small for the upright search, read lying on its side). */
const ROTATED_MIN_FACE = 2;
/** Boxes overlapping more than this are one face. */
const NMS_IOU = 0.5;
/** Full-range score from which a box is a face without a second look; every short-range box is (see detection.py). */
const SURE = 0.6;
/** Full-range score from which a box is a candidate for the second look. */
const CANDIDATE = 0.15;
/** The second look: a square of LOOK_CONTEXT x the box's side, a face there from LOOK_SCORE, at most MAX_LOOKS. */
const LOOK_CONTEXT = 2;
const LOOK_SCORE = 0.75;
const MAX_LOOKS = 16;
/** Passes of the face mesh over a photo's crop: the second reads the face in the region of the first's points. */
const PHOTO_MESH_PASSES = 2;
/** Faces the mesh may find in one crop; the one nearest the crop's centre is kept. */
const MESH_FACES = 2;

export type Box = [number, number, number, number]; // x0, y0, x1, y1, photo px
/** A detector box with its score; `sure` when no second look is needed, `upsideDown` once a look says so. */
interface FaceBox {
  box: Box;
  score: number;
  sure: boolean;
  upsideDown: boolean;
}
/** A face: its points (478 x [x, y], photo px), its box's score, and whether it was upside down. */
interface Face {
  points: Float32Array;
  score: number;
  upsideDown: boolean;
}

interface NormalizedLandmark {
  x: number;
  y: number;
  z: number;
}
interface LegacyDetection {
  boundingBox: { xCenter: number; yCenter: number; width: number; height: number };
  /** The detection's classifications under the package's minified names: [{ index, ga: score }]
   * (@mediapipe/face_detection 0.4.1646425229, pinned in package.json; its typings declare no score). */
  V?: { ga?: number }[];
}
interface Results {
  multiFaceLandmarks?: NormalizedLandmark[][];
  detections?: LegacyDetection[];
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
  private turn: Promise<unknown> = Promise.resolve(); // one image at a time: results come back through `latest`

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

  /** Its results for one image. The face mesh tracks faces from image to image as in a video; a `photo`'s crop is
   * read PHOTO_MESH_PASSES times, so that from the second pass on it reads each face in the region of its last points
   * (MediaPipe's rule from landmarks to region, which Python's detection.mesh_face applies to a photo; the last pass
   * that finds a face is kept), then a black image of the same size, so that the next crop starts with no face
   * carried over (reset() would do it too, at about 2 s a call). */
  run(image: HTMLCanvasElement, photo = false): Promise<Results> {
    const results = this.turn.then(() => this.read(image, photo));
    this.turn = results.catch(() => undefined);
    return results;
  }

  private async read(image: HTMLCanvasElement, photo: boolean): Promise<Results> {
    let results: Results = {};
    for (let pass = 0; pass < (photo ? PHOTO_MESH_PASSES : 1); pass++) {
      this.latest = {};
      await this.solution.send({ image });
      if (pass === 0 || this.latest.multiFaceLandmarks?.length) results = this.latest;
    }
    if (photo) await this.solution.send({ image: canvas(image.width, image.height)[0] });
    return results;
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

/** Indices of the boxes kept, most confident first: a box overlapping a kept one by IoU > NMS_IOU is dropped. */
function nms(boxes: Box[], scores: number[]): number[] {
  const order = boxes.map((_, k) => k).sort((a, b) => scores[b] - scores[a]); // stable, as Python's
  const kept: number[] = [];
  for (const k of order) if (kept.every((j) => iou(boxes[k], boxes[j]) <= NMS_IOU)) kept.push(k);
  return kept;
}

/** The faces less those whose mesh box overlaps a more confident one's by IoU > NMS_IOU (one face twice). */
function merged(faces: Face[]): Face[] {
  return nms(faces.map((face) => boxOf(face.points)), faces.map((face) => face.score)).map((k) => faces[k]);
}

/** A legacy detection's score; the package's results carry it under a minified name (see LegacyDetection). */
function scoreOf(detection: LegacyDetection): number {
  const score = detection.V?.[0]?.ga;
  if (typeof score !== "number") throw new Error("@mediapipe/face_detection gave a detection without a score");
  return score;
}

/** The square of `side` photo px around `centre` drawn into a size x size canvas (turned 180 degrees if
 * `upsideDown`), with the scale and shift that map photo px to it: crop = scale * photo + shift. */
function square(image: HTMLCanvasElement, centre: number[], side: number, size: number, upsideDown: boolean) {
  const scale = (size / side) * (upsideDown ? -1 : 1);
  const shift = [size / 2 - scale * centre[0], size / 2 - scale * centre[1]];
  const [crop, drawing] = canvas(size, size);
  drawing.setTransform(scale, 0, 0, scale, shift[0], shift[1]);
  drawing.drawImage(image, 0, 0);
  return { crop, scale, shift };
}

function centreOf(box: Box): number[] {
  return [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2];
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

/** The face mesh's options for photos; the tracking mesh reads one face (as tracking.py's) with CPU inference. */
const MESH_OPTIONS = { maxNumFaces: MESH_FACES, refineLandmarks: true, selfieMode: false, minDetectionConfidence: 0.5 };

/** Where a search is, in words, for the status line; awaited between steps (it may let the page paint). */
export type Progress = (step: string) => void | Promise<void>;

/** The warm-up's end when a photo is chosen or Live starts (LandmarkDetector.warm). */
class WarmUpOver extends Error {}

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
    const detector = (model: string, minDetectionConfidence: number) =>
      Solution.create(base, "FaceDetection", { model, minDetectionConfidence, selfieMode: false });
    const shortRange = await detector("short", 0.5);
    const fullRange = await detector("full", CANDIDATE);
    const mesh = await Solution.create(base, "FaceMesh", MESH_OPTIONS);
    return new LandmarkDetector(base, shortRange, fullRange, mesh, maxFaces, minFace);
  }

  /**
   * A video's first look and a photo's search run once on `photo` (a face), in idle time after loading (a user takes
   * longer to pick a photo or press Live): a graph's first run compiles its WebGL programs, and its first run on a
   * face those of its later stages, one long task of 1-2.5 s each on 2 cores with a software GL (a blank image
   * leaves the latter cold). Cold, Live's first seconds froze three times and its first lost face went unreported
   * for 6 s (a trial); a photo's first detection took them all at once. Stops once `over` says so (a photo chosen
   * or Live started: a compile amid Live would freeze it). A graph takes one image at a time (`Solution.run`), so a
   * search never races the warm-up.
   */
  async warm(photo: HTMLCanvasElement, over: () => boolean): Promise<void> {
    const stop = () => { // between the search's steps: a user waiting on a graph waits for one step at most
      if (over()) throw new WarmUpOver();
    };
    try {
      for (const look of [() => this.findLarge(photo), () => this.detect(photo, stop, false)]) {
        await new Promise((resolve) => requestIdleCallback(resolve));
        stop();
        await look();
      }
    } catch (error) {
      if (!(error instanceof WarmUpOver)) throw error;
    }
  }

  /** Faces as (478 * 2) pixel coordinates, largest first. When upright finds none, or only upside-down faces, the
   * photo turned by 90, 180 and 270 degrees too: the turn with the most confident face is added (see detection.py).
   * `progress` hears where the search is, in words ("searching: 12 of 30 windows", "a closer look at box 1 of 2",
   * "meshing face 2 of 3"): a big photo takes seconds. Without `rotations`, only upright (a webcam's frames). */
  async detect(image: HTMLCanvasElement, progress: Progress = () => {}, rotations = true): Promise<Float32Array[]> {
    let faces = await this.detectUpright(image, this.minFace, progress);
    if (rotations && faces.every((face) => face.upsideDown)) {
      const surest = (found: Face[]) => Math.max(0, ...found.map((face) => face.score));
      let [turned, best]: [HTMLCanvasElement, Face[]] = [image, []];
      for (let turns = 1; turns < 4; turns++) {
        turned = quarterTurn(turned);
        const turn = (step: string) => progress(`the photo turned ${90 * turns}°, ${step}`);
        const found = await this.detectUpright(turned, ROTATED_MIN_FACE * this.minFace, turn, faces.length > 0);
        found.forEach((face) => unturn(face.points, turns, image.width, image.height));
        if (turns === 1 || surest(found) > surest(best)) best = found;
      }
      faces = merged([...faces, ...best]);
    }
    return faces.map((face) => face.points).sort((a, b) => area(b) - area(a));
  }

  /** Boxes, then the mesh in each; `smaller`: keep the boxes under `minFace` the search comes across too. */
  private async detectUpright(image: HTMLCanvasElement, minFace: number, progress: Progress,
    smaller = true): Promise<Face[]> {
    const faces: Face[] = [];
    const found = (await this.search(image, minFace, progress)).filter(({ box }) => smaller ||
      Math.max(box[2] - box[0], box[3] - box[1]) >= minFace);
    for (const [k, { box, score, upsideDown }] of found.entries()) {
      await progress(`meshing box ${k + 1} of ${found.length}`); // a box may hold no face, or one already found
      const points = await this.meshInSquare(image, box, upsideDown);
      if (points) faces.push({ points, score, upsideDown });
    }
    return merged(faces);
  }

  /** Detector boxes (photo px), most confident first, at most maxFaces: full range over each pyramid level's tiles,
   * short range whole, merged; then each looked at close up (`look`), the boxes kept merged again. */
  async search(image: HTMLCanvasElement, minFace: number, progress: Progress): Promise<FaceBox[]> {
    const found: FaceBox[] = [];
    const longest = Math.max(image.width, image.height);
    const sides = tileSides(minFace, longest);
    const size = (tile: number): [number, number] => [Math.max(1, Math.round(image.width * (TILE / tile))),
      Math.max(1, Math.round(image.height * (TILE / tile)))];
    const windows = sides.reduce((sum, tile) => sum + starts(size(tile)[1]).length * starts(size(tile)[0]).length, 0);
    let searched = 0;
    let level = image;
    for (const tile of sides) {
      const [next, context] = canvas(...size(tile));
      context.drawImage(level, 0, 0, next.width, next.height);
      level = next;
      const factor = [image.width / level.width, image.height / level.height];
      for (const y of starts(level.height)) {
        for (const x of starts(level.width)) {
          const [window, windowContext] = canvas(TILE, TILE);
          windowContext.drawImage(level, -x, -y);
          await progress(`searching: ${++searched} of ${windows} windows`);
          const boxes = await this.boxes(this.fullRange, window, [x, y], factor);
          found.push(...boxes.map((face) => ({ ...face, sure: face.score >= SURE })));
        }
      }
      if (tile === longest) found.push(...await this.wholeBoxes(level, factor)); // the last level is one tile
    }
    const merged = nms(found.map((f) => f.box), found.map((f) => f.score)).map((k) => found[k]);
    const kept: FaceBox[] = [];
    const looks = [...merged.filter((f) => f.sure), ...merged.filter((f) => !f.sure).slice(0, MAX_LOOKS)];
    for (const [k, face] of looks.entries()) {
      await progress(`a closer look at box ${k + 1} of ${looks.length}`);
      const looked = await this.look(image, face);
      if (looked) kept.push(looked);
    }
    return nms(kept.map((f) => f.box), kept.map((f) => f.score))
      .slice(0, this.maxFaces)
      .map((k) => kept[k]);
  }

  /** The short-range detector on a whole level (the photo at TILE px on its longer side) shrunk to the detector's
   * input: large faces, as sure boxes in photo px (`factor`: photo px per level px). */
  private async wholeBoxes(level: HTMLCanvasElement, factor: number[]): Promise<FaceBox[]> {
    const [whole, wholeContext] = canvas(SHORT_RANGE_INPUT, SHORT_RANGE_INPUT);
    const shrink = SHORT_RANGE_INPUT / TILE;
    wholeContext.drawImage(level, 0, 0, level.width * shrink, level.height * shrink);
    const boxes = await this.boxes(this.shortRange, whole, [0, 0], factor.map((f) => f / shrink));
    return boxes.map((face) => ({ ...face, sure: true }));
  }

  /**
   * A video frame's largest upright face by the short-range detector on the whole frame, meshed (478 x [x, y] px),
   * or null. Milliseconds where the whole search (`detect`) takes seconds in the page: live mode looks this way
   * while it tracks no face (a webcam's face is large) and runs the whole search only now and then.
   */
  async findLarge(image: HTMLCanvasElement): Promise<Float32Array | null> {
    const scale = TILE / Math.max(image.width, image.height);
    const [level, context] = canvas(Math.max(1, Math.round(image.width * scale)),
      Math.max(1, Math.round(image.height * scale)));
    context.drawImage(image, 0, 0, level.width, level.height);
    const boxes = await this.wholeBoxes(level, [image.width / level.width, image.height / level.height]);
    const size = ({ box }: FaceBox) => (box[2] - box[0]) * (box[3] - box[1]);
    const largest = boxes.sort((a, b) => size(b) - size(a))[0];
    return largest ? this.meshInSquare(image, largest.box, false, CONTEXT, TRACK_INPUT, await this.videoMesh()) : null;
  }

  /** A second look at a box (`lookAt`), upright and turned 180 degrees. A sure box stays, upside down if the turned
   * look is the surer one. An unsure box is replaced by the upright look's box and score if that look is surer than
   * the turned one and a look centred on its box finds the face again, else dropped (see detection.py). */
  private async look(image: HTMLCanvasElement, face: FaceBox): Promise<FaceBox | null> {
    const upright = await this.lookAt(image, face.box, false);
    if (!face.sure && !upright) return null;
    const turned = await this.lookAt(image, face.box, true);
    const turnedScore = turned?.score ?? -1;
    if (face.sure) return { ...face, upsideDown: turnedScore > (upright?.score ?? -1) };
    if (!upright || upright.score <= turnedScore || !(await this.lookAt(image, upright.box, false))) return null;
    return upright;
  }

  /** The short-range detector on the square of LOOK_CONTEXT x the box's larger side around its centre: its most
   * confident box from LOOK_SCORE whose centre lies in the middle half (the face looked at, not a neighbour), photo
   * px, or null. */
  private async lookAt(image: HTMLCanvasElement, around: Box, upsideDown: boolean): Promise<FaceBox | null> {
    const side = Math.max(around[2] - around[0], around[3] - around[1]) * LOOK_CONTEXT;
    const { crop, scale, shift } = square(image, centreOf(around), side, SHORT_RANGE_INPUT, upsideDown);
    let best: FaceBox | null = null;
    for (const { box, score } of await this.boxes(this.shortRange, crop, [0, 0], [1, 1])) {
      const [x, y] = centreOf(box);
      const offset = Math.max(Math.abs(x - SHORT_RANGE_INPUT / 2), Math.abs(y - SHORT_RANGE_INPUT / 2)); // crop px
      if (offset > SHORT_RANGE_INPUT / LOOK_CONTEXT / 2 || score < LOOK_SCORE || (best && score <= best.score)) continue;
      const xs = [(box[0] - shift[0]) / scale, (box[2] - shift[0]) / scale]; // turned: the corners swap
      const ys = [(box[1] - shift[1]) / scale, (box[3] - shift[1]) / scale];
      best = { box: [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], score, sure: false, upsideDown };
    }
    return best;
  }

  /** One detector on one square window: boxes in photo px ((window px + corner) * factor), with their scores. */
  private async boxes(detector: Solution, window: HTMLCanvasElement, corner: number[], factor: number[]) {
    const side = window.width;
    return ((await detector.run(window)).detections ?? []).map((detection) => {
      const b = detection.boundingBox;
      const [x0, y0] = [(b.xCenter - b.width / 2) * side + corner[0], (b.yCenter - b.height / 2) * side + corner[1]];
      const [x1, y1] = [x0 + b.width * side, y0 + b.height * side];
      const box: Box = [x0 * factor[0], y0 * factor[1], x1 * factor[0], y1 * factor[1]];
      return { box, score: scoreOf(detection), upsideDown: false };
    });
  }

  /**
   * A video frame's face from the previous frame's landmarks (478 x [x, y] px): the mesh alone on a square
   * around them, no detector; null when the mesh finds no face there (the caller then detects again).
   */
  async track(image: HTMLCanvasElement, previous: Float32Array): Promise<Float32Array | null> {
    return this.meshInSquare(image, boxOf(previous), false, TRACK_CONTEXT, TRACK_INPUT, await this.videoMesh());
  }

  /** A video's face mesh, its own graph made on first use: it keeps one video's state (like tracking.py's per-track
   * graph), and its inference runs in wasm (XNNPACK): the default WebGL inference costs over 100 ms a frame on a
   * software GL (headless, no GPU), and photos keep the graph their detection was measured with. */
  private videoMesh(): Promise<Solution> {
    this.trackingMesh ??= Solution.create(this.base, "FaceMesh", { ...MESH_OPTIONS, maxNumFaces: 1, useCpuInference: true });
    return this.trackingMesh;
  }

  /** The mesh of the face in a square around a box (`context` times its larger side; turned 180 degrees if
   * `upsideDown`: the mesh reads upright faces), in photo px, or null; of several, the one nearest the centre. */
  private async meshInSquare(image: HTMLCanvasElement, box: Box, upsideDown: boolean, context = CONTEXT,
    side = MESH_INPUT, mesh = this.mesh): Promise<Float32Array | null> {
    const length = Math.max(box[2] - box[0], box[3] - box[1]) * context;
    const { crop, scale, shift } = square(image, centreOf(box), length, side, upsideDown);
    const found = (await mesh.run(crop, mesh === this.mesh)).multiFaceLandmarks ?? []; // a video's are tracked
    const offset = (points: NormalizedLandmark[]) => {
      const mean = points.slice(0, 468).reduce((sum, p) => [sum[0] + p.x / 468, sum[1] + p.y / 468], [0, 0]);
      return Math.abs(mean[0] * side - side / 2) + Math.abs(mean[1] * side - side / 2);
    };
    if (found.length === 0) return null;
    const points = found.reduce((best, face) => (offset(face) < offset(best) ? face : best));
    const out = new Float32Array(points.length * 2);
    points.forEach((p, k) => {
      out[2 * k] = (p.x * side - shift[0]) / scale;
      out[2 * k + 1] = (p.y * side - shift[1]) / scale;
    });
    return out;
  }
}
