import type { Column, Frame } from '../frame.js';
import { columnOf } from '../frame.js';
import { binIndex, quantileCuts, sortedFinite } from '../validation/binning.js';
import {
  aucFromOrder,
  ascendingOrder,
  checkBinaryInputs,
  rowLogLoss,
  thresholdMetrics,
  type BinaryMetrics,
} from './classification.js';

/** Metrics of the rows of one slice. `auc` is null when the slice holds one class only. */
export interface SliceMetrics extends Pick<
  BinaryMetrics,
  'count' | 'positives' | 'auc' | 'accuracy' | 'precision' | 'recall' | 'f1' | 'logLoss' | 'brier'
> {
  /** Category label, '(missing)', '(other)', or an interval such as '(0.25, 0.5]'. */
  readonly slice: string;
}

export interface ColumnSlices {
  readonly column: string;
  readonly kind: 'numeric' | 'categorical';
  /** Numeric columns: the quantile cut points the slices follow (binning.ts rule). */
  readonly cuts?: readonly number[];
  readonly slices: readonly SliceMetrics[];
}

export interface SliceOptions {
  /** Quantile bins for numeric columns; 4 by default (quartiles, fewer with ties). */
  readonly bins?: number;
  /** Categorical columns: the largest categories get a slice each, the rest go to '(other)'. 20 by default. */
  readonly maxCategories?: number;
  readonly threshold?: number;
}

function metricsOf(
  rows: number[],
  labels: Uint8Array,
  scores: Float64Array,
  threshold: number,
  name: string,
): SliceMetrics {
  const l = Uint8Array.from(rows, (r) => labels[r]!);
  const s = Float64Array.from(rows, (r) => scores[r]!);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let loss = 0;
  let brier = 0;
  for (let i = 0; i < l.length; i++) {
    const y = l[i]!;
    const p = s[i]!;
    const predicted = p >= threshold;
    if (y === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
    loss += rowLogLoss(y, p);
    brier += (p - y) ** 2;
  }
  return {
    slice: name,
    count: l.length,
    positives: tp + fn,
    auc: aucFromOrder(l, s, ascendingOrder(s)),
    ...thresholdMetrics({ tp, fp, tn, fn }),
    logLoss: loss / l.length,
    brier: brier / l.length,
  };
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, '');
}

/** Rows of each slice of a column, keyed by slice name, in display order. */
function groupRows(column: Column, options: SliceOptions): { groups: [string, number[]][]; cuts?: number[] } {
  if (column.kind === 'numeric') {
    const cuts = quantileCuts(sortedFinite(column.values), options.bins ?? 4);
    const names = Array.from({ length: cuts.length + 1 }, (_, b) => {
      const lo = b === 0 ? '-inf' : fmt(cuts[b - 1]!);
      const hi = b === cuts.length ? 'inf' : fmt(cuts[b]!);
      return `(${lo}, ${hi}]`;
    });
    const rows: number[][] = names.map(() => []);
    const missing: number[] = [];
    column.values.forEach((v, i) => {
      const b = binIndex(cuts, v);
      if (b < 0) missing.push(i);
      else rows[b]!.push(i);
    });
    const groups = names.map((n, b): [string, number[]] => [n, rows[b]!]);
    if (missing.length > 0) groups.push(['(missing)', missing]);
    return { groups: groups.filter(([, r]) => r.length > 0), cuts };
  }
  const byCode: number[][] = column.categories.map(() => []);
  const missing: number[] = [];
  column.codes.forEach((c, i) => (c < 0 ? missing.push(i) : byCode[c]!.push(i)));
  const present = column.categories
    .map((name, c): [string, number[]] => [name, byCode[c]!])
    .filter(([, r]) => r.length > 0)
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const max = options.maxCategories ?? 20;
  const groups = present.slice(0, max);
  const rest = present.slice(max).flatMap(([, r]) => r);
  if (rest.length > 0) groups.push(['(other)', rest.sort((a, b) => a - b)]);
  if (missing.length > 0) groups.push(['(missing)', missing]);
  return { groups };
}

/**
 * Metrics per slice of each named column of `frame` (whose rows line up with `labels` and `scores`):
 * categorical -> one slice per category (largest first, beyond `maxCategories` merged into '(other)'), numeric
 * -> quantile bins (right-closed, binning.ts), plus a '(missing)' slice when there are missing values.
 */
export function sliceMetrics(
  frame: Frame,
  labels: Uint8Array,
  scores: Float64Array,
  columns: readonly string[],
  options: SliceOptions = {},
): ColumnSlices[] {
  checkBinaryInputs(labels, scores);
  if (frame.rowCount !== labels.length) {
    throw new RangeError(`the frame has ${frame.rowCount} rows but there are ${labels.length} labels`);
  }
  const threshold = options.threshold ?? 0.5;
  return columns.map((name) => {
    const column = columnOf(frame, name);
    const { groups, cuts } = groupRows(column, options);
    return {
      column: name,
      kind: column.kind,
      ...(cuts ? { cuts } : {}),
      slices: groups.map(([slice, rows]) => metricsOf(rows, labels, scores, threshold, slice)),
    };
  });
}
