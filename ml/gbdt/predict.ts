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
export function predictRaw(
  binnings: readonly FeatureBinning[],
  baseline: number,
  trees: readonly Tree[],
  frame: Frame,
): Float64Array {
  const inputs = encodeInputs(binnings, frame);
  const raw = new Float64Array(frame.rowCount).fill(baseline);
  for (const tree of trees) {
    const size = tree.length;
    const feature = Int32Array.from(tree, (node) => node.feature);
    const left = Int32Array.from(tree, (node) => node.left);
    const right = Int32Array.from(tree, (node) => node.right);
    const value = Float64Array.from(tree, (node) => node.value);
    const missingLeft = Uint8Array.from(tree, (node) => (node.missingLeft ? 1 : 0));
    const threshold = new Float64Array(size).fill(NaN);
    // Category sets as 256-entry tables indexed by bin number; categorical inputs are bin numbers (or NaN).
    const members = new Uint8Array(size * 256);
    const isSet = new Uint8Array(size);
    tree.forEach((node, id) => {
      if (node.feature < 0) return;
      const b = binnings[node.feature]!;
      if (node.leftBins) {
        isSet[id] = 1;
        for (const bin of node.leftBins) members[id * 256 + bin] = 1;
      } else if (b.kind === 'numeric') threshold[id] = splitThreshold(b, node.binThreshold);
    });
    for (let i = 0; i < raw.length; i++) {
      let id = 0;
      let f = feature[0]!;
      while (f >= 0) {
        const x = inputs[f]![i]!;
        const goLeft =
          x !== x
            ? missingLeft[id] === 1
            : isSet[id] === 1
              ? members[id * 256 + x] === 1
              : x <= threshold[id]!;
        id = goLeft ? left[id]! : right[id]!;
        f = feature[id]!;
      }
      raw[i] = raw[i]! + value[id]!;
    }
  }
  return raw;
}
