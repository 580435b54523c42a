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
 * The bin of `x` under ascending `edges` (right-closed, as binning.ts): the number of edges below x. The loop is
 * the hot path of a window comparison, hence typed arrays and no function call per step.
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
