// onnxruntime-web session: WebGPU when the browser has a hardware adapter, else wasm (threads with COOP/COEP).
import * as ort from "onnxruntime-web/webgpu";
import { onnxMetadata } from "./onnxmeta";
import { INPUT_CHANNELS, type InputMask } from "./preprocess";

export type Backend = "webgpu" | "wasm";
const BACKENDS: readonly string[] = ["webgpu", "wasm"];
/** The network files `python -m export.onnx` writes (export.onnx.VARIANTS). */
const VARIANTS: readonly string[] = ["fp32", "fp16", "int8w", "int8"];

/** How the network's inputs are made: written by `python -m export.onnx` into the file's metadata_props. */
export interface Preprocessing {
  input_size: number;
  crop_scale: number;
  camera_distance_mm: number;
  face_model_sha256: string;
  parameter_layout: Record<string, [number, number]>;
  crop_alignment?: boolean; // outputs after the parameters say where the crop should be (preprocess.alignedCrop)
  input_mask?: InputMask; // what of the crop the network sees (absent in older files: "face")
  mirror_reading?: boolean; // reads each crop both ways and answers the mean (mirror.ts; absent in older files: no)
}

const PREPROCESSING_KEY = "inversefacenet.preprocessing";

export interface Network {
  backend: Backend;
  variant: string; // which of VARIANTS runs
  model: string;
  note: string | null; // why the page runs on another backend than the one asked for (?backend=)
  preprocessing: Preprocessing;
  run(input: Float32Array, size: number): Promise<{ output: Float32Array; ms: number }>;
}

interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface Adapter {
  features: Set<string>;
  info?: AdapterInfo; // Chrome 127 on
  isFallbackAdapter?: boolean; // before it
}

/** Whether an adapter draws in software (Chromium's SwiftShader, Mesa's llvmpipe or lavapipe, Windows' WARP): the
 * network on it is many times slower than on wasm (600 ms against 10 ms a reading on this project's 2-core test
 * machine). */
function isSoftwareAdapter(adapter: Adapter): boolean {
  const info = adapter.info ?? {};
  const names = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.description ?? ""}`;
  return info.isFallbackAdapter === true || adapter.isFallbackAdapter === true ||
    /swiftshader|llvmpipe|lavapipe|software|basic render|warp/i.test(names);
}

async function webgpuAdapter(): Promise<Adapter | null> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  return gpu ? await gpu.requestAdapter().catch(() => null) : null;
}

async function webgpuUsable(needsF16: boolean): Promise<boolean> {
  const adapter = await webgpuAdapter();
  if (adapter === null || isSoftwareAdapter(adapter)) return false; // ?backend=webgpu still forces it
  // an fp16 model on an adapter without shader-f16 silently returned zeros: never pair them
  return !needsF16 || adapter.features.has("shader-f16");
}

/**
 * ONNX Runtime's wasm threads. Its idle threads spin waiting for work: on 2 cores a second thread took 33 ms of CPU
 * per live frame for a 10 ms reading, the core the face mesh, the compositor and the software GL needed (live fps
 * about 19 with 2 threads, 23 with 1; a photo's reading 10 ms against 13). With more cores there is one to spare.
 */
function wasmThreads(cores: number): number {
  return self.crossOriginIsolated && cores > 2 ? Math.min(4, cores) : 1;
}

/** The network a backend runs unless ?model= says: on wasm the int8 graph, which Python's pipeline runs on a CPU
 * (read alike to 1e-6; 8.1-10.0 against 13.8 ms a reading and 29.5 against 26.1-27.2 live fps on this project's
 * 2-core test machine, 3.1 against 11.4 MB); on WebGPU the float graph. */
function defaultVariant(backend: Backend): string {
  return backend === "wasm" ? "int8" : "fp32";
}

/** The backend a ?backend= value asks for (null: choose), with a note when the value means nothing here. */
function askedBackend(wanted: string | null): { asked: Backend | null; note: string | null } {
  if (wanted === null || BACKENDS.includes(wanted)) return { asked: wanted as Backend | null, note: null };
  return { asked: null, note: `?backend=${wanted} is not a backend (webgpu or wasm): chosen automatically` };
}

async function fetchModel(base: string, variant: string): Promise<{ model: string; bytes: Uint8Array }> {
  if (!VARIANTS.includes(variant)) {
    throw new Error(`?model=${variant} is not one of the page's networks (${VARIANTS.join(", ")})`);
  }
  const model = `${base}models/inversefacenet_${variant}.onnx`;
  const response = await fetch(model);
  if (!response.ok) throw new Error(`${model} is missing on this server (${response.status}): run make web-build`);
  return { model, bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** A session on `backend`; null when it is WebGPU and this browser cannot give it. */
async function createSession(bytes: Uint8Array, backend: Backend): Promise<ort.InferenceSession | null> {
  try {
    return await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
  } catch (error) {
    if (backend !== "webgpu") throw error;
    return null;
  }
}

/** Why a forced WebGPU gave no session, in plain words (a trial read "not available" on a browser that has WebGPU
 * but not the 16-bit shaders an fp16 network needs). */
async function whyNoWebgpu(needsF16: boolean): Promise<string> {
  const adapter = await webgpuAdapter();
  if (adapter === null) return "WebGPU is not available in this browser";
  if (needsF16 && !adapter.features.has("shader-f16")) {
    return "this browser's WebGPU has no 16-bit shaders (shader-f16), which the fp16 network needs";
  }
  return "WebGPU could not run the network in this browser";
}

/** The network file `asked` names (a variant; null: the backend's default, where a default int8 graph that was not
 * exported, for a checkpoint no `python -m export.quantize` ran on, gives way to the float one, with a note). */
async function fetchVariant(base: string, asked: string | null, backend: Backend): Promise<{ variant: string;
  model: string; bytes: Uint8Array; note: string | null }> {
  const variant = asked ?? defaultVariant(backend);
  try {
    return { variant, ...(await fetchModel(base, variant)), note: null };
  } catch (error) {
    if (asked !== null || variant === "fp32") throw error;
    return { variant: "fp32", ...(await fetchModel(base, "fp32")), note: "no int8 network on this server: running fp32" };
  }
}

/** The network on the backend `wanted` names (null: WebGPU on a hardware adapter, else wasm) and the variant `asked`
 * names (null: that backend's default, also when a WebGPU session falls back to wasm). */
export async function createNetwork(base: string, asked: string | null, wanted: string | null): Promise<Network> {
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.wasm.numThreads = wasmThreads(navigator.hardwareConcurrency || 1);
  const { asked: askedBackendName, note: askNote } = askedBackend(wanted);
  const first = askedBackendName ?? ((await webgpuUsable(asked === "fp16")) ? "webgpu" : "wasm");
  let file = await fetchVariant(base, asked, first);
  let [backend, note]: [Backend, string | null] = [first, null];
  let session = await createSession(file.bytes, first);
  if (session === null) { // a forced WebGPU this browser cannot give: wasm, on its own default network unless asked
    [backend, note] = ["wasm", `${await whyNoWebgpu(asked === "fp16")}: running on wasm`];
    if (asked === null) file = await fetchVariant(base, asked, backend);
    session = (await createSession(file.bytes, backend))!;
  }
  const { variant, model, bytes, note: fileNote } = file;
  const metadata = onnxMetadata(bytes).get(PREPROCESSING_KEY);
  if (!metadata) throw new Error(`${model} carries no ${PREPROCESSING_KEY} metadata: re-export it (make web-build)`);
  const preprocessing = JSON.parse(metadata) as Preprocessing;
  const rule = preprocessing.input_mask ?? "face";
  if (!(rule in INPUT_CHANNELS)) {
    throw new Error(`${model} reads its crop by the input rule "${rule}", which this page cannot prepare`);
  }
  const channels = INPUT_CHANNELS[rule];
  return {
    backend,
    variant,
    model,
    note: [note, askNote, fileNote].filter((text) => text !== null).join("; ") || null,
    preprocessing,
    async run(input: Float32Array, size: number) {
      const start = performance.now();
      const batch = input.length / (channels * size * size);
      const feeds = { image: new ort.Tensor("float32", input, [batch, channels, size, size]) };
      const result = await session.run(feeds);
      const output = (await result.params.getData()) as Float32Array;
      return { output, ms: performance.now() - start };
    },
  };
}
