import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../ml/checkpoint-codec.js';
import type { Frame } from '../../ml/frame.js';
import { takeRows } from '../../ml/frame.js';
import type { GbdtParams } from '../../ml/gbdt/index.js';
import { gbdtTrainer } from '../../ml/gbdt/index.js';
import { createRng } from '../../ml/rng.js';
import type { TrainingData, TrainProgress } from '../../ml/trainer.js';

const CATEGORIES = ['a', 'b', 'c', 'd', 'e', 'f'];

/** x0: signal; x1: signal, 15 % NaN (NaN leans positive); c: a/c/e lean positive; noise: nothing. */
function makeData(n: number, seed: number): TrainingData {
  const rng = createRng(seed);
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const noise = new Float64Array(n);
  const c = new Int32Array(n);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x0[i] = rng.nextFloat() * 4 - 2;
    x1[i] = rng.nextFloat() < 0.15 ? NaN : rng.nextFloat() * 2 - 1;
    noise[i] = rng.nextFloat();
    c[i] = rng.nextFloat() < 0.05 ? -1 : rng.nextInt(CATEGORIES.length);
    const z =
      1.5 * x0[i]! + (Number.isNaN(x1[i]) ? 1.5 : x1[i]!) + (c[i]! >= 0 && c[i]! % 2 === 0 ? 1 : -0.5);
    labels[i] = rng.nextFloat() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
  }
  return {
    features: {
      rowCount: n,
      columns: [
        { name: 'x0', kind: 'numeric', values: x0 },
        { name: 'x1', kind: 'numeric', values: x1 },
        { name: 'c', kind: 'categorical', codes: c, categories: CATEGORIES },
        { name: 'noise', kind: 'numeric', values: noise },
      ],
    },
    labels,
  };
}

const params = (raw: Partial<GbdtParams> = {}): GbdtParams =>
  gbdtTrainer.parseParams({ maxIter: 20, maxLeafNodes: 15, earlyStopping: false, ...raw });

async function runOnnx(bytes: Uint8Array, frame: Frame): Promise<{ p1: Float64Array; label: BigInt64Array }> {
  const session = await ort.InferenceSession.create(bytes);
  const n = frame.rowCount;
  const feeds: Record<string, ort.Tensor> = {};
  for (const col of frame.columns) {
    feeds[col.name] =
      col.kind === 'numeric'
        ? new ort.Tensor('float32', Float32Array.from(col.values), [n, 1])
        : new ort.Tensor(
            'string',
            Array.from(col.codes, (k) => (k < 0 ? '' : col.categories[k]!)),
            [n, 1],
          );
  }
  const out = await session.run(feeds);
  const probabilities = out.probabilities!.data as Float32Array;
  return {
    p1: Float64Array.from({ length: n }, (_, i) => probabilities[2 * i + 1]!),
    label: out.label!.data as BigInt64Array,
  };
}

function auc(p: Float64Array, y: Uint8Array): number {
  let pos = 0;
  let concordant = 0;
  for (let i = 0; i < p.length; i++) {
    if (y[i] !== 1) continue;
    pos++;
    for (let j = 0; j < p.length; j++)
      if (y[j] === 0) concordant += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
  }
  return concordant / (pos * (p.length - pos));
}

const train = makeData(3000, 1);
const test = makeData(600, 2);

describe('gbdt trainer', () => {
  it('learns the signal and scores exactly like onnxruntime, NaN, missing and unseen categories included', async () => {
    const model = gbdtTrainer.fit(train, { params: params(), seed: 3 });
    // Unseen category "zzz" and missing "" ride along through a frame whose category list differs from training's.
    const codes = Int32Array.from(
      test.features.columns[2]!.kind === 'categorical' ? test.features.columns[2]!.codes : [],
    );
    for (let i = 0; i < 40; i++) codes[i] = i % 2 === 0 ? 6 : -1;
    const frame: Frame = {
      rowCount: test.features.rowCount,
      columns: test.features.columns.map((c) =>
        c.name === 'c' ? { name: 'c', kind: 'categorical', codes, categories: [...CATEGORIES, 'zzz'] } : c,
      ),
    };
    const p = model.predictProba(frame);
    expect(auc(p, test.labels)).toBeGreaterThan(0.85);
    const onnx = await runOnnx(model.toOnnx(), frame);
    let maxDiff = 0;
    for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i]! - onnx.p1[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    for (let i = 0; i < p.length; i++) expect(onnx.label[i]).toBe(p[i]! > 0.5 ? 1n : 0n);
    // An unseen category scores like a missing one.
    expect(p[0]).toBeCloseTo(
      model.predictProba(
        takeRows(
          {
            ...frame,
            columns: frame.columns.map((c) =>
              c.name === 'c' ? { ...c, codes: Int32Array.from(codes).fill(-1) } : c,
            ),
          },
          [0],
        ),
      )[0]!,
      12,
    );
  });

  it('compares inputs as float32, as onnxruntime does, right at a threshold', async () => {
    // Two values whose learned edge is 0.5; 0.5 + 1e-9 is 0.5 in float32, so it must go where 0.5 goes.
    const n = 400;
    const x = Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 0 : 1));
    const data: TrainingData = {
      features: { rowCount: n, columns: [{ name: 'x', kind: 'numeric', values: x }] },
      labels: Uint8Array.from(x, (v, i) => (i % 10 === 0 ? 1 - v : v)),
    };
    const model = gbdtTrainer.fit(data, { params: params({ maxIter: 5 }), seed: 1 });
    const probe: Frame = {
      rowCount: 4,
      columns: [
        { name: 'x', kind: 'numeric', values: Float64Array.from([0.5, 0.5 + 1e-9, 0.5 + 1e-7, NaN]) },
      ],
    };
    const p = model.predictProba(probe);
    expect(p[1]).toBe(p[0]);
    expect(p[2]).toBeGreaterThan(p[0]! + 0.1);
    const onnx = await runOnnx(model.toOnnx(), probe);
    for (let i = 0; i < 4; i++) expect(Math.abs(onnx.p1[i]! - p[i]!)).toBeLessThan(1e-6);
  });

  it('learns a default direction for missing values', () => {
    const model = gbdtTrainer.fit(train, { params: params(), seed: 3 });
    const base = takeRows(
      test.features,
      Int32Array.from({ length: 200 }, (_, i) => i),
    );
    const withNaN: Frame = {
      ...base,
      columns: base.columns.map((c) =>
        c.name === 'x1' ? { ...c, values: new Float64Array(200).fill(NaN) } : c,
      ),
    };
    const withLow: Frame = {
      ...base,
      columns: base.columns.map((c) =>
        c.name === 'x1' ? { ...c, values: new Float64Array(200).fill(-0.9) } : c,
      ),
    };
    const mean = (a: Float64Array): number => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(model.predictProba(withNaN))).toBeGreaterThan(mean(model.predictProba(withLow)) + 0.1);
  });

  it('gives byte-identical ONNX for the same seed and data, and a different model for another seed', () => {
    const p = params({ subsample: 0.7, colsampleByTree: 0.75 });
    const a = gbdtTrainer.fit(train, { params: p, seed: 11 }).toOnnx();
    const b = gbdtTrainer.fit(train, { params: p, seed: 11 }).toOnnx();
    const c = gbdtTrainer.fit(train, { params: p, seed: 12 }).toOnnx();
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });

  it('resumes from a checkpoint chain to the very model an uninterrupted run gives', () => {
    const p = params({
      maxIter: 25,
      subsample: 0.8,
      colsampleByTree: 0.75,
      colsampleByNode: 0.7,
      earlyStopping: true,
      validationFraction: 0.2,
    });
    const checkpoints = new Map<number, Uint8Array>();
    const steps: TrainProgress[] = [];
    const full = gbdtTrainer.fit(train, {
      params: p,
      seed: 5,
      checkpointEvery: 5,
      onProgress: (progress, checkpoint) => {
        steps.push(progress);
        if (checkpoint) checkpoints.set(progress.step, checkpoint);
      },
    });
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: steps.length }, (_, i) => i + 1));
    expect([...checkpoints.keys()]).toEqual(steps.filter((s) => s.step % 5 === 0).map((s) => s.step));
    expect(steps.every((s) => s.validLoss !== undefined && Number.isFinite(s.trainLoss))).toBe(true);

    // Each checkpoint holds only the trees since the previous one: the chain up to step 10 is two of them.
    const chain = [checkpoints.get(5)!, checkpoints.get(10)!];
    const resumedSteps: number[] = [];
    const later = new Map<number, Uint8Array>();
    const resumed = gbdtTrainer.fit(train, {
      params: p,
      seed: 5,
      resumeFrom: chain,
      checkpointEvery: 5,
      onProgress: (progress, checkpoint) => {
        resumedSteps.push(progress.step);
        if (checkpoint) later.set(progress.step, checkpoint);
      },
    });
    expect(resumedSteps[0]).toBe(11);
    expect(resumedSteps.at(-1)).toBe(steps.at(-1)!.step);
    expect(Buffer.from(resumed.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
    expect(resumed.metadata()).toEqual(full.metadata());
    // A resumed run's checkpoints continue the same chain, byte for byte.
    for (const [step, bytes] of later)
      expect(Buffer.from(bytes).equals(Buffer.from(checkpoints.get(step)!))).toBe(true);
    // Resuming again from the longer chain still gives the same model.
    const again = gbdtTrainer.fit(train, {
      params: p,
      seed: 5,
      resumeFrom: [...chain, checkpoints.get(15)!],
    });
    expect(Buffer.from(again.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
  });

  it('still resumes from a complete checkpoint written before chains (version 1)', () => {
    const p = params({ maxIter: 12, earlyStopping: true, validationFraction: 0.2 });
    const pieces: Uint8Array[] = [];
    const full = gbdtTrainer.fit(train, {
      params: p,
      seed: 4,
      checkpointEvery: 3,
      onProgress: (_p, c) => c && pieces.push(c),
    });
    type Piece = { state: Record<string, unknown> & { trees: unknown[]; validLosses: number[] } };
    const states = pieces.slice(0, 2).map((c) => (JSON.parse(new TextDecoder().decode(c)) as Piece).state);
    const v1 = encodeCheckpoint('gbdt', {
      ...states[1],
      version: 1,
      binnings: states[0]!.binnings,
      trees: states.flatMap((st) => st.trees),
      validLosses: states.flatMap((st) => st.validLosses),
      fromTree: undefined,
      fromLoss: undefined,
    });
    const resumed = gbdtTrainer.fit(train, { params: p, seed: 4, resumeFrom: v1 });
    expect(Buffer.from(resumed.toOnnx()).equals(Buffer.from(full.toOnnx()))).toBe(true);
  });

  it('writes checkpoints that hold only the trees since the previous one', () => {
    const p = params({ maxIter: 40 });
    const sizes: number[] = [];
    const trees: number[] = [];
    gbdtTrainer.fit(train, {
      params: p,
      seed: 3,
      checkpointEvery: 10,
      onProgress: (_progress, checkpoint) => {
        if (!checkpoint) return;
        sizes.push(checkpoint.byteLength);
        const state = (
          JSON.parse(new TextDecoder().decode(checkpoint)) as {
            state: { trees: unknown[]; fromTree: number; binnings?: unknown };
          }
        ).state;
        trees.push(state.trees.length, state.fromTree, state.binnings ? 1 : 0);
      },
    });
    // [trees in it, trees before it, has the bins] for each of the four checkpoints.
    expect(trees).toEqual([10, 0, 1, 10, 10, 0, 10, 20, 0, 10, 30, 0]);
    // The later ones are about the same size, not growing with the model (the first also carries the bins).
    expect(Math.max(...sizes.slice(1)) / Math.min(...sizes.slice(1))).toBeLessThan(1.5);
  });

  it('refuses an incomplete chain, naming what is missing', () => {
    const p = params({ maxIter: 6 });
    const checkpoints: Uint8Array[] = [];
    gbdtTrainer.fit(train, {
      params: p,
      seed: 1,
      checkpointEvery: 2,
      onProgress: (_p, c) => c && checkpoints.push(c),
    });
    expect(checkpoints).toHaveLength(3);
    expect(() => gbdtTrainer.fit(train, { params: p, seed: 1, resumeFrom: checkpoints[2]! })).toThrow(
      'gbdt: resumeFrom is incomplete: checkpoint 1 of 1 follows 4 trees, but the checkpoints before it hold 0',
    );
    expect(() =>
      gbdtTrainer.fit(train, { params: p, seed: 1, resumeFrom: [checkpoints[0]!, checkpoints[2]!] }),
    ).toThrow(
      'gbdt: resumeFrom is incomplete: checkpoint 2 of 2 follows 4 trees, but the checkpoints before it hold 2',
    );
    expect(() => gbdtTrainer.fit(train, { params: p, seed: 1, resumeFrom: [] })).toThrow(
      /empty checkpoint chain/,
    );
  });

  it('gives byte-identical ONNX on 1, 2 and 4 threads, and resumes on another thread count', () => {
    // Row and column sampling, missing values and a categorical feature: every path of the shared work.
    const wide: TrainingData = {
      features: {
        rowCount: train.features.rowCount,
        columns: [
          ...train.features.columns,
          ...train.features.columns.map((c) => ({ ...c, name: `${c.name}_copy` })),
        ],
      },
      labels: train.labels,
    };
    const base = {
      maxIter: 12,
      subsample: 0.8,
      colsampleByTree: 0.9,
      colsampleByNode: 0.8,
      earlyStopping: true,
      validationFraction: 0.2,
    };
    const fit = (threads: number, resumeFrom?: Uint8Array) => {
      const checkpoints = new Map<number, Uint8Array>();
      const model = gbdtTrainer.fit(wide, {
        params: params({ ...base, threads }),
        seed: 9,
        checkpointEvery: 4,
        ...(resumeFrom ? { resumeFrom } : {}),
        onProgress: (progress, checkpoint) => {
          if (checkpoint) checkpoints.set(progress.step, checkpoint);
        },
      });
      return { onnx: Buffer.from(model.toOnnx()), metadata: model.metadata(), checkpoints };
    };
    const one = fit(1);
    const two = fit(2);
    const four = fit(4);
    expect(two.onnx.equals(one.onnx)).toBe(true);
    expect(four.onnx.equals(one.onnx)).toBe(true);
    expect(four.metadata).toEqual(one.metadata);
    // Checkpoints do not depend on the thread count either, so a run resumes on a worker with other cores.
    expect(Buffer.from(four.checkpoints.get(8)!).equals(Buffer.from(one.checkpoints.get(8)!))).toBe(true);
    expect(fit(2, one.checkpoints.get(4)).onnx.equals(one.onnx)).toBe(true);
  });

  it('refuses a checkpoint from other parameters, other data or another trainer', () => {
    let checkpoint: Uint8Array | undefined;
    gbdtTrainer.fit(train, {
      params: params({ maxIter: 4 }),
      seed: 1,
      checkpointEvery: 4,
      onProgress: (_p, c) => (checkpoint = c ?? checkpoint),
    });
    expect(checkpoint).toBeDefined();
    const resume =
      (data: TrainingData, p: GbdtParams, seed = 1, resumeFrom = checkpoint!) =>
      () =>
        gbdtTrainer.fit(data, { params: p, seed, resumeFrom });
    expect(resume(train, params({ maxIter: 4, learningRate: 0.2 }))).toThrow(/parameter "learningRate"/);
    expect(resume(train, params({ maxIter: 4 }), 2)).toThrow(/seed 1/);
    expect(resume(makeData(3000, 9), params({ maxIter: 4 }))).toThrow(/different training data/);
    expect(resume(train, params({ maxIter: 4 }), 1, new TextEncoder().encode('not a checkpoint'))).toThrow(
      /not a gbdt checkpoint/,
    );
    expect(resume(train, params({ maxIter: 4 }), 1, encodeCheckpoint('logistic_regression', {}))).toThrow(
      /logistic_regression checkpoint/,
    );
  });

  it('stops early when the validation loss stops improving, and says where the best iteration was', () => {
    const noisy: TrainingData = { features: train.features, labels: makeData(3000, 77).labels };
    const model = gbdtTrainer.fit(noisy, {
      params: params({ maxIter: 300, earlyStopping: true, nIterNoChange: 5 }),
      seed: 1,
    });
    const facts = model.metadata();
    expect(facts.earlyStopped).toBe(true);
    expect(facts.iterations).toBeLessThan(300);
    expect(facts.bestIteration).toBeLessThanOrEqual(facts.iterations as number);
  });

  it('uses the `validation` option for early stopping and reports its loss', () => {
    const seen: TrainProgress[] = [];
    const model = gbdtTrainer.fit(train, {
      params: params({ maxIter: 8, earlyStopping: 'auto' }),
      seed: 1,
      validation: test,
      onProgress: (p) => seen.push(p),
    });
    expect(seen).toHaveLength(8);
    expect(seen.every((s) => s.validLoss !== undefined)).toBe(true);
    expect(model.metadata()).toMatchObject({ earlyStopping: true, validationRows: 600, trainRows: 3000 });
  });

  it('reports gain importances per raw feature, with the noise feature last', () => {
    const imp = gbdtTrainer.fit(train, { params: params(), seed: 3 }).metadata()
      .featureImportanceGain as Record<string, number>;
    expect(Object.keys(imp)).toEqual(['x0', 'x1', 'c', 'noise']);
    expect(Object.values(imp).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(imp.x0).toBeGreaterThan(imp.noise!);
    expect(imp.c).toBeGreaterThan(imp.noise!);
  });

  it('honours maxDepth and maxLeafNodes', () => {
    const shallow = gbdtTrainer
      .fit(train, { params: params({ maxDepth: 2, maxLeafNodes: 31 }), seed: 1 })
      .metadata();
    expect(shallow.leafCount as number).toBeLessThanOrEqual(4 * (shallow.treeCount as number));
    const small = gbdtTrainer.fit(train, { params: params({ maxLeafNodes: 3 }), seed: 1 }).metadata();
    expect(small.leafCount).toBe(3 * (small.treeCount as number));
  });

  it('exports a constant model when no split is allowed, and onnxruntime agrees', async () => {
    const tiny = makeData(30, 4);
    const model = gbdtTrainer.fit(tiny, { params: params({ maxIter: 3 }), seed: 1 });
    const positives = tiny.labels.reduce((a, b) => a + b, 0);
    const p = model.predictProba(tiny.features);
    for (const v of p) expect(v).toBeCloseTo(positives / 30, 12);
    const onnx = await runOnnx(model.toOnnx(), tiny.features);
    for (const v of onnx.p1) expect(v).toBeCloseTo(positives / 30, 6);
  });

  it('names the bad parameter', () => {
    expect(() => gbdtTrainer.parseParams({ learningRate: -1 })).toThrow(/parameter "learningRate"/);
    expect(() => gbdtTrainer.parseParams({ maxBins: 300 })).toThrow(/parameter "maxBins"/);
    expect(() => gbdtTrainer.parseParams({ subsample: 0 })).toThrow(/parameter "subsample"/);
    expect(() => gbdtTrainer.parseParams({ earlyStopping: 'yes' })).toThrow(/parameter "earlyStopping"/);
    expect(() => gbdtTrainer.parseParams({ maxLeafs: 3 })).toThrow(/maxLeafs/);
    expect(gbdtTrainer.parseParams(undefined)).toMatchObject({
      learningRate: 0.1,
      maxIter: 100,
      maxLeafNodes: 31,
      maxBins: 255,
    });
  });

  it('rejects bad training input and a frame without a trained feature', () => {
    expect(() =>
      gbdtTrainer.fit(
        { features: train.features, labels: new Uint8Array(3000) },
        { params: params(), seed: 1 },
      ),
    ).toThrow(/both classes/);
    expect(() => gbdtTrainer.fit(train, { params: params(), seed: 1, checkpointEvery: 0 })).toThrow(
      /checkpointEvery/,
    );
    const model = gbdtTrainer.fit(train, { params: params({ maxIter: 2 }), seed: 1 });
    expect(() => model.predictProba({ rowCount: 1, columns: train.features.columns.slice(0, 2) })).toThrow(
      /"c" is missing/,
    );
  });
});
