// Leaf-wise (best-first) growth of one regression tree on gradients and hessians, as LightGBM and scikit-learn's
// TreeGrower do: always split the leaf whose best split has the largest gain, until `maxLeafNodes` leaves.
// Rows live in one index array; each node owns a contiguous range of it, and a split partitions that range in
// place (stably, so rows stay in increasing order and the binned columns are read nearly sequentially).
import type { Rng } from '../rng.js';
import { buildHistogram, FEATURE_SPAN, histogramTotals, subtractHistogram } from './histogram.js';
import type { FeatureMeta, SplitConstraints, SplitInfo } from './split.js';
import { findBestSplit, nodeValue } from './split.js';
import type { Tree, TreeNode } from './tree.js';
import { gatherGradients, partitionRows } from './partition.js';
import type { Team } from './team.js';
import {
  SEARCH_WORDS,
  T_BUILD_END,
  T_BUILD_ORDERED,
  T_BUILD_ROWS,
  T_BUILD_SLOT,
  T_BUILD_START,
  T_SEARCH_BASE,
  T_SEARCHES,
  T_SUB_CHILD,
  T_SUB_OUT,
  T_TREE_FEATURES,
  type FitBuffers,
} from './team-protocol.js';

/** Threads that grow the tree with this one: their team and the fit's shared buffers (histograms included). */
export interface TeamContext {
  readonly team: Team;
  readonly buffers: FitBuffers;
}

export interface GrowSettings extends SplitConstraints {
  readonly maxLeafNodes: number;
  readonly maxDepth: number | null;
  readonly learningRate: number;
  readonly colsampleByNode: number;
}

/** Buffers reused across trees, sized for the training rows. */
export interface GrowBuffers {
  readonly scratch: Uint32Array;
  readonly og: Float32Array;
  readonly oh: Float32Array;
  readonly pool: Float64Array[];
}

export interface GrowInput {
  /** Column-major binned training matrix with `stride` rows. */
  readonly binned: Uint8Array;
  readonly stride: number;
  readonly meta: FeatureMeta;
  readonly g: Float32Array;
  readonly h: Float32Array;
  /** The rows of this tree (increasing); reordered in place. When it lists every row, `allRows` is set. */
  readonly rows: Uint32Array;
  readonly allRows: boolean;
  /** Features this tree may use (increasing). */
  readonly features: Int32Array;
  readonly settings: GrowSettings;
  readonly rng: Rng;
  readonly buffers: GrowBuffers;
  /** Present when helper threads share the histogram and split-search work. */
  readonly team?: TeamContext;
}

export interface GrownTree {
  readonly tree: Tree;
  /** For each leaf, its node id and its range in `rows` after partitioning. */
  readonly leaves: ReadonlyArray<{ readonly node: number; readonly start: number; readonly end: number }>;
}

interface Growing {
  readonly id: number;
  readonly start: number;
  readonly end: number;
  readonly depth: number;
  readonly g: number;
  readonly h: number;
  readonly value: number;
  hist: Float64Array | null;
  split: SplitInfo | null;
}

/** Creates the reusable buffers for a training set of `rowCount` rows. */
export function createGrowBuffers(rowCount: number): GrowBuffers {
  return {
    scratch: new Uint32Array(rowCount),
    og: new Float32Array(rowCount),
    oh: new Float32Array(rowCount),
    pool: [],
  };
}

function takeHist(input: GrowInput): Float64Array {
  const hist = input.buffers.pool.pop();
  if (hist) return hist;
  // With a team every histogram lives in shared memory, in slots sized up front.
  if (input.team) throw new Error('gbdt: out of shared histogram slots');
  return new Float64Array(input.meta.nBins.length * FEATURE_SPAN);
}

/** Index of a shared histogram slot. */
function slotOf(hist: Float64Array): number {
  return hist.byteOffset / (hist.length * 8);
}

/** Clears the team's task: no build, no subtraction, no search. */
function resetTask(task: Float64Array): void {
  task[T_BUILD_SLOT] = -1;
  task[T_SUB_OUT] = -1;
  task[T_SEARCHES] = 0;
}

/** Adds a split search of `hist` over `features` to the team's task (the list goes to shared slot `k`). */
function addSearch(
  team: TeamContext,
  k: number,
  hist: Float64Array,
  totals: { g: number; h: number; n: number; value: number },
  features: Int32Array,
): void {
  const { task } = team.team;
  const offset = team.buffers.meta.nBins.length * (k + 1);
  team.buffers.features.set(features, offset);
  const base = T_SEARCH_BASE + k * SEARCH_WORDS;
  task[base] = slotOf(hist);
  task[base + 1] = totals.g;
  task[base + 2] = totals.h;
  task[base + 3] = totals.n;
  task[base + 4] = totals.value;
  task[base + 5] = offset;
  task[base + 6] = features.length;
  task[T_SEARCHES] = k + 1;
}

function setBuild(
  team: TeamContext,
  hist: Float64Array,
  rows: boolean,
  start: number,
  end: number,
  ordered: boolean,
): void {
  const { task } = team.team;
  task[T_BUILD_SLOT] = slotOf(hist);
  task[T_BUILD_ROWS] = rows ? 1 : 0;
  task[T_BUILD_START] = start;
  task[T_BUILD_END] = end;
  task[T_BUILD_ORDERED] = ordered ? 1 : 0;
}

function nodeFeatures(input: GrowInput): Int32Array {
  const { features, settings, rng } = input;
  if (settings.colsampleByNode >= 1) return features;
  const k = Math.max(1, Math.ceil(settings.colsampleByNode * features.length));
  const pick = Int32Array.from(features);
  for (let i = 0; i < k; i++) {
    const j = i + rng.nextInt(pick.length - i);
    const tmp = pick[i]!;
    pick[i] = pick[j]!;
    pick[j] = tmp;
  }
  return pick.subarray(0, k).sort();
}

/** Builds `hist` for the rows `rows[start..end)` (all rows when `rows` is null), whose gradients are in og/oh. */
function histogramOf(
  input: GrowInput,
  hist: Float64Array,
  rows: Uint32Array | null,
  start: number,
  end: number,
  og: Float32Array,
  oh: Float32Array,
): void {
  buildHistogram(
    hist,
    input.binned,
    input.stride,
    input.features,
    input.meta.nBins,
    rows,
    start,
    end,
    og,
    oh,
  );
}

function splitAsNode(s: SplitInfo): TreeNode {
  return {
    feature: s.feature,
    binThreshold: s.binThreshold,
    leftBins: s.leftBins,
    missingLeft: s.missingLeft,
    left: -1,
    right: -1,
    value: 0,
    gain: s.gain,
    count: s.nLeft + s.nRight,
  };
}

/** Grows one tree; leaf values are -G/(H + lambda) times the learning rate (the root alone predicts 0, as in scikit-learn). */
export function growTree(input: GrowInput): GrownTree {
  const { settings, meta } = input;
  const nodes: TreeNode[] = [];
  const newNode = (count: number): number => {
    nodes.push({
      feature: -1,
      binThreshold: -1,
      leftBins: null,
      missingLeft: false,
      left: -1,
      right: -1,
      value: 0,
      gain: 0,
      count,
    });
    return nodes.length - 1;
  };
  const leaves: Growing[] = [];
  const open: Growing[] = [];
  const release = (n: Growing): void => {
    if (n.hist) input.buffers.pool.push(n.hist);
    n.hist = null;
  };
  const finalize = (n: Growing): void => {
    release(n);
    leaves.push(n);
  };
  const place = (n: Growing, split: SplitInfo | null): void => {
    n.split = split;
    if (n.split) open.push(n);
    else finalize(n);
  };
  const { team } = input;
  const evaluate = (n: Growing): void => {
    const totals = { g: n.g, h: n.h, n: n.end - n.start, value: n.value };
    if (!team) {
      place(n, findBestSplit(n.hist!, nodeFeatures(input), meta, totals, settings));
      return;
    }
    resetTask(team.team.task);
    addSearch(team, 0, n.hist!, totals, nodeFeatures(input));
    team.team.run();
    place(n, team.team.bestSplit(0));
  };

  const rootHist = takeHist(input);
  const m = input.rows.length;
  if (!input.allRows) gatherGradients(input.rows, 0, m, input.g, input.h, input.buffers.og, input.buffers.oh);
  if (team) {
    team.buffers.features.set(input.features, 0);
    team.team.task[T_TREE_FEATURES] = input.features.length;
    resetTask(team.team.task);
    setBuild(team, rootHist, !input.allRows, 0, m, !input.allRows);
    team.team.run();
  } else if (input.allRows) histogramOf(input, rootHist, null, 0, m, input.g, input.h);
  else histogramOf(input, rootHist, input.rows, 0, m, input.buffers.og, input.buffers.oh);
  const totals =
    input.features.length > 0
      ? histogramTotals(rootHist, input.features[0]!, meta.nBins[input.features[0]!]!)
      : { g: 0, h: 0, count: m };
  const root: Growing = {
    id: newNode(m),
    start: 0,
    end: m,
    depth: 0,
    g: totals.g,
    h: totals.h,
    value: 0,
    hist: rootHist,
    split: null,
  };
  if (m < 2 * settings.minSamplesLeaf || totals.h < settings.minHessianToSplit || input.features.length === 0)
    finalize(root);
  // The root's own value only shifts every candidate's gain by the same amount; using the real one keeps the
  // reported gains (feature importances) meaningful.
  else evaluate({ ...root, value: nodeValue(totals.g, totals.h, settings.l2Regularization) });

  let leafCount = 1;
  while (open.length > 0 && leafCount < settings.maxLeafNodes) {
    let bestIndex = 0;
    for (let i = 1; i < open.length; i++)
      if (open[i]!.split!.gain > open[bestIndex]!.split!.gain) bestIndex = i;
    const parent = open.splice(bestIndex, 1)[0]!;
    const s = parent.split!;
    const depth = parent.depth + 1;
    const atLimit =
      leafCount + 1 >= settings.maxLeafNodes || (settings.maxDepth !== null && depth >= settings.maxDepth);
    const splitLeft = !atLimit && s.nLeft >= 2 * settings.minSamplesLeaf;
    const splitRight = !atLimit && s.nRight >= 2 * settings.minSamplesLeaf;
    const mid = partitionRows(
      {
        rows: input.rows,
        binned: input.binned,
        stride: input.stride,
        g: input.g,
        h: input.h,
        ...input.buffers,
      },
      parent.start,
      parent.end,
      s,
      splitLeft || splitRight,
    );
    if (meta.hasMissing[s.feature] === 0) s.missingLeft = s.nLeft > s.nRight;
    const left: Growing = {
      id: newNode(mid - parent.start),
      start: parent.start,
      end: mid,
      depth,
      g: s.gLeft,
      h: s.hLeft,
      value: nodeValue(s.gLeft, s.hLeft, settings.l2Regularization),
      hist: null,
      split: null,
    };
    const right: Growing = {
      id: newNode(parent.end - mid),
      start: mid,
      end: parent.end,
      depth,
      g: s.gRight,
      h: s.hRight,
      value: nodeValue(s.gRight, s.hRight, settings.l2Regularization),
      hist: null,
      split: null,
    };
    nodes[parent.id] = { ...splitAsNode(s), left: left.id, right: right.id };
    leafCount++;
    if ((splitLeft || splitRight) && team) {
      // One task for the helpers: the smaller child's histogram, the larger one by subtraction, and the best
      // split of each child that may split (node features drawn left then right, as evaluate() draws them).
      const [small, large] = s.nLeft < s.nRight ? [left, right] : [right, left];
      small.hist = takeHist(input);
      large.hist = parent.hist!;
      parent.hist = null;
      resetTask(team.team.task);
      setBuild(team, small.hist, true, small.start, small.end, true);
      team.team.task[T_SUB_OUT] = slotOf(large.hist);
      team.team.task[T_SUB_CHILD] = slotOf(small.hist);
      const searched = [splitLeft ? left : null, splitRight ? right : null].filter((n) => n !== null);
      searched.forEach((n, k) =>
        addSearch(
          team,
          k,
          n.hist!,
          { g: n.g, h: n.h, n: n.end - n.start, value: n.value },
          nodeFeatures(input),
        ),
      );
      team.team.run();
      const splits = searched.map((_, k) => team.team.bestSplit(k));
      if (splitLeft) place(left, splits[0]!);
      else finalize(left);
      if (splitRight) place(right, splits[splitLeft ? 1 : 0]!);
      else finalize(right);
      continue;
    }
    if (splitLeft || splitRight) {
      // partition() gathered the smaller child's gradients (same rule: left when strictly smaller).
      const [small, large] = s.nLeft < s.nRight ? [left, right] : [right, left];
      small.hist = takeHist(input);
      histogramOf(input, small.hist, input.rows, small.start, small.end, input.buffers.og, input.buffers.oh);
      large.hist = parent.hist!;
      parent.hist = null;
      subtractHistogram(large.hist, large.hist, small.hist, input.features, meta.nBins);
    } else release(parent);
    if (splitLeft) evaluate(left);
    else finalize(left);
    if (splitRight) evaluate(right);
    else finalize(right);
  }
  for (const n of open) finalize(n);

  const isRootOnly = nodes.length === 1;
  for (const n of leaves) {
    const value = isRootOnly ? 0 : settings.learningRate * n.value;
    // -0 would survive in ONNX bytes but not in a JSON checkpoint; +0 keeps resumed models byte-identical.
    nodes[n.id] = { ...nodes[n.id]!, value: value === 0 ? 0 : value };
  }
  leaves.sort((a, b) => a.id - b.id);
  return { tree: nodes, leaves: leaves.map((n) => ({ node: n.id, start: n.start, end: n.end })) };
}
