// onnxruntime-web session: WebGPU when the browser has an adapter, else wasm (threads with COOP/COEP).
import * as ort from "onnxruntime-web/webgpu";

export type Backend = "webgpu" | "wasm";

export interface Network {
  backend: Backend;
  model: string;
  run(input: Float32Array, size: number): Promise<{ output: Float32Array; ms: number }>;
}

async function webgpuUsable(needsF16: boolean): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ features: Set<string> } | null> } })
    .gpu;
  if (!gpu) return false;
  const adapter = await gpu.requestAdapter().catch(() => null);
  // an fp16 model on an adapter without shader-f16 silently returned zeros: never pair them
  return adapter !== null && (!needsF16 || adapter.features.has("shader-f16"));
}

export async function createNetwork(base: string, variant: string, wanted: Backend | null): Promise<Network> {
  ort.env.wasm.wasmPaths = `${base}ort/`;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 2) : 1;
  const backend: Backend =
    wanted ?? ((await webgpuUsable(variant === "fp16")) ? "webgpu" : "wasm");
  const model = `${base}models/inversefacenet_${variant}.onnx`;
  const session = await ort.InferenceSession.create(model, { executionProviders: [backend] });
  return {
    backend,
    model,
    async run(input: Float32Array, size: number) {
      const start = performance.now();
      const batch = input.length / (3 * size * size);
      const feeds = { image: new ort.Tensor("float32", input, [batch, 3, size, size]) };
      const result = await session.run(feeds);
      const output = (await result.params.getData()) as Float32Array;
      return { output, ms: performance.now() - start };
    },
  };
}
