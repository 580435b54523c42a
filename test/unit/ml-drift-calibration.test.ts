// The calibration on real data: stationary windows resampled from the training rows alert in at most 5 % of
// windows (Elec2 and Adult), and Elec2 replayed in time order alerts on the features that really change, when they
// change. Figures for more window sizes: bench/drift-calibration.ts (bench/results/drift.md).
import { beforeAll, describe, expect, it } from 'vitest';
import { deflateLogPValue, inflationAt, medianLowerBound } from '../../ml/drift/calibration.js';
import { chiSquareIsf } from '../../ml/drift/special.js';
import { compareWindow } from '../../ml/drift/compare.js';
import { buildDriftReference, type DriftReference } from '../../ml/drift/reference.js';
import { takeRows, type Frame } from '../../ml/frame.js';
import { createRng, frameOf, loadDataset, normals, numeric, range } from './ml-drift-frames.js';

/** Share of `count` windows of `size` rows, drawn with replacement from `frame`, in which any feature drifts. */
function alertRate(
  reference: DriftReference,
  frame: Frame,
  size: number,
  count: number,
  seed: number,
  options: Parameters<typeof compareWindow>[2] = {},
): number {
  const rng = createRng(seed);
  let alerts = 0;
  for (let k = 0; k < count; k++) {
    const rows = Int32Array.from({ length: size }, () => rng.nextInt(frame.rowCount));
    if (compareWindow(reference, takeRows(frame, rows), options).drift) alerts++;
  }
  return alerts / count;
}

describe('calibration helpers', () => {
  it('deflates on the chi-square scale, in logs, and does nothing without inflation', () => {
    expect(deflateLogPValue(Math.log(0.01), 1)).toBeCloseTo(0.01, 15);
    const p = deflateLogPValue(Math.log(1e-6), 4);
    expect(p).toBeGreaterThan(0.01);
    expect(chiSquareIsf(p, 1)).toBeCloseTo(chiSquareIsf(1e-6, 1) / 4, 9);
    // A p-value of e^-2000 is 0 as a double; its logarithm still deflates to about chi2_1.sf(4000 / 100).
    const deep = deflateLogPValue(-2000, 100);
    expect(deep).toBeGreaterThan(1e-11);
    expect(deep).toBeLessThan(1e-8);
  });

  it('interpolates the inflation between chunk sizes and extrapolates its growth', () => {
    expect(inflationAt([50, 100], [2, 4], 50)).toBe(2);
    expect(inflationAt([50, 100], [2, 4], 70.71)).toBeCloseTo(2 * Math.SQRT2, 3);
    expect(inflationAt([50, 100], [2, 4], 400)).toBeCloseTo(16, 6);
    expect(inflationAt([50, 100], [2, 2], 400)).toBe(2);
    expect(inflationAt([], [], 400)).toBe(1);
  });

  it('takes a lower confidence bound of the median, so noise alone rarely inflates', () => {
    expect(medianLowerBound([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11, 12])).toBe(4);
    expect(medianLowerBound([1, 2])).toBe(-Infinity);
  });

  it('measures about 1 on independent rows and far more on rows that wander in time', () => {
    const rng = createRng(3);
    const iid = normals(rng, 20_000);
    const wander = new Float64Array(20_000);
    let level = 0;
    for (let i = 0; i < wander.length; i++) {
      if (i % 500 === 0) level = normals(rng, 1)[0]!;
      wander[i] = level + 0.5 * normals(rng, 1)[0]!;
    }
    const ref = buildDriftReference(frameOf(numeric('iid', iid), numeric('wander', wander)));
    const [a, b] = ref.features;
    expect(Math.max(...a!.inflation)).toBeLessThan(1.5);
    expect(Math.min(...b!.inflation)).toBeGreaterThan(3);
  });
});

describe('Elec2', () => {
  let frame: Frame;
  let train: Frame;
  let reference: DriftReference;
  beforeAll(async () => {
    frame = await loadDataset('electricity.csv');
    train = takeRows(frame, range(0, 10_000));
    reference = buildDriftReference(train, { exclude: ['class'] });
  });

  it('stationary windows resampled from the training rows alert in at most 5 % of windows', () => {
    for (const [size, count] of [
      [48, 200],
      [336, 200],
      [2000, 60],
    ] as const) {
      const rate = alertRate(reference, train, size, count, size);
      expect(rate, `${size}-row windows`).toBeLessThanOrEqual(0.05);
    }
  });

  it('replayed in time order, alerts on vicprice, vicdemand and transfer from the week they start to vary', () => {
    // Victoria's price, demand and the transfer are constant until row 17,424 of the file, then vary.
    const week = 336;
    const alerts: Record<string, number[]> = {};
    const starts: number[] = [];
    for (let start = 10_000; start + week <= 24_000; start += week) {
      starts.push(start);
      const report = compareWindow(reference, takeRows(frame, range(start, start + week)));
      for (const f of report.features) (alerts[f.feature] ??= []).push(f.drift ? 1 : 0);
    }
    const changed = starts.map((s) => s + week > 17_424);
    for (const feature of ['vicprice', 'vicdemand', 'transfer'])
      expect(alerts[feature], feature).toEqual(changed.map((c) => (c ? 1 : 0)));
    // period (time of day) has the same distribution in every full week: never an alert.
    expect(alerts.period!.every((a) => a === 0)).toBe(true);
    // Before the change, nothing alerts at all.
    for (const [feature, a] of Object.entries(alerts))
      expect(
        a.filter((_, i) => !changed[i]).every((x) => x === 0),
        feature,
      ).toBe(true);
  });
});

describe('Adult', () => {
  let frame: Frame;
  let reference: DriftReference;
  beforeAll(async () => {
    frame = await loadDataset('adult.csv');
    reference = buildDriftReference(frame, { exclude: ['income'] });
  });

  it('stationary windows resampled from the training rows alert in at most 5 % of windows', () => {
    for (const [size, count] of [
      [100, 120],
      [1000, 80],
    ] as const) {
      const rate = alertRate(reference, frame, size, count, size);
      expect(rate, `${size}-row windows`).toBeLessThanOrEqual(0.05);
    }
  });

  it('without the correction across its 14 features the same windows would alert far more often', () => {
    const rate = alertRate(reference, frame, 1000, 40, 1000, { correction: 'none' });
    expect(rate).toBeGreaterThan(0.1);
  });
});
