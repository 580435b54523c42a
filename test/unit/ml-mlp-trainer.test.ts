import { describe, expect, it } from 'vitest';
import { logisticRegressionTrainer } from '../../ml/logistic-regression.js';
import type { MlpParams } from '../../ml/mlp.js';
import { mlpTrainer as mlp } from '../../ml/mlp.js';
import type { TrainProgress } from '../../ml/trainer.js';
import { edgeCaseFrame, maxAbsDiff, runOnnx, syntheticData } from './ml-onnx-feeds.js';

const xor = syntheticData(800, 1, { nonlinear: true });
const xorTest = syntheticData(400, 2, { nonlinear: true });
const small = (raw: Partial<MlpParams> = {}): MlpParams =>
  mlp.parseParams({ hiddenLayerSizes: [16], maxEpochs: 30, batchSize: 64, learningRateInit: 0.01, ...raw });

function accuracy(p: Float64Array, labels: Uint8Array): number {
  let correct = 0;
  for (let i = 0; i < p.length; i++) correct += (p[i]! > 0.5 ? 1 : 0) === labels[i] ? 1 : 0;
  return correct / p.length;
}

describe('mlp trainer', () => {
  it('learns an interaction a linear model cannot', () => {
    const net = mlp.fit(xor, { params: small({ maxEpochs: 60 }), seed: 1 });
    const linear = logisticRegressionTrainer.fit(xor, {
      params: logisticRegressionTrainer.parseParams({}),
      seed: 1,
    });
    const netAccuracy = accuracy(net.predictProba(xorTest.features), xorTest.labels);
    expect(netAccuracy).toBeGreaterThan(0.8);
    expect(netAccuracy).toBeGreaterThan(
      accuracy(linear.predictProba(xorTest.features), xorTest.labels) + 0.15,
    );
  });

  it('scores like onnxruntime on raw features, for relu and tanh and deeper nets', async () => {
    for (const raw of [
      {},
      { activation: 'tanh' as const, hiddenLayerSizes: [12, 7] },
      { hiddenLayerSizes: [9, 5, 4] },
    ]) {
      const model = mlp.fit(xor, { params: small({ ...raw, maxEpochs: 8 }), seed: 2 });
      for (const frame of [edgeCaseFrame(), xorTest.features]) {
        const onnx = await runOnnx(model.toOnnx(), frame);
        expect(maxAbsDiff(model.predictProba(frame), onnx.p1)).toBeLessThan(1e-5);
        expect(onnx.probabilityDims).toEqual([frame.rowCount, 2]);
        expect(onnx.labelType).toBe('int64');
      }
    }
  });

  it('is deterministic for a seed, and another seed gives another model', () => {
    const a = mlp.fit(xor, { params: small({ maxEpochs: 5 }), seed: 4 }).toOnnx();
    const b = mlp.fit(xor, { params: small({ maxEpochs: 5 }), seed: 4 }).toOnnx();
    const c = mlp.fit(xor, { params: small({ maxEpochs: 5 }), seed: 5 }).toOnnx();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('resumes from a checkpoint to the same model as an uninterrupted run', () => {
    for (const raw of [{ maxEpochs: 12 }, { maxEpochs: 40, earlyStopping: true, nIterNoChange: 3 }]) {
      const checkpoints = new Map<number, Uint8Array>();
      const steps: TrainProgress[] = [];
      const full = mlp.fit(xor, {
        params: small(raw),
        seed: 7,
        checkpointEvery: 2,
        onProgress: (p, c) => {
          steps.push(p);
          if (c) checkpoints.set(p.step, c);
        },
      });
      expect(steps.map((s) => s.step)).toEqual(steps.map((_, i) => i + 1));
      expect([...checkpoints.keys()]).toEqual(steps.map((s) => s.step).filter((s) => s % 2 === 0));
      const resumed = mlp.fit(xor, { params: small(raw), seed: 7, resumeFrom: checkpoints.get(4)! });
      expect(Buffer.from(resumed.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
      expect(resumed.metadata()).toEqual(full.metadata());
    }
  });

  it('stops early when the validation loss stalls and keeps the best weights', () => {
    const steps: TrainProgress[] = [];
    const model = mlp.fit(xor, {
      params: small({ maxEpochs: 500, earlyStopping: true, nIterNoChange: 4, learningRateInit: 0.05 }),
      seed: 3,
      onProgress: (p) => steps.push(p),
    });
    const meta = model.metadata() as { epochs: number; stopReason: string; bestValidLoss: number };
    expect(meta.stopReason).toBe('validation-loss-stalled');
    expect(meta.epochs).toBeLessThan(500);
    expect(steps.every((s) => s.validLoss !== undefined)).toBe(true);
    expect(meta.bestValidLoss).toBe(Math.min(...steps.map((s) => s.validLoss!)));
  });

  it('stops when the training loss stalls, as scikit-learn does', () => {
    const model = mlp.fit(xor, {
      params: small({ maxEpochs: 2000, tolerance: 1e-2, nIterNoChange: 2 }),
      seed: 3,
    });
    const meta = model.metadata() as { epochs: number; stopReason: string };
    expect(meta.stopReason).toBe('training-loss-stalled');
    expect(meta.epochs).toBeLessThan(2000);
  });

  it('rejects bad parameters, naming them', () => {
    expect(() => mlp.parseParams({ hiddenLayerSizes: [] })).toThrow(
      /invalid mlp parameter "hiddenLayerSizes"/,
    );
    expect(() => mlp.parseParams({ hiddenLayerSizes: [10, 0] })).toThrow(/"hiddenLayerSizes.1"/);
    expect(() => mlp.parseParams({ activation: 'sigmoid' })).toThrow(/"activation"/);
    expect(() => mlp.parseParams({ validationFraction: 1 })).toThrow(/"validationFraction"/);
    expect(() => mlp.parseParams({ alpha: -1 })).toThrow(/"alpha"/);
    expect(() => mlp.parseParams({ learningRate: 0.1 })).toThrow(/learningRate/);
    expect(mlp.parseParams({})).toMatchObject({
      hiddenLayerSizes: [100],
      activation: 'relu',
      batchSize: 200,
      maxEpochs: 200,
    });
  });

  it('rejects checkpoints that do not fit the run', () => {
    let checkpoint: Uint8Array | undefined;
    mlp.fit(xor, {
      params: small({ maxEpochs: 2 }),
      seed: 1,
      checkpointEvery: 1,
      onProgress: (_p, c) => (checkpoint = c ?? checkpoint),
    });
    expect(() => mlp.fit(xor, { params: small(), seed: 2, resumeFrom: checkpoint! })).toThrow(
      /seed 1, but seed is 2/,
    );
    expect(() =>
      mlp.fit(xor, { params: small({ hiddenLayerSizes: [8] }), seed: 1, resumeFrom: checkpoint! }),
    ).toThrow(/hiddenLayerSizes/);
    expect(() => mlp.fit(xorTest, { params: small(), seed: 1, resumeFrom: checkpoint! })).toThrow(
      /different training data/,
    );
    expect(() =>
      mlp.fit(xor, { params: small({ earlyStopping: true }), seed: 1, resumeFrom: checkpoint! }),
    ).toThrow(/earlyStopping/);
  });
});
