import { z } from 'zod';
import type { AlertState, AlertTransition, WindowOutcome } from './alert-hysteresis.js';
import { modelNameSchema } from './model-name.js';
import {
  InvalidMonitorError,
  monitorPolicySpecSchema,
  monitorProblemsOf,
  resolveMonitorPolicy,
  type MonitorDefaults,
  type MonitorPolicy,
  type MonitorProblem,
} from './monitor-policy.js';

/** The monitor workflow's id: one monitor per model. */
export function monitorWorkflowId(model: string): string {
  return `monitor-${model}`;
}

const isoTime = z.iso.datetime({
  offset: true,
  message: 'expected an ISO 8601 time such as 2026-01-31T12:00:00Z',
});

const alertStateSchema = z
  .object({
    firing: z.boolean(),
    recent: z
      .array(z.union([z.literal(0), z.literal(1)]))
      .max(1000)
      .readonly(),
    clean: z.number().int().min(0),
  })
  .strict();

/** What a monitor hands to its next run at continue-as-new. Written by the workflow, not by people. */
export const monitorCarriedSchema = z
  .object({
    /** Start of the next window to judge. */
    nextStart: isoTime,
    /** Windows judged so far, over every run. */
    windowsJudged: z.number().int().min(0),
    /** The version the last judged window was compared with. */
    version: z.number().int().positive().nullable(),
    /** Hysteresis state per alert key (quiet alerts are left out). */
    alerts: z.record(z.string(), alertStateSchema),
    /** When each firing alert fired (window start). */
    firingSince: z.record(z.string(), isoTime),
    runs: z.number().int().min(1),
    /** Outbox rows left to deliver when the previous run ended. */
    pendingDeliveries: z.number().int().min(0),
  })
  .strict();
export type MonitorCarried = z.infer<typeof monitorCarriedSchema>;

/**
 * What starts a monitor: plain JSON a person can type into the Temporal UI or `temporal workflow start --input`,
 * e.g. `{ "model": "elec2-price", "policy": { "interval": "1h" } }`. The lifecycle workflow starts it as a child
 * with the monitor policy of its spec.
 */
export const monitorRequestSchema = z
  .object({
    model: modelNameSchema,
    policy: monitorPolicySpecSchema.optional(),
    /**
     * Start of the first window (ISO 8601); default: when the monitor starts. An earlier time judges the traffic
     * logged since then, window by window, as fast as it can.
     */
    startAt: isoTime.optional(),
    /** A workflow to signal (`monitorAlert`) with every alert that fires or clears; default: the parent, if any. */
    notifyWorkflowId: z.string().min(1).max(1000).optional(),
    /** Who asked; recorded in the audit log. Absent when started from Temporal directly (`temporal`). */
    requestedBy: z.string().min(1).max(200).optional(),
    carried: monitorCarriedSchema.optional(),
  })
  .strict();
export type MonitorRequest = z.infer<typeof monitorRequestSchema>;
/** The request as typed (durations as text such as `1h`, or milliseconds): the monitor workflow's input. */
export type MonitorRequestInput = z.input<typeof monitorRequestSchema>;

/** A validated request with its policy resolved: what the workflow runs. */
export interface MonitorSetup {
  readonly request: MonitorRequest;
  readonly policy: MonitorPolicy;
}

/** Validates a monitor request and resolves its policy; throws InvalidMonitorError listing every problem by path. */
export function parseMonitorRequest(raw: unknown, defaults: MonitorDefaults): MonitorSetup {
  const parsed = monitorRequestSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = monitorProblemsOf(parsed.error);
    throw new InvalidMonitorError([...problems, ...policyRuleProblems(raw, parsed.error, defaults)]);
  }
  return { request: parsed.data, policy: resolveMonitorPolicy(parsed.data.policy ?? {}, defaults) };
}

/**
 * The policy's cross-field problems (k > n, a floor for log loss, ...) even when other fields are malformed: the
 * malformed fields are set aside and the rest is checked, so one pass lists everything wrong.
 */
function policyRuleProblems(raw: unknown, error: z.ZodError, defaults: MonitorDefaults): MonitorProblem[] {
  const policy = (raw as { policy?: unknown } | null)?.policy;
  if (!policy || typeof policy !== 'object' || Array.isArray(policy)) return [];
  const cleaned = JSON.parse(JSON.stringify(policy)) as Record<string, unknown>;
  for (const issue of error.issues) {
    if (issue.path[0] !== 'policy') continue;
    const path = issue.path.slice(1).map(String);
    let parent: Record<string, unknown> | undefined = cleaned;
    for (const key of path.slice(0, -1)) {
      const next: unknown = parent?.[key];
      parent = next && typeof next === 'object' ? (next as Record<string, unknown>) : undefined;
    }
    if (!parent) continue;
    if (issue.code === 'unrecognized_keys') {
      const target =
        path.length === 0 ? cleaned : (parent[path[path.length - 1]!] as Record<string, unknown>);
      for (const key of issue.keys) delete target[key];
    } else if (path.length > 0) {
      delete parent[path[path.length - 1]!];
    }
  }
  const reparsed = monitorPolicySpecSchema.safeParse(cleaned);
  if (!reparsed.success) return [];
  try {
    resolveMonitorPolicy(reparsed.data, defaults);
    return [];
  } catch (e) {
    return e instanceof InvalidMonitorError ? [...e.problems] : [];
  }
}

/** Alert kinds and their keys: one alert per drifting feature, and one each for the scores, performance and SLOs. */
export type AlertKind = 'feature_drift' | 'prediction_drift' | 'performance' | 'latency' | 'errors';

export function featureAlertKey(feature: string): string {
  return `drift:${feature}`;
}

export const predictionAlertKey = 'prediction_drift';
export const performanceAlertKey = 'performance';
export const latencyAlertKey = 'latency';
export const errorsAlertKey = 'errors';

/** The kind (and feature) an alert key stands for. */
export function alertKindOf(key: string): { kind: AlertKind; feature?: string } {
  if (key.startsWith('drift:')) return { kind: 'feature_drift', feature: key.slice('drift:'.length) };
  if (key === predictionAlertKey) return { kind: 'prediction_drift' };
  if (key === performanceAlertKey) return { kind: 'performance' };
  if (key === latencyAlertKey) return { kind: 'latency' };
  return { kind: 'errors' };
}

/** Alerts about a version's data and scores: they restart when another version is deployed. */
export function isVersionAlert(key: string): boolean {
  const { kind } = alertKindOf(key);
  return kind === 'feature_drift' || kind === 'prediction_drift' || kind === 'performance';
}

export interface MonitorWindowRange {
  readonly index: number;
  /** ISO 8601; the window is [start, end) of the prediction log's `at`. */
  readonly start: string;
  readonly end: string;
}

/** The next window after `nextStart`, and the time it can be read (its end plus the log's lag), in epoch ms. */
export function windowAt(
  nextStart: string,
  windowsJudged: number,
  policy: Pick<MonitorPolicy, 'intervalMs' | 'lagMs'>,
): { range: MonitorWindowRange; dueAtMs: number } {
  const startMs = Date.parse(nextStart);
  const endMs = startMs + policy.intervalMs;
  return {
    range: {
      index: windowsJudged,
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
    },
    dueAtMs: endMs + policy.lagMs,
  };
}

/** One feature's (or the scores') verdict in a window. */
export interface FeatureVerdict {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly test: string;
  readonly statistic: number | null;
  readonly pValue: number | null;
  /** The calibrated, corrected threshold on `pValue`: drift <=> pValue <= threshold. */
  readonly threshold: number | null;
  readonly drift: boolean;
}

export interface SloFigures {
  /** Request rows on the answering path (shadow scores left out). */
  readonly requests: number;
  /** Request rows that got no answer, and their share. */
  readonly failed: number;
  readonly errorRate: number | null;
  /** Rows answered by the champion because the challenger failed. */
  readonly fallbacks: number;
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
  readonly latencyP99Ms: number | null;
}

export interface PerformanceFigures {
  readonly metric: string;
  /** Labelled rows pooled over the lookback windows, and the metric's value on them (null: too few or none). */
  readonly labelled: number;
  readonly value: number | null;
  readonly accuracy: number | null;
  readonly auc: number | null;
  readonly logLoss: number | null;
  readonly brier: number | null;
  /** The windows pooled: [from, to). */
  readonly from: string;
  readonly to: string;
  readonly threshold: number;
}

/** What judging a window found: small, for the workflow's history. The full analysis is an artifact. */
export interface WindowJudgement {
  readonly range: MonitorWindowRange;
  /** When the window was read (the database's clock): rows logged later are late, counted apart. */
  readonly readAt: string;
  readonly status: 'judged' | 'too-few-rows' | 'no-version';
  readonly version: number | null;
  readonly rowCount: number;
  readonly rowsRead: number;
  readonly features: readonly FeatureVerdict[];
  readonly prediction: FeatureVerdict | null;
  readonly slo: SloFigures;
  readonly performance: PerformanceFigures | null;
  /** Every alert judged this window and its outcome; alerts absent were not judged. */
  readonly outcomes: Readonly<Record<string, WindowOutcome>>;
  /** The full analysis (histograms, every statistic), JSON in the artifact store. */
  readonly analysisUri: string;
  readonly analysisSha256: string;
}

/** What the monitor tells the workflow it reports to (the lifecycle), with the `monitorAlert` signal. */
export interface MonitorAlertEvent {
  /** `<model>:<alert key>:<window start>:<transition>`; also the webhook's idempotency key. */
  readonly idempotencyKey: string;
  readonly model: string;
  readonly version: number | null;
  readonly transition: AlertTransition;
  readonly key: string;
  readonly kind: AlertKind;
  readonly feature?: string;
  readonly window: MonitorWindowRange;
  /** Why, for people: "vicprice drifted (ks 0.41, p < 1e-9) in 3 of the last 5 windows". */
  readonly message: string;
  readonly reportUri?: string;
  readonly reportHtmlUri?: string;
}

export function alertIdempotencyKey(
  model: string,
  key: string,
  windowStart: string,
  transition: string,
): string {
  return `${model}:${key}:${windowStart}:${transition}`;
}

/** A window as the status query shows it. */
export interface WindowSummary {
  readonly index: number;
  readonly start: string;
  readonly end: string;
  readonly status: WindowJudgement['status'];
  readonly version: number | null;
  readonly rows: number;
  readonly drifted: readonly string[];
  readonly predictionDrift: boolean | null;
  readonly performance: number | null;
  readonly breaches: readonly string[];
  readonly reportHtmlUri?: string;
}

export type MonitorPhase = 'waiting' | 'judging' | 'catching-up';

/** The `status` query's answer. */
export interface MonitorStatus {
  readonly model: string;
  readonly phase: MonitorPhase;
  readonly policy: MonitorPolicy;
  readonly version: number | null;
  readonly nextWindow: MonitorWindowRange;
  /** When the next window can be read (its end plus the lag). */
  readonly nextDueAt: string;
  readonly windowsJudged: number;
  readonly firing: readonly { readonly key: string; readonly since: string }[];
  readonly alerts: Readonly<Record<string, AlertState>>;
  /** The last few windows of this run, newest last. */
  readonly recent: readonly WindowSummary[];
  readonly pendingDeliveries: number;
  readonly notifyWorkflowId: string | null;
  /** Runs of this monitor so far (continue-as-new starts a new one). */
  readonly runs: number;
}
