import { z } from 'zod';

/** Element types a served model's inputs may have. */
export const tensorTypeSchema = z.enum(['float32', 'float64', 'int64', 'string']);
export type TensorType = z.infer<typeof tensorTypeSchema>;

/**
 * What a version takes and gives at the gateway, derived from its registry record: the ONNX inputs, which request
 * feature feeds which input (and column of it), where P(positive class) is, the class labels, and whether a missing
 * numeric value (null, NaN) may be sent. Built-in versions follow the Slipway ONNX contract (one [N,1] input per
 * feature, `probabilities` [N,2], `label`); imported versions record theirs in `metadata.serving` at import.
 */
export const servingInterfaceSchema = z
  .object({
    inputs: z
      .array(
        z
          .object({
            name: z.string().min(1),
            type: tensorTypeSchema,
            /** 1 for [N] and [N,1] inputs; F for one [N,F] input holding F features. */
            width: z.number().int().min(1),
            rank: z.union([z.literal(1), z.literal(2)]),
          })
          .strict(),
      )
      .min(1),
    features: z
      .array(
        z
          .object({
            name: z.string().min(1),
            kind: z.enum(['numeric', 'categorical']),
            input: z.string().min(1),
            /** Column within the input (0 for width-1 inputs). */
            index: z.number().int().min(0),
          })
          .strict(),
      )
      .min(1),
    probabilities: z
      .object({
        output: z.string().min(1),
        /** Columns of the output ([N, width]); `positiveIndex` is P(positive class). */
        width: z.number().int().min(2),
        positiveIndex: z.number().int().min(0),
      })
      .strict(),
    label: z
      .object({ output: z.string().min(1) })
      .strict()
      .optional(),
    /** [negative, positive] class labels as the training data wrote them. */
    classes: z.tuple([z.string(), z.string()]),
    acceptsMissing: z.boolean(),
  })
  .strict();

export type ServingInterface = z.infer<typeof servingInterfaceSchema>;

/** Thrown when a registered version can't be served: its signature doesn't fit any interface the gateway knows. */
export class ServingInterfaceError extends Error {
  override readonly name = 'ServingInterfaceError';
}

interface SignatureTensor {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly shape?: unknown;
}

function tensors(signature: Record<string, unknown>, key: 'inputs' | 'outputs'): SignatureTensor[] {
  const list = signature[key];
  return Array.isArray(list) ? (list as SignatureTensor[]) : [];
}

/** [negative, positive] from version metadata (`classes`), else the 0/1 of the Slipway contract. */
function classesOf(metadata: Record<string, unknown>): [string, string] {
  const classes = metadata.classes;
  if (Array.isArray(classes) && classes.length === 2 && classes.every((c) => typeof c === 'string'))
    return [classes[0] as string, classes[1] as string];
  return ['0', '1'];
}

/**
 * The serving interface of a registered version: `metadata.serving` when the version recorded one (imports), else
 * the Slipway ONNX contract read from its ONNX signature.
 * @throws ServingInterfaceError naming what doesn't fit
 */
export function servingInterfaceOf(version: {
  readonly onnxSignature: Record<string, unknown>;
  readonly metadata: Record<string, unknown>;
}): ServingInterface {
  const recorded = version.metadata.serving;
  if (recorded !== undefined) {
    const parsed = servingInterfaceSchema.safeParse(recorded);
    if (!parsed.success)
      throw new ServingInterfaceError(`metadata.serving is not a serving interface: ${parsed.error.message}`);
    return parsed.data;
  }
  const inputs: ServingInterface['inputs'] = [];
  const features: ServingInterface['features'] = [];
  for (const t of tensors(version.onnxSignature, 'inputs')) {
    const name = typeof t.name === 'string' ? t.name : '';
    const type = tensorTypeSchema.safeParse(t.type);
    const shape = Array.isArray(t.shape) ? (t.shape as unknown[]) : [];
    if (!name || !type.success)
      throw new ServingInterfaceError(
        `input "${name}" has type ${String(t.type)}, which the gateway can't feed`,
      );
    if (!(shape.length === 1 || (shape.length === 2 && (shape[1] === 1 || shape[1] === -1))))
      throw new ServingInterfaceError(
        `input "${name}" has shape [${shape.join(', ')}]; expected [N] or [N, 1]`,
      );
    inputs.push({ name, type: type.data, width: 1, rank: shape.length });
    features.push({ name, kind: type.data === 'string' ? 'categorical' : 'numeric', input: name, index: 0 });
  }
  if (inputs.length === 0) throw new ServingInterfaceError('the ONNX signature lists no inputs');
  const outputs = tensors(version.onnxSignature, 'outputs');
  const probabilities = outputs.find((o) => o.name === 'probabilities');
  if (!probabilities) throw new ServingInterfaceError('the model has no "probabilities" output');
  const label = outputs.find((o) => o.name === 'label');
  return {
    inputs,
    features,
    probabilities: { output: 'probabilities', width: 2, positiveIndex: 1 },
    ...(label ? { label: { output: 'label' } } : {}),
    classes: classesOf(version.metadata),
    acceptsMissing: version.metadata.acceptsMissing !== false,
  };
}
