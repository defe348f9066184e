/**
 * @file `yoloxq ptq --ckpt FILE --calib BATCH.npy [--calib BATCH2.npy …] --out DIR`:
 * Quark-style pow2 INT8 post-training quantization (quant/README.md). Each --calib file is one
 * batch [B, 3, H, W] (BGR 0..255, letterboxed), run in the order given with every observer on and
 * every fake-quant off. Writes DIR/scales.json (the fixtures' format), DIR/ptq_report.txt (per
 * quantizer: position, zero point, SQNR on the calibration data), DIR/graph.txt and
 * DIR/scales_npu.json (positions after Quark's NPU freeze passes).
 */
import * as fs from 'node:fs';
import type { Command } from '../cli.js';
import { requireString } from '../cli.js';
import { UserError } from '../../engine/errors.js';
import { readCalibBatch, runPtq, writePtqOutputs } from '../../quant/ptq.js';
import { CKPT_OPTION, THREADS_OPTION, applyThreads, loadEvalModel, str } from './model_options.js';

export const ptqCommand: Command = {
  name: 'ptq',
  summary: 'calibrate pow2 INT8 quantizers (Quark rules) and write DIR/scales.json',
  usage: '--ckpt FILE --calib BATCH.npy [--calib BATCH2.npy ...] --out DIR [--activations A]',
  options: {
    ckpt: CKPT_OPTION,
    calib: {
      type: 'string', multiple: true,
      help: 'FILE  calibration batch [B, 3, H, W] .npy (repeatable, in order)',
    },
    out: str('o', '', 'DIR  output folder'),
    activations: str('a', 'npu',
      'npu|keep  SiLU → x·hardsigmoid(x), sigmoid → hardsigmoid (npu), or keep them'),
    threads: THREADS_OPTION,
  },
  run(opts) {
    const cmd = 'ptq';
    const out = requireString(cmd, opts, 'out');
    const calib = (opts.calib as string[] | undefined) ?? [];
    if (calib.length === 0) {
      throw new UserError(`${cmd}: at least one --calib BATCH.npy is required`);
    }
    for (const f of calib) if (!fs.existsSync(f)) throw new UserError(`${cmd}: ${f}: no such file`);
    const act = opts.activations ?? 'npu';
    if (act !== 'npu' && act !== 'keep') {
      throw new UserError(`${cmd}: --activations must be npu or keep, got '${String(act)}'`);
    }
    applyThreads(cmd, opts);
    const model = loadEvalModel(cmd, opts);
    // Validate every batch's header before the (long) calibration starts.
    for (const f of calib) readCalibBatch(f);
    const t0 = Date.now();
    const prep = { activations: { silu: act, sigmoid: act } } as const;
    const r = runPtq(model, calib.map((f) => () => readCalibBatch(f)), prep,
      (i) => {
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        console.log(`calibrated batch ${i + 1}/${calib.length} (${calib[i]}) at ${secs} s`);
      });
    writePtqOutputs(out, r, prep);
    const hist = new Map<number, number>();
    for (const q of r.report) hist.set(q.pos, (hist.get(q.pos) ?? 0) + 1);
    const finite = r.report.map((q) => q.sqnrDb)
      .filter((s): s is number => s !== null && Number.isFinite(s));
    finite.sort((a, b) => a - b);
    const positions = [...hist].sort((a, b) => a[0] - b[0]).map(([p, n]) => `${p}:${n}`).join(' ');
    console.log(`${r.report.length} quantizers; positions (pos:count) ${positions}`);
    if (finite.length > 0) {
      const med = finite[finite.length >> 1].toFixed(1), worst = finite[0].toFixed(1);
      console.log(`calibration SQNR: median ${med} dB, worst ${worst} dB`);
    }
    console.log(`wrote ${out}/scales.json, ptq_report.txt, graph.txt, scales_npu.json`);
  },
};
