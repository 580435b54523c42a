/** Score histograms have this many equal bins over [0, 1]; the divergence check merges them into `divergenceBins`. */
export const histogramBins = 100;
export const divergenceBins = 20;

/**
 * Latencies are counted in log-spaced bins from 0.01 ms to 100 s (each about 8.4 % wide), so percentiles come from
 * counts that SQL adds up in one pass, with no sort, whatever the traffic: a quantile is off by at most half a bin
 * (about 4 %).
 */
export const latencyBins = 200;
export const latencyRangeMs = [0.01, 100_000] as const;

/** The bin of a latency (0-based; out-of-range values go to the first or last bin). */
export function latencyBin(ms: number): number {
  const [low, high] = latencyRangeMs;
  const position = Math.log(Math.max(ms, low) / low) / Math.log(high / low);
  return Math.min(latencyBins - 1, Math.max(0, Math.floor(position * latencyBins)));
}

/**
 * The `q` quantile (0..1) of latencies counted by `latencyBin`: the geometric middle of the bin holding it. Null
 * without any count.
 */
export function latencyQuantile(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((s, x) => s + x, 0);
  if (total === 0) return null;
  const [low, high] = latencyRangeMs;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return low * (high / low) ** ((i + 0.5) / latencyBins);
  }
  return high;
}

/**
 * What one version did during a phase, aggregated from the prediction log (and the labels joined to it). Counts are
 * rows: a request of N rows is N rows.
 */
export interface VersionStepMetrics {
  readonly version: number;
  /** Rows this version scored: answers, fallbacks and shadow scores. */
  readonly samples: number;
  /** Rows whose answer the client got from this version. */
  readonly served: number;
  /** Rows routed to this version to answer (for the champion, its own share including fallbacks). */
  readonly routed: number;
  /** Rows scored off the response path (the challenger shadowing the champion). */
  readonly shadowed: number;
  /** Rows where this version failed: an error, a NaN or a timeout. */
  readonly errors: number;
  /** Champion rows that answered because the challenger failed (0 for the challenger). */
  readonly fallbacks: number;
  /** Latency percentiles over all this version's rows (from `latencyHistogram`). */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  /** Row latencies counted in `latencyBins` log-spaced bins (see `latencyBin`). */
  readonly latencyHistogram: readonly number[];
  /** Scored rows with a label, and how many of those the score got right at the plan's threshold. */
  readonly labelled: number;
  readonly correct: number;
  /** Successful scores in `histogramBins` equal bins over [0, 1]. */
  readonly scoreHistogram: readonly number[];
  /** The same, for labelled rows by label: the online ROC curve. */
  readonly positiveHistogram: readonly number[];
  readonly negativeHistogram: readonly number[];
}

/** A phase's metrics, per version, over [from, to]. */
export interface StepMetrics {
  readonly from: string;
  readonly to: string;
  readonly champion: VersionStepMetrics;
  readonly challenger: VersionStepMetrics;
  /** Requests both versions scored successfully (champion answered, challenger shadowed): the same inputs. */
  readonly paired: PairedMetrics;
}

/** Requests both versions scored: their scores side by side, and the labels that arrived for them. */
export interface PairedMetrics {
  readonly samples: number;
  readonly championHistogram: readonly number[];
  readonly challengerHistogram: readonly number[];
  readonly meanAbsDifference: number | null;
  /** Paired requests with a label, and how many each version got right at the threshold. */
  readonly labelled: number;
  readonly championCorrect: number;
  readonly challengerCorrect: number;
  /** Labelled paired requests only the champion got right, and only the challenger. */
  readonly championOnly: number;
  readonly challengerOnly: number;
  /** Score histograms of the labelled paired requests, by label, per version. */
  readonly championPositive: readonly number[];
  readonly championNegative: readonly number[];
  readonly challengerPositive: readonly number[];
  readonly challengerNegative: readonly number[];
}
