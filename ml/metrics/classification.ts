/**
 * Binary classification metrics over 0/1 labels and P(label = 1) scores. Conventions (the same as scikit-learn
 * unless said otherwise):
 * - a row is predicted positive when score >= threshold (default 0.5);
 * - precision is 0 when nothing is predicted positive, recall 0 when there is no positive, F1 0 when both are 0
 *   (scikit-learn's zero_division=0);
 * - AUC is the Mann-Whitney statistic, ties counting one half; null when only one class is present;
 * - log loss clips scores to [eps, 1 - eps] with eps = 1e-15.
 * Optional `weights` (bootstrap resample counts) weight each row; they are what the paired bootstrap uses.
 */

export interface ConfusionMatrix {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export interface BinaryMetrics {
  readonly count: number;
  readonly positives: number;
  readonly threshold: number;
  /** null when only one class is present. */
  readonly auc: number | null;
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly logLoss: number;
  readonly brier: number;
  readonly confusion: ConfusionMatrix;
}

export const LOG_LOSS_EPS = 1e-15;

/** Throws a RangeError naming the first bad entry unless labels are 0/1 and scores are probabilities. */
export function checkBinaryInputs(labels: Uint8Array, scores: Float64Array): void {
  if (labels.length !== scores.length) {
    throw new RangeError(
      `labels and scores differ in length: ${labels.length} labels, ${scores.length} scores`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`label ${i} is ${y}; labels must be 0 or 1`);
    const s = scores[i]!;
    if (!(s >= 0 && s <= 1))
      throw new RangeError(`score ${i} is ${s}; scores must be probabilities in [0, 1]`);
  }
}

/** Row indices sorted by ascending score (stable), computed once and reused by AUC and the ROC curve. */
export function ascendingOrder(scores: Float64Array): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * ROC AUC in O(n) given `order` (ascending scores): for each group of tied scores, every negative below it counts
 * one per positive in the group, and negatives inside the group count one half.
 */
export function aucFromOrder(
  labels: Uint8Array,
  scores: Float64Array,
  order: Uint32Array,
  weights?: ArrayLike<number>,
): number | null {
  let negativesBelow = 0;
  let area = 0;
  let positives = 0;
  const n = order.length;
  for (let start = 0; start < n;) {
    const s = scores[order[start]!]!;
    let groupPos = 0;
    let groupNeg = 0;
    let end = start;
    for (; end < n && scores[order[end]!] === s; end++) {
      const i = order[end]!;
      const w = weights ? weights[i]! : 1;
      if (labels[i] === 1) groupPos += w;
      else groupNeg += w;
    }
    area += groupPos * (negativesBelow + groupNeg / 2);
    negativesBelow += groupNeg;
    positives += groupPos;
    start = end;
  }
  return positives === 0 || negativesBelow === 0 ? null : area / (positives * negativesBelow);
}

/** ROC AUC (ties count one half; O(n log n)); null when only one class is present. */
export function rocAuc(labels: Uint8Array, scores: Float64Array): number | null {
  checkBinaryInputs(labels, scores);
  return aucFromOrder(labels, scores, ascendingOrder(scores));
}

/** Per-row log loss with clipping: -log(p) for positives, -log(1 - p) for negatives. */
export function rowLogLoss(y: number, p: number): number {
  const q = Math.min(Math.max(p, LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
  return y === 1 ? -Math.log(q) : -Math.log(1 - q);
}

/** Mean log loss (cross-entropy), scores clipped to [1e-15, 1 - 1e-15]. */
export function logLoss(labels: Uint8Array, scores: Float64Array): number {
  checkBinaryInputs(labels, scores);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += rowLogLoss(labels[i]!, scores[i]!);
  return sum / labels.length;
}

/** Brier score: mean squared difference between score and label. */
export function brierScore(labels: Uint8Array, scores: Float64Array): number {
  checkBinaryInputs(labels, scores);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) sum += (scores[i]! - labels[i]!) ** 2;
  return sum / labels.length;
}

/** Counts of true/false positives/negatives with "positive when score >= threshold". */
export function confusionMatrix(labels: Uint8Array, scores: Float64Array, threshold = 0.5): ConfusionMatrix {
  checkBinaryInputs(labels, scores);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/** Accuracy, precision, recall and F1 of a confusion matrix (zero_division = 0). */
export function thresholdMetrics(c: ConfusionMatrix): {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
} {
  const total = c.tp + c.fp + c.tn + c.fn;
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { accuracy: total === 0 ? 0 : (c.tp + c.tn) / total, precision, recall, f1 };
}

/**
 * All scalar metrics of a binary classifier at once: AUC, accuracy, precision, recall, F1 (at `threshold`,
 * default 0.5), log loss, Brier score and the confusion matrix. Throws a RangeError on empty or invalid input.
 */
export function binaryMetrics(labels: Uint8Array, scores: Float64Array, threshold = 0.5): BinaryMetrics {
  checkBinaryInputs(labels, scores);
  if (labels.length === 0) throw new RangeError('no rows to evaluate');
  const confusion = confusionMatrix(labels, scores, threshold);
  let loss = 0;
  let brier = 0;
  for (let i = 0; i < labels.length; i++) {
    loss += rowLogLoss(labels[i]!, scores[i]!);
    brier += (scores[i]! - labels[i]!) ** 2;
  }
  return {
    count: labels.length,
    positives: confusion.tp + confusion.fn,
    threshold,
    auc: aucFromOrder(labels, scores, ascendingOrder(scores)),
    ...thresholdMetrics(confusion),
    logLoss: loss / labels.length,
    brier: brier / labels.length,
    confusion,
  };
}
