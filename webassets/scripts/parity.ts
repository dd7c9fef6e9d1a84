// The page's re-implementations run in Node on the golden inputs Python wrote (export/goldens.py):
//   npm run --silent parity -- GOLDENS.json   ->  the page's outputs as JSON on stdout
// tests/test_web_parity.py compares them with Python's.
import { readFileSync } from "node:fs";
import { vertexNormals } from "../src/facemodel";
import { shFromLight } from "../src/lighting";
import { rotationMatrix } from "../src/params";
import { cropForLandmarks, faceMask } from "../src/preprocess";

interface PythonLight {
  azimuth_deg: number;
  elevation_deg: number;
  intensity: number;
  ambient: number;
  colour: [number, number, number];
}

const golden = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { crop, mask, normals } = golden;
const cropped = cropForLandmarks(Float32Array.from(crop.landmarks), crop.size, crop.crop_scale);
const outputs = {
  rotation: golden.rotation.angles_deg.map(([p, y, r]: number[]) => rotationMatrix(p, y, r)),
  lamp_sh: golden.lamp_sh.lights.map((l: PythonLight) =>
    shFromLight({ azimuthDeg: l.azimuth_deg, elevationDeg: l.elevation_deg, intensity: l.intensity,
      ambient: l.ambient, colour: l.colour })),
  normals: Array.from(vertexNormals(Float32Array.from(normals.vertices), Uint32Array.from(normals.triangles))),
  crop: { scale: cropped.scale, offset: cropped.offset },
  mask: Array.from(faceMask(Float32Array.from(mask.landmarks), mask.size, mask.rule)),
};
process.stdout.write(JSON.stringify(outputs));
