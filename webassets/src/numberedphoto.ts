// The photo as the page shows it: each face's landmark box numbered as the face list counts them (Face 1 the
// largest), the shown face's box highlighted, as the Gradio app numbers the faces on its overlay; a click inside a
// box shows that face. Drawn on a copy: the photo itself stays the photo texture's input.
import { type Box, boxOf } from "./landmarks";

const SHOWN = "#28dc3c"; // the app overlay's contour green
const OTHER = "#a0a0a0"; // the app overlay's box grey
/** A face's number is at least the photo's longest side over this: readable (about 13 px) where the page shows a
 * photo 400 px wide; small faces' numbers in a large group photo were 7 px there (a trial). */
const LABEL_PER_SIDE = 30;

export class NumberedPhoto {
  readonly canvas = document.createElement("canvas");
  private readonly boxes: Box[];

  /** `landmarks`: each face's 478 points (photo px, x y pairs), in the face list's order. */
  constructor(private readonly photo: HTMLCanvasElement, landmarks: Float32Array[], onPick: (face: number) => void) {
    [this.canvas.width, this.canvas.height] = [photo.width, photo.height];
    this.boxes = landmarks.map(boxOf);
    this.canvas.title = "click a face to show it";
    this.canvas.addEventListener("click", (event) => {
      const face = this.faceAt(event);
      if (face !== null) onPick(face);
    });
  }

  /** The photo with every face's numbered box, face `shown`'s in green and drawn last (on top). */
  draw(shown: number): void {
    const context = this.canvas.getContext("2d")!;
    context.drawImage(this.photo, 0, 0);
    const side = Math.max(this.canvas.width, this.canvas.height);
    const line = Math.max(1, Math.round(side / 400));
    const order = [...this.boxes.keys()].filter((k) => k !== shown).concat(shown);
    for (const k of order) {
      const [x0, y0, x1, y1] = this.boxes[k];
      context.lineWidth = k === shown ? 2 * line : line;
      context.strokeStyle = k === shown ? SHOWN : OTHER;
      context.strokeRect(x0, y0, x1 - x0, y1 - y0);
      label(context, String(k + 1), x0, y0, Math.max(12, (x1 - x0) / 4, side / LABEL_PER_SIDE), line);
    }
  }

  /** The face whose box holds the click (the smallest, where boxes overlap), or null. */
  private faceAt(event: MouseEvent): number | null {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((event.clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((event.clientY - rect.top) * this.canvas.height) / rect.height;
    const area = ([x0, y0, x1, y1]: Box) => (x1 - x0) * (y1 - y0);
    let found: number | null = null;
    this.boxes.forEach((box, k) => {
      const inside = x >= box[0] && x <= box[2] && y >= box[1] && y <= box[3];
      if (inside && (found === null || area(box) < area(this.boxes[found]))) found = k;
    });
    return found;
  }
}

/** White text with a dark outline at a box's top-left corner, inside the photo (the app's `_label`). */
function label(context: CanvasRenderingContext2D, text: string, x: number, y: number, size: number,
  line: number): void {
  context.font = `bold ${Math.round(size)}px sans-serif`;
  context.textBaseline = "top";
  const left = Math.min(Math.max(x + 2, 0), context.canvas.width - context.measureText(text).width);
  const top = Math.min(Math.max(y + 2, 0), context.canvas.height - size);
  context.lineWidth = 3 * line;
  context.strokeStyle = "#141414";
  context.strokeText(text, left, top);
  context.fillStyle = "#ffffff";
  context.fillText(text, left, top);
}
