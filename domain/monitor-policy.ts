import { z } from 'zod';
import { hysteresisProblems } from './alert-hysteresis.js';
import { driftOptionsSchema, type DriftOptions } from './drift.js';
import { durationSchema, formatDuration } from './duration.js';

/**
 * A monitor policy as a person writes it (YAML, JSON, the Temporal UI's Start Workflow form): every field optional.
 * `resolveMonitorPolicy` fills the durations from the deployment's settings and the rest from the defaults below, and
 * checks what only makes sense together. docs/monitoring.md describes every field.
 */
const count = (what: string, max = 100_000_000) =>
  z
    .number({ message: `${what}: expected a whole number` })
    .int(`${what}: expected a whole number`)
    .min(1, `${what}: expected at least 1`)
    .max(max, `${what}: expected at most ${max}`);

const share = (what: string) =>
  z
    .number({ message: `${what}: expected a share between 0 and 1` })
    .min(0, `${what}: expected a share ≥ 0`)
    .max(1, `${what}: expected a share ≤ 1`);

export const performanceMetricSchema = z.enum(
  ['accuracy', 'auc', 'f1', 'precision', 'recall', 'log_loss', 'brier'],
  {
    message: 'expected one of accuracy, auc, f1, precision, recall, log_loss, brier',
  },
);
export type PerformanceMetric = z.infer<typeof performanceMetricSchema>;

/** Metrics where lower is better: their bound is a ceiling, not a floor. */
export const lowerIsBetter: ReadonlySet<PerformanceMetric> = new Set(['log_loss', 'brier']);

export const monitorPolicySpecSchema = z
  .object({
    /** How often a window is judged, and how long each window is. */
    interval: durationSchema({ min: 100 }).optional(),
    /**
     * How long after a window's end it is read: the gateway writes the prediction log in batches, so a row can land a
     * little after the time it records. Rows that land later than this are counted as late, never twice.
     */
    lag: durationSchema().optional(),
    /** Fewest rows for a drift verdict; a window with fewer is recorded but not judged. Default 200. */
    minRows: count('minRows').optional(),
    /** Most rows read per window; above it, a deterministic sample of this size is judged. Default 100,000. */
    maxRows: count('maxRows').optional(),
    /** The features to judge (default: every input of the model). */
    features: z.array(z.string().min(1)).min(1, 'expected at least one feature, or leave it out').optional(),
    /** How windows are compared with the drift reference: alpha, correction, tests per feature (domain/drift.ts). */
    drift: driftOptionsSchema.optional(),
    /** Judge the drift of the deployed version's scores against its scores on its training rows. Default true. */
    predictionDrift: z.boolean().optional(),
    performance: z
      .object({
        /** The realised metric on labelled traffic. Default accuracy. */
        metric: performanceMetricSchema.optional(),
        /** Alert when the metric falls below this (accuracy, auc, f1, precision, recall). Absent: tracked only. */
        floor: z.number().min(0).max(1).optional(),
        /** Alert when log_loss or brier rises above this. */
        ceiling: z.number().min(0).optional(),
        /** Fewest labelled rows before the metric is judged. Default 200. */
        minLabels: count('minLabels').optional(),
        /**
         * Windows whose labelled rows are pooled for each judgement: labels arrive late, so the last few windows are
         * re-read on every tick. Default 6.
         */
        lookback: count('lookback', 1000).optional(),
        /** Score at or above which a prediction counts as the positive class. Default: the version's own. */
        threshold: z.number().gt(0).lt(1).optional(),
      })
      .strict()
      .optional(),
    slo: z
      .object({
        /** Largest p99 of the answering path's latency, in milliseconds. Absent: not judged. */
        latencyP99Ms: z.number().positive('expected a latency > 0 ms').optional(),
        /** Largest share of rows that got no answer. Default 0.01. */
        maxErrorRate: share('maxErrorRate').optional(),
        /** Fewest requests in a window before the SLOs are judged. Default 100. */
        minRequests: count('minRequests').optional(),
      })
      .strict()
      .optional(),
    /** Hysteresis: alert after k breaching windows of the last n, clear after m clean ones. Default 3 of 5, 3. */
    alerts: z
      .object({
        k: count('k', 1000).optional(),
        n: count('n', 1000).optional(),
        m: count('m', 1000).optional(),
      })
      .strict()
      .optional(),
    /** Earlier windows drawn in each report's statistic-over-time chart. Default 48. */
    historyWindows: count('historyWindows', 10_000).optional(),
    /** Events in one run's history before the monitor continues as new with its state. Default 2000. */
    maxHistoryEvents: z
      .number({ message: 'maxHistoryEvents: expected a whole number' })
      .int('maxHistoryEvents: expected a whole number')
      .min(100, 'maxHistoryEvents: expected at least 100')
      .max(40_000, 'maxHistoryEvents: expected at most 40,000 (Temporal warns at 10,240 events)')
      .optional(),
  })
  .strict();

export type MonitorPolicySpec = z.infer<typeof monitorPolicySpecSchema>;

/** The durations a policy leaves unset come from the deployment's settings (platform/config.ts). */
export interface MonitorDefaults {
  readonly intervalMs: number;
  readonly lagMs: number;
}

export const builtInMonitorDefaults: MonitorDefaults = { intervalMs: 60 * 60_000, lagMs: 60_000 };

/** A policy with every value filled in: what the monitor runs. Plain JSON. */
export interface MonitorPolicy {
  readonly intervalMs: number;
  readonly lagMs: number;
  readonly minRows: number;
  readonly maxRows: number;
  /** null: every input of the model. */
  readonly features: readonly string[] | null;
  /** Passed to the drift comparison as it is; its unset values take the comparison's defaults. */
  readonly drift: DriftOptions;
  readonly predictionDrift: boolean;
  readonly performance: {
    readonly metric: PerformanceMetric;
    readonly floor: number | null;
    readonly ceiling: number | null;
    readonly minLabels: number;
    readonly lookback: number;
    /** null: the version's own evaluation threshold. */
    readonly threshold: number | null;
  };
  readonly slo: {
    readonly latencyP99Ms: number | null;
    readonly maxErrorRate: number;
    readonly minRequests: number;
  };
  readonly alerts: { readonly k: number; readonly n: number; readonly m: number };
  readonly historyWindows: number;
  readonly maxHistoryEvents: number;
}

/** One problem of a monitor input or policy, by field path. */
export interface MonitorProblem {
  readonly path: string;
  readonly message: string;
}

/** Thrown for a bad monitor input or policy; lists every problem by field path. */
export class InvalidMonitorError extends Error {
  override readonly name = 'InvalidMonitorInput';
  constructor(readonly problems: readonly MonitorProblem[]) {
    super(`invalid monitor input:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

/** zod issues as problems, paths prefixed (e.g. `policy`). */
export function monitorProblemsOf(error: z.ZodError, prefix = ''): MonitorProblem[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(input)',
    message: issue.message,
  }));
}

/**
 * Fills a policy's unset values and checks the rules that span fields: k ≤ n, a floor only for higher-is-better
 * metrics and a ceiling only for lower-is-better ones, maxRows ≥ minRows, a lag shorter than a day, drift tests only
 * for judged features. Throws InvalidMonitorError naming each problem (paths under `prefix`).
 */
export function resolveMonitorPolicy(
  spec: MonitorPolicySpec,
  defaults: MonitorDefaults,
  prefix = 'policy',
): MonitorPolicy {
  const problems: MonitorProblem[] = [];
  const at = (...path: (string | number)[]) => [prefix, ...path].filter((p) => p !== '').join('.');
  const alerts = { k: spec.alerts?.k ?? 3, n: spec.alerts?.n ?? 5, m: spec.alerts?.m ?? 3 };
  for (const p of hysteresisProblems(alerts))
    problems.push({ path: at('alerts', p.field), message: p.message });
  const minRows = spec.minRows ?? 200;
  const maxRows = spec.maxRows ?? 100_000;
  if (maxRows < minRows) {
    problems.push({ path: at('maxRows'), message: `maxRows (${maxRows}) is below minRows (${minRows})` });
  }
  const metric = spec.performance?.metric ?? 'accuracy';
  const lower = lowerIsBetter.has(metric);
  if (spec.performance?.floor !== undefined && lower) {
    problems.push({
      path: at('performance', 'floor'),
      message: `${metric} is better when lower: give a ceiling, not a floor`,
    });
  }
  if (spec.performance?.ceiling !== undefined && !lower) {
    problems.push({
      path: at('performance', 'ceiling'),
      message: `${metric} is better when higher: give a floor, not a ceiling`,
    });
  }
  const features = spec.features ? [...spec.features] : null;
  if (features) {
    const seen = new Set<string>();
    features.forEach((f, i) => {
      if (seen.has(f)) problems.push({ path: at('features', i), message: `"${f}" is listed twice` });
      seen.add(f);
    });
    for (const name of Object.keys(spec.drift?.tests ?? {})) {
      if (!seen.has(name)) {
        problems.push({
          path: at('drift', 'tests', name),
          message: `"${name}" is not among the judged features`,
        });
      }
    }
  }
  const intervalMs = spec.interval ?? defaults.intervalMs;
  const lagMs = spec.lag ?? defaults.lagMs;
  if (lagMs > 24 * 60 * 60_000) {
    problems.push({ path: at('lag'), message: `${formatDuration(lagMs)} is longer than a day` });
  }
  if (problems.length > 0) throw new InvalidMonitorError(problems);
  return {
    intervalMs,
    lagMs,
    minRows,
    maxRows,
    features,
    drift: spec.drift ?? {},
    predictionDrift: spec.predictionDrift ?? true,
    performance: {
      metric,
      floor: spec.performance?.floor ?? null,
      ceiling: spec.performance?.ceiling ?? null,
      minLabels: spec.performance?.minLabels ?? 200,
      lookback: spec.performance?.lookback ?? 6,
      threshold: spec.performance?.threshold ?? null,
    },
    slo: {
      latencyP99Ms: spec.slo?.latencyP99Ms ?? null,
      maxErrorRate: spec.slo?.maxErrorRate ?? 0.01,
      minRequests: spec.slo?.minRequests ?? 100,
    },
    alerts,
    historyWindows: spec.historyWindows ?? 48,
    maxHistoryEvents: spec.maxHistoryEvents ?? 2000,
  };
}
