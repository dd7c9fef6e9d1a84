// Live mode: the webcam (or a video file played once) tracked frame to frame, as inversefacenet/tracking.py tracks
// a video. Every 2nd frame's mesh runs on a square around the previous landmarks (in between they are held); the
// detector only while no face is tracked or when the mesh loses it (the short-range one on the whole frame, the whole
// search now and then); the network on every frame, its parameters smoothed by a One Euro filter and its identity
// (shape, albedo) held from the track's first frames (switchable together); a face lost for a moment and found where
// it was keeps its identity and skin frame. A frame that arrives while the previous one is processed is dropped, so
// the view lags the camera by at most one frame instead of a growing queue.
import { boxOf, type LandmarkDetector } from "./landmarks";
import type { Reading } from "./main";
import type { Crop } from "./preprocess";

/** A tracked landmark box smaller than this (frame px) counts as lost (tracking.py's MIN_FACE_PX). */
const MIN_FACE_PX = 24;
/** tracking.py's TrackerConfig: jitter of a still face (Hz), lag of a moving one, speed low-pass (Hz). */
const MIN_CUTOFF = 1.5;
const BETA = 0.3;
const DERIVATIVE_CUTOFF = 1.0;
/** tracking.py's TrackerConfig.identity_frames: shape and albedo are the mean of a track's first readings. */
export const IDENTITY_FRAMES = 30;
/** tracking.py's TrackerConfig.identity_keep_s: a face lost and found again within this many seconds is the same
 * person (turned away, a hand over the face), whose shape and skin would otherwise change on every loss. */
const IDENTITY_KEEP_S = 2;
/** video.py's VIDEO_TRACKING.identity_keep_s: in a clip a face is the same person when back within 10 s (a person in
 * a video looks away for longer than at a webcam, and two people seldom take turns in one spot). */
const CLIP_IDENTITY_KEEP_S = 10;
/** tracking.py's RETURN_SIZE_RATIO: a face found again is the lost one only if its box's side is within this factor
 * of the lost box's, and its centre within that side of the lost centre. */
const RETURN_SIZE_RATIO = 1.5;
/** tracking.py's TrackerConfig(mesh_every=2, between="hold"): the mesh runs on every 2nd tracked frame; in between
 * the landmarks stay and the network reads the crop its last reading pointed to. On 2 cores the mesh was the
 * largest stage (11-16 ms); holding costs little agreement with the mesh on the same frame (benchmarks/tracking.py). */
const MESH_EVERY = 2;
/** While no face is tracked, each frame gets the short-range detector on the whole frame (`LandmarkDetector.findLarge`,
 * a tenth of a second in the page), and when that finds none, the whole upright search (a second or more) once this
 * long (ms) has passed since the last one ended: for a face too small for the short-range model. */
const SEARCH_EVERY_MS = 5000;
/** Frames the fps and the per-stage means are taken over. */
const WINDOW = 30;
/** The status line is rewritten at most this often (ms): rewriting it every frame (layout and paint on a software
 * rasterizer) cost about a sixth of the live rate on 2 cores. */
const REPORT_MS = 250;

/** Where a frame's time goes; "frame" is its whole wall time, the rest of which is the browser's own work. */
export type Stage = "capture" | "mesh" | "detector" | "preprocess" | "network" | "render" | "frame";
const STAGES: Stage[] = ["capture", "mesh", "detector", "preprocess", "network", "render", "frame"];

/** Resolves in a task of its own (a message to itself: no timer clamp), after what the page has queued: awaited
 * between long steps, it lets the browser paint and answer clicks. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    channel.port2.postMessage(null);
  });
}

/** Smoothing factor of an exponential low-pass at `cutoff` Hz for a step of `dt` s. */
function alpha(dt: number, cutoff: number): number {
  return 1 / (1 + 1 / (2 * Math.PI * cutoff * dt));
}

/** One Euro filter (Casiez et al., CHI 2012) of a vector: a low-pass whose cutoff rises with the speed. */
export class OneEuroFilter {
  private value: Float64Array | null = null;
  private speed = new Float64Array(0);
  private time = 0;

  filter(value: Float32Array, seconds: number): Float32Array {
    if (!this.value) {
      [this.value, this.speed, this.time] = [Float64Array.from(value), new Float64Array(value.length), seconds];
      return Float32Array.from(value); // the caller's own array, as on later calls
    }
    const dt = Math.max(seconds - this.time, 1e-6);
    const speedAlpha = alpha(dt, DERIVATIVE_CUTOFF);
    const out = new Float32Array(value.length);
    for (let i = 0; i < value.length; i++) {
      this.speed[i] += speedAlpha * ((value[i] - this.value[i]) / dt - this.speed[i]);
      this.value[i] += alpha(dt, MIN_CUTOFF + BETA * Math.abs(this.speed[i])) * (value[i] - this.value[i]);
      out[i] = this.value[i];
    }
    this.time = seconds;
    return out;
  }
}

/**
 * A track's identity, as tracking.py's IdentityHold: the output's shape and albedo ranges are the mean of the
 * first IDENTITY_FRAMES readings, then held. Held values stay the same numbers, so the face model reuses the
 * identity's geometry and albedo instead of rebuilding them every frame.
 */
export class IdentityHold {
  private count = 0;
  private mean: Float64Array[] = [];

  constructor(private readonly ranges: [number, number][], private readonly frames = IDENTITY_FRAMES) {
    if (frames < 1) throw new Error(`an identity is the mean of at least 1 reading, got ${frames}`);
  }

  /** Whether the mean is taken: from now on the identity stays as it is. */
  get complete(): boolean {
    return this.count >= this.frames;
  }

  /** `filtered` (changed in place) with the identity; `reading` (the network's, unfiltered) adds to its mean. */
  hold(reading: Float32Array, filtered: Float32Array): Float32Array {
    if (this.count < this.frames) {
      this.count++;
      this.ranges.forEach(([start, end], r) => {
        if (this.count === 1) this.mean[r] = Float64Array.from(reading.subarray(start, end));
        else this.mean[r].forEach((m, i) => (this.mean[r][i] = m + (reading[start + i] - m) / this.count));
      });
    }
    this.ranges.forEach(([start], r) => filtered.set(this.mean[r], start));
    return filtered;
  }
}

/** The frame on which a track's identity was taken, to de-light the person's skin from (the page's photo texture). */
export interface Snapshot {
  frame: HTMLCanvasElement; // a copy: the loop's canvas is drawn over by the next frame
  points: Float32Array; // the frame's landmarks
  crop: Crop; // where the network read the face
  output: Float32Array; // that frame's own reading (not the smoothed one, which lags), with the identity held
}

/** One frame's result: the network's (smoothed) output, or null when no face was found. */
interface Step {
  output: Float32Array | null;
  ms: Partial<Record<Stage, number>>;
}

/** One face through a video: frame in, parameters out. */
export class Tracker {
  private landmarks: Float32Array | null = null;
  private tracked = 0; // frames since the detector found the face (tracking.py's _Track.frames)
  private alignment: number[] | null = null; // the network's crop alignment from the last frame: one reading
  private smoother: OneEuroFilter | null = null;
  private identity: IdentityHold | null = null;
  smoothing = true;
  identityKeepS = IDENTITY_KEEP_S; // Live sets it for the source it tracks
  detections = 0;
  private searched = -Infinity; // when the whole search last ended (performance.now() ms)
  private seen = 0; // when the face was last tracked (the frames' clock, s)
  private lostFace: { identity: IdentityHold | null; snapshot: Snapshot | null; seen: number; points: Float32Array }
    | null = null;
  /** The track's skin frame: the first meshed frame once its identity is taken (with smoothing off, the first
   * meshed frame); null before. */
  snapshot: Snapshot | null = null;

  /** identityRanges: where the network's output holds shape and albedo (the face model's parameter layout). */
  constructor(
    private readonly detector: LandmarkDetector,
    private readonly read: (
      frame: HTMLCanvasElement, points: Float32Array, carried: number[] | null) => Promise<Reading>,
    private readonly identityRanges: [number, number][],
  ) {}

  /** Forget the face: the next frame runs the detector and starts a new filter and identity. */
  reset(): void {
    this.forget();
    this.lostFace = null;
  }

  private forget(): void {
    [this.landmarks, this.alignment, this.smoother, this.identity, this.snapshot] = [null, null, null, null, null];
    this.tracked = 0;
  }

  /** The face is lost: forgotten, but its identity and skin frame kept for a face found soon (`found`). */
  private lose(): void {
    if (this.landmarks) {
      this.lostFace = { identity: this.identity, snapshot: this.snapshot, seen: this.seen, points: this.landmarks };
    }
    this.forget();
  }

  /** A face is found (`points`): the lost one's identity and skin frame come back when it was lost identityKeepS or
   * less before and is found where it was (the page looks for one face: it cannot tell whether it is alone). */
  private found(seconds: number, points: Float32Array): void {
    const lostFace = this.lostFace;
    this.lostFace = null;
    const gap = lostFace ? seconds - lostFace.seen : -1;
    if (lostFace && gap >= 0 && gap <= this.identityKeepS && near(lostFace.points, points)) {
      [this.identity, this.snapshot] = [lostFace.identity, lostFace.snapshot];
    }
  }

  async step(frame: HTMLCanvasElement, seconds: number): Promise<Step> {
    const ms: Step["ms"] = {};
    let start = performance.now();
    let points = this.landmarks;
    if (this.landmarks && ++this.tracked % MESH_EVERY === 0) {
      points = await this.detector.track(frame, this.landmarks);
      ms.mesh = performance.now() - start;
    }
    if (!points || lost(points)) {
      this.lose();
      start = performance.now();
      points = await this.detector.findLarge(frame);
      if (!points && start - this.searched >= SEARCH_EVERY_MS) { // a small or far face: the whole search
        points = (await this.detector.detect(frame, nextTask, false))[0] ?? null; // largest first: the face to follow
        this.searched = performance.now();
      }
      this.detections++;
      ms.detector = performance.now() - start;
    }
    if (!points) return { output: null, ms };
    if (!this.landmarks) this.found(seconds, points);
    [this.landmarks, this.seen] = [points, seconds];
    const { output, alignment, crop, preprocess_ms, network_ms } = await this.read(frame, points, this.alignment);
    // Landmarks of this very frame (not held ones, which lag the face). A held frame's alignment also holds the
    // face's move since the mesh, which the next mesh would count twice; and the skin is de-lit from a meshed frame.
    const meshed = ms.mesh !== undefined || ms.detector !== undefined;
    if (meshed) this.alignment = alignment;
    [ms.preprocess, ms.network] = [preprocess_ms, network_ms];
    if (!this.smoothing) {
      [this.smoother, this.identity] = [null, null]; // switched back on, they start afresh, not from a stale state
      if (meshed) this.snapshot ??= snapshotOf(frame, points, crop, output);
      return { output, ms };
    }
    this.smoother ??= new OneEuroFilter();
    const fresh = !this.identity;
    this.identity ??= new IdentityHold(this.identityRanges);
    const held = this.identity.hold(output, this.smoother.filter(output, seconds));
    if (fresh) this.snapshot = null; // smoothing switched on: a new identity, so a new skin frame
    if (meshed && this.identity.complete && !this.snapshot) { // the first meshed frame once the identity is taken
      this.snapshot = snapshotOf(frame, points, crop, this.identity.hold(output, Float32Array.from(output)));
    }
    return { output: held, ms };
  }
}

function snapshotOf(frame: HTMLCanvasElement, points: Float32Array, crop: Crop, output: Float32Array): Snapshot {
  const copy = document.createElement("canvas");
  [copy.width, copy.height] = [frame.width, frame.height];
  copy.getContext("2d")!.drawImage(frame, 0, 0);
  return { frame: copy, points: points.slice(), crop, output };
}

/** Whether a face found (`after`) is where a lost one (`before`) was (tracking.py's _near). */
function near(before: Float32Array, after: Float32Array): boolean {
  const [a, b] = [boxOf(before), boxOf(after)];
  const [sideA, sideB] = [Math.max(a[2] - a[0], a[3] - a[1]), Math.max(b[2] - b[0], b[3] - b[1])];
  const shift = Math.hypot((b[0] + b[2] - a[0] - a[2]) / 2, (b[1] + b[3] - a[1] - a[3]) / 2);
  return shift <= sideA && sideB / sideA >= 1 / RETURN_SIZE_RATIO && sideB / sideA <= RETURN_SIZE_RATIO;
}

function lost(points: Float32Array): boolean {
  const [x0, y0, x1, y1] = boxOf(points);
  return Math.max(x1 - x0, y1 - y0) < MIN_FACE_PX;
}

/** Where live mode's frames come from: the webcam, or a video file the page plays once at its own speed. */
export type Source = "camera" | "clip";

/** Said when the browser cannot decode a video file (the page reads what its <video> element plays). */
export const UNPLAYABLE = "it is not a video this browser can decode (MP4 with H.264 and WebM play in every browser)";
/** Said of a clip that shows no frame: it loads its header, then nothing (or ends at once). */
const CUT_SHORT = "not one frame of it could be shown: the file may be cut short";
/** How long a clip may take to show its first frame (ms) before it counts as cut short. */
const FIRST_FRAME_MS = 10_000;

/** What the page and the tests read: counts since Live was pressed, rates and means over the last frames. */
export interface LiveStats {
  running: boolean;
  source: Source; // of the last start
  ended: boolean; // the clip played to its end (a camera never does)
  camera: "none" | "live" | "ended"; // the last stream's video track
  arrived: number; // frames the camera delivered to the page
  frames: number; // frames processed
  dropped: number; // arrived while another was processed
  detections: number; // frames on which the detector ran
  faceless: number; // processed frames without a face
  inView: boolean; // the last processed frame had a face
  fps: number;
  ms: Record<Stage, number>; // mean per processed frame where the stage ran
  error: string | null; // what stopped the loop, if it was not Stop
}

/**
 * The camera or a clip, the frame loop, and its counters. `show` draws a frame's parameters, seen at `seconds` (the
 * clock of the smoothing filter and the recording: the page's for the camera, the clip's own time stamps for a
 * clip, so that a recording keeps the clip's timing whatever frames the loop skipped); its time is "render".
 */
export class Live {
  private stream: MediaStream | null = null;
  private clip: string | null = null; // the playing clip's object URL
  private frameTime = 0; // the clip's time stamp of the frame shown (s)
  source: Source = "camera"; // of the last start
  private ended = false;
  private track: MediaStreamTrack | null = null; // the last stream's video track, kept after Stop for stats
  private frame = document.createElement("canvas");
  // read back by the crop and the mesh every frame: a CPU canvas spares a GPU readback each time
  private frameContext = this.frame.getContext("2d", { willReadFrequently: true })!;
  private busy = false;
  private opening = 0; // counts starts and stops: a start still opening the camera when Stop comes gives up
  private starting = false; // the camera is being opened
  private error: string | null = null;
  private firstFrame = 0; // the camera's frame count when Live was pressed
  private processedFrame = 0; // the camera's frame count at the last frame taken
  private done: number[] = []; // completion times (ms) of the last WINDOW frames
  private recent: Record<Stage, number[]> = Object.fromEntries(STAGES.map((s) => [s, []])) as never;
  private counts = { arrived: 0, frames: 0, faceless: 0 };
  private inView = false;
  private detectionsBefore = 0; // the tracker's detector runs when Live was pressed
  private reported = 0; // when the status line was last rewritten (performance.now() ms)

  constructor(
    readonly video: HTMLVideoElement,
    readonly tracker: Tracker,
    private readonly show: (output: Float32Array, seconds: number, snapshot: Snapshot | null) => void,
    private readonly report: (stats: LiveStats) => void,
  ) {
    video.addEventListener("ended", this.onEnded);
    video.addEventListener("error", this.onError);
  }

  /** Live mode is on: the camera or a clip plays, or the camera is being opened. */
  get running(): boolean {
    return this.playing || this.starting;
  }

  private get playing(): boolean {
    return this.stream !== null || this.clip !== null;
  }

  /** Opens the camera, or plays `clip` once (muted, frame by frame as the loop reads it), and starts the loop; throws
   * when the camera cannot be opened or the clip cannot be decoded (UNPLAYABLE, CUT_SHORT). A Stop (or a photo) that comes while the camera
   * opens ends it there: the camera is released and nothing is thrown. A clip ends live mode when it ends. */
  async start(clip: File | null = null): Promise<void> {
    if (this.running) return;
    const attempt = ++this.opening;
    this.track = null; // a Stop while the camera opens reports this start, not the last one
    [this.error, this.source, this.ended] = [null, clip ? "clip" : "camera", false];
    [this.done, this.counts, this.detectionsBefore] = [[], { arrived: 0, frames: 0, faceless: 0 }, this.tracker.detections];
    this.inView = false;
    STAGES.forEach((s) => (this.recent[s] = []));
    if (clip) {
      this.clip = URL.createObjectURL(clip);
      this.video.preload = "auto"; // its first frame is decoded without playing it
      this.video.src = this.clip;
    } else if (!(await this.openCamera(attempt))) return;
    this.tracker.reset();
    this.tracker.identityKeepS = clip ? CLIP_IDENTITY_KEEP_S : IDENTITY_KEEP_S;
    try {
      await (clip ? firstFrame(this.video) : this.video.play());
    } catch (error) {
      if (attempt !== this.opening) return; // Stop emptied the video while it was starting to play
      throw error; // a clip's: UNPLAYABLE or CUT_SHORT (firstFrame)
    }
    if (attempt !== this.opening) return;
    [this.firstFrame, this.frameTime] = [this.cameraFrames(), 0];
    this.video.requestVideoFrameCallback(this.onFrame);
    if (clip) void this.run(); // the clip's first frame, still paused; the loop then plays it on frame by frame
  }

  /** The webcam on the video element; false when a Stop came while it opened (then it is released). */
  private async openCamera(attempt: number): Promise<boolean> {
    this.starting = true;
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (error) {
      if (attempt !== this.opening) return false; // stopped meanwhile: not the camera's fault
      this.starting = false;
      throw error;
    }
    if (attempt !== this.opening) {
      stream.getTracks().forEach((track) => track.stop()); // stopped meanwhile
      return false;
    }
    this.starting = false;
    [this.stream, this.track] = [stream, stream.getVideoTracks()[0]];
    this.video.srcObject = stream;
    return true;
  }

  /** Releases the camera (its track ends, so the browser's camera indicator goes off) or the clip. Nothing when not
   * live. */
  stop(): void {
    this.opening++; // a start still opening the camera gives up
    if (!this.running && !this.video.srcObject) return;
    this.starting = false;
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
    if (this.clip) {
      this.video.pause();
      this.video.removeAttribute("src");
      this.video.load(); // the element lets go of the file
      URL.revokeObjectURL(this.clip);
      this.clip = null;
    }
    this.report(this.stats());
  }

  /** The clip cannot be decoded (its format; a broken frame midway): live mode stops, saying so. */
  private onError = (): void => {
    if (this.clip === null || this.video.error === null) return;
    this.error = this.counts.frames === 0 ? UNPLAYABLE : `the rest of it could not be read (${this.video.error.message})`;
    this.stop();
  };

  /** The clip has played to its end: live mode ends as after Stop, saying so; a clip that ended without a single
   * frame was cut short. */
  private onEnded = (): void => {
    if (this.clip === null) return;
    this.ended = true;
    if (this.counts.frames === 0) this.error = CUT_SHORT;
    this.stop();
  };

  stats(): LiveStats {
    const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
    const span = this.done.length > 1 ? this.done[this.done.length - 1] - this.done[0] : 0;
    return {
      running: this.running,
      source: this.source,
      ended: this.ended,
      camera: this.track ? (this.track.readyState === "live" ? "live" : "ended") : "none",
      arrived: this.counts.arrived,
      frames: this.counts.frames,
      dropped: Math.max(0, this.counts.arrived - this.counts.frames - (this.busy ? 1 : 0)),
      detections: this.tracker.detections - this.detectionsBefore,
      faceless: this.counts.faceless,
      inView: this.inView,
      fps: span > 0 ? ((this.done.length - 1) * 1000) / span : 0,
      ms: Object.fromEntries(STAGES.map((s) => [s, mean(this.recent[s])])) as Record<Stage, number>,
      error: this.error,
    };
  }

  /** Frames the video element has received from the camera (decoded, whether shown or not). */
  private cameraFrames(): number {
    return this.video.getVideoPlaybackQuality().totalVideoFrames;
  }

  /** A new frame is shown; one that arrives while another is processed starts nothing (no queue). A clip waits on
   * the frame while it is processed (its time stamp kept), so that every frame of it is read, as the command line
   * reads a video: it plays at the rate its frames get through. */
  private onFrame = (_now: number, frame: VideoFrameCallbackMetadata): void => {
    if (!this.playing) return;
    this.video.requestVideoFrameCallback(this.onFrame);
    if (this.clip !== null) {
      if (this.counts.frames > 0 && frame.mediaTime <= this.frameTime) return; // the frame read, shown again on play
      this.video.pause(); // the clip waits on this frame while it is read
      this.frameTime = frame.mediaTime;
    }
    if (!this.busy) this.run();
  };

  /** Whether the camera or clip opened by start `attempt` is still the one live mode runs on (not stopped, nor
   * restarted). */
  private isCurrent(attempt: number): boolean {
    return attempt === this.opening && this.playing;
  }

  /** The time of the frame on the video element (s): the page's clock for the camera, the clip's own for a clip. */
  private seconds(): number {
    return this.clip === null ? performance.now() / 1000 : this.frameTime;
  }

  /**
   * Processes the video's current frame, and goes on while the camera has delivered a newer one: the frame
   * callbacks come with the page's rendering, which lags far behind the camera on a loaded machine. Between two
   * frames the page gets one task's turn (clicks, timers, drawing): the network and the mesh resolve as
   * microtasks, so on a machine slower than the camera the loop would otherwise never give the page back.
   */
  private async run(): Promise<void> {
    this.busy = true;
    const attempt = this.opening;
    try {
      do {
        await this.process(this.seconds(), attempt);
        await nextTask();
      } while (this.isCurrent(attempt) && this.clip === null && this.cameraFrames() > this.processedFrame);
      if (this.clip !== null && this.isCurrent(attempt)) void this.video.play().catch(() => undefined); // next frame
    } catch (error) {
      this.error = (error as Error).message;
      this.stop();
    } finally {
      this.busy = false;
    }
  }

  private async process(seconds: number, attempt: number): Promise<void> {
    const begin = performance.now();
    let start = begin;
    const { videoWidth: width, videoHeight: height } = this.video;
    if (this.frame.width !== width || this.frame.height !== height) [this.frame.width, this.frame.height] = [width, height];
    this.frameContext.drawImage(this.video, 0, 0);
    this.processedFrame = this.cameraFrames();
    const capture = performance.now() - start;
    const { output, ms } = await this.tracker.step(this.frame, seconds);
    ms.capture = capture;
    if (!this.isCurrent(attempt)) return; // stopped (or restarted) meanwhile: leave the view as Stop left it
    this.inView = output !== null;
    if (output) {
      start = performance.now();
      this.show(output, seconds, this.tracker.snapshot);
      ms.render = performance.now() - start;
    } else this.counts.faceless++;
    this.counts.frames++;
    this.counts.arrived = this.cameraFrames() - this.firstFrame;
    ms.frame = performance.now() - begin;
    this.record(ms);
    if (performance.now() - this.reported < REPORT_MS) return;
    this.reported = performance.now();
    this.report(this.stats());
  }

  private record(ms: Step["ms"]): void {
    const push = (values: number[], value: number) => {
      values.push(value);
      if (values.length > WINDOW) values.shift();
    };
    push(this.done, performance.now());
    for (const stage of STAGES) if (ms[stage] !== undefined) push(this.recent[stage], ms[stage]);
  }
}

/** Resolves once the video element holds its clip's first frame (it stays paused there); rejects when the clip
 * cannot be decoded (UNPLAYABLE), is taken away (Stop) before, or shows no frame within FIRST_FRAME_MS (CUT_SHORT:
 * a file cut short can load its header and never a frame). */
function firstFrame(video: HTMLVideoElement): Promise<void> {
  const events = ["loadeddata", "error", "emptied"];
  return new Promise((resolve, reject) => {
    if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA) return resolve();
    const settle = (event: Event | null) => {
      clearTimeout(timer);
      for (const name of events) video.removeEventListener(name, settle);
      if (event?.type === "loadeddata") resolve();
      else reject(new Error(event ? UNPLAYABLE : CUT_SHORT));
    };
    const timer = setTimeout(() => settle(null), FIRST_FRAME_MS);
    for (const name of events) video.addEventListener(name, settle);
  });
}

/** The status line while live: whether a face is in view, the frame rate and what a frame's time goes to. */
export function describe(stats: LiveStats): string {
  const mode = stats.source === "clip" ? "Video" : "Live";
  const ended = stats.source === "camera" ? "Live mode stopped" : stats.frames ? "The video stopped" : "The video could not be played";
  if (stats.error) return `${ended}: ${stats.error}`;
  const fps = `${stats.fps.toFixed(1)} fps`;
  if (!stats.inView) return `${mode} · no face in view: looking for one (${fps})`;
  const ms = (stage: Stage) => `${stage} ${stats.ms[stage].toFixed(1)}`;
  const stages = (["capture", "mesh", "preprocess", "network", "render"] as Stage[]).map(ms).join(", ");
  return `${mode} · ${fps} · a frame takes ${stats.ms.frame.toFixed(0)} ms (${stages} ms)`;
}
