import type { Frame } from './frame.js';
import { columnOf } from './frame.js';
import { createRng, permutation, stratifiedHoldout } from './rng.js';

export type SplitKind = 'random' | 'stratified' | 'time';

export interface SplitPlan {
  readonly kind: SplitKind;
  readonly testFraction: number;
  readonly seed: number;
  /** time splits: the numeric column that orders rows; absent means file order. */
  readonly orderBy?: string;
}

/** Which rows train and which test; both sorted ascending (time splits: in time order). JSON-safe via `encodeSplit`. */
export interface Split {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

/**
 * Splits the rows of `frame` into train and test:
 * - random: a seeded shuffle, the first `testFraction` of it is the test set;
 * - stratified: the same within each label class, so both parts keep the class proportions;
 * - time: the last `testFraction` of the rows in time order (by `orderBy`, else file order) is the test set, so
 *   the model is always tested on data later than it was trained on.
 */
export function splitRows(frame: Frame, labels: Uint8Array, plan: SplitPlan): Split {
  const n = frame.rowCount;
  const testCount = Math.round(n * plan.testFraction);
  if (testCount < 1 || testCount >= n) {
    throw new Error(
      `split: testFraction ${plan.testFraction} of ${n} rows leaves an empty train or test set`,
    );
  }
  if (plan.kind === 'stratified') {
    const { train, holdout } = stratifiedHoldout(labels, plan.testFraction, createRng(plan.seed));
    return { train, test: holdout };
  }
  if (plan.kind === 'random') {
    const order = permutation(n, createRng(plan.seed));
    return { train: order.slice(testCount).sort(), test: order.slice(0, testCount).sort() };
  }
  let order = Int32Array.from({ length: n }, (_, i) => i);
  if (plan.orderBy) {
    const column = columnOf(frame, plan.orderBy);
    if (column.kind !== 'numeric')
      throw new Error(`split.orderBy: column "${plan.orderBy}" must be numeric (a time)`);
    const t = column.values;
    // Stable: ties keep file order. Missing times sort first (they can't be placed later than anything).
    order = order.sort((a, b) => {
      const ta = Number.isNaN(t[a]!) ? -Infinity : t[a]!;
      const tb = Number.isNaN(t[b]!) ? -Infinity : t[b]!;
      return ta - tb || a - b;
    });
  }
  return { train: order.slice(0, n - testCount), test: order.slice(n - testCount) };
}

/** The split as compact bytes: a little-endian header of two counts, then the train and test row indices. */
export function encodeSplit(split: Split): Uint8Array {
  const out = new Int32Array(2 + split.train.length + split.test.length);
  out[0] = split.train.length;
  out[1] = split.test.length;
  out.set(split.train, 2);
  out.set(split.test, 2 + split.train.length);
  return new Uint8Array(out.buffer);
}

export function decodeSplit(bytes: Uint8Array): Split {
  if (bytes.byteLength < 8 || bytes.byteLength % 4 !== 0) throw new Error('split bytes are malformed');
  // A copy of exactly these bytes: a Node Buffer's .buffer may be a larger shared pool.
  const copy = new Int32Array(new Uint8Array(bytes).buffer);
  const trainCount = copy[0]!;
  const testCount = copy[1]!;
  if (2 + trainCount + testCount !== copy.length)
    throw new Error('split bytes are malformed: counts do not match');
  return { train: copy.slice(2, 2 + trainCount), test: copy.slice(2 + trainCount) };
}
