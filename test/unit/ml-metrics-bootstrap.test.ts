import { describe, expect, it } from 'vitest';
import type { CategoricalColumn, Frame } from '../../ml/frame.js';
import { pairedBootstrap } from '../../ml/metrics/bootstrap.js';
import { aucFromOrder, ascendingOrder, binaryMetrics, rocAuc } from '../../ml/metrics/classification.js';
import { evaluateBinary } from '../../ml/metrics/evaluate.js';
import { sliceMetrics } from '../../ml/metrics/slices.js';

function mulberry(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Labels and two models' scores: `strong` separates the classes better than `weak`. */
function data(n: number, seed = 1): { labels: Uint8Array; strong: Float64Array; weak: Float64Array } {
  const random = mulberry(seed);
  const labels = Uint8Array.from({ length: n }, () => (random() < 0.4 ? 1 : 0));
  const squash = (x: number): number => 1 / (1 + Math.exp(-x));
  const strong = Float64Array.from(labels, (y) => squash(2.5 * (y - 0.5) + (random() - 0.5) * 3));
  const weak = Float64Array.from(labels, (y) => squash(0.8 * (y - 0.5) + (random() - 0.5) * 3));
  return { labels, strong, weak };
}

describe('paired bootstrap', () => {
  const { labels, strong, weak } = data(600);

  it('gives a CI above zero for a clearly better candidate, and is reproducible with its seed', () => {
    const result = pairedBootstrap(labels, strong, weak, { iterations: 300, seed: 7 });
    const auc = result.find((r) => r.metric === 'auc')!;
    expect(auc.diff).toBeCloseTo(rocAuc(labels, strong)! - rocAuc(labels, weak)!, 12);
    expect(auc.ciLow!).toBeGreaterThan(0);
    expect(auc.ciLow!).toBeLessThan(auc.diff!);
    expect(auc.ciHigh!).toBeGreaterThan(auc.diff!);
    expect(auc.candidateBetterShare).toBe(1);
    const logLoss = result.find((r) => r.metric === 'logLoss')!;
    expect(logLoss.higherIsBetter).toBe(false);
    expect(logLoss.ciHigh!).toBeLessThan(0);
    expect(pairedBootstrap(labels, strong, weak, { iterations: 300, seed: 7 })).toEqual(result);
    expect(pairedBootstrap(labels, strong, weak, { iterations: 300, seed: 8 })).not.toEqual(result);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('gives exactly zero differences for identical models', () => {
    const [auc] = pairedBootstrap(labels, strong, strong, { iterations: 50, metrics: ['auc'] });
    expect(auc).toMatchObject({ diff: 0, meanDiff: 0, ciLow: 0, ciHigh: 0, candidateBetterShare: 0 });
  });

  it('straddles zero for two equally good models', () => {
    // Same labels, a second model's scores drawn independently with the same recipe as `strong`.
    const noise = mulberry(5);
    const twin = Float64Array.from(
      labels,
      (y) => 1 / (1 + Math.exp(-(2.5 * (y - 0.5) + (noise() - 0.5) * 3))),
    );
    const [auc] = pairedBootstrap(labels, strong, twin, { iterations: 300, metrics: ['auc'] });
    expect(auc!.ciLow!).toBeLessThan(0);
    expect(auc!.ciHigh!).toBeGreaterThan(0);
  });

  it('computes weighted AUC exactly as the AUC of the resampled rows', () => {
    const random = mulberry(11);
    const n = 80;
    const y = Uint8Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0));
    const s = Float64Array.from({ length: n }, () => Math.round(random() * 10) / 10);
    const weights = Float64Array.from({ length: n }, () => Math.floor(random() * 3));
    const expandedY: number[] = [];
    const expandedS: number[] = [];
    weights.forEach((w, i) => {
      for (let k = 0; k < w; k++) {
        expandedY.push(y[i]!);
        expandedS.push(s[i]!);
      }
    });
    const weighted = aucFromOrder(y, s, ascendingOrder(s), weights);
    expect(weighted).toBeCloseTo(rocAuc(Uint8Array.from(expandedY), Float64Array.from(expandedS))!, 12);
  });

  it('refuses mismatched inputs and bad options', () => {
    expect(() => pairedBootstrap(labels, strong, weak.subarray(1))).toThrow(/length/);
    expect(() => pairedBootstrap(labels, strong, weak, { confidence: 1 })).toThrow(/confidence/);
    expect(() => pairedBootstrap(labels, strong, weak, { iterations: 0 })).toThrow(/iterations/);
  });
});

describe('slice metrics and evaluateBinary', () => {
  const { labels, strong, weak } = data(400, 3);
  const frame: Frame = {
    rowCount: 400,
    columns: [
      {
        name: 'age',
        kind: 'numeric',
        values: Float64Array.from({ length: 400 }, (_, i) => (i % 25 === 0 ? NaN : i % 80)),
      },
      {
        name: 'city',
        kind: 'categorical',
        categories: ['Oslo', 'Bergen', 'Tromsø'],
        codes: Int32Array.from({ length: 400 }, (_, i) => (i % 10 === 0 ? -1 : i % 3)),
      },
    ],
  };

  it('slices categorical columns by category and numeric ones by quantile bins, with counts that add up', () => {
    const [age, city] = sliceMetrics(frame, labels, strong, ['age', 'city']);
    expect(age!.slices.map((s) => s.slice)).toEqual([
      '(-inf, 19]',
      '(19, 39]',
      '(39, 59]',
      '(59, inf]',
      '(missing)',
    ]);
    expect(age!.cuts).toEqual([19, 39, 59]);
    expect(age!.slices.reduce((s, x) => s + x.count, 0)).toBe(400);
    expect(age!.slices.at(-1)!.count).toBe(16);
    expect(city!.slices.map((s) => s.slice).sort()).toEqual(['(missing)', 'Bergen', 'Oslo', 'Tromsø']);
    const oslo = city!.slices.find((s) => s.slice === 'Oslo')!;
    const codes = (frame.columns[1] as CategoricalColumn).codes;
    const rows = [...codes].flatMap((c, i) => (c === 0 ? [i] : []));
    const direct = binaryMetrics(
      Uint8Array.from(rows, (r) => labels[r]!),
      Float64Array.from(rows, (r) => strong[r]!),
    );
    expect(oslo).toMatchObject({
      count: rows.length,
      auc: direct.auc,
      logLoss: direct.logLoss,
      f1: direct.f1,
    });
  });

  it('merges small categories into (other) beyond maxCategories', () => {
    const [city] = sliceMetrics(frame, labels, strong, ['city'], { maxCategories: 1 });
    expect(city!.slices.map((s) => s.slice)).toHaveLength(3);
    expect(city!.slices.map((s) => s.slice)).toContain('(other)');
  });

  it('refuses a frame whose rows do not line up and an unknown column', () => {
    expect(() => sliceMetrics({ rowCount: 3, columns: [] }, labels, strong, [])).toThrow(/400 labels/);
    expect(() => sliceMetrics(frame, labels, strong, ['zip'])).toThrow(/"zip" not found/);
  });

  it('assembles a JSON-safe report with champion comparison', () => {
    const report = evaluateBinary(labels, strong, {
      title: 'test',
      frame,
      sliceColumns: ['city'],
      championScores: weak,
      bootstrap: { iterations: 100 },
    });
    expect(report.metrics.auc).toBe(rocAuc(labels, strong));
    expect(report.champion?.metrics.auc).toBe(rocAuc(labels, weak));
    expect(report.champion?.comparison.map((c) => c.metric)).toEqual(['auc', 'logLoss', 'brier']);
    expect(report.slices).toHaveLength(1);
    expect(report.roc.length).toBeLessThanOrEqual(200);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });
});
