// Best-split search on a node's histogram, following scikit-learn's HistGradientBoosting splitter
// (sklearn/ensemble/_hist_gradient_boosting/splitting.pyx) and the XGBoost paper's gain (Chen and Guestrin, 2016,
// https://arxiv.org/abs/1603.02754, equations 5-7):
// - numeric features are scanned left to right with missing values on the right, then (when the feature had
//   missing values in training) right to left with missing values on the left; a strictly better gain wins;
// - categorical features sort their categories by sum_g / (sum_h + 10), drop low-support ones, and scan the
//   sorted order from both ends up to the middle (Fisher's grouping, as LightGBM and scikit-learn do).
import { FEATURE_SPAN } from './histogram.js';
import { MISSING_BIN } from './binning.js';

/** What the splitter needs to know about each feature. */
export interface FeatureMeta {
  /** Non-missing bins per feature. */
  readonly nBins: Int32Array;
  readonly hasMissing: Uint8Array;
  readonly categorical: Uint8Array;
}

export interface SplitConstraints {
  readonly minSamplesLeaf: number;
  readonly minHessianToSplit: number;
  readonly l2Regularization: number;
}

export interface SplitInfo {
  readonly feature: number;
  readonly gain: number;
  /** Numeric: rows with bin <= binThreshold go left. Unused (-1) for categorical splits. */
  readonly binThreshold: number;
  /** Categorical: bins (never the missing bin) that go left; null for numeric splits. */
  readonly leftBins: number[] | null;
  missingLeft: boolean;
  readonly gLeft: number;
  readonly hLeft: number;
  readonly nLeft: number;
  readonly gRight: number;
  readonly hRight: number;
  readonly nRight: number;
}

const MIN_CAT_SUPPORT = 10;

/** Node value -G / (H + lambda), before shrinkage (scikit-learn's compute_node_value). */
export function nodeValue(g: number, h: number, l2: number): number {
  return -g / (h + l2 + 1e-15);
}

/** Loss reduction of a split: loss(node) - loss(left) - loss(right), with loss = G * value. */
function splitGain(gl: number, hl: number, gr: number, hr: number, lossNode: number, l2: number): number {
  return lossNode - gl * nodeValue(gl, hl, l2) - gr * nodeValue(gr, hr, l2);
}

interface Totals {
  readonly g: number;
  readonly h: number;
  readonly n: number;
  /** G * value of the node itself. */
  readonly loss: number;
}

function numericSplit(
  hist: Float64Array,
  f: number,
  meta: FeatureMeta,
  t: Totals,
  c: SplitConstraints,
): SplitInfo | null {
  const base = f * FEATURE_SPAN;
  const nBins = meta.nBins[f]!;
  const hasMissing = meta.hasMissing[f] === 1;
  let bestGain = -1;
  let bestBin = -1;
  let bestMissingLeft = false;
  let bestG = 0;
  let bestH = 0;
  let bestN = 0;
  // Left to right, missing values go right. With missing values, the last bin may go left too ("split on nan").
  const end = nBins - 1 + (hasMissing ? 1 : 0);
  let gl = 0;
  let hl = 0;
  let nl = 0;
  for (let b = 0; b < end; b++) {
    const j = base + b * 3;
    gl += hist[j]!;
    hl += hist[j + 1]!;
    nl += hist[j + 2]!;
    const hr = t.h - hl;
    if (nl < c.minSamplesLeaf) continue;
    if (t.n - nl < c.minSamplesLeaf) break;
    if (hl < c.minHessianToSplit) continue;
    if (hr < c.minHessianToSplit) break;
    const gain = splitGain(gl, hl, t.g - gl, hr, t.loss, c.l2Regularization);
    if (gain > bestGain && gain > 0) {
      bestGain = gain;
      bestBin = b;
      bestG = gl;
      bestH = hl;
      bestN = nl;
    }
  }
  if (hasMissing) {
    // Right to left over non-missing bins, missing values go left.
    let gr = 0;
    let hr = 0;
    let nr = 0;
    for (let b = nBins - 2; b >= 0; b--) {
      const j = base + (b + 1) * 3;
      gr += hist[j]!;
      hr += hist[j + 1]!;
      nr += hist[j + 2]!;
      const hl2 = t.h - hr;
      if (nr < c.minSamplesLeaf) continue;
      if (t.n - nr < c.minSamplesLeaf) break;
      if (hr < c.minHessianToSplit) continue;
      if (hl2 < c.minHessianToSplit) break;
      const gl2 = t.g - gr;
      const gain = splitGain(gl2, hl2, gr, hr, t.loss, c.l2Regularization);
      if (gain > bestGain && gain > 0) {
        bestGain = gain;
        bestBin = b;
        bestMissingLeft = true;
        bestG = gl2;
        bestH = hl2;
        bestN = t.n - nr;
      }
    }
  }
  if (bestBin < 0) return null;
  return {
    feature: f,
    gain: bestGain,
    binThreshold: bestBin,
    leftBins: null,
    missingLeft: bestMissingLeft,
    gLeft: bestG,
    hLeft: bestH,
    nLeft: bestN,
    gRight: t.g - bestG,
    hRight: t.h - bestH,
    nRight: t.n - bestN,
  };
}

// Scratch space for categoricalSplit, reused across calls (the splitter runs on one thread).
const catRatio = new Float64Array(256);
const catUsed: number[] = [];
const byRatio = (a: number, b: number): number => catRatio[a]! - catRatio[b]! || a - b;

function categoricalSplit(
  hist: Float64Array,
  f: number,
  meta: FeatureMeta,
  t: Totals,
  c: SplitConstraints,
): SplitInfo | null {
  const base = f * FEATURE_SPAN;
  const nBins = meta.nBins[f]!;
  const hasMissing = meta.hasMissing[f] === 1;
  // Scales hessians to row counts, so the support threshold means "about 10 rows" for any loss.
  const supportFactor = t.n / t.h;
  const used = catUsed;
  used.length = 0;
  for (let b = 0; b < nBins + 1; b++) {
    const bin = b < nBins ? b : MISSING_BIN;
    if (bin === MISSING_BIN && !hasMissing) break;
    const j = base + bin * 3;
    if (hist[j + 1]! * supportFactor >= MIN_CAT_SUPPORT) {
      used.push(bin);
      catRatio[bin] = hist[j]! / (hist[j + 1]! + MIN_CAT_SUPPORT);
    }
  }
  if (used.length <= 1) return null;
  used.sort(byRatio);
  let bestGain = -1;
  let best: { direction: number; i: number; gl: number; hl: number; nl: number } | null = null;
  for (let direction = 1; direction >= -1; direction -= 2) {
    const middle = direction === 1 ? (used.length + 1) >> 1 : ((used.length + 1) >> 1) - 1;
    let gl = 0;
    let hl = 0;
    let nl = 0;
    for (let i = 0; i < middle; i++) {
      const j = base + used[direction === 1 ? i : used.length - 1 - i]! * 3;
      gl += hist[j]!;
      hl += hist[j + 1]!;
      nl += hist[j + 2]!;
      const nr = t.n - nl;
      const hr = t.h - hl;
      if (nl < c.minSamplesLeaf || hl < c.minHessianToSplit) continue;
      if (nr < c.minSamplesLeaf || hr < c.minHessianToSplit) break;
      const gain = splitGain(gl, hl, t.g - gl, hr, t.loss, c.l2Regularization);
      if (gain > bestGain && gain > 0) {
        bestGain = gain;
        best = { direction, i, gl, hl, nl };
      }
    }
  }
  if (!best) return null;
  const chosen = best.direction === 1 ? used.slice(0, best.i + 1) : used.slice(used.length - 1 - best.i);
  return {
    feature: f,
    gain: bestGain,
    binThreshold: -1,
    leftBins: chosen.filter((x) => x !== MISSING_BIN).sort((x, y) => x - y),
    missingLeft: chosen.includes(MISSING_BIN),
    gLeft: best.gl,
    hLeft: best.hl,
    nLeft: best.nl,
    gRight: t.g - best.gl,
    hRight: t.h - best.hl,
    nRight: t.n - best.nl,
  };
}

/**
 * The best split of a node over `features` (ties go to the earlier feature), or null when no split satisfies the
 * constraints with a positive gain. `value` is the node's own (unshrunk) value.
 */
export function findBestSplit(
  hist: Float64Array,
  features: Int32Array,
  meta: FeatureMeta,
  totals: { g: number; h: number; n: number; value: number },
  constraints: SplitConstraints,
): SplitInfo | null {
  const t: Totals = { g: totals.g, h: totals.h, n: totals.n, loss: totals.g * totals.value };
  let best: SplitInfo | null = null;
  for (let k = 0; k < features.length; k++) {
    const f = features[k]!;
    const s =
      meta.categorical[f] === 1
        ? categoricalSplit(hist, f, meta, t, constraints)
        : numericSplit(hist, f, meta, t, constraints);
    if (s && (!best || s.gain > best.gain)) best = s;
  }
  return best;
}
