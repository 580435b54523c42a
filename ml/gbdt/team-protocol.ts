// The shared-memory protocol between the thread that grows a tree and its helper threads. Work is split by
// feature: each thread builds the histograms of its own block of features over all of a node's rows, subtracts,
// and searches its block for the best split. Every feature's sums are made in the same row order as on one
// thread, and the blocks are reduced in feature order with the same tie rule, so the trees, and the ONNX bytes,
// do not depend on the thread count.
import { buildHistogram, FEATURE_SPAN, subtractHistogram } from './histogram.js';
import type { FeatureMeta, SplitConstraints, SplitInfo } from './split.js';
import { findBestSplit } from './split.js';

/** Control words (Int32Array over a SharedArrayBuffer). */
export const CTRL_GENERATION = 0;
export const CTRL_PENDING = 1;
export const CTRL_READY = 2;
/** Set by a helper whose share threw. */
export const CTRL_FAILED = 3;
export const CTRL_SIZE = 4;

/** Task words (Float64Array). */
export const T_OP = 0;
/** Build: histogram slot, rows from the shared row list (1) or all rows 0..end-1 (0), start, end, ordered grads (1). */
export const T_BUILD_SLOT = 1;
export const T_BUILD_ROWS = 2;
export const T_BUILD_START = 3;
export const T_BUILD_END = 4;
export const T_BUILD_ORDERED = 5;
/** Subtract: out slot = parent slot - child slot (out may be parent). -1: none. */
export const T_SUB_OUT = 6;
export const T_SUB_CHILD = 7;
/** Searches: count, then for each: slot, g, h, n, value, feature-list offset, feature-list length. */
export const T_SEARCHES = 8;
/** How many leading entries of the shared feature list are the tree's features. */
export const T_TREE_FEATURES = 9;
export const T_SEARCH_BASE = 10;
export const SEARCH_WORDS = 7;
export const TASK_WORDS = T_SEARCH_BASE + 2 * SEARCH_WORDS;

export const OP_WORK = 1;
export const OP_NEW_FIT = 2;
export const OP_STOP = 3;

/** One split result: found, feature, gain, threshold, missingLeft, gL, hL, nL, gR, hR, nR, leftBins count, bins. */
export const RESULT_WORDS = 12 + 256;

/** Buffers of one fit, shared by every thread of the team. */
export interface FitBuffers {
  readonly binned: Uint8Array;
  readonly stride: number;
  readonly g: Float32Array;
  readonly h: Float32Array;
  readonly og: Float32Array;
  readonly oh: Float32Array;
  readonly rows: Uint32Array;
  /** All histogram slots, `FEATURE_SPAN * featureCount` doubles each. */
  readonly hists: Float64Array;
  /** Tree features (first `treeFeatures` entries) then node feature lists. */
  readonly features: Int32Array;
  readonly meta: FeatureMeta;
  readonly constraints: SplitConstraints;
}

/** Thread `t` of `threads`: its contiguous block of `list[offset .. offset+length)`. */
export function blockOf(
  list: Int32Array,
  offset: number,
  length: number,
  t: number,
  threads: number,
): Int32Array {
  const from = Math.floor((length * t) / threads);
  const to = Math.floor((length * (t + 1)) / threads);
  return list.subarray(offset + from, offset + to);
}

/** The entries of the sorted `list[offset .. offset+length)` that fall within the sorted block `mine`. */
function ownFeatures(list: Int32Array, offset: number, length: number, mine: Int32Array): Int32Array {
  if (mine.length === 0) return list.subarray(offset, offset);
  const lo = mine[0]!;
  const hi = mine[mine.length - 1]!;
  let from = offset;
  const end = offset + length;
  while (from < end && list[from]! < lo) from++;
  let to = from;
  while (to < end && list[to]! <= hi) to++;
  return list.subarray(from, to);
}

export function histSlot(buffers: FitBuffers, slot: number): Float64Array {
  const span = FEATURE_SPAN * buffers.meta.nBins.length;
  return buffers.hists.subarray(slot * span, (slot + 1) * span);
}

function writeResult(out: Float64Array, base: number, s: SplitInfo | null): void {
  out[base] = s ? 1 : 0;
  if (!s) return;
  out[base + 1] = s.feature;
  out[base + 2] = s.gain;
  out[base + 3] = s.binThreshold;
  out[base + 4] = s.missingLeft ? 1 : 0;
  out[base + 5] = s.gLeft;
  out[base + 6] = s.hLeft;
  out[base + 7] = s.nLeft;
  out[base + 8] = s.gRight;
  out[base + 9] = s.hRight;
  out[base + 10] = s.nRight;
  const bins = s.leftBins ?? [];
  out[base + 11] = s.leftBins ? bins.length : -1;
  for (let i = 0; i < bins.length; i++) out[base + 12 + i] = bins[i]!;
}

/** The split written at `base`, or null. */
export function readResult(out: Float64Array, base: number): SplitInfo | null {
  if (out[base] !== 1) return null;
  const count = out[base + 11]!;
  const leftBins: number[] | null = count < 0 ? null : [];
  for (let i = 0; i < count; i++) leftBins!.push(out[base + 12 + i]!);
  return {
    feature: out[base + 1]!,
    gain: out[base + 2]!,
    binThreshold: out[base + 3]!,
    leftBins,
    missingLeft: out[base + 4] === 1,
    gLeft: out[base + 5]!,
    hLeft: out[base + 6]!,
    nLeft: out[base + 7]!,
    gRight: out[base + 8]!,
    hRight: out[base + 9]!,
    nRight: out[base + 10]!,
  };
}

/**
 * Does thread `t`'s share of the task in `task`: builds, subtracts and searches over its feature blocks, and
 * writes its best split of each search into `results` (slot `t * 2 + k`).
 */
export function runShare(
  buffers: FitBuffers,
  task: Float64Array,
  results: Float64Array,
  t: number,
  threads: number,
): void {
  const treeFeatures = task[T_TREE_FEATURES]!;
  const mine = blockOf(buffers.features, 0, treeFeatures, t, threads);
  const build = task[T_BUILD_SLOT]!;
  if (build >= 0) {
    const ordered = task[T_BUILD_ORDERED] === 1;
    buildHistogram(
      histSlot(buffers, build),
      buffers.binned,
      buffers.stride,
      mine,
      buffers.meta.nBins,
      task[T_BUILD_ROWS] === 1 ? buffers.rows : null,
      task[T_BUILD_START]!,
      task[T_BUILD_END]!,
      ordered ? buffers.og : buffers.g,
      ordered ? buffers.oh : buffers.h,
    );
  }
  const out = task[T_SUB_OUT]!;
  if (out >= 0) {
    const slot = histSlot(buffers, out);
    subtractHistogram(slot, slot, histSlot(buffers, task[T_SUB_CHILD]!), mine, buffers.meta.nBins);
  }
  const searches = task[T_SEARCHES]!;
  for (let k = 0; k < searches; k++) {
    const base = T_SEARCH_BASE + k * SEARCH_WORDS;
    // Only the node features whose histograms this thread built: the others may still be in the making.
    const features = ownFeatures(buffers.features, task[base + 5]!, task[base + 6]!, mine);
    const split = findBestSplit(
      histSlot(buffers, task[base]!),
      features,
      buffers.meta,
      { g: task[base + 1]!, h: task[base + 2]!, n: task[base + 3]!, value: task[base + 4]! },
      buffers.constraints,
    );
    writeResult(results, (t * 2 + k) * RESULT_WORDS, split);
  }
}
