import { ascendingOrder, checkBinaryInputs } from './classification.js';

/** One ROC point: predicting positive when score >= threshold gives this false and true positive rate. */
export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
  /** null for the (0, 0) start, where nothing is predicted positive (scikit-learn writes +inf there). */
  readonly threshold: number | null;
}

/**
 * The ROC curve, one point per distinct score (highest first) after the (0, 0) start, then thinned to at most
 * `maxPoints` (default 200) for plotting: points are kept where the curve has travelled another 1/maxPoints of its
 * total length, and the first and last points always stay. Empty when only one class is present.
 */
export function rocCurve(labels: Uint8Array, scores: Float64Array, maxPoints = 200): RocPoint[] {
  checkBinaryInputs(labels, scores);
  let positives = 0;
  for (const y of labels) positives += y;
  const negatives = labels.length - positives;
  if (positives === 0 || negatives === 0) return [];
  const order = ascendingOrder(scores);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];
  let tp = 0;
  let fp = 0;
  for (let k = order.length - 1; k >= 0;) {
    const s = scores[order[k]!]!;
    while (k >= 0 && scores[order[k]!] === s) {
      if (labels[order[k]!] === 1) tp++;
      else fp++;
      k--;
    }
    points.push({ fpr: fp / negatives, tpr: tp / positives, threshold: s });
  }
  return thinCurve(points, Math.max(2, maxPoints));
}

/** Keeps at most `maxPoints` points spread evenly along the curve's length (first and last kept). */
function thinCurve(points: RocPoint[], maxPoints: number): RocPoint[] {
  if (points.length <= maxPoints) return points;
  const lengths = [0];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    lengths.push(lengths[i - 1]! + Math.hypot(b.fpr - a.fpr, b.tpr - a.tpr));
  }
  const total = lengths[lengths.length - 1]!;
  const step = total / (maxPoints - 1);
  const kept: RocPoint[] = [points[0]!];
  let next = step;
  for (let i = 1; i < points.length - 1; i++) {
    if (lengths[i]! >= next && kept.length < maxPoints - 1) {
      kept.push(points[i]!);
      next = lengths[i]! + step;
    }
  }
  kept.push(points[points.length - 1]!);
  return kept;
}
