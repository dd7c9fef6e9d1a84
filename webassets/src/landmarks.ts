// 478 MediaPipe face-mesh landmarks per face, in photo pixels, from the @mediapipe/face_mesh
// npm package (its wasm and model files are served next to the page; nothing is fetched elsewhere).

interface NormalizedLandmark {
  x: number;
  y: number;
  z: number;
}
interface FaceMeshResults {
  multiFaceLandmarks?: NormalizedLandmark[][];
}
interface FaceMeshSolution {
  setOptions(options: Record<string, unknown>): void;
  onResults(callback: (results: FaceMeshResults) => void): void;
  initialize(): Promise<void>;
  send(inputs: { image: HTMLCanvasElement | HTMLImageElement }): Promise<void>;
}

function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

export class LandmarkDetector {
  private latest: FaceMeshResults = {};

  private constructor(private readonly mesh: FaceMeshSolution) {
    mesh.onResults((results) => (this.latest = results));
  }

  static async create(base: string, maxFaces = 4): Promise<LandmarkDetector> {
    await loadScript(`${base}mediapipe/face_mesh.js`);
    const FaceMesh = (window as unknown as { FaceMesh: new (config: object) => FaceMeshSolution }).FaceMesh;
    const mesh = new FaceMesh({ locateFile: (file: string) => `${base}mediapipe/${file}` });
    mesh.setOptions({ maxNumFaces: maxFaces, refineLandmarks: true, selfieMode: false, minDetectionConfidence: 0.5 });
    await mesh.initialize();
    return new LandmarkDetector(mesh);
  }

  /** Faces as (478 * 2) pixel coordinates, largest first. */
  async detect(image: HTMLCanvasElement): Promise<Float32Array[]> {
    this.latest = {};
    await this.mesh.send({ image });
    const faces = (this.latest.multiFaceLandmarks ?? []).map((points) => {
      const out = new Float32Array(points.length * 2);
      points.forEach((p, k) => {
        out[2 * k] = p.x * image.width;
        out[2 * k + 1] = p.y * image.height;
      });
      return out;
    });
    const area = (f: Float32Array) => {
      const xs = f.filter((_, i) => i % 2 === 0);
      const ys = f.filter((_, i) => i % 2 === 1);
      return (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
    };
    return faces.sort((a, b) => area(b) - area(a));
  }
}
