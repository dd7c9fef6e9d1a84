import { defaultClientConditions, defineConfig } from "vite";

// Threads in onnxruntime-web need cross-origin isolation: serve COOP/COEP in dev and preview too.
const isolation = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

export default defineConfig({
  base: "./",
  // onnxruntime-web's wasm files are copied into public/ort (scripts/prepare.mjs), not bundled twice
  resolve: { conditions: ["onnxruntime-web-use-extern-wasm", ...defaultClientConditions] }, // relative URLs: the built page works under any path (the Gradio app serves it at /web/)
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: "es2022", chunkSizeWarningLimit: 2048 },
});
