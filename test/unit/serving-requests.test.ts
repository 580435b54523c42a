import { describe, expect, it } from 'vitest';
import { servingInterfaceOf, type ServingInterface } from '../../domain/serving-interface.js';
import { HttpProblem } from '../../platform/http-problem.js';
import { parseInferRequest } from '../../serving/infer-request.js';
import { parseRowRequest } from '../../serving/row-request.js';

const iface: ServingInterface = servingInterfaceOf({
  onnxSignature: {
    inputs: [
      { name: 'x1', type: 'float32', shape: [-1, 1] },
      { name: 'x2', type: 'float32', shape: [-1, 1] },
      { name: 'color', type: 'string', shape: [-1, 1] },
    ],
    outputs: [
      { name: 'label', type: 'int64', shape: [-1] },
      { name: 'probabilities', type: 'float32', shape: [-1, 2] },
    ],
  },
  metadata: { classes: ['<=50K', '>50K'] },
});
const options = { maxRows: 10, stickyField: 'customer' };

/** The problem a parse throws: status and the fields it names. */
function problemOf(fn: () => unknown): { status: number; fields: string[]; problems: string[] } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpProblem);
    const p = error as HttpProblem;
    const errors = p.extra.errors as { field: string; problem: string }[];
    return { status: p.status, fields: errors.map((e) => e.field), problems: errors.map((e) => e.problem) };
  }
  throw new Error('expected a problem');
}

describe('the serving interface of a version', () => {
  it('follows the Slipway ONNX contract for built-in versions', () => {
    expect(iface.features.map((f) => [f.name, f.kind])).toEqual([
      ['x1', 'numeric'],
      ['x2', 'numeric'],
      ['color', 'categorical'],
    ]);
    expect(iface).toMatchObject({
      classes: ['<=50K', '>50K'],
      acceptsMissing: true,
      probabilities: { output: 'probabilities', positiveIndex: 1 },
    });
  });

  it('refuses what the gateway cannot feed', () => {
    expect(() =>
      servingInterfaceOf({
        onnxSignature: { inputs: [{ name: 'img', type: 'float32', shape: [-1, 3, 224, 224] }], outputs: [] },
        metadata: {},
      }),
    ).toThrow(/expected \[N\] or \[N, 1\]/);
    expect(() =>
      servingInterfaceOf({
        onnxSignature: {
          inputs: [{ name: 'x', type: 'float32', shape: [-1, 1] }],
          outputs: [{ name: 'scores' }],
        },
        metadata: {},
      }),
    ).toThrow(/no "probabilities" output/);
    expect(() => servingInterfaceOf({ onnxSignature: {}, metadata: { serving: { inputs: [] } } })).toThrow(
      /metadata.serving is not a serving interface/,
    );
  });
});

describe('row JSON requests', () => {
  it('reads rows into columns, with null as missing and the sticky field apart', () => {
    const { batch, sticky } = parseRowRequest(
      {
        rows: [
          { x1: 1.5, x2: null, color: 'red', customer: 'c-1' },
          { x1: -2, x2: 3, color: true },
        ],
      },
      iface,
      options,
    );
    expect(batch.rowCount).toBe(2);
    expect(batch.columns.get('x1')!.values).toEqual(Float64Array.of(1.5, -2));
    expect(Number.isNaN(batch.columns.get('x2')!.values[0])).toBe(true);
    expect(batch.columns.get('color')!.values).toEqual(['red', 'true']);
    expect(Array.from(sticky)).toEqual(['c-1', undefined]);
  });

  it('names every bad field, and answers 413 past the row cap', () => {
    const bad = problemOf(() =>
      parseRowRequest(
        { rows: [{ x1: 'a', x2: Infinity, color: 3, extra: 1 }, { x2: 1, color: 'x' }, 7], other: 1 },
        iface,
        options,
      ),
    );
    expect(bad.status).toBe(400);
    expect(bad.fields).toEqual([
      'other',
      'rows.0.x1',
      'rows.0.x2',
      'rows.0.color',
      'rows.0.extra',
      'rows.1.x1',
      'rows.2',
    ]);
    expect(bad.problems[1]).toBe('expected a number, got a string ("a")');
    expect(bad.problems[2]).toBe('not a finite number (the model takes finite numbers only)');
    expect(bad.problems[3]).toBe('expected a string, got the number 3');
    expect(bad.problems[4]).toMatch(/not a feature of this model; its features are x1, x2, color/);
    expect(problemOf(() => parseRowRequest({ rows: new Array(11).fill({}) }, iface, options)).status).toBe(
      413,
    );
    expect(problemOf(() => parseRowRequest([], iface, options)).fields).toEqual(['(body)']);
    expect(
      problemOf(() => parseRowRequest({ rows: [{ x1: 4e38, x2: 0, color: '' }] }, iface, options))
        .problems[0],
    ).toMatch(/out of range for the model's float32 input/);
    const strict = { ...iface, acceptsMissing: false };
    expect(
      problemOf(() => parseRowRequest({ rows: [{ x1: null, x2: 0, color: null }] }, strict, options)).fields,
    ).toEqual(['rows.0.x1', 'rows.0.color']);
  });

  it('stops collecting after twenty problems', () => {
    const many = problemOf(() =>
      parseRowRequest({ rows: new Array(10).fill({ x1: 'a', x2: 'b', color: 1 }) }, iface, options),
    );
    expect(many.fields).toHaveLength(20);
  });
});

describe('Open Inference Protocol requests', () => {
  const tensors = (n = 2) => [
    { name: 'x1', shape: [n, 1], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => i) },
    { name: 'x2', shape: [n, 1], datatype: 'FP64', data: Array.from({ length: n }, () => [0.5]) },
    { name: 'color', shape: [n], datatype: 'BYTES', data: Array.from({ length: n }, () => 'red') },
  ];

  it('reads flat and nested tensors, the id and the outputs asked for', () => {
    const r = parseInferRequest(
      { id: '42', inputs: tensors(), outputs: [{ name: 'probabilities' }], parameters: { customer: 9 } },
      iface,
      options,
    );
    expect(r).toMatchObject({ id: '42', outputs: ['probabilities'], sticky: '9' });
    expect(r.batch.columns.get('x1')!.values).toEqual(Float64Array.of(0, 1));
    expect(r.batch.columns.get('color')!.values).toEqual(['red', 'red']);
  });

  it('names the tensor and field of every problem', () => {
    const bad = problemOf(() =>
      parseInferRequest(
        {
          inputs: [
            { name: 'x1', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
            { name: 'x2', shape: [2, 1], datatype: 'BYTES', data: ['a', 'b'] },
            { name: 'zz', shape: [2], datatype: 'FP32', data: [1, 2] },
          ],
        },
        iface,
        options,
      ),
    );
    expect(bad.fields).toEqual(['inputs.0.shape', 'inputs.1.datatype', 'inputs.2.name']);
    expect(
      problemOf(() =>
        parseInferRequest(
          { inputs: tensors().map((t, i) => (i === 0 ? { ...t, data: [1] } : t)) },
          iface,
          options,
        ),
      ).problems,
    ).toEqual(['1 values, but shape [2, 1] needs 2']);
    expect(
      problemOf(() => parseInferRequest({ inputs: tensors().slice(0, 2) }, iface, options)).problems,
    ).toEqual(['missing input "color"']);
    expect(problemOf(() => parseInferRequest({ inputs: tensors(11) }, iface, options)).status).toBe(413);
    const deep = {
      name: 'x1',
      shape: [1, 1],
      datatype: 'FP32',
      data: JSON.parse('['.repeat(50_000) + ']'.repeat(50_000)) as unknown[],
    };
    expect(
      problemOf(() => parseInferRequest({ inputs: [deep, ...tensors(1).slice(1)] }, iface, options)).status,
    ).toBe(400);
  });
});
