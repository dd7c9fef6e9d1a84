// three.js view of the face: the camera of the image formation model (at the origin, looking
// down -z, the head at distance_mm), Lambertian SH shading per pixel in a shader.
import * as THREE from "three";

/** The view's background: light grey, not the page's white, so that a lamp that drives lit skin to white (a side light
 * on a pale face) leaves the face's outline visible (a trial: the lit cheek and the ear's edge vanished into the
 * page). tests/test_web.py's VIEW_BACKGROUND is the same. */
const VIEW_BACKGROUND = 0xe8e8e8;

const vertexShader = /* glsl */ `
  attribute vec3 albedo;
  varying vec3 vAlbedo;
  varying vec3 vNormal;
  void main() {
    vAlbedo = albedo;
    vNormal = normalize(mat3(modelMatrix) * normal); // camera frame: the camera has no rotation
    gl_Position = projectionMatrix * viewMatrix * modelMatrix * vec4(position, 1.0);
  }`;

const fragmentShader = /* glsl */ `
  uniform vec3 sh[9];
  varying vec3 vAlbedo;
  varying vec3 vNormal;
  void main() {
    vec3 n = normalize(vNormal);
    vec3 irradiance = sh[0] + sh[1] * n.y + sh[2] * n.z + sh[3] * n.x + sh[4] * n.x * n.y + sh[5] * n.y * n.z
      + sh[6] * (3.0 * n.z * n.z - 1.0) + sh[7] * n.x * n.z + sh[8] * (n.x * n.x - n.y * n.y);
    gl_FragColor = vec4(clamp(vAlbedo * irradiance, 0.0, 1.0), 1.0);
  }`;

/**
 * Whether WebGL runs on a software rasterizer (SwiftShader, llvmpipe: no GPU, or the GPU blocklisted). There
 * multisampling costs about as much CPU as a live frame's landmarks and network together (live mode went from
 * 8 to 14 fps without it, headless Chromium on 2 cores); on a GPU it is free, so only a GPU gets it.
 */
function softwareGl(): boolean {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return true;
  const info = gl.getExtension("WEBGL_debug_renderer_info"); // RENDERER alone says "WebKit WebGL"
  const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext(); // the probe's context is not kept
  return /swiftshader|llvmpipe|software/i.test(renderer);
}

/** Which mesh the view draws: the UV atlas's (photos, downloads) or the coarse one live mode draws. */
export type Level = "full" | "live";

export class FaceView {
  readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera: THREE.PerspectiveCamera;
  private readonly material: THREE.ShaderMaterial;
  private readonly meshes: Record<Level, THREE.Mesh>;

  /**
   * triangles: per level, (T*3) indices of the mesh drawn. "full" is the face model's UV atlas
   * (FaceModel.atlas.triangles), clipped at the forehead and jaw curves like the Python previews and exports, where
   * the model's own edges are a saw-tooth; "live" the coarse level clipped alike (FaceModel.live.triangles): on a
   * software GL the atlas's 31k triangles took about 20 ms of each live frame's drawing.
   */
  constructor(canvas: HTMLCanvasElement, triangles: Record<Level, Uint32Array>, distanceMm: number) {
    const software = softwareGl();
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !software, preserveDrawingBuffer: true });
    // a phone's or a laptop's screen pixels (at most 2 per CSS pixel); a software GL draws CSS pixels, which keeps
    // its live rate
    this.renderer.setPixelRatio(software ? 1 : Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(VIEW_BACKGROUND);
    this.camera = new THREE.PerspectiveCamera(22, 1, 10, 5000);
    this.material = new THREE.ShaderMaterial({
      uniforms: { sh: { value: Array.from({ length: 9 }, () => new THREE.Vector3()) } },
      vertexShader,
      fragmentShader,
    });
    const mesh = (indices: Uint32Array) => {
      const geometry = new THREE.BufferGeometry();
      geometry.setIndex(new THREE.BufferAttribute(indices, 1));
      const out = new THREE.Mesh(geometry, this.material);
      out.position.set(0, 0, -distanceMm);
      out.visible = false;
      this.scene.add(out);
      return out;
    };
    this.meshes = { full: mesh(triangles.full), live: mesh(triangles.live) };
  }

  /** Per-point positions (mm, head frame), unit normals and albedo (0-1) of the level's mesh, x y z each (the
   * exported meshes are closed at the mouth's throat: an open mouth is dark inside, FaceModel.closed in Python). */
  setMesh(level: Level, vertices: Float32Array, normals: Float32Array, albedo: Float32Array): void {
    const mesh = this.meshes[level];
    setAttribute(mesh.geometry, "position", vertices);
    setAttribute(mesh.geometry, "normal", normals);
    setAttribute(mesh.geometry, "albedo", albedo);
    mesh.geometry.computeBoundingSphere();
    for (const [name, other] of Object.entries(this.meshes)) other.visible = name === level;
  }

  /** The level shown (null: none) and its triangle count. */
  get drawn(): { level: Level | null; triangles: number } {
    const shown = (Object.entries(this.meshes) as [Level, THREE.Mesh][]).find(([, mesh]) => mesh.visible);
    return shown ? { level: shown[0], triangles: shown[1].geometry.index!.count / 3 } : { level: null, triangles: 0 };
  }

  /** An empty view: no face shown. */
  clear(): void {
    Object.values(this.meshes).forEach((mesh) => (mesh.visible = false));
    this.render();
  }

  /** rotation: row-major 3x3 Rot_xyz; sh: 9 x RGB. */
  draw(rotation: number[], sh: number[][]): void {
    const m = rotation;
    const matrix = new THREE.Matrix4().set(m[0], m[1], m[2], 0, m[3], m[4], m[5], 0, m[6], m[7], m[8], 0, 0, 0, 0, 1);
    Object.values(this.meshes).forEach((mesh) => mesh.setRotationFromMatrix(matrix));
    (this.material.uniforms.sh.value as THREE.Vector3[]).forEach((v, k) => v.set(sh[k][0], sh[k][1], sh[k][2]));
    this.render();
  }

  private render(): void {
    const size = this.renderer.domElement.clientWidth || 512;
    this.renderer.setSize(size, size, false);
    this.renderer.render(this.scene, this.camera);
  }
}

/** New values into the attribute's GL buffer: a new attribute per call would leave a buffer per live frame. */
function setAttribute(geometry: THREE.BufferGeometry, name: string, values: Float32Array): void {
  const attribute = geometry.getAttribute(name) as THREE.BufferAttribute | undefined;
  if (attribute?.array.length !== values.length) {
    geometry.setAttribute(name, new THREE.BufferAttribute(values, 3));
    return;
  }
  (attribute.array as Float32Array).set(values);
  attribute.needsUpdate = true;
}
