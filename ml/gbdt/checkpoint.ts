// What a GBDT checkpoint holds: the bins, the trees so far, the RNG state and the early-stopping history. Raw
// scores are not stored: they are rebuilt from the trees, adding leaf values in the same order as training did, so
// they come back bit for bit. The training data and parameters are fingerprinted so resuming elsewhere fails loudly.
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

export const gbdtCheckpointSchema = z.object({
  version: z.literal(1),
  /** Parameters as JSON text, compared verbatim on resume. */
  params: z.string(),
  seed: z.number().int(),
  /** FNV-1a of the binned training matrix and labels. */
  fingerprint: z.string(),
  binnings: z.array(featureBinningSchema),
  baseline: z.number(),
  trees: z.array(z.array(treeNodeSchema)),
  rng: z.tuple([uint32, uint32, uint32, uint32]),
  /** Validation loss after 0, 1, 2... trees (empty without early stopping). */
  validLosses: z.array(z.number()),
  stopped: z.boolean(),
});

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

export function encodeGbdtCheckpoint(c: GbdtCheckpoint): Uint8Array {
  return encodeCheckpoint(GBDT_NAME, { ...c, version: 1, params: JSON.stringify(c.params) });
}

/**
 * Decodes checkpoint bytes and checks that they were written with these parameters and seed (the caller checks
 * the data fingerprint once it has binned the data with the checkpoint's bins).
 */
export function decodeGbdtCheckpoint(
  bytes: Uint8Array,
  params: GbdtParams,
  seed: number,
): Omit<GbdtCheckpoint, 'params'> {
  const state = decodeCheckpoint(GBDT_NAME, bytes, gbdtCheckpointSchema);
  const saved = JSON.parse(state.params) as Record<string, unknown>;
  const current = params as Record<string, unknown>;
  for (const key of new Set([...Object.keys(saved), ...Object.keys(current)])) {
    if (JSON.stringify(saved[key]) !== JSON.stringify(current[key])) {
      throw new Error(
        `gbdt: resumeFrom was written with parameter "${key}" = ${JSON.stringify(saved[key])}, but this run has ${JSON.stringify(current[key])}`,
      );
    }
  }
  if (state.seed !== seed)
    throw new Error(`gbdt: resumeFrom was written with seed ${state.seed}, but this run has seed ${seed}`);
  return state;
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
