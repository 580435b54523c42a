// A challenger that is wrong where a real model can be: the same graph as a given binary classifier, with its
// answer turned around for rows whose `period` (Elec2's half-hour of the day, 0..1) lies in [from, to). Its accuracy
// drops by (share of rows in the window) x (2 x accuracy there - 1), which a test tunes to a chosen number of points.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

function floatConstant(name: string, values: readonly number[], dims: readonly number[]) {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dataType: 1, dims: [...dims], rawData: bytes };
}

/**
 * `model` (ONNX bytes with `probabilities` [N,2] and `label` outputs and a `period` input) answering 1 - p instead of
 * p where from <= period < to.
 */
export function flipWhere(model: Uint8Array, feature: string, from: number, to: number): Uint8Array {
  const decoded = onnx.ModelProto.decode(model);
  const graph = decoded.graph!;
  const nodes = graph.node ?? [];
  const producer = nodes.findIndex((n) => (n.output ?? []).includes('probabilities'));
  if (producer < 0) throw new Error('the model has no "probabilities" output');
  nodes[producer]!.output = (nodes[producer]!.output ?? []).map((o) =>
    o === 'probabilities' ? 'probabilities_base' : o,
  );
  graph.initializer = [
    ...(graph.initializer ?? []),
    floatConstant('flip_from', [from], []),
    floatConstant('flip_to', [to], []),
    floatConstant('flip_one', [1], []),
  ];
  const added = [
    {
      opType: 'GreaterOrEqual',
      input: [feature, 'flip_from'],
      output: ['flip_after'],
      name: 'flip_after_node',
    },
    { opType: 'Less', input: [feature, 'flip_to'], output: ['flip_before'], name: 'flip_before_node' },
    { opType: 'And', input: ['flip_after', 'flip_before'], output: ['flip_here'], name: 'flip_here_node' },
    { opType: 'Sub', input: ['flip_one', 'probabilities_base'], output: ['flipped'], name: 'flipped_node' },
    {
      opType: 'Where',
      input: ['flip_here', 'flipped', 'probabilities_base'],
      output: ['probabilities'],
      name: 'flip_node',
    },
  ].map((n) => onnx.NodeProto.create({ ...n, domain: '' }));
  // Nodes stay in topological order: the new ones right after the node that made the base probabilities.
  graph.node = [...nodes.slice(0, producer + 1), ...added, ...nodes.slice(producer + 1)];
  return onnx.ModelProto.encode(decoded).finish();
}
