// Moving rows between nodes: each node owns a contiguous range of one index array, and a split partitions its
// range in place, stably, so rows stay in increasing order and the binned columns are read nearly sequentially.
import type { SplitInfo } from './split.js';
import { goesLeftTable } from './tree.js';

export interface PartitionBuffers {
  readonly rows: Uint32Array;
  readonly binned: Uint8Array;
  readonly stride: number;
  readonly g: Float32Array;
  readonly h: Float32Array;
  readonly scratch: Uint32Array;
  readonly og: Float32Array;
  readonly oh: Float32Array;
}

/** Copies the gradients/hessians of `rows[start..end)` into og/oh, in row order. */
export function gatherGradients(
  rows: Uint32Array,
  start: number,
  end: number,
  g: Float32Array,
  h: Float32Array,
  og: Float32Array,
  oh: Float32Array,
): void {
  for (let i = start, k = 0; i < end; i++, k++) {
    const r = rows[i]!;
    og[k] = g[r]!;
    oh[k] = h[r]!;
  }
}

/**
 * Stable in-place partition of `rows[start..end)` by a split; returns where the right child starts. With
 * `gather`, the gradients/hessians of the smaller child's rows are gathered into og/oh on the way, ready for its
 * histogram (the left child when it is strictly smaller, else the right one).
 */
export function partitionRows(
  b: PartitionBuffers,
  start: number,
  end: number,
  split: SplitInfo,
  gather: boolean,
): number {
  const { rows, g, h, scratch, og, oh } = b;
  const lut = goesLeftTable(split);
  const col = b.binned.subarray(split.feature * b.stride, (split.feature + 1) * b.stride);
  let l = start;
  let r = 0;
  if (!gather) {
    for (let i = start; i < end; i++) {
      const row = rows[i]!;
      if (lut[col[row]!] === 1) rows[l++] = row;
      else scratch[r++] = row;
    }
  } else if (split.nLeft < split.nRight) {
    for (let i = start; i < end; i++) {
      const row = rows[i]!;
      if (lut[col[row]!] === 1) {
        og[l - start] = g[row]!;
        oh[l - start] = h[row]!;
        rows[l++] = row;
      } else scratch[r++] = row;
    }
  } else {
    for (let i = start; i < end; i++) {
      const row = rows[i]!;
      if (lut[col[row]!] === 1) rows[l++] = row;
      else {
        og[r] = g[row]!;
        oh[r] = h[row]!;
        scratch[r++] = row;
      }
    }
  }
  rows.set(scratch.subarray(0, r), l);
  return l;
}
