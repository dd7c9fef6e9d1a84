// One lamp + white ambient -> 2nd-order SH coefficients (9 x RGB), the closed form of inversefacenet/lighting.py.

export interface Light {
  azimuthDeg: number; // 0 = from the camera, +90 = from the viewer's right
  elevationDeg: number;
  intensity: number;
  ambient: number;
  colour: [number, number, number];
}

export function shFromLight(light: Light): number[][] {
  const az = (light.azimuthDeg * Math.PI) / 180;
  const el = (light.elevationDeg * Math.PI) / 180;
  const [x, y, z] = [Math.sin(az) * Math.cos(el), Math.sin(el), Math.cos(az) * Math.cos(el)];
  const i = light.intensity;
  const band2 = (15 / 32) * i;
  const lamp = [
    i / 4, (i / 2) * y, (i / 2) * z, (i / 2) * x,
    band2 * 2 * x * y, band2 * 2 * y * z, (band2 * (3 * z * z - 1)) / 6, band2 * 2 * x * z, (band2 * (x * x - y * y)) / 2,
  ];
  return lamp.map((value, k) => light.colour.map((c) => value * c + (k === 0 ? light.ambient : 0)));
}

export function hexToRgb(hex: string): [number, number, number] {
  const digits = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(digits.slice(i, i + 2), 16) / 255) as [number, number, number];
}

export function rgbToHex(colour: [number, number, number]): string {
  return "#" + colour.map((c) => Math.round(Math.min(Math.max(c, 0), 1) * 255).toString(16).padStart(2, "0")).join("");
}
