// three.js view of the face: the camera of the image formation model (at the origin, looking
// down -z, the head at distance_mm), Lambertian SH shading per pixel in a shader.
import * as THREE from "three";

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

export class FaceView {
  readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera: THREE.PerspectiveCamera;
  private readonly geometry = new THREE.BufferGeometry();
  private readonly material: THREE.ShaderMaterial;
  private readonly mesh: THREE.Mesh;

  /**
   * triangles: (T*3) indices of the mesh drawn, the face model's UV atlas (FaceModel.atlas.triangles): clipped at
   * the forehead and jaw curves like the Python previews and exports, where the model's own edges are a saw-tooth.
   */
  constructor(canvas: HTMLCanvasElement, triangles: Uint32Array, distanceMm: number) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !softwareGl(), preserveDrawingBuffer: true });
    this.renderer.setClearColor(0xffffff);
    this.camera = new THREE.PerspectiveCamera(22, 1, 10, 5000);
    this.geometry.setIndex(new THREE.BufferAttribute(triangles, 1));
    this.material = new THREE.ShaderMaterial({
      uniforms: { sh: { value: Array.from({ length: 9 }, () => new THREE.Vector3()) } },
      vertexShader,
      fragmentShader,
    });
    this.mesh = new THREE.Mesh(this.geometry, this.material);
    this.mesh.position.set(0, 0, -distanceMm);
    this.scene.add(this.mesh);
  }

  /** Per-vertex positions (mm, head frame), unit normals and albedo (0-1) of the triangles' vertices, x y z each. */
  setMesh(vertices: Float32Array, normals: Float32Array, albedo: Float32Array): void {
    this.setAttribute("position", vertices);
    this.setAttribute("normal", normals);
    this.setAttribute("albedo", albedo);
    this.geometry.computeBoundingSphere();
    this.mesh.visible = true;
  }

  /** New values into the attribute's GL buffer: a new attribute per call would leave a buffer per live frame. */
  private setAttribute(name: string, values: Float32Array): void {
    const attribute = this.geometry.getAttribute(name) as THREE.BufferAttribute | undefined;
    if (attribute?.array.length !== values.length) {
      this.geometry.setAttribute(name, new THREE.BufferAttribute(values, 3));
      return;
    }
    (attribute.array as Float32Array).set(values);
    attribute.needsUpdate = true;
  }

  /** An empty view: no face shown. */
  clear(): void {
    this.mesh.visible = false;
    this.render();
  }

  /** rotation: row-major 3x3 Rot_xyz; sh: 9 x RGB. */
  draw(rotation: number[], sh: number[][]): void {
    const m = rotation;
    this.mesh.setRotationFromMatrix(new THREE.Matrix4().set(
      m[0], m[1], m[2], 0, m[3], m[4], m[5], 0, m[6], m[7], m[8], 0, 0, 0, 0, 1));
    (this.material.uniforms.sh.value as THREE.Vector3[]).forEach((v, k) => v.set(sh[k][0], sh[k][1], sh[k][2]));
    this.render();
  }

  private render(): void {
    const size = this.renderer.domElement.clientWidth || 512;
    this.renderer.setSize(size, size, false);
    this.renderer.render(this.scene, this.camera);
  }
}
