// Mesh downloads: OBJ with per-vertex colour (the common "v x y z r g b" extension) and ASCII PLY.

export function toObj(vertices: Float32Array, colours: Float32Array, triangles: Uint32Array): string {
  const lines = ["# InverseFaceNet face (mm, head frame), vertex colours = albedo"];
  for (let i = 0; i < vertices.length; i += 3) {
    const v = [vertices[i], vertices[i + 1], vertices[i + 2]].map((x) => x.toFixed(4));
    const c = [colours[i], colours[i + 1], colours[i + 2]].map((x) => x.toFixed(4));
    lines.push(`v ${v.join(" ")} ${c.join(" ")}`);
  }
  for (let f = 0; f < triangles.length; f += 3) {
    lines.push(`f ${triangles[f] + 1} ${triangles[f + 1] + 1} ${triangles[f + 2] + 1}`);
  }
  return lines.join("\n") + "\n";
}

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

export function download(name: string, text: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
