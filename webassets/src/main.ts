/// <reference lib="es2024.arraybuffer" />
// The page: photo -> landmarks -> crop/mask -> network -> parameters -> face model -> SH-shaded view,
// with lighting, expression and pose controls and mesh downloads. Everything runs in the browser.
import { strToU8, zipSync } from "fflate";
import { type Camera, toCamera, toCropPixels } from "./camera";
import { FaceModel } from "./facemodel";
import { LandmarkDetector } from "./landmarks";
import { NumberedPhoto } from "./numberedphoto";
import { bothWays, withFlipped } from "./mirror";
import { describe, IDENTITY_FRAMES, Live, type LiveStats, nextTask, type Snapshot, type Source, Tracker } from "./live";
import { hexToRgb, type Light, lightFromSh, matchedSh, rgbToHex, shFromLight } from "./lighting";
import { type Backend, type Network, createNetwork } from "./network";
import { type FaceParameters, parametersJson, rotationMatrix, unpack } from "./params";
import { type FittedFace, fromPhoto, type PhotoTexture, standInPhoto, TEXTURE_SIZE } from "./phototexture";
import {
  alignedCrop, alignmentTo, type Crop, cropForLandmarks, cropImage, desaturated, faceMask, isGreyFace, landmarkPixel,
  type InputMask, MESH_POINTS, networkInput, toCrop,
} from "./preprocess";
import { bakeTexture, download, MTL, textureCanvas, toGlb, toObj, toPly } from "./exporters";
import { frameCount, GLB_NAME, JSON_NAME, Recording, sessionGlb, WAITING } from "./recording";
import { buildTexelMap, type TexelMap } from "./texelmap";
import { decodeTiff, isTiff } from "./tiff";
import { isTilted, mapped, turnedBack, uprightImage, uprightOf } from "./upright";
import { FaceView } from "./view";

// absolute, so that libraries resolving paths against their own module URL find the files too
const BASE = new URL(import.meta.env.BASE_URL, document.baseURI).href;

interface Timings {
  landmarks_ms: number;
  preprocess_ms: number;
  network_ms: number;
}
interface Reconstruction {
  faces: FaceParameters[];
  timings: Timings;
  backend: Backend;
}
/** Whether a face is grey in the photo (pipeline.is_grey_face), from the photo's pixels around its landmarks. */
function faceIsGrey(photo: HTMLCanvasElement, points: Float32Array): boolean {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (let k = 0; k < MESH_POINTS; k++) {
    const [x, y] = landmarkPixel(points, k, photo.width, photo.height);
    [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  }
  const region = photo.getContext("2d")!.getImageData(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
  return isGreyFace(points, photo.width, photo.height, region, [x0, y0]);
}

/** The face under a grey light: a grey photo says nothing of the light's colour (the pipeline's rule too). */
function withGreyLight(face: FaceParameters): FaceParameters {
  return { ...face, sh: face.sh.map(([r, g, b]) => Array(3).fill((r + g + b) / 3)) };
}

/** The photo the faces came from and each face's 478 landmarks (photo pixels, x y pairs): the photo texture's input. */
interface Photo {
  canvas: HTMLCanvasElement;
  landmarks: Float32Array[];
  crops: Crop[]; // each face's crop, as the network read it
  greys: boolean[]; // each face grey in the photo (black and white): its model albedo shows desaturated
}

/** One face read by the network (App.read). */
export interface Reading {
  output: Float32Array;
  crop: Crop;
  alignment: number[] | null; // crop alignment to carry to the next frame (Reconstructor.predict_aligned)
  preprocess_ms: number;
  network_ms: number;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const query = new URLSearchParams(location.search);

/** A photo the page cannot use; its message is shown as it is, in plain words. */
class PhotoError extends Error {}

const NO_FACE = "No face was found in this photo. Faces turned far to the side, very small or partly hidden " +
  "can be missed: choose a photo in which a face looks towards the camera."; // pipeline.py's NO_FACE
const NOT_AN_IMAGE = "This file could not be read as an image. Choose a JPEG, PNG, WebP, GIF, BMP or TIFF photo.";
const HEIF = "This is a HEIC/HEIF photo (an iPhone's usual format), which this browser cannot read: save it as JPEG and " +
  "choose it again.";
const EMPTY_FILE = "This file is empty (0 bytes). Choose a photo.";
/** A file that starts as an image but does not decode (inversefacenet/images.py's message for it). */
const CORRUPT = "This photo is truncated or corrupt: the image data ends early or is damaged.";
/** A photo's least width and height (px), as inversefacenet/images.py's: a face needs more. */
const SMALLEST_SIDE = 16;
const NO_CAMERA = "The webcam could not be opened (no camera, or access was not allowed).";
/** Said after a photo's result when choosing it ended live mode (a trial: the camera went off without a word). */
const LIVE_ENDED: Record<Source, string> = { camera: "live mode stopped for this photo, camera released",
  clip: "the video stopped for this photo" };

/** A photo's reading given up at its search's next step: a newer photo, or live mode, took the page. */
class Superseded extends Error {}

/** A photo read but without a face: it stays shown beside the message, so the user sees which photo it was. */
class NoFaceError extends PhotoError {
  constructor(readonly photo: HTMLCanvasElement) {
    super(NO_FACE);
  }
}

/** Side (px) of the stand-in photo the landmark graphs warm up on (LandmarkDetector.warm): a portrait's face. */
const WARM_UP_SIDE = 256;
/** Photo textures of a stand-in photo made in idle time after loading (App.prepareTextures): cold, the first takes
 * what the first face took (about 190 ms on 2 busy cores), the fourth still about 100, the eighth what a face takes. */
const REHEARSALS = 8;
/** The lamp sliders' and colour's values while no face is shown. */
const LAMP = { azimuth: 0, elevation: 20, intensity: 1.2, ambient: 0.5, colour: "#ffffff" };
/** The lamp sliders' ranges (azimuth: the full circle), demo/ui.py's; a recovered lamp is shown inside them. */
const LAMP_RANGES = { elevationDeg: [-90, 90], intensity: [0, 3], ambient: [0, 1.5] } as const;
const NO_LIGHT = () => Array.from({ length: 9 }, () => [0, 0, 0]);
/** The sliders of a face's pose and of the lamp (the expressions' are the face model's). */
const POSE_IDS = ["pitch", "yaw", "roll"];
const LAMP_IDS = ["azimuth", "elevation", "intensity", "ambient"];

/** A face's controls as the user left them for another face of the photo: found again on coming back. */
interface KeptControls {
  values: Record<string, number>; // the pose, expression and lamp sliders (exact)
  colour: string;
  preset: string;
  customLight: boolean;
  lightRest: number[][];
}
/** The stand-in: a portrait's face size (px), turned and lit from the side so that every branch runs, and its
 * other parameters (shape, expression, albedo) at a small value, not 0, so that the face model's sums run too. */
const STAND_IN = { side: 160, pitch: -5, yaw: 25, roll: 3, light: { azimuthDeg: 50, elevationDeg: 20, intensity: 1.2,
  ambient: 0.45, colour: [1, 1, 1] as [number, number, number] }, coefficient: 0.1 };

/** A photo file as an upright image: the browser's own decoder, or UTIF.js for a TIFF (Chromium reads none). */
async function decodeFile(blob: Blob): Promise<ImageBitmap | HTMLCanvasElement> {
  if (blob.size === 0) throw new PhotoError(EMPTY_FILE);
  const head = new Uint8Array(await blob.slice(0, 12).arrayBuffer());
  try {
    if (isTiff(head)) return decodeTiff(await blob.arrayBuffer());
    return await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch (error) {
    if (error instanceof RangeError) throw new PhotoError(error.message);
    if (isHeif(head)) throw new PhotoError(HEIF); // a trial's HEIC got "could not be read as an image"
    throw new PhotoError(isTiff(head) || startsAsImage(head) ? CORRUPT : NOT_AN_IMAGE);
  }
}

/** Whether a file's first 12 bytes are a HEIC/HEIF image's first box (images.py's HEIF_BRANDS). */
function isHeif(head: Uint8Array): boolean {
  return holds(head, 4, "ftyp") && ["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]
    .some((brand) => holds(head, 8, brand));
}

/** Whether ``head`` holds the ASCII ``word`` from byte ``at``. */
function holds(head: Uint8Array, at: number, word: string): boolean {
  return [...word].every((c, k) => head[at + k] === c.charCodeAt(0));
}

/** Whether a file's first 12 bytes are a JPEG's, PNG's, GIF's, WebP's or BMP's signature. */
function startsAsImage(head: Uint8Array): boolean {
  const starts = (...bytes: number[]) => bytes.every((byte, k) => head[k] === byte);
  return starts(0xff, 0xd8, 0xff) || starts(0x89, 0x50, 0x4e, 0x47) || holds(head, 0, "GIF8") ||
    (holds(head, 0, "RIFF") && holds(head, 8, "WEBP")) || holds(head, 0, "BM");
}

/** A photo is read at DECODED_SIDE px on its longer side at most: the landmarks need no more, and memory and the
 * search's windows stay bounded. One that would then be under DECODED_SHORT px on its shorter side (a panorama: a
 * 12000 x 600 strip read 102 px tall lost a face 54 px wide) is read larger, up to DECODED_SHORT px there, within
 * DECODED_PIXELS and MAX_CANVAS_SIDE (Chromium's limit is 32767; 16384 is safe on every browser). */
const DECODED_SIDE = 2048;
const DECODED_SHORT = 1024;
const DECODED_PIXELS = 2048 * 2048;
const MAX_CANVAS_SIDE = 16384;

/** The factor (at most 1) a width x height photo is read at (see DECODED_SIDE). */
function decodedScale(width: number, height: number): number {
  const longest = Math.max(width, height);
  const wide = Math.min(DECODED_SHORT / Math.min(width, height), Math.sqrt(DECODED_PIXELS / (width * height)));
  return Math.min(1, Math.max(DECODED_SIDE / longest, wide), MAX_CANVAS_SIDE / longest);
}

async function decode(url: string): Promise<HTMLCanvasElement> {
  const bitmap = await decodeFile(await fetch(url).then((r) => r.blob()));
  if (bitmap.width < SMALLEST_SIDE || bitmap.height < SMALLEST_SIDE) {
    throw new PhotoError(`This photo is only ${bitmap.width}x${bitmap.height} pixels; a face needs more.`);
  }
  const factor = decodedScale(bitmap.width, bitmap.height);
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * factor);
  canvas.height = Math.round(bitmap.height * factor);
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#fff"; // transparent pixels composited on white, as Python's load_image does
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/**
 * Shrink a throwaway resizable ArrayBuffer. Until a page first shrinks or detaches an ArrayBuffer, V8 compiles
 * typed-array reads without checks for it (its ArrayBufferDetaching protector); the first time, it deoptimizes all
 * code that reads typed arrays. MediaPipe does it in the first photo's landmarks, so the rehearsed de-lighting was
 * thrown away and the first face waited for it to compile again (180 ms against 70); done before the rehearsals,
 * the code they compile stays. (Detaching a small buffer by transfer() or structuredClone did not reliably do it in
 * Chromium 156; shrinking one does.)
 */
function retireDetachProtector(): void {
  new ArrayBuffer(8, { maxByteLength: 8 }).resize(0);
}

class App {
  private faces: FaceParameters[] = [];
  private current = 0;
  private edited: FaceParameters | null = null;
  private photoName = "photo"; // the downloads' names start with it: the photo's file name (live: "live")
  private photoNote = ""; // said after the photo's result: LIVE_ENDED's when choosing it ended live mode
  private customLight = false; // false: the face's recovered SH; true: the lamp sliders
  /** What the lamp sliders add to their lamp (9 x RGB): the rest of the light they started from (recovered or a
   * preset) that one lamp and white ambient leave unexplained; so a slider moved a degree moves it a degree's worth. */
  private lightRest = NO_LIGHT();
  private photos = 0; // counts chosen photos and live starts: a slower earlier photo must not overwrite either
  private live = false; // the face comes from the webcam, frame by frame; the sliders add to it
  private photo: Photo | null = null;
  private preview: NumberedPhoto | null = null; // the photo with its faces numbered, as shown
  private textures = new Map<number, PhotoTexture>(); // the photo's faces' textures, made when first shown
  private kept = new Map<number, KeptControls>(); // the photo's faces' controls, as left for another face
  // live: the frame the track's identity was taken on, and its texture once made
  private liveSkin: { snapshot: Snapshot; texture: PhotoTexture | null } | null = null;
  private texels: TexelMap | null = null; // the atlas's texel map, built once for every photo
  private texelMapMs = 0;
  private rehearsalMs: number[] = []; // each stand-in photo texture's (prepareTextures)
  private textureInStatus: PhotoTexture | null = null; // the photo texture whose time the status line ends with
  private texturesPrepared = false;
  private usePhotoTexture = true; // the person's own skin, as the switch (index.html) and the Gradio app start
  readonly recording = new Recording(); // the tracked face's frames while Record is on, live
  private recordOn = false;
  private restartPending = false; // Record went on: the next face starts a new recording
  private recordingPrefix = ""; // the recording's file names start with it: a clip's name, nothing for the camera
  private liveSource: Source = "camera"; // what live mode tracks, or last tracked

  constructor(
    readonly model: FaceModel,
    readonly detector: LandmarkDetector,
    readonly network: Network,
    readonly view: FaceView,
  ) {}

  /** The face as the 3D view shows it, edits and light applied: what params.json downloads. */
  get shown(): FaceParameters | null {
    return this.edited;
  }

  /** The Gradio app's expression sliders (facemodel.json), so both UIs offer the same. */
  get expressions(): string[] {
    return this.model.index.expression_sliders;
  }

  get inputSize(): number {
    return this.network.preprocessing.input_size;
  }

  /** The network's crop of a face from its 478 landmarks (photo pixels, x y pairs). */
  crop(points: Float32Array) {
    return cropForLandmarks(points, this.inputSize, this.network.preprocessing.crop_scale);
  }

  /** One face's network input from its 478 landmarks (photo pixels, x y pairs), in `crop` (default: the rule's), by
   * input `rule` (default: the network's). */
  input(photo: HTMLCanvasElement, points: Float32Array, crop: Crop = this.crop(points),
    rule: InputMask = this.network.preprocessing.input_mask ?? "face"): Float32Array {
    const mask =
      rule === "none"
        ? new Uint8Array(crop.size * crop.size).fill(1)
        : faceMask(toCrop(points, crop), crop.size, this.model.index.face_mask);
    return networkInput(cropImage(photo, crop), mask, crop.size, rule);
  }

  /**
   * One face read by the network: its output and the crop its parameters are framed by. A network with crop
   * alignment reads twice: its first output also says where the crop should have been (MediaPipe's points sit
   * off the model's own), the second reads there (inversefacenet/pipeline.py, Reconstructor.predict); one that
   * reads both ways reads once, its parameters framed by the crop it points to. In a video,
   * `carried` (the last frame's `alignment`) puts the crop there at once and the face is read once
   * (Reconstructor.predict_aligned). A face tilted beyond the network's roll range is read upright (readTilted).
   */
  async read(photo: HTMLCanvasElement, points: Float32Array, carried: number[] | null = null): Promise<Reading> {
    if (isTilted(points, this.model.index.face_mask.eyes)) return this.readTilted(photo, points, carried);
    return this.readLevel(photo, points, carried);
  }

  /** `read` for a face inside the network's roll range. */
  private async readLevel(photo: HTMLCanvasElement, points: Float32Array, carried: number[] | null): Promise<Reading> {
    const rule = this.crop(points);
    const aligning = this.network.preprocessing.crop_alignment ?? false;
    const first = await this.readAt(photo, points, aligning && carried ? alignedCrop(rule, carried) : rule);
    if (!aligning) return first;
    const pointed = alignedCrop(first.crop, first.output.subarray(this.parameterCount));
    // a reading both ways reads the face well enough where it is: its parameters are framed by the crop it points to
    const once = carried !== null || (this.network.preprocessing.mirror_reading ?? false);
    const second = once ? null : await this.readAt(photo, points, pointed);
    const reading = second ? { ...second, preprocess_ms: first.preprocess_ms + second.preprocess_ms,
      network_ms: first.network_ms + second.network_ms } : { ...first, crop: carried ? first.crop : pointed };
    return { ...reading, alignment: alignmentTo(rule, pointed) };
  }

  /**
   * A face tilted beyond the network's roll range, read in an upright copy of its surroundings and turned back
   * (inversefacenet/upright.py, Reconstructor._predict_tilted): the turned output, the crop the rule puts on its
   * turned-back model landmarks, and the copy's alignment to carry.
   */
  private async readTilted(photo: HTMLCanvasElement, points: Float32Array, carried: number[] | null): Promise<Reading> {
    const upright = uprightOf(points, this.model.index.face_mask.eyes);
    const reading = await this.readLevel(uprightImage(photo, upright), mapped(points, upright), carried);
    const read = unpack(reading.output, this.model.index);
    const { pitch, yaw, roll } = read.rotation_deg;
    const landmarks = this.model.pointsOf(this.model.landmarks.subarray(0, MESH_POINTS), read.shape,
      this.model.index.expression_names.map((n) => read.expression[n]));
    const inCrop = toCropPixels(toCamera(landmarks, rotationMatrix(pitch, yaw, roll), this.camera),
      Array.from({ length: MESH_POINTS }, (_, k) => k), reading.crop.size, this.camera);
    const { scale, offset } = reading.crop;
    const inPhoto = mapped(inCrop.map((v, i) => (v - offset[i % 2]) / scale), upright, true);
    return { ...reading, output: turnedBack(reading.output, upright.roll, this.model.index.parameter_layout),
      crop: cropForLandmarks(inPhoto, reading.crop.size, this.camera.cropScale) };
  }

  /** One reading of the network on `crop` (both ways, as one batch of two, for a network that reads so). */
  private async readAt(photo: HTMLCanvasElement, points: Float32Array, crop: Crop): Promise<Reading> {
    const start = performance.now();
    const input = this.input(photo, points, crop);
    const { mirror_reading: both, parameter_layout: layout } = this.network.preprocessing;
    const preprocess_ms = performance.now() - start;
    const { output, ms } = await this.network.run(both ? withFlipped(input, this.inputSize) : input, this.inputSize);
    return { output: both ? bothWays(output, this.model.mirror, layout) : output, crop, alignment: null,
      preprocess_ms, network_ms: ms };
  }

  /** How many of the network's outputs are face parameters (the crop alignment, if any, follows them). */
  private get parameterCount(): number {
    return Math.max(...Object.values(this.network.preprocessing.parameter_layout).map(([, stop]) => stop));
  }

  /** The selected face's de-lit photo texture when switched on and a photo is shown (made once per face), else null. */
  private photoTexture(): PhotoTexture | null {
    if (!this.usePhotoTexture) {
      if (this.photo) this.showTextureTime(null); // a trial: the line still gave its time beside the model albedo
      return null;
    }
    if (!this.photo) return this.liveTexture();
    let texture = this.textures.get(this.current);
    if (!texture) {
      const points = this.photo.landmarks[this.current];
      texture = fromPhoto(this.photo.canvas, points, this.photo.crops[this.current],
        this.fitted(this.faces[this.current]), this.texelMap(), this.model, this.model.index.face_mask, this.camera);
      this.textures.set(this.current, texture);
    }
    this.showTextureTime(texture);
    return texture;
  }

  /** The photo's status line ends with the shown face's photo texture time, or without one (the model albedo). */
  private showTextureTime(texture: PhotoTexture | null): void {
    if (texture === this.textureInStatus) return;
    const line = $("status");
    const status = line.textContent!.replace(/ · photo texture.*$/, "");
    setStatus(texture ? `${status} · photo texture ${texture.ms.toFixed(0)} ms` : status, line.classList.contains("error"));
    this.textureInStatus = texture;
  }

  /** Live: the person's skin de-lit from the frame the track's identity was taken on (made once per track, when
   * first shown), or null before that frame (the model albedo shows until then). */
  private liveTexture(): PhotoTexture | null {
    const skin = this.liveSkin;
    if (!skin) return null;
    const { frame, points, crop, output } = skin.snapshot;
    skin.texture ??= fromPhoto(frame, points, crop, this.fitted(unpack(output, this.model.index)), this.texelMap(),
      this.model, this.model.index.face_mask, this.camera);
    return skin.texture;
  }

  /** The model albedo of a face of the photo shown, desaturated where the face is grey in it (FaceResult.albedo). */
  private modelAlbedo(face: FaceParameters): Float32Array {
    const albedo = this.model.albedo(face.albedo);
    return this.photo?.greys[this.current] ? desaturated(albedo) : albedo;
  }

  /** A face as the photo texture takes it: its geometry, model albedo, rotation and light. */
  private fitted(face: FaceParameters): FittedFace {
    const { pitch, yaw, roll } = face.rotation_deg;
    const expression = this.model.index.expression_names.map((n) => face.expression[n]);
    return { vertices: this.model.geometry(face.shape, expression), albedo: this.modelAlbedo(face),
      rotation: rotationMatrix(pitch, yaw, roll), sh: face.sh };
  }

  /** How the network frames its faces. */
  private get camera(): Camera {
    const { camera_distance_mm: distanceMm, crop_scale: cropScale } = this.network.preprocessing;
    return { distanceMm, cropScale };
  }

  /** Whether a photo was chosen or Live started: idle-time preparations (rehearsals, warm-ups) stop then. */
  get busy(): boolean {
    return this.photos > 0 || this.live;
  }

  /**
   * Once per page, in idle time after loading (a user takes longer to pick a photo), a step per idle callback: the
   * texel map, then REHEARSALS photo textures of a stand-in photo. Cold, the first face waited for V8 to compile
   * the de-lighting loop by loop (interpreted loops, on-stack replacements, deoptimizations where a branch had no
   * type feedback yet, and the optimizing compiler's threads taking the cores): 180 ms against 70. Ends when a
   * photo is chosen (its own texture warms the code as well) or Live starts: a rehearsal would only delay them.
   */
  prepareTextures(): void {
    const step = () => {
      const over = this.busy || this.rehearsalMs.length === REHEARSALS;
      if (over) return void (this.texturesPrepared = true);
      if (!this.texels) this.texelMap();
      else this.rehearsalMs.push(this.rehearse());
      requestIdleCallback(step);
    };
    retireDetachProtector();
    requestIdleCallback(step);
  }

  /** The photo texture of the stand-in photo (standInPhoto() of the STAND_IN face): its ms. */
  private rehearse(): number {
    const { photo, points, face } = this.standIn(STAND_IN.side);
    return fromPhoto(photo, points, this.crop(points), face, this.texelMap(), this.model, this.model.index.face_mask,
      this.camera).ms;
  }

  /** The STAND_IN face rendered as a `side` px photo (standInPhoto()), its landmarks (px) and the face. */
  standIn(side: number): { photo: HTMLCanvasElement; points: Float32Array; face: FittedFace } {
    const face = this.fitted(this.standInFace());
    const { rgba, points } = standInPhoto(face, this.model, this.camera, side);
    const photo = document.createElement("canvas");
    [photo.width, photo.height] = [side, side];
    photo.getContext("2d")!.putImageData(new ImageData(rgba, side), 0, 0);
    return { photo, points, face };
  }

  /** The STAND_IN face's parameters, unpacked from a network output as a real face's are (the same array kinds: the
   * code compiled for them fits a real face). */
  private standInFace(): FaceParameters {
    const { pitch, yaw, roll, light, coefficient } = STAND_IN;
    const output = new Float32Array(this.parameterCount).fill(coefficient);
    const layout = this.model.index.parameter_layout;
    output.set([pitch, yaw, roll].map((degrees) => (degrees * Math.PI) / 180), layout.rotation[0]);
    output.set(shFromLight(light).flat(), layout.sh[0]);
    return unpack(output, this.model.index);
  }

  /** The atlas's texel map, built once for every photo (its ms kept for automation; prepareTextures builds it). */
  texelMap(): TexelMap {
    if (!this.texels) {
      const start = performance.now();
      this.texels = buildTexelMap(this.model, TEXTURE_SIZE);
      this.texelMapMs = performance.now() - start;
    }
    return this.texels;
  }

  /**
   * Timings of the photo texture for automation: the shown face's (ms), the texel map's and the stand-in's
   * rehearsals' (ms, once per page), and whether that idle-time preparation is over.
   */
  get photoTextureTimings(): { ms: number | null; texel_map_ms: number; rehearsal_ms: number[]; prepared: boolean } {
    const shown = this.photo ? this.textures.get(this.current) : this.liveSkin?.texture;
    return { ms: shown?.ms ?? null, texel_map_ms: this.texelMapMs,
      rehearsal_ms: this.rehearsalMs, prepared: this.texturesPrepared };
  }

  /** The switch moved: the 3D view and the downloads take the photo texture or the model albedo. */
  setPhotoTexture(on: boolean): void {
    this.usePhotoTexture = on;
    this.update();
  }

  /**
   * A new photo: the previous face's views, controls and downloads go at once, so that nothing shown
   * belongs to another photo; a photo without a usable face leaves one message (and the photo, if it has no face).
   */
  async reconstruct(url: string, name = "photo", endedLive: Source | null = null): Promise<Reconstruction> {
    const ticket = ++this.photos;
    this.photoName = name;
    this.photoNote = endedLive ? LIVE_ENDED[endedLive] : "";
    this.clear("Finding faces…");
    try {
      return await this.reconstructPhoto(url, ticket);
    } catch (error) {
      if (ticket === this.photos) {
        const message = error instanceof PhotoError ? error.message : `Something went wrong: ${(error as Error).message}`;
        this.clear(this.photoNote ? `${message} (${this.photoNote}.)` : message, true);
        if (error instanceof NoFaceError) $("photo-preview").replaceChildren(error.photo);
      }
      throw error;
    }
  }

  private async reconstructPhoto(url: string, ticket: number): Promise<Reconstruction> {
    const photo = await decode(url);
    const start = performance.now();
    const progress = async (step: string) => {
      if (ticket !== this.photos) throw new Superseded(); // the graphs are the newer photo's, or live mode's
      setStatus(`Finding faces… ${step}`);
      await nextTask(); // the page paints it and answers clicks between the search's steps
    };
    const landmarks = await this.detector.detect(photo, progress); // largest face first
    const landmarks_ms = performance.now() - start;
    if (!landmarks.length) throw new NoFaceError(photo);
    const [faces, crops, timings] = [[] as FaceParameters[], [] as Crop[], { landmarks_ms, preprocess_ms: 0,
      network_ms: 0 }];
    const greys = landmarks.map((points) => faceIsGrey(photo, points));
    for (const [k, points] of landmarks.entries()) {
      if (ticket !== this.photos) throw new Superseded();
      const reading = await this.read(photo, points);
      const face = unpack(reading.output, this.model.index);
      faces.push(greys[k] ? withGreyLight(face) : face);
      crops.push(reading.crop);
      timings.preprocess_ms += reading.preprocess_ms;
      timings.network_ms += reading.network_ms;
    }
    const { preprocess_ms, network_ms } = timings;
    if (ticket !== this.photos) return { faces, timings, backend: this.network.backend }; // a newer photo is on
    this.faces = faces;
    this.kept.clear();
    this.photo = { canvas: photo, landmarks, crops, greys };
    setResults(true);
    this.preview = new NumberedPhoto(photo, landmarks, (face) => this.show(face));
    $("photo-preview").replaceChildren(this.preview.canvas);
    const select = $<HTMLSelectElement>("face");
    select.replaceChildren(...faces.map((_, k) => new Option(`Face ${k + 1}`, String(k))));
    const count = faces.length === 1 ? "1 face" : `${faces.length} faces`;
    setStatus(
      `${count} · ${this.network.backend} · landmarks ${landmarks_ms.toFixed(0)} ms · ` +
      `preprocessing ${preprocess_ms.toFixed(0)} ms · network ${network_ms.toFixed(1)} ms` +
      (this.photoNote ? ` · ${this.photoNote}` : ""));
    this.showFace(0); // after the status: a photo texture made now adds its time to it
    return { faces, timings, backend: this.network.backend };
  }

  /** Live mode starts, on the camera or a clip (`name`: its file name's stem, which starts the downloads' names):
   * nothing of a photo stays, nor comes (one being read is given up at its search's next step); the sliders at 0
   * follow the tracked face. The Skin switch stays: the photo texture is then de-lit from the frame each track's
   * identity is taken on. */
  startLive(source: Source = "camera", name = "live"): void {
    this.photos++; // a photo still being read is given up: its result would land amid live mode
    [this.photoName, this.liveSource] = [name, source];
    this.clear(source === "clip" ? "Opening the video…" : "Starting the camera…");
    if (source === "camera") $<HTMLInputElement>("file").value = ""; // no photo is shown (a clip's name stays)
    this.live = true;
    $<HTMLInputElement>("record").disabled = false;
    if (source === "clip") { // a clip is recorded from its start, on its own clock, as Python writes frames.json
      $<HTMLInputElement>("record").checked = true;
      this.setRecording(true);
    }
    setOffsetLegends(true);
  }

  /** Record switched: on starts a new recording with the next face seen (the last one stays downloadable until
   * then: a clip the browser could not play took it away, a trial), off keeps it for the download. */
  setRecording(on: boolean): void {
    [this.recordOn, this.restartPending] = [on, on];
  }

  /** The next face of a recording switched on: the new recording starts (a clip's on its own clock, from 0 s, as
   * Python's frames.json, its files named after the clip). */
  private restartRecording(): void {
    const clip = this.liveSource === "clip";
    this.recording.restart(clip ? 0 : null);
    this.recordingPrefix = clip ? `${this.photoName}_` : "";
    this.restartPending = false;
  }

  /** After a clip: what its recording holds, and that it waits to be downloaded (Record then goes off). */
  get clipRecordingNote(): string {
    if (this.restartPending || !this.recording.length) return "";
    const part = this.recording.full ? `, the clip's first ${this.recording.limitS} s` : "";
    return ` Recorded: ${frameCount(this.recording.length)}${part} (Download recording).`;
  }

  /** While recording, the status line's words about it ("" otherwise). */
  get recordingStatus(): string {
    if (!this.recordOn) return "";
    return ` · ${this.restartPending ? WAITING : this.recording.status(this.liveSource === "clip")}`;
  }

  /** Live with the photo texture on: the face shows the model albedo until the track's identity is taken. */
  get liveSkinStatus(): string {
    return this.awaitingLiveSkin
      ? ` · your own skin from the ${IDENTITY_FRAMES}th tracked frame (the model albedo until then)` : "";
  }

  /** After Stop: why the face shows the model albedo with the photo texture chosen, if it does. */
  get stoppedSkinStatus(): string {
    return this.awaitingLiveSkin
      ? ` It shows the model albedo: live mode stopped before the face's ${IDENTITY_FRAMES}th tracked frame (a face ` +
        "found again elsewhere counts anew), which the skin is taken from." : "";
  }

  /** The photo texture is chosen, but no track has had its skin frame yet: the model albedo shows. */
  private get awaitingLiveSkin(): boolean {
    return this.usePhotoTexture && !this.liveSkin;
  }

  /**
   * One live frame's network output, seen at `seconds`: it becomes the face; the edits and the chosen light apply
   * to it. While recording, the tracked parameters (without the edits) are kept, as the Gradio app keeps them.
   */
  showLive(output: Float32Array, seconds: number, snapshot: Snapshot | null): void {
    [this.faces, this.current] = [[unpack(output, this.model.index)], 0];
    if (!this.customLight) this.showLight(this.faces[0].sh); // the lamp sliders follow the tracked light
    if (snapshot !== this.liveSkin?.snapshot) this.liveSkin = snapshot && { snapshot, texture: null }; // a new track
    if (this.recordOn && this.restartPending) this.restartRecording();
    if (this.recordOn && this.recording.add(this.faces[0], seconds) && this.recording.length === 1) {
      $<HTMLButtonElement>("download-recording").disabled = false;
    }
    if (!document.body.classList.contains("has-face")) {
      setResults(true);
      $<HTMLSelectElement>("face").hidden = true; // one face is tracked
    }
    this.update();
  }

  /** Live mode ends: the last frame stays as edited, drawn on the full mesh, and the sliders show its values as for
   * a photo. */
  endLive(): void {
    this.live = false;
    setOffsetLegends(false);
    Object.assign($<HTMLInputElement>("record"), { checked: false, disabled: true }); // the recording stays
    [this.recordOn, this.restartPending] = [false, false]; // a recording that never saw a face: the last one stays
    if (!this.edited) return;
    const { rotation_deg: r, expression } = this.edited;
    setValues({ ...r, ...Object.fromEntries(this.expressions.map((n) => [n, expression[n]])) });
    this.update();
  }

  /** No face on the page: photo, face list, 3D view, controls and downloads cleared; one message. */
  clear(message: string, isError = false): void {
    this.faces = [];
    this.current = 0;
    this.edited = null;
    this.photo = null;
    this.preview = null;
    this.textures.clear();
    this.kept.clear();
    this.liveSkin = null;
    $("photo-preview").replaceChildren();
    $<HTMLSelectElement>("face").replaceChildren();
    setValues({ pitch: 0, yaw: 0, roll: 0, ...Object.fromEntries(this.expressions.map((n) => [n, 0])) });
    this.recoveredLight(null);
    this.view.clear();
    setResults(false);
    setStatus(message, isError);
  }

  /** Face ``index`` of the photo chosen: the face left keeps its controls, and one chosen again finds its own (a
   * trial's edits of one face of a group photo were lost on looking at another). */
  show(index: number): void {
    if (this.edited && !this.live) this.kept.set(this.current, this.controls());
    this.showFace(index, this.live ? undefined : this.kept.get(index));
  }

  /** Reset: the face shown back at its recovered values, its kept controls forgotten. */
  reset(): void {
    this.kept.delete(this.current);
    this.showFace(this.current);
  }

  /** Show face ``index`` with ``kept`` controls, or at its recovered values. */
  private showFace(index: number, kept?: KeptControls): void {
    this.current = index;
    const face = this.faces[index];
    $<HTMLSelectElement>("face").value = String(index);
    this.preview?.draw(index);
    if (kept) {
      setValues(kept.values);
      $<HTMLInputElement>("colour").value = kept.colour;
      $<HTMLSelectElement>("preset").value = kept.preset;
      this.customLight = kept.customLight;
      this.lightRest = kept.lightRest;
      this.update();
      return;
    }
    // live, the sliders are offsets: back to 0, following the tracked face
    const { pitch, yaw, roll } = this.live ? { pitch: 0, yaw: 0, roll: 0 } : face.rotation_deg;
    setValues({ pitch, yaw, roll,
      ...Object.fromEntries(this.expressions.map((n) => [n, this.live ? 0 : face.expression[n]])) });
    this.recoveredLight(face.sh);
    this.update();
  }

  /** The controls of the face shown, as the user left them. */
  private controls(): KeptControls {
    const ids = [...POSE_IDS, ...this.expressions, ...LAMP_IDS];
    return { values: Object.fromEntries(ids.map((id) => [id, sliderValue(id)])),
      colour: $<HTMLInputElement>("colour").value, preset: $<HTMLSelectElement>("preset").value,
      customLight: this.customLight, lightRest: this.lightRest };
  }

  /** Back to the face's recovered light ``sh`` (null: no face): the preset, the lamp sliders and the colour. */
  private recoveredLight(sh: number[][] | null): void {
    $<HTMLSelectElement>("preset").value = "recovered";
    this.customLight = false;
    if (sh) {
      this.showLight(sh);
    } else {
      const { colour, ...sliders } = LAMP;
      setValues(sliders);
      $<HTMLInputElement>("colour").value = colour;
      this.lightRest = NO_LIGHT();
    }
  }

  /** The lamp sliders and colour at the nearest lamp to ``sh`` inside their ranges (demo/ui.py's ``_slider_lamp``),
   * and the rest of ``sh`` that lamp leaves: the sliders' light is ``sh`` itself at the values shown. */
  private showLight(sh: number[][]): void {
    const read = lightFromSh(sh);
    const clamp = (value: number, [low, high]: readonly number[]) => Math.min(Math.max(value, low), high);
    const colour = rgbToHex(read.colour); // the colour input keeps 8 bits a channel
    const lamp: Light = { ...read, elevationDeg: clamp(read.elevationDeg, LAMP_RANGES.elevationDeg),
      intensity: clamp(read.intensity, LAMP_RANGES.intensity), ambient: clamp(read.ambient, LAMP_RANGES.ambient),
      colour: hexToRgb(colour) };
    const lampSh = shFromLight(lamp);
    setValues({ azimuth: lamp.azimuthDeg, elevation: lamp.elevationDeg, intensity: lamp.intensity,
      ambient: lamp.ambient });
    $<HTMLInputElement>("colour").value = colour;
    this.lightRest = sh.map((row, k) => row.map((v, c) => v - lampSh[k][c]));
  }

  /** A preset was picked: the recovered light, or a lamp that the sliders then show. */
  applyPreset(name: string): void {
    if (name === "recovered") {
      this.recoveredLight(this.faces[this.current]?.sh ?? null);
    } else {
      const preset = this.model.index.light_presets[name]; // inversefacenet/lighting.py's presets, via facemodel.json
      const lamp: Light = { azimuthDeg: preset.azimuth_deg, elevationDeg: preset.elevation_deg,
        intensity: preset.intensity, ambient: preset.ambient, colour: preset.colour };
      const face = this.faces[this.current];
      this.showLight(face ? matchedSh(lamp, face.sh) : shFromLight(lamp)); // the photo's exposure and balance
      this.customLight = true;
    }
    this.update();
  }

  /** A lamp slider moved: the light now comes from the sliders. */
  moveLight(): void {
    this.customLight = true;
    $<HTMLSelectElement>("preset").value = "custom"; // as in the app; picking a preset again then applies it
    this.update();
  }

  /** Apply the controls to the selected face and redraw. */
  update(): void {
    const face = this.faces[this.current];
    if (!face) return;
    const lamp = () => shFromLight({ azimuthDeg: sliderValue("azimuth"), elevationDeg: sliderValue("elevation"),
      intensity: sliderValue("intensity"), ambient: sliderValue("ambient"),
      colour: hexToRgb($<HTMLInputElement>("colour").value) });
    const sh = this.customLight ? lamp().map((row, k) => row.map((v, c) => v + this.lightRest[k][c])) : face.sh;
    // A photo's sliders hold the face's values; live, they are added to each frame's (exaggerate a smile).
    const base = (tracked: number) => (this.live ? tracked : 0);
    const expression = { ...face.expression, ...Object.fromEntries(this.expressions.map((n) =>
      [n, Math.min(base(face.expression[n]) + sliderValue(n), 1)])) };
    const r = face.rotation_deg;
    const rotation_deg = { pitch: base(r.pitch) + sliderValue("pitch"), yaw: base(r.yaw) + sliderValue("yaw"),
      roll: base(r.roll) + sliderValue("roll") };
    this.edited = { ...face, sh, expression, rotation_deg };
    const weights = this.model.index.expression_names.map((n) => expression[n]);
    const albedo = this.photoTexture()?.vertexAlbedo ?? this.modelAlbedo(face);
    if (this.live) { // the coarse level's mesh: a quarter of the triangles, at video rate
      const { live } = this.model;
      const vertices = this.model.liveGeometry(face.shape, weights);
      this.view.setMesh("live", this.model.split(vertices, live), this.model.liveNormals(vertices),
        this.model.split(albedo, live));
    } else { // the downloads' vertex list: the atlas's, which ends at the forehead and jaw curves
      const vertices = this.model.geometry(face.shape, weights);
      this.view.setMesh("full", this.model.split(vertices), this.model.atlasNormals(vertices), this.model.split(albedo));
    }
    this.view.draw(rotationMatrix(rotation_deg.pitch, rotation_deg.yaw, rotation_deg.roll), sh);
  }

  /** The recording as the app exports it: recording.json (session_dict) and recording_animated.glb. */
  async downloadRecording(): Promise<void> {
    const session = this.recording.session(this.model.index.face_model_sha256);
    download(this.recordingPrefix + JSON_NAME, parametersJson(session));
    const skin = this.photoTexture(); // the person's own skin when chosen and taken, as the still downloads
    const glb = await sessionGlb(this.model, session, this.view.renderer,
      skin && textureCanvas(skin.texture, skin.size));
    download(this.recordingPrefix + GLB_NAME, new Blob([glb], { type: "model/gltf-binary" }));
  }

  /** A download's name: the photo's, the face's number and ``suffix`` (astronaut_face1.glb): the faces of a group
   * photo, or of several photos, do not overwrite one another as face.glb, face (1).glb, ... */
  private fileName(suffix: string): string {
    return `${this.photoName}_face${this.current + 1}${suffix}`;
  }

  async download(kind: Download): Promise<void> {
    const face = this.edited;
    if (!face) return;
    if (kind === "json") return download(this.fileName("_params.json"), parametersJson(face, 1));
    const names = this.model.index.expression_names;
    // Head frame, on the UV atlas's seam-split vertices, as the Python OBJ, PLY and GLB.
    const modelVertices = this.model.geometry(face.shape, names.map((n) => face.expression[n]));
    const vertices = this.model.split(modelVertices);
    const skin = this.photoTexture();
    const albedo = this.model.split(skin?.vertexAlbedo ?? this.modelAlbedo(face));
    const { uv, triangles } = this.model.atlas;
    if (kind === "ply") return download(this.fileName(".ply"), toPly(vertices, albedo, triangles));
    const texture = skin ? textureCanvas(skin.texture, skin.size)
      : bakeTexture(this.view.renderer, uv, triangles, albedo);
    const mesh = { vertices, normals: this.model.atlasNormals(modelVertices), uv, triangles };
    if (kind === "glb") {
      const { pitch, yaw, roll } = face.rotation_deg;
      const glb = await toGlb(mesh, texture, rotationMatrix(pitch, yaw, roll));
      return download(this.fileName(".glb"), new Blob([glb], { type: "model/gltf-binary" }));
    }
    // one file, as the app's face_obj.zip: three downloads at once make browsers ask for permission
    const png = await new Promise<Blob | null>((resolve) => texture.toBlob(resolve));
    if (!png) throw new Error("the texture could not be encoded as PNG");
    const zip = zipSync({ "face.obj": strToU8(toObj(mesh, albedo)), "face.mtl": strToU8(MTL),
      "face_albedo.png": [new Uint8Array(await png.arrayBuffer()), { level: 0 }] }); // a PNG is compressed already
    download(this.fileName("_obj.zip"), new Blob([zip], { type: "application/zip" }));
  }
}

type Download = "obj" | "ply" | "glb" | "json";

function setStatus(message: string, isError = false): void {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

/** Live, the expression and pose sliders are added to the tracked face's (at 0 they change nothing): the legends
 * say so. */
function setOffsetLegends(live: boolean): void {
  $("expression").querySelector("legend")!.textContent = live ? "Expression (added to the tracked face's)" : "Expression";
  $("pose").querySelector("legend")!.textContent = live ? "Head pose (added to the tracked pose)" : "Head pose";
}

/** Show or hide everything that belongs to a face: the 3D view, its controls and downloads. */
function setResults(shown: boolean): void {
  document.body.classList.toggle("has-face", shown);
  $("downloads").hidden = !shown;
  for (const id of ["lighting", "expression", "pose"]) $<HTMLFieldSetElement>(id).disabled = !shown;
  $<HTMLSelectElement>("face").hidden = !shown;
}

/**
 * The values the page set on its sliders (a face's pose and expression, a preset's lamp), exact until the user moves
 * the slider: a range input keeps only multiples of its step, and the face and its downloads would take the rounding.
 */
const exactValues = new Map<string, number>();
document.addEventListener("input", (event) => {
  const id = (event.target as HTMLElement).id;
  exactValues.delete(id);
  showValue(id);
}, { capture: true });

/** A slider's number beside it (its ``${id}-value`` output), to the precision of its step. */
function showValue(id: string): void {
  const output = document.getElementById(`${id}-value`);
  const input = document.getElementById(id) as HTMLInputElement | null;
  if (!output || !input) return;
  const digits = Math.max(0, -Math.floor(Math.log10(Number(input.step) || 1)));
  const shown = (exactValues.get(id) ?? Number(input.value)).toFixed(digits);
  output.textContent = Number(shown) === 0 ? (0).toFixed(digits) : shown; // -0.3 shows as 0, not as "-0"
}

/** A slider's value: exact as the page set it, or where the user moved it. */
function sliderValue(id: string): number {
  return exactValues.get(id) ?? Number($<HTMLInputElement>(id).value);
}

function setValues(values: Record<string, number>): void {
  for (const [id, value] of Object.entries(values)) {
    const input = document.getElementById(id) as HTMLInputElement | null;
    if (!input) continue;
    input.value = String(value);
    exactValues.set(id, value);
    showValue(id);
  }
}

function buildControls(app: App, live: Live): void {
  const slider = (parent: string, id: string, label: string, min: number, max: number, step: number, value: number) => {
    const row = document.createElement("label");
    // named by its label alone (the label's text also holds the value shown beside the slider)
    row.innerHTML = `<span>${label}</span><input type="range" id="${id}" aria-label="${label}" min="${min}" ` +
      `max="${max}" step="${step}" value="${value}">` +
      `<output id="${id}-value"></output>`;
    $(parent).appendChild(row);
    showValue(id);
  };
  const presets = ["recovered", ...Object.keys(app.model.index.light_presets)];
  const custom = Object.assign(new Option("custom"), { disabled: true }); // shown once a lamp slider moves
  $("preset").replaceChildren(...presets.map((name) => new Option(name)), custom);
  slider("lighting", "azimuth", "Azimuth (°)", -180, 180, 1, LAMP.azimuth);
  slider("lighting", "elevation", "Elevation (°)", ...LAMP_RANGES.elevationDeg, 1, LAMP.elevation);
  slider("lighting", "intensity", "Intensity", ...LAMP_RANGES.intensity, 0.01, LAMP.intensity);
  slider("lighting", "ambient", "Ambient", ...LAMP_RANGES.ambient, 0.01, LAMP.ambient);
  for (const name of app.expressions) slider("expression", name, name, 0, 1, 0.01, 0);
  slider("pose", "pitch", "Pitch (°)", -60, 60, 0.5, 0);
  slider("pose", "yaw", "Yaw (°)", -80, 80, 0.5, 0);
  slider("pose", "roll", "Roll (°)", -180, 180, 0.5, 0); // a head tilted past the network's range is read upright
  for (const id of [...LAMP_IDS, "colour"]) {
    $(id).addEventListener("input", () => app.moveLight());
  }
  for (const id of [...app.expressions, "pitch", "yaw", "roll"]) $(id).addEventListener("input", () => app.update());
  $("preset").addEventListener("change", (e) => app.applyPreset((e.target as HTMLSelectElement).value));
  for (const id of ["skin-photo", "skin-model"]) {
    $(id).addEventListener("change", () => app.setPhotoTexture($<HTMLInputElement>("skin-photo").checked));
  }
  $("face").addEventListener("change", (e) => app.show(Number((e.target as HTMLSelectElement).value)));
  $("reset").addEventListener("click", () => app.reset());
  for (const kind of ["obj", "ply", "glb", "json"] as const) {
    $(`download-${kind}`).addEventListener("click", () =>
      app.download(kind).catch((error: Error) => setStatus(`The ${kind.toUpperCase()} export failed: ${error.message}`, true)));
  }
  const run = (url: string, name: string) => { // reconstruct shows its own message
    const wasLive = live.running ? live.source : null;
    live.stop(); // a photo ends live mode
    app.reconstruct(url, name, wasLive).catch(() => {}).finally(() => URL.revokeObjectURL(url));
  };
  const open = (file: File) => (isVideo(file) ? goLive(app, live, file) : run(URL.createObjectURL(file), stem(file.name)));
  const fileInput = $<HTMLInputElement>("file");
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file) open(file);
  });
  // emptied as its dialog opens, not after a choice: it keeps naming the photo shown, and choosing the same file
  // again is still a change
  fileInput.addEventListener("click", () => { fileInput.value = ""; });
  acceptDrops(fileInput, open);
  $("webcam").addEventListener("click", async () => {
    const video = document.createElement("video");
    try {
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    } catch {
      return setStatus(NO_CAMERA, true);
    }
    await video.play();
    const frame = document.createElement("canvas");
    [frame.width, frame.height] = [video.videoWidth, video.videoHeight];
    frame.getContext("2d")!.drawImage(video, 0, 0);
    (video.srcObject as MediaStream).getTracks().forEach((t) => t.stop());
    fileInput.value = ""; // the photo shown is no longer the file's
    frame.toBlob((blob) => blob && run(URL.createObjectURL(blob), "webcam"));
  });
  buildLive(app, live);
}

/** A file name without its extension, in letters, digits, "-" and "_" (others become "_"), at most 40 of them:
 * the start of the downloads' names, by the app's rule (demo/session.py, file_stem). */
function stem(name: string): string {
  const base = name.replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 40);
  return base || "photo";
}

/** Whether a chosen file is a video clip (by its type, or by the endings inversefacenet/images.py reads as videos
 * where the browser gives no type). */
function isVideo(file: File): boolean {
  return file.type.startsWith("video/") || /\.(mp4|m4v|mov|avi|mkv|webm)$/i.test(file.name);
}

/** A file dropped anywhere on the page, the file input included, is read at once (even the file already chosen);
 * the page is outlined while files are dragged over it. Text dragged within the page is left alone. */
function acceptDrops(fileInput: HTMLInputElement, open: (file: File) => void): void {
  let inside = 0; // dragenter and dragleave come for every element crossed: the drag is over the page while > 0
  document.addEventListener("dragenter", (event) => {
    if (carriesFiles(event)) document.body.classList.toggle("dropping", ++inside > 0);
  });
  document.addEventListener("dragleave", (event) => {
    if (carriesFiles(event)) document.body.classList.toggle("dropping", --inside > 0);
  });
  document.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault(); // the page takes the drop
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // the browser would open the file in place of the page
    inside = 0;
    document.body.classList.remove("dropping");
    const file = dropInto(fileInput, event);
    if (file) open(file);
  });
}

/** Whether a drag carries files (text dragged within the page does not). */
function carriesFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes("Files") ?? false;
}

/** A drop's first file, put in the file input (which takes one file: the one read, which it then names); or null. */
function dropInto(fileInput: HTMLInputElement, event: DragEvent): File | null {
  const file = event.dataTransfer?.files[0];
  if (!file) return null;
  const chosen = new DataTransfer();
  chosen.items.add(file);
  fileInput.files = chosen.files;
  return file;
}

function setLiveButtons(running: boolean): void {
  $<HTMLButtonElement>("live").disabled = running;
  $<HTMLButtonElement>("stop").disabled = !running;
  $("live-video").hidden = !running;
}

/** What the page shows of live mode: the status line each frame; when it ends, the controls of a still face. */
function reportLive(app: App, stats: LiveStats): void {
  const seen = document.body.classList.contains("has-face");
  const clip = stats.source === "clip";
  const end = clip ? (stats.ended ? "The video ended" : "Stopped") : "Stopped, camera released";
  const stopped = stats.error ? `${describe(stats)}${clip ? "." : "; camera released."}`
    : !seen ? `${end}: no face came into view.`
    : `${end}: the face shown and its downloads are the last frame's (${clip ? "tracked" : "live ran"} at ` +
      `${stats.fps.toFixed(1)} fps).${app.stoppedSkinStatus}${clip ? app.clipRecordingNote : ""}`;
  const last = !stats.inView && seen ? " · the face shown is the last one seen" : "";
  setStatus(stats.running ? `${describe(stats)}${last}${app.liveSkinStatus}${app.recordingStatus}` : stopped,
    stats.error !== null);
  if (stats.running) return;
  app.endLive();
  setLiveButtons(false);
}

function buildLive(app: App, live: Live): void {
  $("live").addEventListener("click", () => goLive(app, live));
  $("stop").addEventListener("click", () => live.stop());
  $<HTMLInputElement>("smoothing").addEventListener("change", (e) =>
    (live.tracker.smoothing = (e.target as HTMLInputElement).checked));
  $<HTMLInputElement>("record").addEventListener("change", (e) =>
    app.setRecording((e.target as HTMLInputElement).checked));
  $("download-recording").addEventListener("click", () =>
    app.downloadRecording().catch((error: Error) => setStatus(`The recording's download failed: ${error.message}`,
      true)));
}

/** Live mode on the webcam, or on a video file played once, its face tracked beside it (a photo or Stop ends it);
 * a camera that does not open, or a file the browser cannot play, gets a plain message. */
async function goLive(app: App, live: Live, clip: File | null = null): Promise<void> {
  live.stop(); // another clip, or the camera
  app.startLive(clip ? "clip" : "camera", clip ? stem(clip.name) : "live");
  setLiveButtons(true);
  try {
    await live.start(clip);
  } catch (error) {
    live.stop(); // the stream, if the camera opened and the video would not play
    reportLive(app, live.stats());
    if (live.stats().error) return; // the video element's own error said it first
    setStatus(clip ? `${clip.name} could not be played: ${(error as Error).message}.` : NO_CAMERA, true);
  }
}

/**
 * While the page loads, a photo chosen or dropped waits in the file input (the status line says so) and is read as
 * soon as the page is ready; Webcam and Live are disabled until then (in index.html). Returns the end of the wait.
 */
function holdEarlyPhoto(loading: string): () => void {
  const fileInput = $<HTMLInputElement>("file");
  const early = new AbortController();
  const waiting = () => setStatus(`${loading} The file chosen is read as soon as it is ready.`);
  fileInput.addEventListener("change", waiting, { signal: early.signal });
  document.addEventListener("dragover", (event) => {
    if (carriesFiles(event)) event.preventDefault(); // the page takes the drop
  }, { signal: early.signal });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault(); // the browser would open the file in place of the page
    if (dropInto(fileInput, event)) waiting();
  }, { signal: early.signal });
  return () => {
    early.abort();
    for (const id of ["webcam", "live"]) $<HTMLButtonElement>(id).disabled = false;
    if (fileInput.files?.length) fileInput.dispatchEvent(new Event("change"));
  };
}

async function main(): Promise<void> {
  const status = $("status");
  status.textContent = "Loading the face model, the landmark detector and the network…";
  const ready = holdEarlyPhoto(status.textContent);
  const backend = query.get("backend");
  const [model, detector, network] = await Promise.all([
    FaceModel.load(`${BASE}models/`),
    LandmarkDetector.create(BASE),
    createNetwork(BASE, query.get("model"), backend),
  ]);
  if (network.preprocessing.face_model_sha256 !== model.index.face_model_sha256)
    throw new Error("the network was trained for another face model than models/facemodel.bin: re-export both");
  const view = new FaceView($<HTMLCanvasElement>("view"), { full: model.atlas.triangles, live: model.live.triangles },
    network.preprocessing.camera_distance_mm);
  const app = new App(model, detector, network, view);
  const { shape, albedo } = model.index.parameter_layout;
  const tracker = new Tracker(detector, (frame, points, carried) => app.read(frame, points, carried), [shape, albedo]);
  const live = new Live($<HTMLVideoElement>("live-video"), tracker, (output, seconds, snapshot) => app.showLive(output, seconds, snapshot),
    (stats) => reportLive(app, stats));
  buildControls(app, live);
  setResults(false);
  $("backend").textContent = `${network.backend} · ${network.variant}`;
  status.textContent = network.note ? `Ready: choose a photo. (${network.note}.)` : "Ready: choose a photo.";
  ready(); // a photo chosen while the page loaded is read now
  app.prepareTextures();
  const warmed = detector.warm(app.standIn(WARM_UP_SIDE).photo, () => app.busy);
  Object.assign(window.inverseFaceNet, {
    warmed, // every landmark graph has run once (LandmarkDetector.warm)
    backend: network.backend,
    variant: network.variant, // the network file: models/inversefacenet_<variant>.onnx
    preprocessing: network.preprocessing, // read from the ONNX file's metadata_props
    faceModel: model, // geometry(shape, expression), albedo(albedo): parity with the Python face model
    reconstruct: async (url: string) => {
      const result = await app.reconstruct(url);
      return { ...result.faces[0], faces: result.faces, timings: result.timings, backend: result.backend };
    },
    // the upright copy of a tilted face (points: x, y per point) and a network output turned back by its roll: parity
    upright: (points: number[], output: number[]) => {
      const copy = uprightOf(Float32Array.from(points), model.index.face_mask.eyes);
      return { ...copy, face: unpack(turnedBack(Float32Array.from(output), copy.roll, model.index.parameter_layout),
        model.index) };
    },
    runNetwork: async (input: number[]) =>
      Array.from((await network.run(Float32Array.from(input), app.inputSize)).output),
    // counts since Live was pressed (frames, detector runs, dropped frames), fps and ms per stage
    liveStats: () => live.stats(),
    shown: () => app.shown,
    drawn: () => view.drawn, // the 3D view's mesh: live mode's coarse one, or the full one
    // the photo texture's ms for the shown face (null: not made), the texel map's and the rehearsals' (once)
    photoTextureTimings: () => app.photoTextureTimings,
    // for detection tests: every face's 478 x [x, y] in the photo's pixels as decoded (decodedScale)
    detect: async (url: string) => (await detector.detect(await decode(url))).map((face) => Array.from(face)),
    // live mode's quick look: the largest face's 478 x [x, y] by the short-range detector alone, or null
    findLarge: async (url: string) => {
      const points = await detector.findLarge(await decode(url));
      return points && Array.from(points);
    },
    // for parity tests: the input of a photo (as decoded) for given landmarks (478 x [x, y] pixels), by the
    // network's input rule or another
    preprocess: async (url: string, landmarks: number[][], rule?: InputMask) =>
      Array.from(app.input(await decode(url), Float32Array.from(landmarks.flat()), undefined, rule)),
  });
}

declare global {
  interface Window {
    inverseFaceNet: { ready: Promise<void>; [key: string]: unknown };
  }
}
window.inverseFaceNet = { ready: Promise.resolve() };
window.inverseFaceNet.ready = main().catch((error: Error) => {
  setStatus(`The page could not start: ${error.message}`, true);
  throw error;
});
