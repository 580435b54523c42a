// Everything before the first tree: the early-stopping decision, the stratified validation carve, the bins and
// the binned matrices. It depends only on the data, the parameters and the seed, so a resumed run redoes it and
// gets the same rows (it takes the bins from the checkpoint instead of learning them again).
import type { Rng } from '../rng.js';
import { createRng } from '../rng.js';
import type { TrainingData } from '../trainer.js';
import type { FeatureBinning } from './binning.js';
import { binFrame, fitBinning } from './binning.js';
import type { GbdtParams } from './params.js';

export interface BinnedSet {
  /** Column-major, `stride` rows. */
  readonly binned: Uint8Array;
  readonly stride: number;
  readonly labels: Uint8Array;
}

export interface PreparedTraining extends BinnedSet {
  readonly binnings: FeatureBinning[];
  readonly valid: BinnedSet | null;
  readonly earlyStopping: boolean;
}

/** Rows of each class shuffled, the first `fraction` of each to validation; both lists in increasing order. */
function stratifiedSplit(
  labels: Uint8Array,
  fraction: number,
  rng: Rng,
): { train: Uint32Array; valid: Uint32Array } {
  const isValid = new Uint8Array(labels.length);
  for (const cls of [0, 1]) {
    const members: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === cls) members.push(i);
    const take = Math.round(fraction * members.length);
    for (let i = 0; i < take; i++) {
      const j = i + rng.nextInt(members.length - i);
      const tmp = members[i]!;
      members[i] = members[j]!;
      members[j] = tmp;
      isValid[members[i]!] = 1;
    }
  }
  let validCount = 0;
  for (let i = 0; i < isValid.length; i++) validCount += isValid[i]!;
  const train = new Uint32Array(labels.length - validCount);
  const valid = new Uint32Array(validCount);
  for (let i = 0, t = 0, v = 0; i < labels.length; i++) {
    if (isValid[i] === 1) valid[v++] = i;
    else train[t++] = i;
  }
  return { train, valid };
}

function pick(labels: Uint8Array, rows: Uint32Array | null): Uint8Array {
  return rows ? Uint8Array.from(rows, (r) => labels[r]!) : labels;
}

/**
 * Splits off validation rows when early stopping needs them and no `validation` set is given, learns the bins on
 * the training rows (or takes `savedBinnings` from a checkpoint) and bins both sets.
 */
export function prepareTraining(
  data: TrainingData,
  params: GbdtParams,
  seed: number,
  validation: TrainingData | undefined,
  savedBinnings: readonly FeatureBinning[] | undefined,
): PreparedTraining {
  const n = data.features.rowCount;
  const earlyStopping =
    params.earlyStopping === 'auto' ? validation !== undefined || n > 10_000 : params.earlyStopping;
  const rng = createRng(seed);
  let trainRows: Uint32Array | null = null;
  let validRows: Uint32Array | null = null;
  if (earlyStopping && !validation) {
    const split = stratifiedSplit(data.labels, params.validationFraction, rng);
    trainRows = split.train;
    validRows = split.valid;
    if (trainRows.length < 2 || validRows.length === 0) {
      throw new Error(
        `gbdt: ${n} rows are too few to hold out validationFraction=${params.validationFraction} for early stopping`,
      );
    }
  }
  const all = trainRows ?? Uint32Array.from({ length: n }, (_, i) => i);
  const binnings = savedBinnings
    ? savedBinnings.map((b) => ({ ...b }))
    : fitBinning(data.features, all, params.maxBins, rng);
  if (savedBinnings && binnings.length !== data.features.columns.length) {
    throw new Error(
      `gbdt: resumeFrom has ${binnings.length} features, but the training data has ${data.features.columns.length}`,
    );
  }
  const binned = binFrame(binnings, data.features, trainRows, !savedBinnings);
  let valid: BinnedSet | null = null;
  if (validation) {
    valid = {
      binned: binFrame(binnings, validation.features, null, false),
      stride: validation.features.rowCount,
      labels: validation.labels,
    };
  } else if (validRows) {
    valid = {
      binned: binFrame(binnings, data.features, validRows, false),
      stride: validRows.length,
      labels: pick(data.labels, validRows),
    };
  }
  return { binnings, binned, stride: all.length, labels: pick(data.labels, trainRows), valid, earlyStopping };
}
