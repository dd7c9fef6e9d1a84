// An ONNX file's metadata_props (ModelProto field 14: repeated {key = 1, value = 2} strings), read straight from
// the protobuf bytes: the export writes the network's preprocessing there, so the weights carry their crop rule.

const METADATA_PROPS = 14;

class Reader {
  position = 0;
  constructor(readonly bytes: Uint8Array, readonly end = bytes.length) {}

  varint(): number {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      const byte = this.bytes[this.position++];
      value += (byte & 0x7f) * scale; // arithmetic, not bit shifts: lengths may pass 2^31
      if (byte < 0x80) return value;
    }
  }

  /** Field number, wire type and (for length-delimited fields) the payload's [start, end). */
  next(): { field: number; start: number; stop: number } {
    const tag = this.varint();
    const wire = tag % 8;
    const sizes: Record<number, () => number> = { 0: () => (this.varint(), 0), 1: () => 8, 2: () => this.varint(), 5: () => 4 };
    if (!(wire in sizes)) throw new Error(`unsupported protobuf wire type ${wire}`);
    const length = sizes[wire]();
    const start = this.position;
    this.position += length;
    return { field: Math.floor(tag / 8), start, stop: start + length };
  }
}

/** metadata_props of an ONNX model as a key -> value map. */
export function onnxMetadata(model: Uint8Array): Map<string, string> {
  const text = new TextDecoder();
  const props = new Map<string, string>();
  const reader = new Reader(model);
  while (reader.position < reader.end) {
    const { field, start, stop } = reader.next();
    if (field !== METADATA_PROPS) continue;
    const entry = new Reader(model, stop);
    entry.position = start;
    const pair: Record<number, string> = {};
    while (entry.position < stop) {
      const item = entry.next();
      pair[item.field] = text.decode(model.subarray(item.start, item.stop));
    }
    props.set(pair[1] ?? "", pair[2] ?? "");
  }
  return props;
}
