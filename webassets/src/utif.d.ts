// The part of UTIF.js (npm "utif", no types of its own) that tiff.ts uses.
declare module "utif" {
  interface Ifd {
    width: number;
    height: number;
    t256?: number[]; // width, before decodeImage
    t257?: number[]; // height
    t274?: number[]; // orientation
  }
  const UTIF: {
    decode(file: ArrayBuffer): Ifd[];
    decodeImage(file: ArrayBuffer, image: Ifd): void;
    toRGBA8(image: Ifd): Uint8Array<ArrayBuffer>;
  };
  export default UTIF;
}
