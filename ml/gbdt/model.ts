// The fitted GBDT model: JS scoring identical in method to the ONNX graph, ONNX bytes, and registry facts.
import { sigmoid } from '../classifier-onnx.js';
import type { Frame } from '../frame.js';
import type { FittedModel } from '../trainer.js';
import type { EnsembleForExport } from './onnx-export.js';
import { exportGbdtOnnx } from './onnx-export.js';
import { GBDT_NAME } from './params.js';
import { predictRaw } from './predict.js';

/** Share of the total split gain earned by each raw feature (sums to 1 when any split exists). */
export function gainImportances(e: EnsembleForExport): Record<string, number> {
  const totals = new Float64Array(e.binnings.length);
  for (const tree of e.trees)
    for (const node of tree) if (node.feature >= 0) totals[node.feature] = totals[node.feature]! + node.gain;
  const sum = totals.reduce((a, b) => a + b, 0);
  return Object.fromEntries(e.binnings.map((b, f) => [b.name, sum > 0 ? totals[f]! / sum : 0]));
}

/** Wraps an ensemble as a FittedModel; `facts` go into `metadata()` next to the importances. */
export function createGbdtModel(e: EnsembleForExport, facts: Readonly<Record<string, unknown>>): FittedModel {
  return {
    predictProba(features: Frame): Float64Array {
      return predictRaw(e.binnings, e.baseline, e.trees, features).map(sigmoid);
    },
    toOnnx(): Uint8Array {
      return exportGbdtOnnx(e, { trainer: GBDT_NAME, trees: String(e.trees.length) });
    },
    metadata: () => ({
      trainer: GBDT_NAME,
      ...facts,
      treeCount: e.trees.length,
      leafCount: e.trees.reduce((a, t) => a + t.filter((n) => n.feature < 0).length, 0),
      baseline: e.baseline,
      featureImportanceGain: gainImportances(e),
      features: e.binnings.map((b) => ({
        name: b.name,
        kind: b.kind,
        bins: b.kind === 'numeric' ? b.thresholds.length + 1 : b.categories.length,
        hasMissing: b.hasMissing,
      })),
    }),
  };
}
