/**
 * @file Freeze step A (quark.md §3.1): every quantizer replaced by a frozen copy — same scale and
 * zero point, observer off, fake-quant on — so the NPU scale passes can change scales without
 * touching the calibrated graph. The copies keep their names, kinds and specs.
 */
import { FakeQuantizer } from '../../quantizer.js';
import { rewrite, type Graph } from '../graph.js';

function frozen(q: FakeQuantizer | undefined): FakeQuantizer | undefined {
  if (q === undefined) return undefined;
  const c = new FakeQuantizer(q.name, q.kind, q.spec);
  c.load(q.scale, q.zeroPoint);
  c.lastShape = q.lastShape;
  c.observerEnabled = false;
  c.fakeQuantEnabled = true;
  return c;
}

export function freezeQuantizers(g: Graph): Graph {
  return rewrite(g, (n, b) => {
    if (!n.quantizer && !n.weightQuantizer && !n.biasQuantizer) return false;
    b.copy(n, {
      quantizer: frozen(n.quantizer),
      weightQuantizer: frozen(n.weightQuantizer),
      biasQuantizer: frozen(n.biasQuantizer),
    });
    return true;
  });
}
