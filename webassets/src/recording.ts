// A recorded live session, as the Gradio app's (demo/recording.py): the tracked face's parameters per frame with
// their times, bounded to RECORD_LIMIT_S, downloaded as the per-frame JSON of inversefacenet/animate.py's
// session_dict and as its animated GLB (the 52 blendshapes as morph targets, their weights and the head rotation
// animated over the recorded times).
import type * as THREE from "three";
import { bakeTexture, toGlb } from "./exporters";
import type { FaceModel } from "./facemodel";
import { type FaceParameters, rotationMatrix } from "./params";

/** Longest recording kept, s from its first frame (demo/recording.py's RECORD_LIMIT_S). */
export const RECORD_LIMIT_S = 60;
/** The app's file names for a recording. */
export const JSON_NAME = "recording.json";
export const GLB_NAME = "recording_animated.glb";

/** One frame of session_dict: time_s (s from the first frame), then params.json's groups. */
export interface RecordedFrame {
  time_s: number;
  rotation_deg: FaceParameters["rotation_deg"];
  shape: number[];
  expression: Record<string, number>;
  albedo: number[];
  sh: number[][];
}

/** session_dict's JSON: what `python -m inversefacenet.animate` reads. */
export interface Session {
  face_model_sha256: string;
  frames: RecordedFrame[];
}

/** The status line's words for a recording that has no frame yet. */
export const WAITING = "recording: waiting for a face";

/** "1 frame", "2 frames", ... */
export function frameCount(n: number): string {
  return `${n} frame${n === 1 ? "" : "s"}`;
}

/** The frames of one tracked face; `restart` begins a new recording. */
export class Recording {
  private frames: RecordedFrame[] = [];
  private start: number | null = null;
  full = false; // a frame came past the limit: no more are kept

  constructor(readonly limitS = RECORD_LIMIT_S) {}

  /** A new recording, its times from its first frame's, or from `start` (a clip's: its own time stamps). */
  restart(start: number | null = null): void {
    [this.frames, this.start, this.full] = [[], start, false];
  }

  /**
   * Keep one face's parameters seen at `seconds` (any clock); false when not kept: the recording is full, or the
   * time does not come after the previous frame's.
   */
  add(face: FaceParameters, seconds: number): boolean {
    const start = this.start ?? seconds;
    const time_s = seconds - start;
    this.full ||= time_s > this.limitS;
    if (this.full || (this.frames.length && time_s <= this.frames[this.frames.length - 1].time_s)) return false;
    this.start = start;
    const { rotation_deg, shape, expression, albedo, sh } = structuredClone(face);
    this.frames.push({ time_s, rotation_deg, shape, expression, albedo, sh });
    return true;
  }

  get length(): number {
    return this.frames.length;
  }

  /** The frames so far as session_dict's JSON; an error in plain words when there are none. */
  session(faceModelSha256: string): Session {
    if (!this.frames.length) throw new Error("nothing recorded yet: switch Record on while your face is in view");
    return { face_model_sha256: faceModelSha256, frames: [...this.frames] };
  }

  /** A few words for the status line (`clip`: a clip's, whose first limitS seconds are kept). */
  status(clip = false): string {
    const n = this.frames.length;
    if (!n) return WAITING;
    const line = `recording: ${frameCount(n)}, ${this.frames[n - 1].time_s.toFixed(1)} s`;
    if (!this.full) return line;
    return `${line} (full: ${clip ? `the clip's first ${this.limitS} s are kept` : "download it, or switch Record off and on for a new one"})`;
  }
}

/**
 * GLB bytes of a session as inversefacenet/animate.py's animated_glb writes them: the identity (shape, albedo) is
 * the frames' mean, the mesh its neutral face with the blendshapes as morph targets, the texture its albedo baked
 * at the atlas (by `renderer`) or, given, the person's own `skin` (the live photo texture, as the still downloads
 * wear it), the default weights and node rotation frame 0's, and the animation "session".
 */
export async function sessionGlb(model: FaceModel, session: Session, renderer: THREE.WebGLRenderer,
  skin: HTMLCanvasElement | null = null): Promise<ArrayBuffer> {
  const { frames } = session;
  const mean = (group: "shape" | "albedo") =>
    frames[0][group].map((_, i) => frames.reduce((sum, frame) => sum + frame[group][i], 0) / frames.length);
  const { positions, normals, positionDeltas, normalDeltas } = model.morphTargets(mean("shape"));
  const { uv, triangles } = model.atlas;
  const texture = skin ?? bakeTexture(renderer, uv, triangles, model.split(model.albedo(mean("albedo"))));
  const names = model.index.expression_names;
  const weights = frames.map((frame) => names.map((name) => frame.expression[name]));
  const rotations = frames.map(({ rotation_deg: r }) => rotationMatrix(r.pitch, r.yaw, r.roll));
  const animation = { times: Float32Array.from(frames, (frame) => frame.time_s), weights: Float32Array.from(weights.flat()),
    rotations };
  return toGlb({ vertices: positions, normals, uv, triangles }, texture, rotations[0],
    { names, positionDeltas, normalDeltas, weights: weights[0], animation });
}
