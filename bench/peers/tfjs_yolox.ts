/**
 * @file Benchmark peer: YOLO-X Tiny's eval forward written in TensorFlow.js ops, run on the
 * tfjs wasm backend (XNNPACK kernels, SIMD). Built from the same state dict as our model, by
 * the official key names (yolox/models/{darknet,network_blocks,yolo_pafpn,yolo_head}.py),
 * independently of models/*.ts so it can check them.
 *
 * Layout NHWC (tfjs convolutions are NHWC-only): x [1, H, W, C]; filters [KH, KW, Cin, Cout].
 * Every BaseConv's BatchNorm is folded into its conv (eval mode, eps 1e-3, folded in float64):
 *   s = γ / √(σ² + eps),   W' = W · s (per output channel),   b' = β − μ · s
 * and SiLU is written as x · σ(x) (as the official ONNX export does). Padding is explicit and
 * symmetric, (k − 1)/2, like PyTorch (tfjs 'same' pads stride-2 convs bottom/right only).
 * Output: [1, A, 85] with the official eval decode (cx, cy = (t + cell)·s; w, h = e^t·s).
 *
 * Threads: tfjs-backend-wasm's multithreaded build starts its pthreads from blob: URLs, which
 * Node's worker_threads refuse (ERR_WORKER_PATH), so in Node this peer runs on 1 thread.
 */
import type * as TfCore from '@tensorflow/tfjs-core';

type Tf = typeof TfCore;
type T4 = TfCore.Tensor4D;

/** One state entry as the model gives it (data and shape). */
export interface StateTensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** tfjs-core on the wasm backend, or an error message saying why not. */
export async function loadTfWasm(): Promise<{ tf: Tf; threads: number } | string> {
  try {
    const tf = (await import('@tensorflow/tfjs-core')) as Tf;
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return 'tfjs wasm backend did not initialise';
    await tf.ready();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    if (!simd) return 'tfjs wasm backend without SIMD';
    return { tf, threads: wasm.getThreadsCount() };
  } catch (e) {
    return `tfjs wasm backend unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
}

interface ConvW {
  filter: T4;
  bias: TfCore.Tensor1D;
  pad: number;
}

export class TfjsYolox {
  private readonly tf: Tf;
  private readonly convs = new Map<string, ConvW>();
  private readonly grid: TfCore.Tensor3D;
  private readonly strideCol: TfCore.Tensor3D;
  private readonly numLevels = 3;

  /** `state`: float state entries by official key; `size`: the square input size. */
  constructor(tf: Tf, state: ReadonlyMap<string, StateTensor>, size = 416,
    strides: readonly number[] = [8, 16, 32]) {
    this.tf = tf;
    for (const [key, w] of state) {
      if (!key.endsWith('.weight') || w.shape.length !== 4) continue;
      const prefix = key.slice(0, -'.weight'.length);
      if (prefix.endsWith('.conv') && state.has(`${prefix.slice(0, -5)}.bn.running_var`)) {
        const base = prefix.slice(0, -5);
        const bn = (n: string) => state.get(`${base}.bn.${n}`)!.data;
        this.convs.set(base, this.makeConv(w, bn('weight'), bn('bias'), bn('running_mean'),
          bn('running_var')));
      } else {
        this.convs.set(prefix, this.makeConv(w, null, state.get(`${prefix}.bias`)!.data));
      }
    }
    // Anchor grid (col, row) and stride per anchor, anchors level by level, row-major.
    const cells: number[] = [], st: number[] = [];
    for (const s of strides) {
      const n = Math.trunc(size / s);
      for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) { cells.push(c, r); st.push(s); }
    }
    this.grid = tf.tensor3d(cells, [1, st.length, 2]);
    this.strideCol = tf.tensor3d(st, [1, st.length, 1]);
  }

  /** Folds BN (when gamma is given) into W [O, C, KH, KW] → filter [KH, KW, C, O] and bias. */
  private makeConv(w: StateTensor, gamma: Float32Array | null, beta: Float32Array,
    mean?: Float32Array, variance?: Float32Array): ConvW {
    const [O, C, KH, KW] = w.shape;
    const scale = new Float64Array(O).fill(1);
    const bias = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      if (gamma !== null) {
        scale[o] = gamma[o] / Math.sqrt(variance![o] + 1e-3);
        bias[o] = beta[o] - mean![o] * scale[o];
      } else {
        bias[o] = beta[o];
      }
    }
    const f = new Float32Array(O * C * KH * KW);
    for (let o = 0; o < O; o++) {
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < KH; i++) {
          for (let j = 0; j < KW; j++) {
            f[((i * KW + j) * C + c) * O + o] = w.data[((o * C + c) * KH + i) * KW + j] * scale[o];
          }
        }
      }
    }
    return {
      filter: this.tf.tensor4d(f, [KH, KW, C, O]),
      bias: this.tf.tensor1d(bias),
      pad: (KH - 1) / 2,
    };
  }

  private conv(name: string, x: T4, stride = 1): T4 {
    const c = this.convs.get(name);
    if (c === undefined) throw new Error(`tfjs peer: no conv ${name}`);
    return this.tf.fused.conv2d({ x, filter: c.filter, bias: c.bias, strides: stride, pad: c.pad });
  }

  /** BaseConv: conv (BN folded) → x·σ(x). */
  private baseConv(name: string, x: T4, stride = 1): T4 {
    const y = this.conv(name, x, stride);
    return this.tf.mul(y, this.tf.sigmoid(y));
  }

  private csp(name: string, x: T4, shortcut: boolean): T4 {
    let x1 = this.baseConv(`${name}.conv1`, x);
    for (let i = 0; this.convs.has(`${name}.m.${i}.conv1`); i++) {
      const y = this.baseConv(`${name}.m.${i}.conv2`, this.baseConv(`${name}.m.${i}.conv1`, x1));
      x1 = shortcut ? this.tf.add(y, x1) : y;
    }
    const x2 = this.baseConv(`${name}.conv2`, x);
    return this.baseConv(`${name}.conv3`, this.tf.concat([x1, x2], 3));
  }

  private spp(name: string, x: T4): T4 {
    const y = this.baseConv(`${name}.conv1`, x);
    // Stride-1 'same' pooling with an odd window pads (k − 1)/2 per side, ignoring the padding.
    const pools = [5, 9, 13].map((k) => this.tf.maxPool(y, k, 1, 'same'));
    return this.baseConv(`${name}.conv2`, this.tf.concat([y, ...pools], 3));
  }

  private up2(x: T4): T4 {
    const [, h, w] = x.shape;
    return this.tf.image.resizeNearestNeighbor(x, [2 * h, 2 * w]);
  }

  /** Focus: the four (row, col) parity patches, concatenated TL, BL, TR, BR, then BaseConv. */
  private focus(x: T4): T4 {
    const [n, h, w, c] = x.shape;
    const patch = (r: number, q: number) =>
      this.tf.stridedSlice(x, [0, r, q, 0], [n, h, w, c], [1, 2, 2, 1]) as T4;
    const cat = this.tf.concat([patch(0, 0), patch(1, 0), patch(0, 1), patch(1, 1)], 3);
    return this.baseConv('backbone.backbone.stem.conv', cat);
  }

  /** x: NCHW [1, 3, H, W] data (BGR 0..255). Returns the decoded [1, A, 85] output. */
  forward(input: Float32Array, shape: readonly number[]): Float32Array {
    const tf = this.tf;
    const out = tf.tidy(() => {
      const x = tf.transpose(tf.tensor4d(input, shape as [number, number, number, number]),
        [0, 2, 3, 1]);
      const b = 'backbone.backbone';
      const stem = this.focus(x);
      const d2 = this.csp(`${b}.dark2.1`, this.baseConv(`${b}.dark2.0`, stem, 2), true);
      const d3 = this.csp(`${b}.dark3.1`, this.baseConv(`${b}.dark3.0`, d2, 2), true);
      const d4 = this.csp(`${b}.dark4.1`, this.baseConv(`${b}.dark4.0`, d3, 2), true);
      const d5 = this.csp(`${b}.dark5.2`,
        this.spp(`${b}.dark5.1`, this.baseConv(`${b}.dark5.0`, d4, 2)), false);
      const fpn0 = this.baseConv('backbone.lateral_conv0', d5);
      const f0 = this.csp('backbone.C3_p4', tf.concat([this.up2(fpn0), d4], 3), false);
      const fpn1 = this.baseConv('backbone.reduce_conv1', f0);
      const pan2 = this.csp('backbone.C3_p3', tf.concat([this.up2(fpn1), d3], 3), false);
      const p1 = tf.concat([this.baseConv('backbone.bu_conv2', pan2, 2), fpn1], 3);
      const pan1 = this.csp('backbone.C3_n3', p1, false);
      const p0 = tf.concat([this.baseConv('backbone.bu_conv1', pan1, 2), fpn0], 3);
      const pan0 = this.csp('backbone.C3_n4', p0, false);
      return this.head([pan2, pan1, pan0]);
    });
    const data = out.dataSync() as Float32Array;
    out.dispose();
    return data;
  }

  private head(feats: T4[]): TfCore.Tensor3D {
    const tf = this.tf;
    const levels = feats.slice(0, this.numLevels).map((f, k) => {
      const x = this.baseConv(`head.stems.${k}`, f);
      const twoConvs = (list: string) =>
        this.baseConv(`head.${list}.${k}.1`, this.baseConv(`head.${list}.${k}.0`, x));
      const clsFeat = twoConvs('cls_convs');
      const regFeat = twoConvs('reg_convs');
      const cls = this.conv(`head.cls_preds.${k}`, clsFeat);
      const reg = this.conv(`head.reg_preds.${k}`, regFeat);
      const obj = this.conv(`head.obj_preds.${k}`, regFeat);
      const cat = tf.concat([reg, tf.sigmoid(obj), tf.sigmoid(cls)], 3);
      const [, h, w, d] = cat.shape;
      return tf.reshape(cat, [1, h * w, d]) as TfCore.Tensor3D;
    });
    const all = tf.concat(levels, 1);
    const d = all.shape[2];
    const [xy, wh, rest] = tf.split(all, [2, 2, d - 4], 2);
    const dxy = tf.mul(tf.add(xy, this.grid), this.strideCol);
    const dwh = tf.mul(tf.exp(wh), this.strideCol);
    return tf.concat([dxy, dwh, rest], 2) as TfCore.Tensor3D;
  }

  dispose(): void {
    for (const c of this.convs.values()) { c.filter.dispose(); c.bias.dispose(); }
    this.grid.dispose();
    this.strideCol.dispose();
  }
}
