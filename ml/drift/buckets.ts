/**
 * How values fall into a reference's buckets, shared by the calibration (reference rows) and the window comparison
 * (serving rows), so both count the same way.
 *
 * Categorical buckets: the reference's kept categories in their order, then "other" (categories beyond the kept
 * ones), "missing" and "unseen" (categories the reference never had). With an "other" bucket in the reference a
 * category not kept by name may be one of those, so it is counted as "other" there, and as "unseen" otherwise.
 */
import type { CategoricalDriftReference } from './reference.js';

/** Bucket layout of a categorical reference with k kept categories. */
export function categoricalLayout(k: number): {
  other: number;
  missing: number;
  unseen: number;
  size: number;
} {
  return { other: k, missing: k + 1, unseen: k + 2, size: k + 3 };
}

/** The reference's counts per bucket (the unseen bucket is 0). */
export function categoricalReferenceCounts(ref: CategoricalDriftReference): Float64Array {
  const layout = categoricalLayout(ref.categories.length);
  const counts = new Float64Array(layout.size);
  ref.counts.forEach((c, i) => (counts[i] = c));
  counts[layout.other] = ref.otherCount;
  counts[layout.missing] = ref.missingCount;
  return counts;
}

/** The bucket of each category code of a column's dictionary under a reference (see the file header). */
export function categoricalSlots(
  ref: CategoricalDriftReference,
  slotOf: ReadonlyMap<string, number>,
  categories: readonly string[],
): Int32Array {
  const layout = categoricalLayout(ref.categories.length);
  const fallback = ref.otherCount > 0 ? layout.other : layout.unseen;
  return Int32Array.from(categories, (c) => slotOf.get(c) ?? fallback);
}

/** Category label -> bucket index for a reference's kept categories. */
export function categorySlotMap(ref: CategoricalDriftReference): Map<string, number> {
  return new Map(ref.categories.map((c, i) => [c, i]));
}

/**
 * The bin of `x` under ascending `edges` (right-closed, as binning.ts): the number of edges below x, by binary
 * search.
 */
export function fineBin(edges: Float64Array, x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A lookup structure that finds a value's bin in a few steps instead of a binary search's ~10 unpredictable
 * branches: a uniform grid over [first edge, last edge] gives, per cell, the bins below its lower bound; cells
 * that hold many edges (dense regions of skewed data) get a finer grid of their own, and within a cell a binary
 * search over its few edges finishes the job. Rounding in the grid arithmetic can cost time but never
 * correctness: the answer is searched between the cell's bounds and checked against the edges on both sides.
 * Per million values (one core): about 25 ms for normal data, 45 ms lognormal, 110 ms for a Pareto tail so heavy
 * that the grid cannot resolve it (then it is a binary search, as without the grid).
 */
export interface BinLocator {
  readonly edges: Float64Array;
  readonly lo: number;
  readonly hi: number;
  /** Top cells per unit of x. */
  readonly scale: number;
  readonly cells: number;
  /** Per top cell: the number of edges below its lower bound. */
  readonly start: Int32Array;
  /** Per top cell: -1, or where its sub-grid starts in `subStart`. */
  readonly sub: Int32Array;
  /** Per top cell with a sub-grid: its number of sub-cells. */
  readonly subCells: Int32Array;
  /** Per sub-cell: the number of edges below its lower bound. */
  readonly subStart: Int32Array;
}

/** Edges in a top cell above which it gets a sub-grid. */
const DENSE = 4;

export function binLocator(edges: Float64Array): BinLocator {
  const e = edges.length;
  const lo = e > 0 ? edges[0]! : 0;
  const hi = e > 0 ? edges[e - 1]! : 0;
  const cells = e < 2 ? 1 : 1 << Math.min(16, Math.max(4, Math.ceil(Math.log2(2 * e))));
  const width = hi - lo;
  const scale = width > 0 && Number.isFinite(cells / width) ? cells / width : 0;
  const below = (v: number, from: number): number => {
    let b = from;
    while (b < e && edges[b]! < v) b++;
    return b;
  };
  const start = new Int32Array(cells + 1);
  for (let c = 0, b = 0; c <= cells; c++) start[c] = b = scale > 0 ? below(lo + c / scale, b) : 0;
  const sub = new Int32Array(cells).fill(-1);
  const subCells = new Int32Array(cells);
  const pool: number[] = [];
  for (let c = 0; c < cells && scale > 0; c++) {
    const span = start[c + 1]! - start[c]!;
    if (span <= DENSE) continue;
    const n = 1 << Math.min(14, Math.ceil(Math.log2(2 * span)));
    sub[c] = pool.length;
    subCells[c] = n;
    for (let s = 0, b = start[c]!; s < n; s++) pool.push((b = below(lo + (c + s / n) / scale, b)));
  }
  return { edges, lo, hi, scale, cells, start, sub, subCells, subStart: Int32Array.from(pool) };
}

/** The bin of `x` (not NaN) under the locator's edges: the number of edges below x. */
export function locate(l: BinLocator, x: number): number {
  const edges = l.edges;
  const e = edges.length;
  if (e === 0 || x <= l.lo) return 0;
  if (x > l.hi) return e;
  const u = (x - l.lo) * l.scale;
  let c = Math.floor(u);
  if (c >= l.cells) c = l.cells - 1;
  const o = l.sub[c]!;
  let b: number;
  let h: number;
  if (o < 0) {
    b = l.start[c]!;
    h = l.start[c + 1]!;
  } else {
    const n = l.subCells[c]!;
    const s = Math.min(n - 1, Math.floor((u - c) * n));
    b = l.subStart[o + s]!;
    h = s + 1 < n ? l.subStart[o + s + 1]! : l.start[c + 1]!;
  }
  // The answer lies in [b, h] unless rounding put x in a neighbouring cell: then search everything.
  if (b > 0 && edges[b - 1]! >= x) return fineBin(edges, x);
  while (b < h) {
    const mid = (b + h) >>> 1;
    if (edges[mid]! < x) b = mid + 1;
    else h = mid;
  }
  return b < e && edges[b]! < x ? fineBin(edges, x) : b;
}
