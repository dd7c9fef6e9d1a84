import { defineConfig } from "vite";

// The Node build of scripts/parity.ts (npm run parity): the page's pure functions, no public/ assets.
export default defineConfig({
  publicDir: false,
  logLevel: "error",
  build: { ssr: "scripts/parity.ts", outDir: "build/parity", emptyOutDir: true, target: "node20" },
});
