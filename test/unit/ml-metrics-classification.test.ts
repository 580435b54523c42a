import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { calibrationBins } from '../../ml/metrics/calibration.js';
import {
  binaryMetrics,
  brierScore,
  confusionMatrix,
  logLoss,
  rocAuc,
} from '../../ml/metrics/classification.js';
import { rocCurve } from '../../ml/metrics/roc.js';
import { fixturePath } from './ml-ingest-sources.js';

// test/fixtures/data/scores-sklearn.csv (300 rows, scores rounded to 2 decimals so there are many ties) and the
// expected values below come from one run of this script (scikit-learn 1.7.2, NumPy 2.4.6):
//   import numpy as np
//   from sklearn.metrics import roc_auc_score, log_loss, brier_score_loss, accuracy_score, precision_score, \
//     recall_score, f1_score, confusion_matrix, roc_curve
//   from sklearn.calibration import calibration_curve
//   rng = np.random.default_rng(7); y = rng.integers(0, 2, 300)
//   s = np.clip(np.round(0.5 + 0.25 * (y - 0.5) + rng.normal(0, 0.2, 300), 2), 0.01, 0.99)
//   (written as label,score with f'{a},{b:.2f}'); p = (s >= 0.5).astype(int)
//   roc_auc_score(y, s); log_loss(y, s); brier_score_loss(y, s); accuracy_score(y, p); precision_score(y, p);
//   recall_score(y, p); f1_score(y, p); confusion_matrix(y, p).ravel(); calibration_curve(y, s, n_bins=10);
//   roc_curve(y, s, drop_intermediate=False)
const rows = readFileSync(fixturePath('scores-sklearn.csv'), 'utf8').trim().split('\n').slice(1);
const labels = Uint8Array.from(rows, (r) => Number(r.split(',')[0]));
const scores = Float64Array.from(rows, (r) => Number(r.split(',')[1]));

describe('binary metrics against scikit-learn', () => {
  it('matches AUC, log loss, Brier and the threshold metrics', () => {
    const m = binaryMetrics(labels, scores);
    expect(m.auc).toBeCloseTo(0.8182224406809956, 12);
    expect(m.logLoss).toBeCloseTo(0.5349849088395383, 12);
    expect(m.brier).toBeCloseTo(0.1800793333333333, 12);
    expect(m.accuracy).toBeCloseTo(0.74, 12);
    expect(m.precision).toBeCloseTo(0.7712418300653595, 12);
    expect(m.recall).toBeCloseTo(0.7329192546583851, 12);
    expect(m.f1).toBeCloseTo(0.7515923566878981, 12);
    expect(m.confusion).toEqual({ tn: 104, fp: 35, fn: 43, tp: 118 });
    expect(m).toMatchObject({ count: 300, positives: 161, threshold: 0.5 });
    expect(rocAuc(labels, scores)).toBe(m.auc);
    expect(logLoss(labels, scores)).toBe(m.logLoss);
    expect(brierScore(labels, scores)).toBe(m.brier);
  });

  it('matches calibration_curve (uniform, 10 bins) on the non-empty bins', () => {
    const cal = calibrationBins(labels, scores, { bins: 10 });
    const filled = cal.bins.filter((b) => b.count > 0);
    const observed = [
      0.06666666666666667, 0.10526315789473684, 0.23076923076923078, 0.3191489361702128, 0.4883720930232558,
      0.6333333333333333, 0.8333333333333334, 0.875, 0.8333333333333334, 1.0,
    ];
    const predicted = [
      0.05999999999999999, 0.1636842105263158, 0.25884615384615384, 0.3627659574468086, 0.4546511627906978,
      0.5594999999999999, 0.6523809523809524, 0.7604166666666669, 0.8583333333333334, 0.9483333333333333,
    ];
    expect(filled).toHaveLength(10);
    filled.forEach((b, i) => {
      expect(b.observedRate).toBeCloseTo(observed[i]!, 12);
      expect(b.meanPredicted).toBeCloseTo(predicted[i]!, 12);
    });
    expect(cal.bins.reduce((s, b) => s + b.count, 0)).toBe(300);
    expect(cal.ece).toBeGreaterThan(0);
  });

  it('matches roc_curve point for point before thinning', () => {
    const curve = rocCurve(labels, scores, 1000);
    expect(curve).toHaveLength(89);
    expect(curve[0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
    expect(curve[40]!.fpr).toBeCloseTo(0.23741007194244604, 12);
    expect(curve[40]!.tpr).toBeCloseTo(0.7080745341614907, 12);
    expect(curve[40]!.threshold).toBe(0.52);
    expect(curve[88]).toMatchObject({ fpr: 1, tpr: 1 });
  });
});

describe('binary metrics, edge cases', () => {
  it('counts ties as one half in the AUC', () => {
    expect(rocAuc(Uint8Array.from([0, 1]), Float64Array.from([0.5, 0.5]))).toBe(0.5);
    expect(rocAuc(Uint8Array.from([0, 0, 1, 1]), Float64Array.from([0.1, 0.4, 0.4, 0.8]))).toBe(0.875);
  });

  it('gives a null AUC and an empty ROC curve with one class', () => {
    const y = Uint8Array.from([1, 1, 1]);
    const s = Float64Array.from([0.2, 0.6, 0.9]);
    expect(binaryMetrics(y, s).auc).toBeNull();
    expect(rocCurve(y, s)).toEqual([]);
    expect((JSON.parse(JSON.stringify(binaryMetrics(y, s))) as { auc: unknown }).auc).toBeNull();
  });

  it('clips log loss at 1e-15 so a confident mistake is finite', () => {
    const loss = logLoss(Uint8Array.from([1, 0]), Float64Array.from([0, 1]));
    // The negative row's 1 - (1 - 1e-15) rounds to 9.99e-16 in binary floating point, as in scikit-learn.
    expect(loss).toBeCloseTo((-Math.log(1e-15) - Math.log(1 - (1 - 1e-15))) / 2, 12);
    expect(loss).toBeCloseTo(34.539, 3);
  });

  it('uses zero_division = 0 for precision and F1 when nothing is predicted positive', () => {
    const m = binaryMetrics(Uint8Array.from([0, 1]), Float64Array.from([0.1, 0.2]));
    expect(m).toMatchObject({ precision: 0, recall: 0, f1: 0, accuracy: 0.5 });
  });

  it('predicts positive at exactly the threshold', () => {
    expect(confusionMatrix(Uint8Array.from([1, 0]), Float64Array.from([0.5, 0.49]), 0.5)).toEqual({
      tp: 1,
      fp: 0,
      tn: 1,
      fn: 0,
    });
  });

  it('refuses mismatched lengths, labels other than 0/1, and scores outside [0, 1] or NaN', () => {
    expect(() => binaryMetrics(Uint8Array.from([0, 1]), Float64Array.from([0.5]))).toThrow(/length/);
    expect(() => binaryMetrics(Uint8Array.from([0, 2]), Float64Array.from([0.5, 0.5]))).toThrow(
      /label 1 is 2/,
    );
    expect(() => binaryMetrics(Uint8Array.from([0, 1]), Float64Array.from([0.5, NaN]))).toThrow(
      /score 1 is NaN/,
    );
    expect(() => binaryMetrics(Uint8Array.from([0, 1]), Float64Array.from([0.5, 1.2]))).toThrow(
      /probabilities/,
    );
    expect(() => binaryMetrics(new Uint8Array(0), new Float64Array(0))).toThrow(/no rows/);
  });

  it('thins a long ROC curve to the requested number of points, keeping both ends', () => {
    const n = 5000;
    const y = Uint8Array.from({ length: n }, (_, i) => ((i * 7919) % 3 === 0 ? 1 : 0));
    const s = Float64Array.from({ length: n }, (_, i) => ((i * 104729) % n) / n);
    const curve = rocCurve(y, s, 200);
    expect(curve.length).toBeLessThanOrEqual(200);
    expect(curve.length).toBeGreaterThan(100);
    expect(curve[0]).toEqual({ fpr: 0, tpr: 0, threshold: null });
    expect(curve[curve.length - 1]).toMatchObject({ fpr: 1, tpr: 1 });
    for (let i = 1; i < curve.length; i++) {
      expect(curve[i]!.fpr).toBeGreaterThanOrEqual(curve[i - 1]!.fpr);
      expect(curve[i]!.tpr).toBeGreaterThanOrEqual(curve[i - 1]!.tpr);
    }
  });

  it('keeps empty calibration bins with null means, and supports quantile bins', () => {
    const y = Uint8Array.from([0, 0, 1, 1]);
    const s = Float64Array.from([0.05, 0.1, 0.9, 0.95]);
    const cal = calibrationBins(y, s, { bins: 10 });
    expect(cal.bins).toHaveLength(10);
    expect(cal.bins[0]).toEqual({
      lower: 0,
      upper: 0.1,
      count: 2,
      meanPredicted: 0.07500000000000001,
      observedRate: 0,
    });
    expect(cal.bins[4]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null });
    const q = calibrationBins(y, s, { bins: 2, strategy: 'quantile' });
    expect(q.bins.map((b) => b.count)).toEqual([2, 2]);
  });
});
