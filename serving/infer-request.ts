// Open Inference Protocol (KServe V2) inference requests: named input tensors, validated against the model's ONNX
// inputs before anything reaches onnxruntime.
import type { ServingInterface } from '../domain/serving-interface.js';
import {
  ProblemList,
  categoricalValue,
  describeValue,
  invalidRequest,
  nameList,
  numericValue,
  type FeatureBatch,
  type FeatureColumn,
} from './feature-batch.js';

/** The outputs every served model answers with, whatever its graph calls them. */
export const inferOutputs = ['probabilities', 'label', 'request_id'] as const;
export type InferOutputName = (typeof inferOutputs)[number];

export interface InferRequest {
  readonly id?: string;
  readonly batch: FeatureBatch;
  readonly outputs: readonly InferOutputName[];
  /** The sticky value from `parameters[<sticky key>]`, if given. */
  readonly sticky?: string;
}

const numericDatatypes = new Set([
  'FP32',
  'FP64',
  'FP16',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens `data` to `depth` levels without recursion; returns undefined (after recording why) when ragged. */
function flatten(
  data: unknown[],
  depth: number,
  field: string,
  problems: ProblemList,
): unknown[] | undefined {
  let level: unknown[] = data;
  for (let d = 1; d < depth; d++) {
    if (!level.some(Array.isArray)) return level;
    const next: unknown[] = [];
    for (const item of level) {
      if (!Array.isArray(item)) {
        problems.add(
          field,
          'mixes nested arrays and values; nest to the shape or flatten in row-major order',
        );
        return undefined;
      }
      for (const x of item) next.push(x);
    }
    level = next;
  }
  return level;
}

/**
 * Parses and validates a V2 inference request body against a model interface.
 * @throws HttpProblem 400 naming each bad field (up to 20), or 413 for more than `maxRows` rows
 */
export function parseInferRequest(
  body: unknown,
  iface: ServingInterface,
  options: { maxRows: number; stickyField: string | null },
): InferRequest {
  if (!isPlainObject(body))
    throw invalidRequest(`(body): expected an inference request object, got ${describeValue(body)}`, [
      { field: '(body)', problem: `expected an inference request object, got ${describeValue(body)}` },
    ]);
  const problems = new ProblemList();
  for (const key of Object.keys(body))
    if (!['id', 'parameters', 'inputs', 'outputs'].includes(key))
      problems.add(key, 'unknown field; a request has id, parameters, inputs and outputs');
  if (body.id !== undefined && (typeof body.id !== 'string' || body.id.length > 1000))
    problems.add('id', `expected a string of up to 1000 characters, got ${describeValue(body.id)}`);
  let sticky: string | undefined;
  if (body.parameters !== undefined) {
    if (!isPlainObject(body.parameters)) problems.add('parameters', 'expected an object');
    else if (options.stickyField !== null && Object.hasOwn(body.parameters, options.stickyField)) {
      const v = body.parameters[options.stickyField];
      if (typeof v === 'string' || typeof v === 'number') sticky = String(v);
      else problems.add(`parameters.${options.stickyField}`, `the sticky key: expected a string or number`);
    }
  }
  let outputs: InferOutputName[] = [...inferOutputs];
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) problems.add('outputs', 'expected an array of {"name": ...}');
    else {
      outputs = [];
      body.outputs.forEach((o: unknown, i) => {
        const name = isPlainObject(o) ? o.name : undefined;
        if (typeof name === 'string' && (inferOutputs as readonly string[]).includes(name))
          outputs.push(name as InferOutputName);
        else
          problems.add(
            `outputs.${i}.name`,
            `no output ${describeValue(name)}; outputs are ${inferOutputs.join(', ')}`,
          );
      });
    }
  }
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    problems.add('inputs', `expected an array of input tensors, got ${describeValue(inputs)}`);
    throw problems.toProblem();
  }

  const byName = new Map(iface.inputs.map((i) => [i.name, i]));
  const seen = new Map<string, { flat: unknown[]; at: string }>();
  let rows: number | undefined;
  inputs.forEach((tensor: unknown, t) => {
    const at = `inputs.${t}`;
    if (!isPlainObject(tensor)) {
      problems.add(at, `expected a tensor object, got ${describeValue(tensor)}`);
      return;
    }
    const name = tensor.name;
    const spec = typeof name === 'string' ? byName.get(name) : undefined;
    if (!spec) {
      problems.add(
        `${at}.name`,
        `the model has no input ${describeValue(name)}; its inputs are ${nameList([...byName.keys()])}`,
      );
      return;
    }
    if (seen.has(spec.name)) {
      problems.add(`${at}.name`, `input "${spec.name}" is given twice`);
      return;
    }
    for (const key of Object.keys(tensor))
      if (!['name', 'shape', 'datatype', 'parameters', 'data'].includes(key))
        problems.add(
          `${at}.${key}`,
          'unknown field; a tensor has name, shape, datatype, parameters and data',
        );
    if (isPlainObject(tensor.parameters) && tensor.parameters.binary_data_size !== undefined)
      problems.add(
        `${at}.parameters.binary_data_size`,
        'binary tensor data is not supported; send JSON data',
      );
    const datatype = tensor.datatype;
    const stringInput = spec.type === 'string';
    if (typeof datatype !== 'string')
      problems.add(`${at}.datatype`, `expected a datatype such as ${stringInput ? 'BYTES' : 'FP32'}`);
    else if (stringInput ? datatype !== 'BYTES' : !numericDatatypes.has(datatype))
      problems.add(
        `${at}.datatype`,
        `${datatype} doesn't fit input "${spec.name}" (${spec.type}); send ${stringInput ? 'BYTES' : 'FP32'}`,
      );
    const shape = tensor.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      problems.add(`${at}.shape`, `expected an array of non-negative integers, got ${describeValue(shape)}`);
      return;
    }
    const dims = shape as number[];
    const okShape =
      spec.width === 1
        ? dims.length === 1 || (dims.length === 2 && dims[1] === 1)
        : dims.length === 2 && dims[1] === spec.width;
    if (!okShape) {
      problems.add(
        `${at}.shape`,
        `[${dims.join(', ')}] doesn't fit input "${spec.name}"; expected ${spec.width === 1 ? '[N] or [N, 1]' : `[N, ${spec.width}]`}`,
      );
      return;
    }
    const n = dims[0]!;
    if (n > options.maxRows) {
      const detail = `${at}.shape: ${n} rows is over the cap of ${options.maxRows} a request (SERVING_MAX_BATCH_ROWS)`;
      throw invalidRequest(detail, [{ field: `${at}.shape`, problem: detail.slice(at.length + 8) }], 413);
    }
    if (n === 0) {
      problems.add(`${at}.shape`, 'a request needs at least one row');
      return;
    }
    if (rows !== undefined && n !== rows) {
      problems.add(
        `${at}.shape`,
        `${n} rows, but an earlier input has ${rows}; every input needs the same number of rows`,
      );
      return;
    }
    rows = n;
    if (!Array.isArray(tensor.data)) {
      problems.add(`${at}.data`, `expected an array, got ${describeValue(tensor.data)}`);
      return;
    }
    const flat = flatten(tensor.data, dims.length, `${at}.data`, problems);
    if (!flat) return;
    if (flat.length !== n * spec.width) {
      problems.add(
        `${at}.data`,
        `${flat.length} values, but shape [${dims.join(', ')}] needs ${n * spec.width}`,
      );
      return;
    }
    seen.set(spec.name, { flat, at });
  });
  for (const name of byName.keys())
    if (!seen.has(name) && !problems.full && !problems.items.some((p) => p.field.startsWith('inputs.')))
      problems.add('inputs', `missing input "${name}"`);
  if (!problems.empty || rows === undefined) throw problems.toProblem();

  const columns = new Map<string, FeatureColumn>();
  for (const f of iface.features) {
    const spec = byName.get(f.input)!;
    const { flat, at } = seen.get(f.input)!;
    if (f.kind === 'numeric') {
      const values = new Float64Array(rows);
      for (let i = 0; i < rows && !problems.full; i++) {
        const x = numericValue(
          flat[i * spec.width + f.index],
          `${at}.data.${i * spec.width + f.index}`,
          iface,
          spec.type,
          problems,
        );
        if (x !== undefined) values[i] = x;
      }
      columns.set(f.name, { kind: 'numeric', values });
    } else {
      const values = new Array<string | null>(rows);
      for (let i = 0; i < rows && !problems.full; i++) {
        const s = categoricalValue(
          flat[i * spec.width + f.index],
          `${at}.data.${i * spec.width + f.index}`,
          iface,
          problems,
        );
        if (s !== undefined) values[i] = s;
      }
      columns.set(f.name, { kind: 'categorical', values });
    }
  }
  if (!problems.empty) throw problems.toProblem();
  return {
    ...(typeof body.id === 'string' ? { id: body.id } : {}),
    batch: { rowCount: rows, columns },
    outputs,
    ...(sticky !== undefined ? { sticky } : {}),
  };
}
