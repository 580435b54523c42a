// What a GBDT checkpoint holds: only what changed since the previous checkpoint (the trees grown since, the new
// early-stopping losses), the RNG state, and in the first one the bins. Resuming takes the whole chain, oldest
// first, so a run of T trees checkpointed every step stores each tree once instead of T^2/2 times. Raw scores are
// not stored: they are rebuilt from the trees, adding leaf values in the same order as training did, so they come
// back bit for bit. The training data and parameters are fingerprinted so resuming elsewhere fails loudly.
import { z } from 'zod';
import { decodeCheckpoint, encodeCheckpoint } from '../checkpoint-codec.js';
import type { RngState } from '../rng.js';
import { featureBinningSchema } from './binning.js';
import type { FeatureBinning } from './binning.js';
import { GBDT_NAME } from './params.js';
import type { GbdtParams } from './params.js';
import type { Tree } from './tree.js';
import { treeNodeSchema } from './tree.js';

const uint32 = z.number().int().min(0).max(0xffffffff);

/**
 * One checkpoint of the chain. Version 1 (written before chains) is complete on its own: `fromTree` 0, the bins,
 * every tree and loss. Version 2 holds the trees `fromTree`.. and the losses `fromLoss`.., the bins only when
 * `fromTree` is 0.
 */
export const gbdtCheckpointSchema = z.object({
  version: z.union([z.literal(1), z.literal(2)]),
  /** Parameters as JSON text, compared verbatim on resume. */
  params: z.string(),
  seed: z.number().int(),
  /** FNV-1a of the binned training matrix and labels. */
  fingerprint: z.string(),
  binnings: z.array(featureBinningSchema).optional(),
  baseline: z.number(),
  /** How many trees the checkpoints before this one hold. */
  fromTree: z.number().int().min(0).default(0),
  /** The trees grown since the previous checkpoint. */
  trees: z.array(z.array(treeNodeSchema)),
  rng: z.tuple([uint32, uint32, uint32, uint32]),
  /** How many validation losses the checkpoints before this one hold. */
  fromLoss: z.number().int().min(0).default(0),
  /** Validation losses (after 0, 1, 2... trees; none without early stopping) since the previous checkpoint. */
  validLosses: z.array(z.number()),
  stopped: z.boolean(),
});

/** The state a run resumes from: the whole chain put together. */
export interface GbdtCheckpoint {
  readonly params: GbdtParams;
  readonly seed: number;
  readonly fingerprint: string;
  readonly binnings: readonly FeatureBinning[];
  readonly baseline: number;
  readonly trees: readonly Tree[];
  readonly rng: RngState;
  readonly validLosses: readonly number[];
  readonly stopped: boolean;
}

/**
 * Encodes the checkpoint that follows one holding `fromTree` trees and `fromLoss` losses (0 and 0: the first of the
 * chain, which carries the bins): only the trees and losses since then.
 */
export function encodeGbdtCheckpoint(c: GbdtCheckpoint, from: { tree: number; loss: number }): Uint8Array {
  return encodeCheckpoint(GBDT_NAME, {
    version: 2,
    params: JSON.stringify(c.params),
    seed: c.seed,
    fingerprint: c.fingerprint,
    ...(from.tree === 0 ? { binnings: c.binnings } : {}),
    baseline: c.baseline,
    fromTree: from.tree,
    trees: c.trees.slice(from.tree),
    rng: c.rng,
    fromLoss: from.loss,
    validLosses: c.validLosses.slice(from.loss),
    stopped: c.stopped,
  });
}

function checkParams(saved: string, params: GbdtParams): void {
  const before = JSON.parse(saved) as Record<string, unknown>;
  const current = params as Record<string, unknown>;
  for (const key of new Set([...Object.keys(before), ...Object.keys(current)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(current[key])) {
      throw new Error(
        `gbdt: resumeFrom was written with parameter "${key}" = ${JSON.stringify(before[key])}, but this run has ${JSON.stringify(current[key])}`,
      );
    }
  }
}

/**
 * Decodes a checkpoint chain (oldest first; one complete checkpoint also does) into the state to resume from, and
 * checks that every link was written with these parameters and seed, for the same data, and that no link is
 * missing. The caller checks the data fingerprint once it has binned the data with the checkpoint's bins.
 */
export function decodeGbdtCheckpoint(
  chain: Uint8Array | readonly Uint8Array[],
  params: GbdtParams,
  seed: number,
): Omit<GbdtCheckpoint, 'params'> {
  const pieces = chain instanceof Uint8Array ? [chain] : chain;
  if (pieces.length === 0) throw new Error('gbdt: resumeFrom is an empty checkpoint chain');
  const trees: Tree[] = [];
  const validLosses: number[] = [];
  let first: z.output<typeof gbdtCheckpointSchema> | undefined;
  let last: z.output<typeof gbdtCheckpointSchema> | undefined;
  for (const [i, bytes] of pieces.entries()) {
    const state = decodeCheckpoint(GBDT_NAME, bytes, gbdtCheckpointSchema);
    checkParams(state.params, params);
    if (state.seed !== seed)
      throw new Error(`gbdt: resumeFrom was written with seed ${state.seed}, but this run has seed ${seed}`);
    if (state.fromTree !== trees.length || state.fromLoss !== validLosses.length) {
      throw new Error(
        `gbdt: resumeFrom is incomplete: checkpoint ${i + 1} of ${pieces.length} follows ${state.fromTree} trees, but the checkpoints before it hold ${trees.length}`,
      );
    }
    if (first && state.fingerprint !== first.fingerprint)
      throw new Error('gbdt: resumeFrom mixes checkpoints of different training data');
    first ??= state;
    trees.push(...state.trees);
    validLosses.push(...state.validLosses);
    last = state;
  }
  if (!first?.binnings) throw new Error('gbdt: resumeFrom is incomplete: its first checkpoint has no bins');
  return {
    seed,
    fingerprint: first.fingerprint,
    binnings: first.binnings,
    baseline: first.baseline,
    trees,
    rng: last!.rng,
    validLosses,
    stopped: last!.stopped,
  };
}

/** FNV-1a over bytes, as 8 hex digits. */
export function fingerprintBytes(...arrays: readonly Uint8Array[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    h = Math.imul(h ^ a.length, 0x01000193);
    for (let i = 0; i < a.length; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
