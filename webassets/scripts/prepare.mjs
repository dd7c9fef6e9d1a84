// Copies what the page loads at run time into public/ (git-ignored): onnxruntime-web's wasm
// files, the @mediapipe/face_mesh and @mediapipe/face_detection solution files, and the exported models
// (`python -m export.onnx ... --out ../build/web`). No file comes from anywhere but npm and this repo.
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const models = process.argv[2] ?? "../build/web";
const need = ["facemodel.bin", "facemodel.json", "inversefacenet_fp32.onnx"];
for (const file of need) {
  if (!existsSync(join(models, file))) {
    console.error(`missing ${join(models, file)}: run \`python -m export.onnx assets/inversefacenet.safetensors --out build/web\``);
    process.exit(1);
  }
}
const copy = (from, to, keep) => {
  mkdirSync(to, { recursive: true });
  for (const file of readdirSync(from).filter(keep)) cpSync(join(from, file), join(to, file));
};
copy("node_modules/onnxruntime-web/dist", "public/ort", (f) => /^ort-wasm-simd-threaded(\.asyncify|\.jsep)?\.(wasm|mjs)$/.test(f));
copy("node_modules/@mediapipe/face_mesh", "public/mediapipe", (f) => !/\.(md|json|ts)$/.test(f));
copy("node_modules/@mediapipe/face_detection", "public/mediapipe", (f) => !/\.(md|json|ts)$|_full_range\.tflite$/.test(f));
rmSync("public/models", { recursive: true, force: true }); // as exported now: no network left from another checkpoint
copy(models, "public/models", (f) => /\.(onnx|bin|json)$/.test(f) && !f.startsWith("parity") && f !== "goldens.json");
console.log("public/: ort, mediapipe, models ready");
