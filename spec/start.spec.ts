/**
 * `yoloxq start` (the seed workflow) end to end by spawning the built CLI: `--quick` on a tiny
 * generated dataset with a seeded random-init checkpoint writes the three-row report, the scale
 * table, the pictures, the ONNX model and golden tensors; a rerun reuses every phase; a missing
 * checkpoint is one line on stderr and exit code 2. Plus the pieces: the function-based val
 * scorer equals the trainer's CocoValSet (an independent implementation over a YOLOX), the
 * phase cache reruns on a changed key, and the table's "% kept" arithmetic.
 */
import { expect } from 'chai';
import type { BoxXYWH } from '../eval/coco/annotations.js';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readImage } from '../eval/image/decode.js';
import { generateDataset } from '../eval/dataset/generate.js';
import { DEFAULT_DATASET_SPEC, splitPaths } from '../eval/dataset/spec.js';
import { PhaseCache } from '../eval/pipeline/phase_cache.js';
import { formatTable, reportRows, writePictures } from '../eval/pipeline/seed_report.js';
import { classColor } from '../eval/image/draw.js';
import { encodePng } from '../eval/image/png.js';
import { newImage8 } from '../eval/image/image8.js';
import type { PhaseScore, SeedResult } from '../eval/pipeline/seed_workflow.js';
import { ValImages } from '../eval/pipeline/val_forward.js';
import { CocoValSet } from '../eval/train/val_map.js';
import { saveYoloxSafetensors } from '../models/checkpoint.js';
import { YOLOX } from '../models/yolox.js';

const CLI = fileURLToPath(new URL('../bin/yoloxq.js', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('yoloxq start', function () {
  this.timeout(120_000);
  let dir = '';
  let ckpt = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-start-'));
    ckpt = path.join(dir, 'rand8.safetensors');
    saveYoloxSafetensors(new YOLOX({ numClasses: 8, seed: 0 }), ckpt);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a missing checkpoint is a one-line error with exit code 2', () => {
    const r = run('start', '--quick', '--ckpt', path.join(dir, 'nope.safetensors'),
      '--out', path.join(dir, 'x'));
    expect(r.code, r.stderr).to.equal(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/checkpoint .*nope\.safetensors not found/);
    expect(fs.existsSync(path.join(dir, 'x'))).to.equal(false);
  });

  it('--quick runs every phase and writes the report; a rerun reuses all phases', () => {
    const out = path.join(dir, 'out'), data = path.join(dir, 'data');
    const r = run('start', '--quick', '--ckpt', ckpt, '--data', data, '--out', out);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const models = report.rows.map((x: { model: string }) => x.model);
    expect(models).to.deep.equal(['FP32', 'PTQ', 'QAT']);
    for (const row of report.rows) {
      for (const v of [row.map, row.map50]) expect(v).to.be.within(0, 1);
    }
    expect(report.qatSteps).to.equal(6); // 3 epochs × ⌊16 images / batch 8⌋
    const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).to.match(/\| FP32 \|/).and.to.match(/\| QAT \|/);
    expect(r.stdout).to.match(/^QAT\s+\d\.\d{4}\s+\d\.\d{4}/m);
    // Scale table: the 444 quantizers of Tiny, one Markdown row each.
    const scales = JSON.parse(fs.readFileSync(path.join(out, 'scales.json'), 'utf8'));
    expect(scales.counts.total).to.equal(444);
    const rows = fs.readFileSync(path.join(out, 'scales.md'), 'utf8').split('\n')
      .filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).to.have.length(444);
    // Pictures: FP32 | QAT side by side, each panel the 64 px image at 7× (480 / 64 floored).
    const pics = fs.readdirSync(path.join(out, 'pictures'));
    expect(pics).to.have.length(2);
    const img = readImage(path.join(out, 'pictures', pics[0]));
    expect([img.width, img.height]).to.deep.equal([2 * 448 + 8, 448]);
    // Export and golden tensors.
    expect(fs.statSync(path.join(out, 'export', 'model_qdq.onnx')).size).to.be.greaterThan(1e6);
    const man = JSON.parse(
      fs.readFileSync(path.join(out, 'export', 'golden', 'manifest.json'), 'utf8'));
    expect(man.integer_matches_fake_quant).to.equal(true);
    expect(Object.keys(man.tensors)).to.have.length(278);
    // Rerun: nothing changed, so every phase is reused and the table is the same.
    const again = run('start', '--quick', '--ckpt', ckpt, '--data', data, '--out', out);
    expect(again.code, again.stderr).to.equal(0);
    for (const p of ['fp32', 'ptq', 'qat', 'export']) {
      expect(again.stdout).to.include(`${p}: unchanged since the last run`);
    }
    const report2 = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(report2.rows).to.deep.equal(report.rows);
  });

  it('the forward-based val scorer equals CocoValSet on the same model', () => {
    const data = path.join(dir, 'small');
    generateDataset(data, { ...DEFAULT_DATASET_SPEC, trainCount: 0, valCount: 6, size: 64 });
    const { imageDir, annotationFile } = splitPaths(data, 'val');
    // A seeded random init scores about 0.01 · 0.01 (the prior-0.01 biases): a threshold of
    // 1e−5 keeps many boxes, and the detections themselves are compared.
    const model = new YOLOX({ numClasses: 8, seed: 3 }).eval();
    const o = { size: 64, confThre: 1e-5 };
    const a = new ValImages(imageDir, annotationFile, { ...o, batch: 4 })
      .score((x) => model.call(x).output!);
    const ref = new CocoValSet(imageDir, annotationFile, o);
    const b = ref.detect(model);
    expect(a.detections.length).to.be.greaterThan(0);
    expect(a.detections).to.deep.equal(b);
    expect(a.result.stats).to.deep.equal(ref.evaluate(model).stats);
  });
});

describe('seed workflow pieces', () => {
  it('the phase cache reuses a result only under the same key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-phase-'));
    try {
      const c = new PhaseCache(dir);
      let runs = 0;
      const work = () => ({ n: ++runs });
      expect(c.run('p', 'k1', [], work)).to.deep.equal({ result: { n: 1 }, skipped: false });
      expect(c.run('p', 'k1', [], work)).to.deep.equal({ result: { n: 1 }, skipped: true });
      expect(c.run('p', 'k2', [], work)).to.deep.equal({ result: { n: 2 }, skipped: false });
      // A needed output that vanished reruns the phase.
      expect(c.run('p', 'k2', [path.join(dir, 'gone')], work).skipped).to.equal(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pictures: a QAT box ≥ 0.3 is drawn in its class colour on the right panel only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yoloxq-pic-'));
    try {
      const src = path.join(dir, 'a.png');
      fs.writeFileSync(src, encodePng(newImage8(64, 64, 3, 255)));
      const det = { image_id: 7, category_id: 3, bbox: [10, 10, 20, 20] as BoxXYWH, score: 0.9 };
      const s = (drawn: PhaseScore['drawn']): PhaseScore =>
        ({ ap: 0, ap50: 0, dropped: 0, seconds: 0, drawn });
      const low = { ...det, score: 0.2 };
      const r = { fp32: s([low]), ptq: s([]), qat: s([det]), drawIds: [7], drawFiles: [src],
        categories: [{ id: 3, name: 'triangle' }] } as unknown as SeedResult;
      const [f] = writePictures(dir, r);
      const img = readImage(f);
      // 64 px at 7× = 448 per panel, 8 px gap; the box's left edge x = 70 in each panel.
      const px = (x: number, y: number) =>
        [...img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];
      expect(px(456 + 71, 200)).to.deep.equal([...classColor(2)]);
      expect(px(71, 200)).to.deep.equal([255, 255, 255]); // the 0.2 FP32 box is below 0.3
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('% of FP32 kept is 100·mAP/mAP_FP32, n/a when the FP32 mAP is 0', () => {
    const s = (ap: number, ap50: number): PhaseScore =>
      ({ ap, ap50, dropped: 0, seconds: 0, drawn: [] });
    const r = { fp32: s(0.5, 0.8), ptq: s(0.4, 0.78), qat: s(0.45, 0.8) } as SeedResult;
    const rows = reportRows(r);
    expect(rows.map((x) => x.keptPct)).to.deep.equal([100, 80, 90]);
    expect(rows[1].keptPct50).to.be.closeTo(97.5, 1e-12);
    expect(formatTable(rows, true).split('\n')[3]).to.equal('| PTQ | 0.4000 | 0.7800 | 80.0 % |');
    const zero = reportRows({ ...r, fp32: s(0, 0) } as SeedResult);
    expect(zero[2].keptPct).to.equal(null);
    expect(formatTable(zero, false)).to.match(/QAT\s+0\.4500\s+0\.8000\s+n\/a$/);
  });
});
