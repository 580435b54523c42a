// How a model trained elsewhere (skl2onnx, torch.onnx...) maps onto Slipway's serving interface: which reference
// column feeds which ONNX input, which output holds the probabilities, and which column of it is the positive class.
import type { ServingInterface, TensorType } from '../domain/serving-interface.js';
import { columnOf, type Frame } from './frame.js';
import { classNames } from './ingest/labels.js';

/** An ONNX graph input or output as `modelSignature` describes it (-1 for a symbolic dimension). */
export interface SignatureTensor {
  readonly name: string;
  readonly type: string;
  readonly shape?: readonly number[];
}

export interface ImportPlan {
  /** The interface, but for `acceptsMissing`, which only running the model can tell. */
  readonly iface: Omit<ServingInterface, 'acceptsMissing'>;
  readonly target: string;
  /** Reference columns the model doesn't use (besides the target): profiled no further. */
  readonly unused: readonly string[];
}

/** Thrown with every reason the model and the reference data don't fit together. */
export class ImportPlanError extends Error {
  override readonly name = 'DataError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

const numericTypes = new Set(['float32', 'float64', 'int64']);

/**
 * Matches a model's signature to reference data. Two input layouts are understood: one [N, 1] (or [N]) input per
 * feature, named as the reference column it takes (string inputs take categorical columns, numeric inputs numeric
 * ones); or a single numeric [N, F] input taking the F non-target columns in file order. The probabilities are the
 * float [N, 2] output (`probabilities`, `output_probability` or the only one), its columns in sorted class order as
 * scikit-learn's `classes_` are.
 * @throws ImportPlanError listing every problem
 */
export function planImport(
  signature: { readonly inputs: readonly SignatureTensor[]; readonly outputs: readonly SignatureTensor[] },
  frame: Frame,
  options: { readonly target?: string; readonly positiveClass?: string } = {},
): ImportPlan {
  const problems: string[] = [];
  const names = frame.columns.map((c) => c.name);
  const inputs = signature.inputs;
  const bad = inputs.filter((i) => !numericTypes.has(i.type) && i.type !== 'string');
  for (const i of bad)
    problems.push(
      `input "${i.name}" has type ${i.type}; Slipway feeds float, double, int64 and string tensors`,
    );
  const rank = (i: SignatureTensor) => i.shape?.length ?? 0;
  const width = (i: SignatureTensor) => (rank(i) === 2 ? (i.shape![1] ?? 1) : 1);
  const packed = inputs.length === 1 && rank(inputs[0]!) === 2 && width(inputs[0]!) !== 1;

  let target = options.target;
  if (target !== undefined && !names.includes(target))
    problems.push(
      `--target "${target}" is not a column of the reference data (columns: ${names.join(', ')})`,
    );
  if (target === undefined) {
    const rest = packed ? [] : names.filter((n) => !inputs.some((i) => i.name === n));
    if (rest.length === 1) target = rest[0];
    else
      problems.push(
        rest.length === 0
          ? 'name the label column with --target (the reference data needs one, for the metrics and the class labels)'
          : `name the label column with --target; the columns the model does not take are ${rest.join(', ')}`,
      );
  }

  const features: ServingInterface['features'] = [];
  const ifaceInputs: ServingInterface['inputs'] = [];
  if (packed) {
    const input = inputs[0]!;
    const columns = frame.columns.filter((c) => c.name !== target);
    const declared = width(input);
    if (declared !== -1 && declared !== columns.length)
      problems.push(
        `input "${input.name}" takes ${declared} features per row; the reference data has ${columns.length} columns besides the target (${columns.map((c) => c.name).join(', ')})`,
      );
    for (const c of columns)
      if (c.kind !== 'numeric')
        problems.push(`column "${c.name}" is categorical, but input "${input.name}" takes numbers only`);
    columns.forEach((c, index) => features.push({ name: c.name, kind: 'numeric', input: input.name, index }));
    if (numericTypes.has(input.type))
      ifaceInputs.push({ name: input.name, type: input.type as TensorType, width: columns.length, rank: 2 });
  } else {
    for (const input of inputs) {
      if (rank(input) > 2 || width(input) !== 1) {
        problems.push(
          `input "${input.name}" has shape [${input.shape?.join(', ')}]; expected [N, 1] per feature, or one [N, F] input`,
        );
        continue;
      }
      const column = frame.columns.find((c) => c.name === input.name);
      if (!column) {
        problems.push(
          `input "${input.name}" has no column of that name in the reference data (columns: ${names.join(', ')})`,
        );
        continue;
      }
      if (input.name === target)
        problems.push(`input "${input.name}" is the label column; a model can't take its own label`);
      const kind = input.type === 'string' ? 'categorical' : 'numeric';
      if (column.kind !== kind)
        problems.push(
          `input "${input.name}" takes ${kind === 'numeric' ? 'numbers' : 'strings'}, but the reference column "${input.name}" is ${column.kind}`,
        );
      features.push({ name: input.name, kind, input: input.name, index: 0 });
      if (input.type === 'string' || numericTypes.has(input.type))
        ifaceInputs.push({
          name: input.name,
          type: input.type as TensorType,
          width: 1,
          rank: rank(input) === 1 ? 1 : 2,
        });
    }
  }

  const twoColumn = signature.outputs.filter(
    (o) =>
      (o.type === 'float32' || o.type === 'float64') &&
      rank(o) === 2 &&
      (o.shape![1] === 2 || o.shape![1] === -1),
  );
  const probabilities =
    twoColumn.find((o) => o.name === 'probabilities') ??
    twoColumn.find((o) => o.name === 'output_probability') ??
    (twoColumn.length === 1 ? twoColumn[0] : undefined);
  if (!probabilities) {
    problems.push(
      signature.outputs.some((o) => o.type === 'non-tensor')
        ? "the model's probabilities are a sequence of maps (a ZipMap); convert it with options={id(model): {'zipmap': False}} in skl2onnx so they are an [N, 2] tensor"
        : `no [N, 2] float output holds the class probabilities (outputs: ${signature.outputs.map((o) => o.name).join(', ')})`,
    );
  }

  let classes: [string, string] = ['0', '1'];
  let positiveIndex = 1;
  if (target !== undefined && names.includes(target)) {
    try {
      const column = columnOf(frame, target);
      classes = classNames(column, options.positiveClass);
      const sorted =
        column.kind === 'numeric' ? [...classes].sort((a, b) => Number(a) - Number(b)) : [...classes].sort();
      positiveIndex = sorted.indexOf(classes[1]);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new ImportPlanError(problems);
  return {
    iface: {
      inputs: ifaceInputs,
      features,
      probabilities: { output: probabilities!.name, width: 2, positiveIndex },
      classes,
    },
    target: target!,
    unused: packed ? [] : names.filter((n) => n !== target && !features.some((f) => f.name === n)),
  };
}
