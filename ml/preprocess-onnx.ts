// Emits a fitted preprocessing plan as ONNX nodes over the raw inputs of the trainer contract (ml/trainer.ts):
// numeric float [N,1] and categorical string [N,1] in, one float [N, width] tensor out, equal (to float32
// rounding) to what `transform` computes in JS.
import type { OnnxBuilder } from './onnx-builder.js';
import { attr, ONNX_ML_DOMAIN } from './onnx-builder.js';
import type { CategoricalPlan, NumericPlan, PreprocessPlan } from './preprocess-plan.js';
import { planWidth } from './preprocess-plan.js';

/** Declares one ONNX input per plan column, as the trainer contract says: float or string, shape [N, 1]. */
export function declarePlanInputs(builder: OnnxBuilder, plan: PreprocessPlan): void {
  for (const step of plan.columns)
    builder.input(step.name, step.kind === 'numeric' ? 'float' : 'string', ['N', 1]);
}

/**
 * Emits the int64 [N,1] bucket index of a categorical input (see `categoryBuckets`) with an ai.onnx.ml
 * LabelEncoder. "" (missing) is always an explicit key, so the key list is never empty.
 */
export function emitCategoryIndexOnnx(builder: OnnxBuilder, step: CategoricalPlan, input: string): string {
  const k = step.categories.length;
  return builder.op(
    'LabelEncoder',
    [input],
    `${step.name}_bucket`,
    {
      keys_strings: attr.strings([...step.categories, '']),
      values_int64s: attr.ints([...step.categories.map((_, i) => i), step.missingBucket ? k + 1 : k]),
      default_int64: attr.int(k),
    },
    ONNX_ML_DOMAIN,
  );
}

function emitNumeric(builder: OnnxBuilder, step: NumericPlan): string[] {
  const isNan = builder.op('IsNaN', [step.name], `${step.name}_isnan`);
  const med = builder.floats(`${step.name}_median`, [step.median], []);
  let value = builder.op('Where', [isNan, med, step.name], `${step.name}_imputed`);
  if (step.mean !== 0 || step.scale !== 1) {
    const centered = builder.op(
      'Sub',
      [value, builder.floats(`${step.name}_mean`, [step.mean], [])],
      `${step.name}_centered`,
    );
    value = builder.op(
      'Div',
      [centered, builder.floats(`${step.name}_scale`, [step.scale], [])],
      `${step.name}_scaled`,
    );
  }
  if (!step.missingIndicator) return [value];
  return [value, builder.op('Cast', [isNan], `${step.name}_missing`, { to: attr.int(1) })];
}

function emitCategorical(builder: OnnxBuilder, step: CategoricalPlan): string {
  const depth = planWidth(step);
  const index = emitCategoryIndexOnnx(builder, step, step.name);
  const oneHot = builder.op(
    'OneHot',
    [
      index,
      builder.int64s(`${step.name}_depth`, [depth], [1]),
      builder.floats(`${step.name}_onehot_values`, [0, 1], [2]),
    ],
    `${step.name}_onehot3d`,
    { axis: attr.int(-1) },
  );
  return builder.op(
    'Reshape',
    [oneHot, builder.int64s(`${step.name}_shape`, [-1, depth], [2])],
    `${step.name}_onehot`,
  );
}

/**
 * Emits the plan as ONNX nodes: declares the raw inputs (see `declarePlanInputs`) and returns the name of the
 * float [N, plan.width] tensor equal (to float32 rounding) to `transform(plan, frame).matrix`.
 */
export function emitPreprocessOnnx(builder: OnnxBuilder, plan: PreprocessPlan): string {
  declarePlanInputs(builder, plan);
  const parts = plan.columns.flatMap((step) =>
    step.kind === 'numeric' ? emitNumeric(builder, step) : [emitCategorical(builder, step)],
  );
  return builder.op('Concat', parts, 'features', { axis: attr.int(1) });
}
