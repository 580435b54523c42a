// Scoring raw frames the way the exported ONNX graph does: numeric inputs rounded to float32 and compared with
// float32 thresholds (x <= t goes left, NaN follows the node's missing direction), categories looked up by name
// (unknown or missing ones follow the missing direction), leaf values summed in double after the baseline.
import type { Frame } from '../frame.js';
import type { FeatureBinning } from './binning.js';
import { binCount, matchColumn } from './binning.js';
import type { Tree } from './tree.js';

/** The numeric threshold of a split on bin `binThreshold`: its upper edge, or +Infinity for "non-missing vs missing". */
export function splitThreshold(binning: FeatureBinning & { kind: 'numeric' }, binThreshold: number): number {
  return binThreshold >= binCount(binning) - 1 ? Infinity : binning.thresholds[binThreshold]!;
}

/**
 * Feature columns as float32-rounded numbers (numeric) or training bin numbers (categorical; NaN for missing or
 * unknown categories), one Float64Array per feature, in the binnings' order.
 */
export function encodeInputs(binnings: readonly FeatureBinning[], frame: Frame): Float64Array[] {
  return binnings.map((binning) => {
    const column = matchColumn(frame, binning);
    if (column.kind === 'numeric') return Float64Array.from(Float32Array.from(column.values));
    const index = new Map(binning.kind === 'categorical' ? binning.categories.map((c, b) => [c, b]) : []);
    const lookup = column.categories.map((c) => index.get(c) ?? NaN);
    return Float64Array.from(column.codes, (c) => (c >= 0 && c < lookup.length ? lookup[c]! : NaN));
  });
}

/** Raw scores (log-odds) of every row of `frame`. */
export function predictRaw(binnings: readonly FeatureBinning[], baseline: number, trees: readonly Tree[], frame: Frame): Float64Array {
  const inputs = encodeInputs(binnings, frame);
  const raw = new Float64Array(frame.rowCount).fill(baseline);
  for (const tree of trees) {
    const threshold = tree.map((node) => {
      const b = node.feature >= 0 ? binnings[node.feature]! : null;
      return b && b.kind === 'numeric' ? splitThreshold(b, node.binThreshold) : NaN;
    });
    const members = tree.map((node) => (node.leftBins ? new Set(node.leftBins) : null));
    for (let i = 0; i < raw.length; i++) {
      let id = 0;
      let node = tree[0]!;
      while (node.feature >= 0) {
        const x = inputs[node.feature]![i]!;
        const left = x !== x ? node.missingLeft : members[id] ? members[id]!.has(x) : x <= threshold[id]!;
        id = left ? node.left : node.right;
        node = tree[id]!;
      }
      raw[i] = raw[i]! + node.value;
    }
  }
  return raw;
}
