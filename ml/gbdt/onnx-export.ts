// ONNX export of a fitted ensemble as one ai.onnx.ml TreeEnsemble node (ai.onnx.ml opset 5), which onnxruntime 1.30
// runs in double precision with native category-set splits (BRANCH_MEMBER) and per-node missing directions:
//   numeric input float [N,1] -> Cast double; categorical input string [N,1] -> LabelEncoder (bin number, NaN
//   when missing or unknown) -> Cast double; Concat -> TreeEnsemble -> logit -> the shared classifier head.
// The baseline is a first one-leaf tree, so onnxruntime adds it first, as `predictRaw` does.
// The shared builder writes int/float attributes only and declares ai.onnx.ml opset 3; the TreeEnsemble node's
// tensor attributes and the opset it needs are added to the serialized model afterwards.
import onnxProto from 'onnx-proto';
import { emitBinaryOutputs } from '../classifier-onnx.js';
import type { OnnxBuilder } from '../onnx-builder.js';
import { attr, createOnnxBuilder, ONNX_ML_DOMAIN } from '../onnx-builder.js';
import type { FeatureBinning } from './binning.js';
import { splitThreshold } from './predict.js';
import type { Tree } from './tree.js';

const { onnx } = onnxProto;

/** ai.onnx.ml opset of the TreeEnsemble operator. */
export const TREE_ENSEMBLE_ML_OPSET = 5;
/** IR version that goes with ai.onnx.ml opset 5 (ONNX 1.16). */
const TREE_ENSEMBLE_IR_VERSION = 10;
const DOUBLE = 11;
const UINT8 = 2;
const BRANCH_LEQ = 0;
const BRANCH_MEMBER = 6;

export interface EnsembleForExport {
  readonly binnings: readonly FeatureBinning[];
  readonly baseline: number;
  readonly trees: readonly Tree[];
}

interface FlatEnsemble {
  readonly ints: Record<string, number[]>;
  readonly modes: number[];
  readonly splits: number[];
  readonly leafWeights: number[];
  readonly members: number[];
}

/** Flattens trees into TreeEnsemble's parallel arrays; leaves live in their own array, referenced by index. */
function flatten(e: EnsembleForExport): FlatEnsemble {
  const ints: Record<string, number[]> = {
    nodes_featureids: [],
    nodes_truenodeids: [],
    nodes_trueleafs: [],
    nodes_falsenodeids: [],
    nodes_falseleafs: [],
    nodes_missing_value_tracks_true: [],
    tree_roots: [],
    leaf_targetids: [],
  };
  const push = (key: string, v: number): void => void ints[key]!.push(v);
  const flat: FlatEnsemble = { ints, modes: [], splits: [], leafWeights: [], members: [] };
  const addLeaf = (value: number): number => {
    flat.leafWeights.push(value);
    push('leaf_targetids', 0);
    return flat.leafWeights.length - 1;
  };
  // A one-leaf tree has no split node, so it becomes a node whose two branches reach the same leaf.
  const addConstant = (value: number): void => {
    const leaf = addLeaf(value);
    push('tree_roots', flat.modes.length);
    flat.modes.push(BRANCH_LEQ);
    flat.splits.push(0);
    for (const [key, v] of [
      ['nodes_featureids', 0],
      ['nodes_truenodeids', leaf],
      ['nodes_trueleafs', 1],
      ['nodes_falsenodeids', leaf],
      ['nodes_falseleafs', 1],
      ['nodes_missing_value_tracks_true', 0],
    ] as const)
      push(key, v);
  };
  addConstant(e.baseline);
  for (const tree of e.trees) {
    const root = tree[0]!;
    if (root.feature < 0) {
      addConstant(root.value);
      continue;
    }
    // Internal nodes get consecutive ids in depth-first order; children are resolved after numbering.
    const ids = new Map<number, number>();
    const order: number[] = [];
    const stack = [0];
    while (stack.length > 0) {
      const id = stack.pop()!;
      const node = tree[id]!;
      if (node.feature < 0) continue;
      ids.set(id, flat.modes.length + order.length);
      order.push(id);
      stack.push(node.right, node.left);
    }
    push('tree_roots', flat.modes.length);
    for (const id of order) {
      const node = tree[id]!;
      const binning = e.binnings[node.feature]!;
      push('nodes_featureids', node.feature);
      push('nodes_missing_value_tracks_true', node.missingLeft ? 1 : 0);
      if (node.leftBins) {
        flat.modes.push(BRANCH_MEMBER);
        flat.splits.push(0);
        // An empty set (only missing values go left) must still be a set: -1 is never a bin number.
        flat.members.push(...(node.leftBins.length > 0 ? node.leftBins : [-1]), NaN);
      } else {
        if (binning.kind !== 'numeric')
          throw new Error(`gbdt: numeric split on categorical feature "${binning.name}"`);
        flat.modes.push(BRANCH_LEQ);
        flat.splits.push(splitThreshold(binning, node.binThreshold));
      }
      for (const [side, child] of [
        ['true', node.left],
        ['false', node.right],
      ] as const) {
        const target = tree[child]!;
        const isLeaf = target.feature < 0;
        push(`nodes_${side}nodeids`, isLeaf ? addLeaf(target.value) : ids.get(child)!);
        push(`nodes_${side}leafs`, isLeaf ? 1 : 0);
      }
    }
  }
  return flat;
}

/** Declares the graph inputs and turns them into one double matrix [N, features]. */
function emitFeatureMatrix(builder: OnnxBuilder, binnings: readonly FeatureBinning[]): string {
  const columns = binnings.map((b) => {
    if (b.kind === 'numeric') {
      builder.input(b.name, 'float', ['N', 1]);
      return builder.op('Cast', [b.name], 'num', { to: attr.int(DOUBLE) });
    }
    builder.input(b.name, 'string', ['N', 1]);
    const code = builder.op(
      'LabelEncoder',
      [b.name],
      'cat',
      {
        keys_strings: attr.strings(b.categories),
        values_floats: attr.floats(b.categories.map((_, i) => i)),
        default_float: attr.float(NaN),
      },
      ONNX_ML_DOMAIN,
    );
    return builder.op('Cast', [code], 'catd', { to: attr.int(DOUBLE) });
  });
  return builder.op('Concat', columns, 'features', { axis: attr.int(1) });
}

function doubleTensor(values: readonly number[]): onnxProto.onnx.ITensorProto {
  return { dataType: DOUBLE, dims: [values.length], doubleData: [...values] };
}

/** Adds the TreeEnsemble node's tensor attributes and its ai.onnx.ml opset to serialized model bytes. */
function completeTreeEnsemble(bytes: Uint8Array, nodeName: string, flat: FlatEnsemble): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const node = model.graph?.node?.find((n) => n.output?.[0] === nodeName);
  if (!node) throw new Error('gbdt: TreeEnsemble node missing from the built graph');
  const attributes = (node.attribute ??= []);
  attributes.push(
    onnx.AttributeProto.create({ name: 'leaf_weights', type: 4, t: doubleTensor(flat.leafWeights) }),
    onnx.AttributeProto.create({
      name: 'nodes_modes',
      type: 4,
      t: { dataType: UINT8, dims: [flat.modes.length], int32Data: flat.modes },
    }),
    onnx.AttributeProto.create({ name: 'nodes_splits', type: 4, t: doubleTensor(flat.splits) }),
  );
  if (flat.members.length > 0) {
    attributes.push(
      onnx.AttributeProto.create({ name: 'membership_values', type: 4, t: doubleTensor(flat.members) }),
    );
  }
  attributes.sort((a, b) => ((a.name ?? '') < (b.name ?? '') ? -1 : (a.name ?? '') > (b.name ?? '') ? 1 : 0));
  for (const opset of model.opsetImport)
    if (opset.domain === ONNX_ML_DOMAIN) opset.version = TREE_ENSEMBLE_ML_OPSET;
  model.irVersion = Math.max(Number(model.irVersion), TREE_ENSEMBLE_IR_VERSION);
  return onnx.ModelProto.encode(model).finish();
}

/** ONNX bytes of the ensemble under the contract of ml/trainer.ts; the same ensemble always gives the same bytes. */
export function exportGbdtOnnx(e: EnsembleForExport, metadata: Readonly<Record<string, string>>): Uint8Array {
  const builder = createOnnxBuilder('slipway_gbdt');
  const features = emitFeatureMatrix(builder, e.binnings);
  const flat = flatten(e);
  const ensemble = builder.op(
    'TreeEnsemble',
    [features],
    'logit_double',
    {
      ...Object.fromEntries(Object.entries(flat.ints).map(([k, v]) => [k, attr.ints(v)])),
      n_targets: attr.int(1),
      aggregate_function: attr.int(1),
      post_transform: attr.int(0),
    },
    ONNX_ML_DOMAIN,
  );
  const logit = builder.op('Cast', [ensemble], 'logit', { to: attr.int(1) });
  emitBinaryOutputs(builder, logit);
  const bytes = builder.toBytes({
    docString: 'Slipway histogram gradient-boosted trees (binary log loss)',
    metadata,
  });
  return completeTreeEnsemble(bytes, ensemble, flat);
}
