// The trees of a fitted ensemble, in a JSON-safe form (checkpoints carry them), and their evaluation on binned rows.
import { z } from 'zod';
import { MISSING_BIN } from './binning.js';

export const treeNodeSchema = z.object({
  /** Split feature, or -1 for a leaf. */
  feature: z.number().int(),
  /** Numeric split: bins <= binThreshold go left. */
  binThreshold: z.number().int(),
  /** Categorical split: the bins that go left (the missing bin never appears here). */
  leftBins: z.array(z.number().int()).nullable(),
  missingLeft: z.boolean(),
  left: z.number().int(),
  right: z.number().int(),
  /** Leaf value, already multiplied by the learning rate; 0 for internal nodes. */
  value: z.number(),
  /** Loss reduction of the split (0 for leaves), for feature importances. */
  gain: z.number(),
  /** Training rows that reached the node. */
  count: z.number(),
});

export type TreeNode = z.infer<typeof treeNodeSchema>;
/** Node 0 is the root. */
export type Tree = TreeNode[];

/** A 256-entry table: 1 when a row in that bin goes left at this node. */
export function goesLeftTable(node: Pick<TreeNode, 'binThreshold' | 'leftBins' | 'missingLeft'>): Uint8Array {
  const lut = new Uint8Array(256);
  if (node.leftBins) for (const b of node.leftBins) lut[b] = 1;
  else for (let b = 0; b <= node.binThreshold && b < MISSING_BIN; b++) lut[b] = 1;
  lut[MISSING_BIN] = node.missingLeft ? 1 : 0;
  return lut;
}

/** A tree flattened into typed arrays for fast evaluation over many binned rows. */
interface CompiledTree {
  readonly feature: Int32Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
  readonly lut: Uint8Array;
}

function compile(tree: Tree): CompiledTree {
  const n = tree.length;
  const out: CompiledTree = {
    feature: new Int32Array(n),
    left: new Int32Array(n),
    right: new Int32Array(n),
    value: new Float64Array(n),
    lut: new Uint8Array(n * 256),
  };
  tree.forEach((node, i) => {
    out.feature[i] = node.feature;
    out.left[i] = node.left;
    out.right[i] = node.right;
    out.value[i] = node.value;
    if (node.feature >= 0) out.lut.set(goesLeftTable(node), i * 256);
  });
  return out;
}

/**
 * Adds the tree's leaf value to `raw[i]` for every row i of a column-major binned matrix with `stride` rows
 * (only the rows listed in `rows` when given).
 */
export function addTreeBinned(
  tree: Tree,
  binned: Uint8Array,
  stride: number,
  raw: Float64Array,
  rows?: Uint32Array,
): void {
  const t = compile(tree);
  const count = rows ? rows.length : stride;
  for (let k = 0; k < count; k++) {
    const i = rows ? rows[k]! : k;
    let node = 0;
    let f = t.feature[0]!;
    while (f >= 0) {
      node = t.lut[node * 256 + binned[f * stride + i]!] === 1 ? t.left[node]! : t.right[node]!;
      f = t.feature[node]!;
    }
    raw[i] = raw[i]! + t.value[node]!;
  }
}
