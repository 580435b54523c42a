import { describe, expect, it } from 'vitest';
import type { LogisticRegressionParams } from '../../ml/logistic-regression.js';
import { logisticRegressionTrainer as lr } from '../../ml/logistic-regression.js';
import { mlpTrainer } from '../../ml/mlp.js';
import type { PreprocessPlan } from '../../ml/preprocess.js';
import { transform } from '../../ml/preprocess.js';
import type { TrainingData, TrainProgress } from '../../ml/trainer.js';
import { edgeCaseFrame, maxAbsDiff, runOnnx, syntheticData } from './ml-onnx-feeds.js';

const data = syntheticData(600, 1);
const params = (raw: Partial<LogisticRegressionParams> = {}): LogisticRegressionParams => lr.parseParams(raw);

/** Newton's method on the same objective, to double precision: the reference optimum. */
function newtonReference(
  matrix: Float64Array,
  rows: number,
  width: number,
  labels: Uint8Array,
  C: number,
): Float64Array {
  const d = width + 1;
  const w = new Float64Array(d);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (let r = 0; r < rows; r++) {
      const x = [...matrix.subarray(r * width, (r + 1) * width), 1];
      const z = x.reduce((s, v, j) => s + v * w[j]!, 0);
      const p = 1 / (1 + Math.exp(-z));
      for (let i = 0; i < d; i++) {
        g[i]! += ((p - labels[r]!) * x[i]!) / rows;
        for (let j = 0; j < d; j++) h[i * d + j]! += (p * (1 - p) * x[i]! * x[j]!) / rows;
      }
    }
    for (let i = 0; i < width; i++) {
      g[i]! += w[i]! / (C * rows);
      h[i * d + i]! += 1 / (C * rows);
    }
    // Solve h * step = g by Gaussian elimination with partial pivoting.
    const a = Array.from({ length: d }, (_, i) => [...h.subarray(i * d, (i + 1) * d), g[i]!]);
    for (let c = 0; c < d; c++) {
      let pivot = c;
      for (let r = c + 1; r < d; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
      [a[c], a[pivot]] = [a[pivot]!, a[c]!];
      for (let r = 0; r < d; r++) {
        if (r === c) continue;
        const f = a[r]![c]! / a[c]![c]!;
        for (let k = c; k <= d; k++) a[r]![k]! -= f * a[c]![k]!;
      }
    }
    for (let i = 0; i < d; i++) w[i]! -= a[i]![d]! / a[i]![i]!;
  }
  return w;
}

describe('logistic regression trainer', () => {
  for (const solver of ['lbfgs', 'newton-cholesky'] as const) {
    it(`reaches the optimum of the L2-regularized log loss with ${solver} (checked against Newton)`, () => {
      for (const C of [1, 0.05]) {
        const model = lr.fit(data, { params: params({ C, tolerance: 1e-6, solver }), seed: 1 });
        const meta = model.metadata() as {
          coefficients: Record<string, number>;
          intercept: number;
          preprocessing: PreprocessPlan;
          converged: boolean;
          solver: string;
        };
        expect(meta).toMatchObject({ converged: true, solver });
        const design = transform(meta.preprocessing, data.features);
        const reference = newtonReference(design.matrix, design.rowCount, design.width, data.labels, C);
        const ours = [...meta.preprocessing.featureNames.map((n) => meta.coefficients[n]!), meta.intercept];
        for (let j = 0; j < ours.length; j++) expect(Math.abs(ours[j]! - reference[j]!)).toBeLessThan(2e-4);
      }
    });
  }

  it('fits without an intercept when asked', () => {
    for (const solver of ['lbfgs', 'newton-cholesky'] as const) {
      const meta = lr.fit(data, { params: params({ fitIntercept: false, solver }), seed: 1 }).metadata();
      expect(meta).toMatchObject({ intercept: 0, converged: true });
    }
  });

  it('scores like onnxruntime on raw features, including NaN, missing and unseen categories', async () => {
    const model = lr.fit(data, { params: params(), seed: 1 });
    for (const frame of [edgeCaseFrame(), data.features]) {
      const onnx = await runOnnx(model.toOnnx(), frame);
      expect(maxAbsDiff(model.predictProba(frame), onnx.p1)).toBeLessThan(1e-5);
      expect(onnx.probabilityDims).toEqual([frame.rowCount, 2]);
      expect(onnx.labelDims).toEqual([frame.rowCount]);
      expect(onnx.labelType).toBe('int64');
      expect(onnx.labels).toEqual(Array.from(onnx.p1, (p) => (p > 0.5 ? 1 : 0)));
    }
  });

  it('separates the classes on held-out data', () => {
    const model = lr.fit(data, { params: params(), seed: 1 });
    const test = syntheticData(400, 2);
    const p = model.predictProba(test.features);
    let correct = 0;
    for (let i = 0; i < p.length; i++) correct += (p[i]! > 0.5 ? 1 : 0) === test.labels[i] ? 1 : 0;
    expect(correct / p.length).toBeGreaterThan(0.75);
  });

  it('is deterministic: same data and seed give byte-identical ONNX', () => {
    const a = lr.fit(data, { params: params(), seed: 3 }).toOnnx();
    const b = lr.fit(data, { params: params(), seed: 3 }).toOnnx();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  for (const [solver, every, from] of [
    ['lbfgs', 3, 6],
    ['newton-cholesky', 1, 2],
  ] as const) {
    it(`reports progress every iteration and resumes from a checkpoint to the same model (${solver})`, () => {
      const seen: TrainProgress[] = [];
      const checkpoints = new Map<number, Uint8Array>();
      const full = lr.fit(data, {
        params: params({ tolerance: 1e-7, solver }),
        seed: 1,
        checkpointEvery: every,
        validation: syntheticData(100, 9),
        onProgress: (progress, checkpoint) => {
          seen.push(progress);
          if (checkpoint) checkpoints.set(progress.step, checkpoint);
        },
      });
      expect(seen.length).toBeGreaterThan(from);
      expect(seen.map((s) => s.step)).toEqual(seen.map((_, i) => i + 1));
      expect(seen.every((s) => Number.isFinite(s.trainLoss) && s.validLoss !== undefined)).toBe(true);
      expect(seen.every((s) => s.totalSteps === 100)).toBe(true);
      expect([...checkpoints.keys()].every((k) => k % every === 0)).toBe(true);
      expect(seen.at(-1)!.trainLoss).toBeLessThan(seen[0]!.trainLoss);
      const resumedSteps: number[] = [];
      const resumed = lr.fit(data, {
        params: params({ tolerance: 1e-7, solver }),
        seed: 1,
        resumeFrom: checkpoints.get(from)!,
        onProgress: (p) => resumedSteps.push(p.step),
      });
      expect(resumedSteps[0]).toBe(from + 1);
      expect(Buffer.from(resumed.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
      const other = solver === 'lbfgs' ? 'newton-cholesky' : 'lbfgs';
      expect(() =>
        lr.fit(data, { params: params({ solver: other }), seed: 1, resumeFrom: checkpoints.get(from)! }),
      ).toThrow(new RegExp(`written by the ${solver} solver`));
    });
  }

  it('weighs classes with classWeight balanced', () => {
    const skewed: TrainingData = {
      features: data.features,
      labels: Uint8Array.from(data.labels, (y, i) => (y === 1 && i % 3 !== 0 ? 1 : 0)),
    };
    const mean = (p: Float64Array): number => p.reduce((a, b) => a + b, 0) / p.length;
    const plain = mean(lr.fit(skewed, { params: params(), seed: 1 }).predictProba(data.features));
    const balanced = mean(
      lr.fit(skewed, { params: params({ classWeight: 'balanced' }), seed: 1 }).predictProba(data.features),
    );
    expect(balanced).toBeGreaterThan(plain + 0.05);
  });

  it('rejects bad parameters, naming them', () => {
    expect(() => lr.parseParams({ C: -1 })).toThrow(/invalid logistic_regression parameter "C"/);
    expect(() => lr.parseParams({ maxIter: 2.5 })).toThrow(/"maxIter"/);
    expect(() => lr.parseParams({ classWeight: 'auto' })).toThrow(/"classWeight"/);
    expect(() => lr.parseParams({ solver: 'sag' })).toThrow(/"solver"/);
    expect(() => lr.parseParams({ preprocessing: { minCategoryCount: -2 } })).toThrow(
      /"preprocessing.minCategoryCount"/,
    );
    expect(() => lr.parseParams({ learningRate: 0.1 })).toThrow(/learningRate/);
    expect(lr.parseParams(undefined)).toMatchObject({ C: 1, maxIter: 100, tolerance: 1e-4 });
  });

  it('rejects bad training inputs and foreign or mismatched checkpoints', () => {
    const p = params();
    expect(() =>
      lr.fit({ features: data.features, labels: data.labels.subarray(1) }, { params: p, seed: 1 }),
    ).toThrow(/labels has 599 entries/);
    expect(() =>
      lr.fit({ features: data.features, labels: new Uint8Array(600) }, { params: p, seed: 1 }),
    ).toThrow(/both classes/);
    expect(() =>
      lr.fit(
        { features: data.features, labels: Uint8Array.from(data.labels, (y) => y * 2) },
        { params: p, seed: 1 },
      ),
    ).toThrow(/0 or 1/);
    expect(() => lr.fit(data, { params: p, seed: 1, checkpointEvery: 0 })).toThrow(/checkpointEvery/);
    expect(() => lr.fit(data, { params: p, seed: 1, resumeFrom: new TextEncoder().encode('{nope') })).toThrow(
      /not a logistic_regression checkpoint/,
    );
    let mlpCheckpoint: Uint8Array | undefined;
    mlpTrainer.fit(data, {
      params: mlpTrainer.parseParams({ hiddenLayerSizes: [3], maxEpochs: 1 }),
      seed: 1,
      checkpointEvery: 1,
      onProgress: (_p, c) => (mlpCheckpoint = c ?? mlpCheckpoint),
    });
    expect(() => lr.fit(data, { params: p, seed: 1, resumeFrom: mlpCheckpoint! })).toThrow(
      /is a mlp checkpoint/,
    );
    let own: Uint8Array | undefined;
    lr.fit(data, { params: p, seed: 1, checkpointEvery: 1, onProgress: (_p, c) => (own = c ?? own) });
    const other = syntheticData(600, 5);
    expect(() => lr.fit(other, { params: p, seed: 1, resumeFrom: own! })).toThrow(/different training data/);
  });
});
