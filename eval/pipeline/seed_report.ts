/**
 * @file The seed workflow's report: the table (rows FP32 / PTQ / QAT; mAP@[.5:.95], mAP@.5,
 * % of FP32 kept) as report.json and report.md, the per-layer scale table (scales.json and a
 * readable scales.md: PTQ position, NPU position after freeze, SQNR on the calibration batch),
 * and pictures: FP32 vs QAT detections side by side on a few val images (PNG, 2× nearest).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../engine/formats/files.js';
import type { ScalesFile } from '../../quant/scales_file.js';
import type { CocoDetection } from '../coco/index.js';
import { readImage } from '../image/decode.js';
import { classColor, drawLabeledBox, drawText, fillRect } from '../image/draw.js';
import { newImage8, type Image8 } from '../image/image8.js';
import { encodePng } from '../image/png.js';
import type { PhaseScore, SeedOptions, SeedResult } from './seed_workflow.js';

export interface ReportRow {
  readonly model: 'FP32' | 'PTQ' | 'QAT';
  readonly map: number;
  readonly map50: number;
  /** 100 · mAP / FP32 mAP (null when the FP32 mAP is 0). */
  readonly keptPct: number | null;
  readonly keptPct50: number | null;
}

export function reportRows(r: SeedResult): ReportRow[] {
  const pct = (x: number, base: number) => (base > 0 ? (100 * x) / base : null);
  const row = (model: ReportRow['model'], s: PhaseScore): ReportRow => ({
    model, map: s.ap, map50: s.ap50, keptPct: pct(s.ap, r.fp32.ap),
    keptPct50: pct(s.ap50, r.fp32.ap50),
  });
  return [row('FP32', r.fp32), row('PTQ', r.ptq), row('QAT', r.qat)];
}

const f4 = (x: number) => x.toFixed(4);
const pctText = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} %`);

/** The table as aligned text (what the CLI prints) or Markdown. */
export function formatTable(rows: readonly ReportRow[], markdown: boolean): string {
  const head = ['model', 'mAP@[.5:.95]', 'mAP@.5', '% of FP32 kept'];
  const body = rows.map((r) => [r.model, f4(r.map), f4(r.map50), pctText(r.keptPct)]);
  if (markdown) {
    return [`| ${head.join(' | ')} |`, '| --- | ---: | ---: | ---: |',
      ...body.map((b) => `| ${b.join(' | ')} |`)].join('\n');
  }
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

/** report.json + report.md into `o.out`; returns the printed table. */
export function writeReport(o: SeedOptions, r: SeedResult, extra: Record<string, unknown>): string {
  const rows = reportRows(r);
  const phaseInfo = (s: PhaseScore) => ({ seconds: s.seconds, dropped: s.dropped });
  const json = {
    rows, settings: { ...o, ...extra }, valImages: r.valImages, qatSteps: r.qatSteps,
    phases: { fp32: phaseInfo(r.fp32), ptq: phaseInfo(r.ptq), qat: phaseInfo(r.qat) },
    export: r.export, reused: r.reused,
  };
  writeFileAtomic(path.join(o.out, 'report.json'), `${JSON.stringify(json, null, 1)}\n`);
  const ex = r.export;
  const md = [
    '# yoloxq start — seed workflow report', '',
    `Checkpoint \`${o.ckpt}\`, data \`${o.data}\`, ${r.valImages} val images at ${o.size} px.`, '',
    formatTable(rows, true), '',
    `PTQ: pow2 min-MSE, calibrated on the first ${o.calibImages} train images (one batch). ` +
      `QAT: ${r.qatSteps} steps (${o.qatEpochs} epochs × batch ${o.qatBatch}` +
      `${o.qatImages > 0 ? `, first ${o.qatImages} train images` : ''}), scales and BN frozen.`,
    '',
    ex.skippedReason !== null ? `Export skipped: ${ex.skippedReason}` :
      `Export: \`${ex.onnx}\` (${ex.quantizers} Q/DQ pairs); golden int8 tensors: ` +
      `${ex.goldenTensors} in \`${ex.goldenDir}\` (integer path = fake-quant path: ` +
      `${ex.integerMatchesFakeQuant ? 'yes' : 'no'}).`,
    '', 'Files: `scales.md` / `scales.json` (per-layer scales), `pictures/*.png` (FP32 | QAT).',
    '',
  ].join('\n');
  writeFileAtomic(path.join(o.out, 'report.md'), md);
  return formatTable(rows, false);
}

/**
 * scales.json (the QAT scales: PTQ's, frozen) and scales.md: per quantizer its kind, position,
 * scale, NPU position after freeze and calibration SQNR (from ptq_report.txt when present).
 */
export function writeScaleTable(out: string): number {
  const read = (f: string): ScalesFile | null =>
    (fs.existsSync(f) ? JSON.parse(fs.readFileSync(f, 'utf8')) as ScalesFile : null);
  const s = read(path.join(out, 'qat', 'scales.json'))
    ?? read(path.join(out, 'ptq', 'scales.json'));
  if (s === null) return 0;
  const npu = read(path.join(out, 'export', 'scales_npu.json'))
    ?? read(path.join(out, 'ptq', 'scales_npu.json'));
  const sqnr = new Map<string, string>();
  const rep = path.join(out, 'ptq', 'ptq_report.txt');
  if (fs.existsSync(rep)) {
    for (const line of fs.readFileSync(rep, 'utf8').split('\n').slice(1)) {
      const cells = line.trim().split(/\s+/);
      if (cells.length >= 5) sqnr.set(cells[0], cells[cells.length - 1]);
    }
  }
  writeFileAtomic(path.join(out, 'scales.json'), `${JSON.stringify(s, null, 1)}\n`);
  const entries = Object.entries(s.quantizers).sort((a, b) => a[1].order - b[1].order);
  const lines = [
    '# Per-layer quantization scales (int8, pow2: scale = 2^-pos)', '',
    `${s.counts.total} quantizers (${s.counts.weight} weight, ${s.counts.bias} bias, ` +
      `${s.counts.act} activation). "NPU pos" is after Quark's freeze passes.`, '',
    '| # | quantizer | kind | shape | pos | scale | NPU pos | SQNR dB |',
    '| ---: | --- | --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, e] of entries) {
    const np = npu?.quantizers[name]?.pos;
    lines.push(`| ${e.order} | \`${name}\` | ${e.kind} | ${e.shape.join('×')} | ${e.pos} | ` +
      `${e.scale} | ${np === undefined ? '' : np === e.pos ? np : `**${np}**`} | ` +
      `${sqnr.get(name) ?? ''} |`);
  }
  writeFileAtomic(path.join(out, 'scales.md'), `${lines.join('\n')}\n`);
  return entries.length;
}

/** `img` scaled up by an integer factor (nearest). */
function upscale(img: Image8, k: number): Image8 {
  const out = newImage8(img.width * k, img.height * k, 3);
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const s = (Math.floor(y / k) * img.width + Math.floor(x / k)) * img.channels;
      const d = (y * out.width + x) * 3;
      for (let c = 0; c < 3; c++) out.data[d + c] = img.data[s + c];
    }
  }
  return out;
}

function panel(file: string, dets: readonly CocoDetection[], title: string,
  names: ReadonlyMap<number, string>, minScore: number): Image8 {
  const src = readImage(file);
  const k = Math.max(1, Math.floor(480 / Math.max(src.width, src.height)));
  const img = upscale(src, k);
  for (const d of dets) {
    if (d.score < minScore) continue;
    const [x, y, w, h] = d.bbox.map((v) => v * k);
    const c = d.category_id;
    drawLabeledBox(img, [x, y, x + w, y + h], `${names.get(c) ?? c} ${d.score.toFixed(2)}`,
      classColor(c - 1));
  }
  fillRect(img, 0, img.height - 20, 8 + title.length * 12, img.height, [0, 0, 0]);
  drawText(img, 4, img.height - 17, title, [255, 255, 255], 2);
  return img;
}

/** FP32 | QAT side by side for each drawn val image; returns the files written. */
export function writePictures(out: string, r: SeedResult, minScore = 0.3): string[] {
  const written: string[] = [];
  const names = new Map(r.categories.map((c) => [c.id, c.name]));
  const files = r.drawFiles;
  r.drawIds.forEach((id, i) => {
    const pick = (s: PhaseScore) => s.drawn.filter((d) => d.image_id === id);
    const a = panel(files[i], pick(r.fp32), 'FP32', names, minScore);
    const b = panel(files[i], pick(r.qat), 'QAT', names, minScore);
    const gap = 8;
    const img = newImage8(a.width + gap + b.width, a.height, 3, 255);
    for (const [p, ox] of [[a, 0], [b, a.width + gap]] as const) {
      for (let y = 0; y < p.height; y++) {
        img.data.set(p.data.subarray(y * p.width * 3, (y + 1) * p.width * 3),
          (y * img.width + ox) * 3);
      }
    }
    const f = path.join(out, 'pictures', `val_${id}_fp32_vs_qat.png`);
    writeFileAtomic(f, encodePng(img));
    written.push(f);
  });
  return written;
}
