// Feature binning: every feature becomes at most 255 small integers (one byte per value) plus a missing bin, as in
// LightGBM and scikit-learn's HistGradientBoosting. Numeric bin edges are float32 values and inputs are rounded to
// float32 before they are compared, because the exported ONNX graph sees float32 inputs: a row then lands on the
// same side of every split in training, in `predictProba` and in onnxruntime.
import { z } from 'zod';
import type { Column, Frame } from '../frame.js';
import type { Rng } from '../rng.js';

/** Bin index of missing values (NaN, categorical -1, unknown categories), for every feature. */
export const MISSING_BIN = 255;
/** Thresholds are computed on at most this many rows, like scikit-learn's `subsample=2e5`. */
export const BINNING_SAMPLE = 200_000;
const FLOAT32_MAX = 3.4028234663852886e38;

export const featureBinningSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('numeric'),
    name: z.string(),
    /** Upper edges (float32 values, increasing) of bins 0..n-2; bin n-1 is everything above. */
    thresholds: z.array(z.number()),
    hasMissing: z.boolean(),
  }),
  z.object({
    kind: z.literal('categorical'),
    name: z.string(),
    /** Category of each bin; categories not listed are treated as missing. */
    categories: z.array(z.string()),
    hasMissing: z.boolean(),
  }),
]);

export type FeatureBinning = z.infer<typeof featureBinningSchema>;

/** Number of non-missing bins of a feature. */
export function binCount(f: FeatureBinning): number {
  return f.kind === 'numeric' ? f.thresholds.length + 1 : f.categories.length;
}

/** The largest float32 strictly below the float32 value `v`. */
function previousFloat32(v: number): number {
  const f = new Float32Array([v]);
  const u = new Int32Array(f.buffer);
  if (v > 0) u[0] = u[0]! - 1;
  else if (v < 0) u[0] = u[0]! + 1;
  else return -1.401298464324817e-45;
  return f[0]!;
}

/**
 * Bin upper edges of one numeric column from (a sample of) its float32-rounded, non-missing values: midpoints
 * between distinct values when there are few, else midpoint percentiles (numpy's method='midpoint'), as
 * scikit-learn's `_find_binning_thresholds` does. Each edge is then made a float32 value that still separates
 * the values it was meant to separate.
 */
export function numericThresholds(sample: Float64Array, maxBins: number): number[] {
  const sorted = Float64Array.from(sample).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  const edges: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) {
      const lo = distinct[i]!;
      const hi = distinct[i + 1]!;
      let t = Math.fround((lo + hi) / 2);
      // Rounding the midpoint up onto `hi` would merge the two values into one bin.
      if (t >= hi) t = previousFloat32(hi);
      if (t < lo) t = lo;
      edges.push(t);
    }
  } else {
    const n = sorted.length;
    for (let k = 1; k < maxBins; k++) {
      const index = ((100 * k) / maxBins / 100) * (n - 1);
      const below = Math.floor(index);
      const value =
        index === below ? sorted[below]! : (sorted[below]! + sorted[Math.min(below + 1, n - 1)]!) / 2;
      edges.push(Math.fround(value));
    }
  }
  const out: number[] = [];
  for (const e of edges) {
    const t = Math.min(e, FLOAT32_MAX);
    if (out.length === 0 || t > out[out.length - 1]!) out.push(t);
  }
  return out;
}

/** Bin of one float32-rounded value: the number of edges strictly below it (so `x <= edge[b]` means bin <= b). */
export function binOfValue(thresholds: Float64Array, x: number): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Edges padded with +Infinity to 256 entries, for `binOfPadded`. */
function paddedThresholds(thresholds: readonly number[]): Float64Array {
  const padded = new Float64Array(256).fill(Infinity);
  padded.set(thresholds);
  return padded;
}

/**
 * `binOfValue` over at most 255 edges padded to 256, as eight fixed steps whose conditional adds compile without
 * branches: about twice as fast on the millions of values a large training set has.
 */
function binOfPadded(p: Float64Array, x: number): number {
  let pos = 0;
  pos += p[pos + 127]! < x ? 128 : 0;
  pos += p[pos + 63]! < x ? 64 : 0;
  pos += p[pos + 31]! < x ? 32 : 0;
  pos += p[pos + 15]! < x ? 16 : 0;
  pos += p[pos + 7]! < x ? 8 : 0;
  pos += p[pos + 3]! < x ? 4 : 0;
  pos += p[pos + 1]! < x ? 2 : 0;
  pos += p[pos]! < x ? 1 : 0;
  return pos;
}

function sampleRows(rows: Uint32Array, rng: Rng): Uint32Array {
  if (rows.length <= BINNING_SAMPLE) return rows;
  // Selection sampling (Knuth's Algorithm S): exactly BINNING_SAMPLE rows, kept in order.
  const out = new Uint32Array(BINNING_SAMPLE);
  let taken = 0;
  for (let i = 0; i < rows.length && taken < BINNING_SAMPLE; i++) {
    if (rng.nextFloat() * (rows.length - i) < BINNING_SAMPLE - taken) out[taken++] = rows[i]!;
  }
  return out;
}

/**
 * Learns the bins of every column from the training rows `rows` (indices into `frame`). Categories seen in those
 * rows get one bin each (in code order); when there are more than `maxBins`, the rarest become missing.
 */
export function fitBinning(frame: Frame, rows: Uint32Array, maxBins: number, rng: Rng): FeatureBinning[] {
  const sample = sampleRows(rows, rng);
  return frame.columns.map((column): FeatureBinning => {
    if (column.kind === 'numeric') {
      const values = new Float64Array(sample.length);
      let count = 0;
      for (let i = 0; i < sample.length; i++) {
        const x = Math.fround(column.values[sample[i]!]!);
        if (x === x) values[count++] = x;
      }
      return {
        kind: 'numeric',
        name: column.name,
        thresholds: numericThresholds(values.subarray(0, count), maxBins),
        hasMissing: false,
      };
    }
    const counts = new Float64Array(column.categories.length);
    for (let i = 0; i < rows.length; i++) {
      const c = column.codes[rows[i]!]!;
      if (c >= 0) counts[c] = counts[c]! + 1;
    }
    let seen: number[] = [];
    for (let c = 0; c < counts.length; c++) if (counts[c]! > 0) seen.push(c);
    if (seen.length > maxBins) {
      seen = seen
        .sort((a, b) => counts[b]! - counts[a]! || a - b)
        .slice(0, maxBins)
        .sort((a, b) => a - b);
    }
    return {
      kind: 'categorical',
      name: column.name,
      categories: seen.map((c) => column.categories[c]!),
      hasMissing: false,
    };
  });
}

/** Per-column lookup from a frame column's codes to bins (unknown -> missing). */
function codeToBin(
  binning: FeatureBinning & { kind: 'categorical' },
  column: Column & { kind: 'categorical' },
): Uint8Array {
  const index = new Map(binning.categories.map((c, b) => [c, b]));
  return Uint8Array.from(column.categories, (c) => index.get(c) ?? MISSING_BIN);
}

/** The column of `frame` that a binning applies to, found by name, with a clear error when absent or of another kind. */
export function matchColumn(frame: Frame, binning: FeatureBinning): Column {
  const column = frame.columns.find((c) => c.name === binning.name);
  if (!column) throw new Error(`gbdt: feature column "${binning.name}" is missing from the input frame`);
  if (column.kind !== binning.kind) {
    throw new Error(
      `gbdt: feature column "${binning.name}" is ${column.kind}, but the model was trained on it as ${binning.kind}`,
    );
  }
  return column;
}

/**
 * Bins the rows `rows` of `frame` (all rows when null) into a column-major byte matrix: feature f of output row i
 * is at `f * rowCount + i`. When `markMissing` is set, each binning's `hasMissing` is updated from what it sees.
 */
export function binFrame(
  binnings: FeatureBinning[],
  frame: Frame,
  rows: Uint32Array | null,
  markMissing: boolean,
): Uint8Array {
  const n = rows ? rows.length : frame.rowCount;
  const out = new Uint8Array(n * binnings.length);
  binnings.forEach((binning, f) => {
    const column = matchColumn(frame, binning);
    const target = out.subarray(f * n, (f + 1) * n);
    let missing = false;
    if (binning.kind === 'numeric' && column.kind === 'numeric') {
      const thresholds = paddedThresholds(binning.thresholds);
      const values = column.values;
      for (let i = 0; i < n; i++) {
        const x = Math.fround(values[rows ? rows[i]! : i]!);
        if (x !== x) {
          target[i] = MISSING_BIN;
          missing = true;
        } else target[i] = binOfPadded(thresholds, x);
      }
    } else if (binning.kind === 'categorical' && column.kind === 'categorical') {
      const lookup = codeToBin(binning, column);
      const codes = column.codes;
      for (let i = 0; i < n; i++) {
        const c = codes[rows ? rows[i]! : i]!;
        const b = c >= 0 && c < lookup.length ? lookup[c]! : MISSING_BIN;
        target[i] = b;
        if (b === MISSING_BIN) missing = true;
      }
    }
    if (markMissing && missing) binnings[f] = { ...binning, hasMissing: true };
  });
  return out;
}
