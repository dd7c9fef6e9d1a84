// Mesh downloads on the face model's UV atlas (the same seam-split vertices as the Python exports):
// OBJ with texture coordinates, normals, per-vertex colour (the common "v x y z r g b" extension) and an
// MTL naming the baked albedo PNG; ASCII PLY with per-vertex colour; binary glTF (GLB) with the
// baked albedo as its base colour texture and the head pose as its node's rotation (optionally with the
// blendshapes as morph targets and a recording's animation).
import * as THREE from "three";
import { GLTFExporter } from "three/examples/jsm/exporters/GLTFExporter.js";
import { fillEmptyTexels } from "./imageops";

export function toObj(mesh: AtlasMesh, colours: Float32Array): string {
  const { vertices, normals, uv, triangles } = mesh;
  const lines = ["# InverseFaceNet face (mm, head frame), vertex colours and face_albedo.png = albedo", "mtllib face.mtl"];
  for (let i = 0; i < vertices.length; i += 3) {
    const v = [vertices[i], vertices[i + 1], vertices[i + 2]].map((x) => x.toFixed(4));
    const c = [colours[i], colours[i + 1], colours[i + 2]].map((x) => x.toFixed(4));
    lines.push(`v ${v.join(" ")} ${c.join(" ")}`);
  }
  for (let i = 0; i < uv.length; i += 2) lines.push(`vt ${uv[i].toFixed(6)} ${uv[i + 1].toFixed(6)}`);
  for (let i = 0; i < normals.length; i += 3) {
    lines.push(`vn ${[normals[i], normals[i + 1], normals[i + 2]].map((x) => x.toFixed(6)).join(" ")}`);
  }
  lines.push("usemtl face");
  for (let f = 0; f < triangles.length; f += 3) {
    const [a, b, c] = [triangles[f] + 1, triangles[f + 1] + 1, triangles[f + 2] + 1];
    lines.push(`f ${a}/${a}/${a} ${b}/${b}/${b} ${c}/${c}/${c}`);
  }
  return lines.join("\n") + "\n";
}

export const MTL = "newmtl face\nKa 1 1 1\nKd 1 1 1\nKs 0 0 0\nmap_Kd face_albedo.png\n";

export function toPly(vertices: Float32Array, colours: Float32Array, triangles: Uint32Array): string {
  const header = [
    "ply", "format ascii 1.0", `element vertex ${vertices.length / 3}`,
    "property float x", "property float y", "property float z",
    "property uchar red", "property uchar green", "property uchar blue",
    `element face ${triangles.length / 3}`, "property list uchar int vertex_indices", "end_header",
  ];
  const lines = [...header];
  for (let i = 0; i < vertices.length; i += 3) {
    const c = [0, 1, 2].map((j) => Math.round(Math.min(Math.max(colours[i + j], 0), 1) * 255));
    lines.push(`${vertices[i].toFixed(4)} ${vertices[i + 1].toFixed(4)} ${vertices[i + 2].toFixed(4)} ${c.join(" ")}`);
  }
  for (let f = 0; f < triangles.length; f += 3) lines.push(`3 ${triangles[f]} ${triangles[f + 1]} ${triangles[f + 2]}`);
  return lines.join("\n") + "\n";
}

/** A mesh on the UV atlas: W*3 positions (mm, head frame) and unit normals, W*2 uvs, T*3 triangles. */
export interface AtlasMesh {
  vertices: Float32Array;
  normals: Float32Array;
  uv: Float32Array;
  triangles: Uint32Array;
}

/**
 * Blendshapes as glTF morph targets (inversefacenet/animate.py): per target a name and W*3 position (mm) and normal
 * deltas from the base mesh, and the mesh's default weights; with `animation`, a recording: N times (s, increasing),
 * the weights at each (N*targets, frame-major) and the head pose at each (row-major 3x3 Rot_xyz).
 */
export interface Morphs {
  names: string[];
  positionDeltas: Float32Array[];
  normalDeltas: Float32Array[];
  weights: number[];
  animation?: { times: Float32Array; weights: Float32Array; rotations: number[][] };
}

/** The name of a recording's animation in the GLB, as inversefacenet/animate.py's ANIMATION_NAME. */
const ANIMATION_NAME = "session";

/**
 * GLB as inversefacenet.export writes it: metres (glTF's unit), vertices in the head frame, the head
 * pose (row-major 3x3 Rot_xyz) as the node's rotation quaternion, vertex normals, the atlas UVs and
 * the baked texture (a non-metallic material: glTF's default metallic factor is 1). With `morphs`, as
 * inversefacenet.animate writes it: the blendshapes as morph targets (names in the mesh's extras.targetNames) and,
 * for a recording, the animation "session": LINEAR samplers of the weights and of the node's rotation.
 */
export async function toGlb(atlasMesh: AtlasMesh, texture: HTMLCanvasElement, rotation: number[],
  morphs?: Morphs): Promise<ArrayBuffer> {
  const { vertices, normals, uv, triangles } = atlasMesh;
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(vertices.map((x) => x * 1e-3), 3));
  geometry.setAttribute("normal", new THREE.BufferAttribute(normals, 3));
  // glTF's v runs down the image: write 1 - v and keep the image as baked (row 0 = atlas v 1),
  // so that the file holds the same texture and UVs as the Python GLB.
  geometry.setAttribute("uv", new THREE.BufferAttribute(uv.map((x, i) => (i % 2 ? 1 - x : x)), 2));
  geometry.setIndex(new THREE.BufferAttribute(triangles, 1));
  const map = new THREE.CanvasTexture(texture);
  map.flipY = false;
  map.colorSpace = THREE.SRGBColorSpace;
  const material = new THREE.MeshStandardMaterial({ map, metalness: 0, roughness: 1, name: "face" });
  const mesh = new THREE.Mesh(geometry, material);
  mesh.name = "face";
  mesh.quaternion.copy(toQuaternion(rotation));
  const animations = morphs ? addMorphs(mesh, morphs) : [];
  const scene = new THREE.Scene();
  scene.name = "InverseFaceNet";
  scene.add(mesh);
  try {
    return (await new GLTFExporter().parseAsync(scene, { binary: true, trs: true, animations })) as ArrayBuffer;
  } finally {
    geometry.dispose();
    material.dispose();
    map.dispose();
  }
}

/** Row-major 3x3 rotation -> quaternion. */
function toQuaternion(m: number[]): THREE.Quaternion {
  return new THREE.Quaternion().setFromRotationMatrix(new THREE.Matrix4().set(
    m[0], m[1], m[2], 0, m[3], m[4], m[5], 0, m[6], m[7], m[8], 0, 0, 0, 0, 1));
}

/** Give the mesh its morph targets and default weights; returns the recording's animation clip, if any. */
function addMorphs(mesh: THREE.Mesh, morphs: Morphs): THREE.AnimationClip[] {
  const target = (deltas: Float32Array, k: number, scale: number) => {
    const attribute = new THREE.BufferAttribute(scale === 1 ? deltas : deltas.map((x) => x * scale), 3);
    attribute.name = morphs.names[k]; // updateMorphTargets names the targets after their attributes
    return attribute;
  };
  mesh.geometry.morphAttributes.position = morphs.positionDeltas.map((d, k) => target(d, k, 1e-3)); // metres
  mesh.geometry.morphAttributes.normal = morphs.normalDeltas.map((d, k) => target(d, k, 1));
  mesh.geometry.morphTargetsRelative = true; // deltas, as glTF stores them
  mesh.updateMorphTargets();
  mesh.morphTargetInfluences = [...morphs.weights];
  const animation = morphs.animation;
  if (!animation) return [];
  const quaternions = new Float32Array(animation.times.length * 4);
  let previous = new THREE.Quaternion();
  animation.rotations.forEach((rotation, k) => {
    const q = toQuaternion(rotation);
    // q and -q are one rotation: keep neighbours in one hemisphere, so interpolation takes the short way
    if (k > 0 && q.dot(previous) < 0) q.set(-q.x, -q.y, -q.z, -q.w);
    q.toArray(quaternions, 4 * k);
    previous = q;
  });
  return [new THREE.AnimationClip(ANIMATION_NAME, -1, [
    new THREE.NumberKeyframeTrack(`${mesh.name}.morphTargetInfluences`, animation.times, animation.weights),
    new THREE.QuaternionKeyframeTrack(`${mesh.name}.quaternion`, animation.times, quaternions),
  ])];
}

/** Side (px) of the downloads' texture PNG, as inversefacenet.export's. */
export const DOWNLOAD_TEXTURE_SIZE = 1024;

/**
 * An RGBA atlas (side `from`, row 0 = v 1, gutters filled) at the downloads' side, resized bilinearly as the
 * Python exports resize the photo texture (cv2.INTER_LINEAR).
 */
export function textureCanvas(rgba: Uint8ClampedArray<ArrayBuffer>, from: number,
  size = DOWNLOAD_TEXTURE_SIZE): HTMLCanvasElement {
  const source = document.createElement("canvas");
  source.width = source.height = from;
  source.getContext("2d")!.putImageData(new ImageData(rgba, from, from), 0, 0);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d")!;
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = "low"; // bilinear
  context.drawImage(source, 0, 0, size, size);
  return canvas;
}

/**
 * Bake per-vertex colours into a size x size texture at the atlas (row 0 = v 1, as the PNG is read),
 * like inversefacenet.export.bake_texture: rasterized on the GPU, then empty texels take a filled
 * neighbour's colour so bilinear and mipmapped look-ups at chart borders do not bleed.
 */
export function bakeTexture(
  renderer: THREE.WebGLRenderer, uv: Float32Array, triangles: Uint32Array, colours: Float32Array,
  size = DOWNLOAD_TEXTURE_SIZE,
): HTMLCanvasElement {
  const positions = new Float32Array((uv.length / 2) * 3);
  for (let i = 0; i < uv.length / 2; i++) positions.set([uv[2 * i] * 2 - 1, uv[2 * i + 1] * 2 - 1, 0], 3 * i);
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.BufferAttribute(positions, 3));
  geometry.setAttribute("albedo", new THREE.BufferAttribute(colours, 3));
  geometry.setIndex(new THREE.BufferAttribute(triangles, 1));
  const material = new THREE.ShaderMaterial({
    vertexShader: "attribute vec3 albedo; varying vec3 vAlbedo; void main() { vAlbedo = albedo; gl_Position = vec4(position, 1.0); }",
    fragmentShader: "varying vec3 vAlbedo; void main() { gl_FragColor = vec4(clamp(vAlbedo, 0.0, 1.0), 1.0); }",
    side: THREE.DoubleSide,
  });
  const scene = new THREE.Scene();
  scene.add(new THREE.Mesh(geometry, material));
  const target = new THREE.WebGLRenderTarget(size, size);
  const clear = renderer.getClearColor(new THREE.Color());
  const clearAlpha = renderer.getClearAlpha();
  const pixels = new Uint8Array(size * size * 4);
  try {
    renderer.setRenderTarget(target);
    renderer.setClearColor(0x000000, 0); // alpha 0 marks texels no triangle covers
    renderer.render(scene, new THREE.Camera()); // positions are already clip coordinates
    renderer.readRenderTargetPixels(target, 0, 0, size, size, pixels);
  } finally {
    renderer.setRenderTarget(null);
    renderer.setClearColor(clear, clearAlpha);
    target.dispose();
    geometry.dispose();
    material.dispose();
  }
  fillEmptyTexels(pixels, size);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const image = new ImageData(size, size);
  for (let row = 0; row < size; row++) {  // GL rows run bottom-up
    image.data.set(pixels.subarray((size - 1 - row) * size * 4, (size - row) * size * 4), row * size * 4);
  }
  canvas.getContext("2d")!.putImageData(image, 0, 0);
  return canvas;
}

export function download(name: string, content: string | Blob): void {
  const link = document.createElement("a");
  const blob = typeof content === "string" ? new Blob([content], { type: "text/plain" }) : content;
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
