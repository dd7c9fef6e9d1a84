// onnxruntime-web session: WebGPU when the browser has a hardware adapter, else wasm (threads with COOP/COEP).
import * as ort from "onnxruntime-web/webgpu";
import { onnxMetadata } from "./onnxmeta";
import { INPUT_CHANNELS, type InputMask } from "./preprocess";

export type Backend = "webgpu" | "wasm";

/** How the network's inputs are made: written by `python -m export.onnx` into the file's metadata_props. */
export interface Preprocessing {
  input_size: number;
  crop_scale: number;
  camera_distance_mm: number;
  face_model_sha256: string;
  parameter_layout: Record<string, [number, number]>;
  crop_alignment?: boolean; // outputs after the parameters say where the crop should be (preprocess.alignedCrop)
  input_mask?: InputMask; // what of the crop the network sees (absent in older files: "face")
}

const PREPROCESSING_KEY = "inversefacenet.preprocessing";

export interface Network {
  backend: Backend;
  model: string;
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

async function webgpuUsable(needsF16: boolean): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  if (!gpu) return false;
  const adapter = await gpu.requestAdapter().catch(() => null);
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

export async function createNetwork(base: string, variant: string, wanted: Backend | null): Promise<Network> {
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.wasm.numThreads = wasmThreads(navigator.hardwareConcurrency || 1);
  const backend: Backend =
    wanted ?? ((await webgpuUsable(variant === "fp16")) ? "webgpu" : "wasm");
  const model = `${base}models/inversefacenet_${variant}.onnx`;
  const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
  const metadata = onnxMetadata(bytes).get(PREPROCESSING_KEY);
  if (!metadata) throw new Error(`${model} carries no ${PREPROCESSING_KEY} metadata: re-export it (make web-build)`);
  const preprocessing = JSON.parse(metadata) as Preprocessing;
  const rule = preprocessing.input_mask ?? "face";
  if (!(rule in INPUT_CHANNELS)) {
    throw new Error(`${model} reads its crop by the input rule "${rule}", which this page cannot prepare`);
  }
  const channels = INPUT_CHANNELS[rule];
  const session = await ort.InferenceSession.create(bytes, { executionProviders: [backend] });
  return {
    backend,
    model,
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
