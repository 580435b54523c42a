/**
 * Multiple-testing correction across the features of one window: Holm's step-down procedure (Holm, "A simple
 * sequentially rejective multiple test procedure", Scandinavian Journal of Statistics 6(2), 1979).
 *
 * Why Holm and not Benjamini-Hochberg: what a user of the monitor experiences is the window alert, which fires when
 * any feature drifts, so the rate to bound is the chance that a window with no drift alerts at all: the family-wise
 * error rate. Holm bounds it by alpha whatever the dependence between the features' tests (features are correlated;
 * Benjamini-Hochberg needs positive dependence for its guarantee), and it rejects everything Bonferroni rejects and
 * more. Benjamini-Hochberg bounds the expected share of false features among flagged ones, which would let a window
 * with one truly drifting feature also flag more unchanged ones.
 */

export interface HolmResult {
  /** Holm-adjusted p-values, in input order: reject at level alpha iff adjusted <= alpha. */
  readonly adjusted: number[];
  readonly reject: boolean[];
  /**
   * Per input, the level its p-value is compared with: alpha / (m - rank + 1) for a rejected one, and for the
   * others the level at which the step-down stopped, so reject <=> p <= level for every input.
   */
  readonly level: number[];
}

/** Holm's procedure on `pValues` at family-wise level `alpha`. */
export function holm(pValues: readonly number[], alpha: number): HolmResult {
  const m = pValues.length;
  const order = pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
  const adjusted = new Array<number>(m).fill(1);
  const reject = new Array<boolean>(m).fill(false);
  const level = new Array<number>(m).fill(alpha);
  let running = 0;
  let stopped = -1;
  order.forEach((index, rank) => {
    const p = pValues[index]!;
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[index] = running;
    const critical = alpha / (m - rank);
    if (stopped < 0 && p <= critical) {
      reject[index] = true;
      level[index] = critical;
    } else {
      if (stopped < 0) stopped = critical;
      level[index] = stopped;
    }
  });
  return { adjusted, reject, level };
}
