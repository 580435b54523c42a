// A small, deterministic ONNX graph builder over the `onnx-proto` protobuf classes. Trainers describe their graph
// with it (inputs, initializers, nodes, outputs) and get model bytes that onnxruntime loads. Names are generated
// from a counter, never from time or randomness, so the same calls always give byte-identical models.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types the trainers use, mapped to `TensorProto.DataType` numbers. */
export type OnnxElemType = 'float' | 'int64' | 'string' | 'bool';

const elemTypeCode: Record<OnnxElemType, number> = { float: 1, int64: 7, string: 8, bool: 9 };

/** A dimension: a fixed size, or a symbolic name such as `'N'` for the batch. */
export type OnnxDim = number | string;

/** Node attribute values, tagged so integer-valued floats are never mistaken for ints. */
export type OnnxAttribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] };

/** Shorthands for node attributes: `attr.int(1)`, `attr.strings(['a'])`... */
export const attr = {
  int: (value: number): OnnxAttribute => ({ type: 'int', value }),
  float: (value: number): OnnxAttribute => ({ type: 'float', value }),
  string: (value: string): OnnxAttribute => ({ type: 'string', value }),
  ints: (value: readonly number[]): OnnxAttribute => ({ type: 'ints', value }),
  floats: (value: readonly number[]): OnnxAttribute => ({ type: 'floats', value }),
  strings: (value: readonly string[]): OnnxAttribute => ({ type: 'strings', value }),
};

/** The default-domain and ai.onnx.ml opsets every Slipway model declares (onnxruntime-node 1.30 runs both). */
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;
/** IR version 8 is the one that goes with opset 17 (ONNX 1.12). */
export const ONNX_IR_VERSION = 8;
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';

export interface OnnxBuilder {
  /** Declares a graph input; returns its name. */
  input(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): string;
  /** Declares a graph output produced by some node under `name`. */
  output(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): void;
  /** Adds a float32 constant (values are rounded to float32); returns its generated name. */
  floats(hint: string, values: ArrayLike<number>, dims: readonly number[]): string;
  /** Adds an int64 constant; returns its generated name. */
  int64s(hint: string, values: readonly number[], dims: readonly number[]): string;
  /**
   * Adds a node. `outputs` are the names to produce, or a hint from which one fresh output name is made.
   * Returns the output names.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | string,
    attributes?: Readonly<Record<string, OnnxAttribute>>,
    domain?: string,
  ): string[];
  /** Same as `node` for the common one-output case; returns that output's name. */
  op(
    opType: string,
    inputs: readonly string[],
    hint: string,
    attributes?: Readonly<Record<string, OnnxAttribute>>,
    domain?: string,
  ): string;
  /** A name not used yet, derived from `hint`. */
  fresh(hint: string): string;
  /** Serializes the model; `metadata` becomes `metadata_props` (sorted by key for stable bytes). */
  toBytes(options?: { docString?: string; metadata?: Readonly<Record<string, string>> }): Uint8Array;
}

function valueInfo(
  name: string,
  elemType: OnnxElemType,
  dims: readonly OnnxDim[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemTypeCode[elemType],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

const utf8 = new TextEncoder();

function attributeProto(name: string, a: OnnxAttribute): onnxProto.onnx.IAttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: 2, i: a.value };
    case 'float':
      return { name, type: 1, f: a.value };
    case 'string':
      return { name, type: 3, s: utf8.encode(a.value) };
    case 'ints':
      return { name, type: 7, ints: [...a.value] };
    case 'floats':
      return { name, type: 6, floats: [...a.value] };
    case 'strings':
      return { name, type: 8, strings: a.value.map((s) => utf8.encode(s)) };
  }
}

/** Little-endian float32 bytes, as ONNX `raw_data` requires, whatever the host's byte order. */
function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

/**
 * Starts an empty graph. Nodes must be added in topological order (each input produced before it is used), which
 * is what ONNX requires of a graph's node list.
 */
export function createOnnxBuilder(graphName: string): OnnxBuilder {
  const inputs: onnxProto.onnx.IValueInfoProto[] = [];
  const outputs: onnxProto.onnx.IValueInfoProto[] = [];
  const initializers: onnxProto.onnx.ITensorProto[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const used = new Set<string>();
  let counter = 0;

  const claim = (name: string): string => {
    if (used.has(name)) throw new Error(`ONNX name "${name}" is already used in graph "${graphName}"`);
    used.add(name);
    return name;
  };
  const fresh = (hint: string): string => {
    let name = `${hint}_${counter++}`;
    while (used.has(name)) name = `${hint}_${counter++}`;
    return claim(name);
  };
  const checkDims = (dims: readonly number[], count: number, what: string): void => {
    const size = dims.reduce((a, b) => a * b, 1);
    if (size !== count) throw new Error(`${what}: ${count} values do not fill dims [${dims.join(', ')}]`);
  };

  const node: OnnxBuilder['node'] = (opType, nodeInputs, nodeOutputs, attributes = {}, domain = '') => {
    const names = typeof nodeOutputs === 'string' ? [fresh(nodeOutputs)] : nodeOutputs.map(claim);
    nodes.push({
      opType,
      domain,
      name: fresh(`${opType}_node`),
      input: [...nodeInputs],
      output: names,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return names;
  };

  return {
    input(name, elemType, dims) {
      inputs.push(valueInfo(claim(name), elemType, dims));
      return name;
    },
    output(name, elemType, dims) {
      if (!used.has(name)) throw new Error(`ONNX output "${name}" is not produced by any node`);
      outputs.push(valueInfo(name, elemType, dims));
    },
    floats(hint, values, dims) {
      checkDims(dims, values.length, `float constant "${hint}"`);
      const name = fresh(hint);
      initializers.push({
        name,
        dataType: elemTypeCode.float,
        dims: [...dims],
        rawData: float32Bytes(values),
      });
      return name;
    },
    int64s(hint, values, dims) {
      checkDims(dims, values.length, `int64 constant "${hint}"`);
      const name = fresh(hint);
      initializers.push({ name, dataType: elemTypeCode.int64, dims: [...dims], int64Data: [...values] });
      return name;
    },
    node,
    op: (opType, opInputs, hint, attributes, domain) => node(opType, opInputs, hint, attributes, domain)[0]!,
    fresh,
    toBytes(options = {}) {
      const metadata = Object.entries(options.metadata ?? {}).sort(([a], [b]) =>
        a < b ? -1 : a > b ? 1 : 0,
      );
      const model = onnx.ModelProto.create({
        irVersion: ONNX_IR_VERSION,
        opsetImport: [
          { domain: '', version: ONNX_OPSET },
          { domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET },
        ],
        producerName: 'slipway',
        producerVersion: '1',
        docString: options.docString ?? '',
        graph: { name: graphName, node: nodes, initializer: initializers, input: inputs, output: outputs },
        metadataProps: metadata.map(([key, value]) => ({ key, value })),
      });
      return onnx.ModelProto.encode(model).finish();
    },
  };
}
