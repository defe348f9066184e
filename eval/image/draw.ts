/**
 * @file Drawing detections on an RGB image: box outlines and labels on a filled tab, with the
 * 5×7 bitmap font of font.ts. Everything is clipped to the image.
 */
import { GLYPH_H, GLYPH_W, glyph } from './font.js';
import type { Image8 } from './image8.js';

export type Rgb = readonly [number, number, number];

function setPixel(img: Image8, x: number, y: number, c: Rgb): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const p = (y * img.width + x) * img.channels;
  img.data[p] = c[0];
  img.data[p + 1] = c[1];
  img.data[p + 2] = c[2];
}

/** Fills the integer rectangle [x0, x1) × [y0, y1), clipped. */
export function fillRect(
  img: Image8, x0: number, y0: number, x1: number, y1: number, c: Rgb,
): void {
  const xa = Math.max(0, x0), xb = Math.min(img.width, x1);
  const ya = Math.max(0, y0), yb = Math.min(img.height, y1);
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) setPixel(img, x, y, c);
}

/** The outline of box xyxy (pixel units, floored), `thickness` pixels wide, inside the box. */
export function drawBox(img: Image8, xyxy: readonly number[], c: Rgb, thickness = 2): void {
  const [x1, y1, x2, y2] = xyxy.map((v) => Math.floor(v));
  fillRect(img, x1, y1, x2 + 1, y1 + thickness, c);
  fillRect(img, x1, y2 + 1 - thickness, x2 + 1, y2 + 1, c);
  fillRect(img, x1, y1, x1 + thickness, y2 + 1, c);
  fillRect(img, x2 + 1 - thickness, y1, x2 + 1, y2 + 1, c);
}

/** Width in pixels of `text` at `scale` (1 px spacing between glyphs). */
export function textWidth(text: string, scale = 1): number {
  return text.length * (GLYPH_W + 1) * scale;
}

/** Draws `text` with its top-left corner at (x, y). */
export function drawText(img: Image8, x: number, y: number, text: string, c: Rgb, scale = 1): void {
  [...text].forEach((ch, i) => {
    const rows = glyph(ch);
    const ox = x + i * (GLYPH_W + 1) * scale;
    for (let r = 0; r < GLYPH_H; r++) {
      for (let b = 0; b < GLYPH_W; b++) {
        if ((rows[r] >> (GLYPH_W - 1 - b)) & 1) {
          const px = ox + b * scale, py = y + r * scale;
          fillRect(img, px, py, px + scale, py + scale, c);
        }
      }
    }
  });
}

/** A box with a label tab above it (inside the image when the box touches the top). */
export function drawLabeledBox(img: Image8, xyxy: readonly number[], label: string, c: Rgb): void {
  const scale = Math.max(1, Math.floor(Math.min(img.width, img.height) / 400));
  drawBox(img, xyxy, c, 2 * scale);
  const th = (GLYPH_H + 2) * scale;
  const tw = textWidth(label, scale) + scale;
  const x = Math.max(0, Math.floor(xyxy[0]));
  let y = Math.floor(xyxy[1]) - th;
  if (y < 0) y = Math.max(0, Math.floor(xyxy[1]));
  fillRect(img, x, y, x + tw, y + th, c);
  // Dark text on light colours, white on dark ones (luma 0.299 R + 0.587 G + 0.114 B).
  const ink: Rgb = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] > 140 ? [0, 0, 0] : [255, 255, 255];
  drawText(img, x + scale, y + scale, label, ink, scale);
}

/** A fixed, distinct colour per class index (golden-angle hue steps). */
export function classColor(cls: number): Rgb {
  const h = (cls * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return Math.floor(255 * (1 - 0.75 * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}
