import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { emitBinaryOutputs } from '../../ml/classifier-onnx.js';
import { attr, createOnnxBuilder, ONNX_ML_DOMAIN } from '../../ml/onnx-builder.js';

function affineModel(): Uint8Array {
  const b = createOnnxBuilder('affine');
  b.input('x', 'float', ['N', 2]);
  const w = b.floats('w', [0.5, -2], [2, 1]);
  const z = b.op('Add', [b.op('MatMul', ['x', w], 'xw'), b.floats('b', [0.25], [1])], 'logit');
  emitBinaryOutputs(b, z);
  return b.toBytes({ metadata: { zeta: '1', alpha: '2' } });
}

describe('createOnnxBuilder', () => {
  it('builds a model that onnxruntime runs, with the classifier outputs of the contract', async () => {
    const session = await ort.InferenceSession.create(affineModel());
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['label', 'probabilities']);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 1, 4, 0), [2, 2]) });
    await session.release();
    const p = out.probabilities!.data as Float32Array;
    const z = [0.5 - 2 + 0.25, 2 + 0.25];
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-z[0]!)), 6);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 6);
    expect(p[3]).toBeCloseTo(1 / (1 + Math.exp(-z[1]!)), 6);
    expect(out.label!.type).toBe('int64');
    expect(Array.from(out.label!.data as BigInt64Array)).toEqual([0n, 1n]);
  });

  it('produces byte-identical models for identical calls', () => {
    expect(Buffer.from(affineModel()).equals(Buffer.from(affineModel()))).toBe(true);
  });

  it('runs ai.onnx.ml operators (LabelEncoder) with string inputs', async () => {
    const b = createOnnxBuilder('encode');
    b.input('s', 'string', ['N', 1]);
    const idx = b.op(
      'LabelEncoder',
      ['s'],
      'idx',
      {
        keys_strings: attr.strings(['a', 'b']),
        values_int64s: attr.ints([0, 1]),
        default_int64: attr.int(9),
      },
      ONNX_ML_DOMAIN,
    );
    b.output(idx, 'int64', ['N', 1]);
    const session = await ort.InferenceSession.create(b.toBytes());
    const out = await session.run({ s: new ort.Tensor('string', ['b', 'zz', 'a'], [3, 1]) });
    await session.release();
    expect(Array.from(out[idx]!.data as BigInt64Array)).toEqual([1n, 9n, 0n]);
  });

  it('rejects duplicate names, outputs nothing produces, and constants that do not fill their dims', () => {
    const b = createOnnxBuilder('bad');
    b.input('x', 'float', ['N', 1]);
    expect(() => b.input('x', 'float', ['N', 1])).toThrow(/"x" is already used/);
    expect(() => b.output('nope', 'float', ['N'])).toThrow(/"nope" is not produced/);
    expect(() => b.floats('w', [1, 2, 3], [2, 2])).toThrow(/3 values do not fill dims \[2, 2\]/);
    expect(() => b.int64s('i', [1], [2])).toThrow(/do not fill/);
    b.node('Relu', ['x'], ['y']);
    expect(() => b.node('Relu', ['x'], ['y'])).toThrow(/"y" is already used/);
  });
});
