// TIFF photos, which Chromium cannot decode: UTIF.js (photopea, MIT) reads the file's first image, and its
// orientation tag turns it upright as Python's load_image does (PIL's exif_transpose).
import UTIF from "utif";

/** Whether a file's first bytes are a TIFF's ("II*\0" little-endian, "MM\0*" big-endian). */
export function isTiff(head: Uint8Array): boolean {
  const [a, b, c, d] = head;
  return (a === 0x49 && b === 0x49 && c === 42 && d === 0) || (a === 0x4d && b === 0x4d && c === 0 && d === 42);
}

/** The drawing transform [a, b, c, d, e, f] that puts a w x h image upright for each TIFF/EXIF orientation (2-8). */
function upright(orientation: number, w: number, h: number): number[] {
  return ({ 2: [-1, 0, 0, 1, w, 0], 3: [-1, 0, 0, -1, w, h], 4: [1, 0, 0, -1, 0, h], 5: [0, 1, 1, 0, 0, 0],
    6: [0, 1, -1, 0, h, 0], 7: [0, -1, -1, 0, h, w], 8: [0, -1, 1, 0, 0, w] } as Record<number, number[]>)[orientation]
    ?? [1, 0, 0, 1, 0, 0];
}

/** Largest TIFF the page decodes: 4 bytes a pixel in the tab, twice over (Python's limit is 179 megapixels). */
const TIFF_MAX_PIXELS = 100_000_000;

/** The first image of a TIFF file, upright, as a canvas; throws when the file cannot be decoded (a RangeError with a
 * message for the user when it is too large). */
export function decodeTiff(file: ArrayBuffer): HTMLCanvasElement {
  const [image] = UTIF.decode(file);
  const pixels = (image.t256?.[0] ?? 0) * (image.t257?.[0] ?? 0);
  if (pixels > TIFF_MAX_PIXELS) {
    throw new RangeError(`This TIFF has ${(pixels / 1e6).toFixed(0)} megapixels, more than the page reads ` +
      `(${TIFF_MAX_PIXELS / 1e6}): resize it and try again.`);
  }
  UTIF.decodeImage(file, image);
  const { width, height } = image;
  if (!width || !height) throw new Error("no image in the TIFF file");
  const rgba = new ImageData(new Uint8ClampedArray(UTIF.toRGBA8(image).buffer), width, height);
  const source = document.createElement("canvas");
  [source.width, source.height] = [width, height];
  source.getContext("2d")!.putImageData(rgba, 0, 0);
  const orientation = image.t274?.[0] ?? 1;
  if (orientation === 1) return source;
  const turned = document.createElement("canvas");
  [turned.width, turned.height] = orientation >= 5 ? [height, width] : [width, height];
  const context = turned.getContext("2d")!;
  context.setTransform(...(upright(orientation, width, height) as [number, number, number, number, number, number]));
  context.drawImage(source, 0, 0);
  return turned;
}
