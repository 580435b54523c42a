import type { Frame } from '../frame.js';
import { pairedBootstrap, type BootstrapComparison, type BootstrapOptions } from './bootstrap.js';
import { calibrationBins, type Calibration, type CalibrationOptions } from './calibration.js';
import { binaryMetrics, type BinaryMetrics } from './classification.js';
import { rocCurve, type RocPoint } from './roc.js';
import { sliceMetrics, type ColumnSlices, type SliceOptions } from './slices.js';

/** One model's evaluation on a dataset. JSON-safe. */
export interface ModelEvaluation {
  readonly metrics: BinaryMetrics;
  readonly roc: readonly RocPoint[];
  readonly calibration: Calibration;
}

/** What the evaluate stage stores and renders. JSON-safe. */
export interface EvaluationReport extends ModelEvaluation {
  readonly version: 1;
  /** Free text shown as the report's heading, e.g. "churn v7 on holdout 2024-06". */
  readonly title: string;
  readonly slices: readonly ColumnSlices[];
  /** Present when a champion was scored on the same rows. */
  readonly champion?: ModelEvaluation & { readonly comparison: readonly BootstrapComparison[] };
}

export interface EvaluateOptions {
  readonly title?: string;
  readonly threshold?: number;
  /** Maximum ROC points kept for plotting (200). */
  readonly rocPoints?: number;
  readonly calibration?: CalibrationOptions;
  /** Frame whose rows line up with the labels, and the columns to slice by. */
  readonly frame?: Frame;
  readonly sliceColumns?: readonly string[];
  readonly slices?: Omit<SliceOptions, 'threshold'>;
  /** The champion's scores on the same rows: adds its metrics and a paired bootstrap comparison. */
  readonly championScores?: Float64Array;
  readonly bootstrap?: Omit<BootstrapOptions, 'threshold'>;
}

function evaluateModel(labels: Uint8Array, scores: Float64Array, options: EvaluateOptions): ModelEvaluation {
  return {
    metrics: binaryMetrics(labels, scores, options.threshold ?? 0.5),
    roc: rocCurve(labels, scores, options.rocPoints ?? 200),
    calibration: calibrationBins(labels, scores, options.calibration),
  };
}

/**
 * Evaluates a binary classifier (its P(label = 1) scores against 0/1 labels): scalar metrics, ROC curve points,
 * calibration bins, per-slice metrics for `sliceColumns` of `frame`, and when `championScores` is given the
 * champion's evaluation and a paired bootstrap of the differences. The result feeds `renderEvaluationReportHtml`.
 */
export function evaluateBinary(
  labels: Uint8Array,
  scores: Float64Array,
  options: EvaluateOptions = {},
): EvaluationReport {
  const threshold = options.threshold ?? 0.5;
  const slices =
    options.frame && options.sliceColumns && options.sliceColumns.length > 0
      ? sliceMetrics(options.frame, labels, scores, options.sliceColumns, { ...options.slices, threshold })
      : [];
  const report: EvaluationReport = {
    version: 1,
    title: options.title ?? 'Model evaluation',
    ...evaluateModel(labels, scores, options),
    slices,
  };
  if (!options.championScores) return report;
  return {
    ...report,
    champion: {
      ...evaluateModel(labels, options.championScores, options),
      comparison: pairedBootstrap(labels, scores, options.championScores, {
        ...options.bootstrap,
        threshold,
      }),
    },
  };
}
