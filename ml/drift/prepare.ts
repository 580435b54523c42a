/**
 * A drift reference turned into typed arrays once, for every window compared against it (the monitor keeps one per
 * model version). Checks the reference's shape, since it comes back from storage as JSON.
 */
import {
  binLocator,
  categoricalReferenceCounts,
  categorySlotMap,
  fineBin,
  type BinLocator,
} from './buckets.js';
import type { CategoricalDriftReference, DriftReference, NumericDriftReference } from './reference.js';

export interface PreparedNumeric {
  readonly kind: 'numeric';
  readonly ref: NumericDriftReference;
  readonly fineEdges: Float64Array;
  /** Finds a value's fine bin in a few steps. */
  readonly locator: BinLocator;
  readonly fineCounts: Float64Array;
  /** Coarse bin of each fine bin. */
  readonly coarseOfFine: Int32Array;
  /** Coarse counts (with the infinities), then the missing count. */
  readonly coarseCounts: Float64Array;
  readonly sample: Float64Array;
}

export interface PreparedCategorical {
  readonly kind: 'categorical';
  readonly ref: CategoricalDriftReference;
  readonly slotOf: ReadonlyMap<string, number>;
  /** Counts per bucket (buckets.ts layout). */
  readonly counts: Float64Array;
}

export type PreparedFeature = PreparedNumeric | PreparedCategorical;

export interface PreparedReference {
  readonly reference: DriftReference;
  readonly features: readonly PreparedFeature[];
}

/** Thrown for a drift reference whose shape is wrong (not one this module wrote, or damaged). */
export class DriftReferenceError extends Error {
  override readonly name = 'DriftReferenceError';
}

function strictlyIncreasing(values: readonly number[]): boolean {
  for (let i = 1; i < values.length; i++) if (!(values[i]! > values[i - 1]!)) return false;
  return values.every(Number.isFinite);
}

function prepareNumeric(ref: NumericDriftReference): PreparedNumeric {
  const problem = (what: string): never => {
    throw new DriftReferenceError(`drift reference feature "${ref.name}": ${what}`);
  };
  if (!strictlyIncreasing(ref.fine.edges)) problem('fine.edges are not strictly increasing finite numbers');
  if (!strictlyIncreasing(ref.bins.edges)) problem('bins.edges are not strictly increasing finite numbers');
  if (ref.fine.counts.length !== ref.fine.edges.length + 1) problem('fine.counts does not match fine.edges');
  if (ref.bins.counts.length !== ref.bins.edges.length + 1) problem('bins.counts does not match bins.edges');
  const fineEdges = Float64Array.from(ref.fine.edges);
  const coarseEdges = Float64Array.from(ref.bins.edges);
  for (const e of coarseEdges) {
    const at = fineBin(fineEdges, e);
    if (fineEdges[at] !== e) problem(`coarse edge ${e} is not a fine edge`);
  }
  const coarseOfFine = new Int32Array(fineEdges.length + 1);
  for (let f = 0; f < fineEdges.length; f++) coarseOfFine[f] = fineBin(coarseEdges, fineEdges[f]!);
  coarseOfFine[fineEdges.length] = coarseEdges.length;
  const coarseCounts = new Float64Array(coarseEdges.length + 2);
  ref.bins.counts.forEach((c, i) => (coarseCounts[i] = c));
  coarseCounts[coarseEdges.length + 1] = ref.missingCount;
  const sample = Float64Array.from(ref.sample);
  for (let i = 1; i < sample.length; i++)
    if (!(sample[i]! >= sample[i - 1]!)) problem('sample is not sorted');
  return {
    kind: 'numeric',
    ref,
    fineEdges,
    locator: binLocator(fineEdges),
    fineCounts: Float64Array.from(ref.fine.counts),
    coarseOfFine,
    coarseCounts,
    sample,
  };
}

function prepareCategorical(ref: CategoricalDriftReference): PreparedCategorical {
  if (ref.categories.length !== ref.counts.length)
    throw new DriftReferenceError(
      `drift reference feature "${ref.name}": categories and counts differ in length`,
    );
  return { kind: 'categorical', ref, slotOf: categorySlotMap(ref), counts: categoricalReferenceCounts(ref) };
}

const cache = new WeakMap<DriftReference, PreparedReference>();

/** The prepared form of `reference`, computed once per reference object. */
export function prepareReference(reference: DriftReference): PreparedReference {
  const cached = cache.get(reference);
  if (cached) return cached;
  const features: unknown = reference.features;
  if (reference.version !== 1 || !Array.isArray(features))
    throw new DriftReferenceError(
      `not a drift reference of version 1 (version ${String(reference.version)})`,
    );
  const prepared = {
    reference,
    features: reference.features.map((f) =>
      f.kind === 'numeric' ? prepareNumeric(f) : prepareCategorical(f),
    ),
  };
  cache.set(reference, prepared);
  return prepared;
}
