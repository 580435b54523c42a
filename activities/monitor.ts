import { ApplicationFailure, Context } from '@temporalio/activity';
import type { AlertState } from '../domain/alert-hysteresis.js';
import {
  parseMonitorRequest,
  type MonitorAlertEvent,
  type MonitorSetup,
  type MonitorWindowRange,
  type PerformanceFigures,
  type WindowJudgement,
} from '../domain/monitor.js';
import { windowOutcomes } from '../domain/monitor-judgement.js';
import {
  builtInMonitorDefaults,
  InvalidMonitorError,
  type MonitorDefaults,
  type MonitorPolicy,
} from '../domain/monitor-policy.js';
import { compareWindow } from '../ml/drift/compare.js';
import type { DriftReport } from '../ml/drift/report.js';
import { recordsToFrame } from '../ml/records-frame.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import {
  alertTopic,
  recordWindow,
  updateWindowPerformance,
  windowHistory,
  windowsSince,
} from '../platform/monitor-store.js';
import {
  deliverOutbox,
  pendingOutbox,
  type DeliveryOutcome,
  type WebhookTarget,
} from '../platform/outbox.js';
import {
  championAt,
  countLateRows,
  countWindowRows,
  databaseNow,
  readLabelledScores,
  readSloFigures,
  readWindowRows,
  servedByVersion,
  type WindowSnapshot,
} from '../platform/prediction-window.js';
import { listVersions } from '../platform/registry.js';
import type { WorkerMetrics } from '../platform/worker-metrics.js';
import { keepHeartbeating } from './heartbeat.js';
import { createReferenceCache, scoreColumn, type VersionReference } from './monitor-reference.js';
import { renderMonitorReport, type MonitorAnalysis } from '../ml/monitor/report.js';
import { performanceOf, statRow, verdictOf, type DriftStatRow } from '../ml/monitor/window-figures.js';

/** Windows re-checked for late rows on every tick. */
const lateRowWindows = 12;

export interface MonitorDeps {
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  /** Durations of policies that leave them unset (SLIPWAY_MONITOR_INTERVAL, SLIPWAY_MONITOR_LAG). */
  readonly monitorDefaults?: MonitorDefaults;
  /** SLIPWAY_ALERT_WEBHOOK; absent: alerts reach the audit log and the parent workflow only. */
  readonly alertWebhook?: WebhookTarget;
  readonly metrics?: WorkerMetrics;
}

export interface JudgeWindowInput {
  readonly model: string;
  readonly range: MonitorWindowRange;
  readonly policy: MonitorPolicy;
}

export interface RecordedOutcome {
  readonly reportUri: string;
  readonly reportHtmlUri: string;
  /** The model's alert events still waiting for the webhook. */
  readonly pendingDeliveries: number;
  /** False when the window had been recorded before (a retry): nothing was written. */
  readonly created: boolean;
}

export interface RecordWindowInput {
  readonly model: string;
  readonly workflowId: string;
  readonly actor: string;
  readonly judgement: WindowJudgement;
  readonly alertState: Readonly<Record<string, AlertState>>;
  readonly events: readonly MonitorAlertEvent[];
  readonly policy: MonitorPolicy;
}

function invalid(error: InvalidMonitorError): ApplicationFailure {
  return ApplicationFailure.create({
    message: error.message,
    type: 'InvalidMonitorInput',
    nonRetryable: true,
    details: [error.problems],
  });
}

/** The monitor stage: resolve a request, judge a window, record it (report, rows, alerts), deliver alerts. */
export function createMonitorActivities(deps: MonitorDeps) {
  const references = createReferenceCache({
    db: deps.db,
    store: deps.store,
    log: deps.log.child({ component: 'monitor' }),
    onBuild: (model) => deps.metrics?.referenceBuilds.labels(model).inc(),
  });
  const log = deps.log.child({ component: 'monitor' });

  /** The version a window is judged against: the deployment's champion, unless others answered all its rows. */
  async function monitoredVersion(q: WindowSnapshot): Promise<number | null> {
    const [served, champion] = await Promise.all([
      servedByVersion(deps.db, q),
      championAt(deps.db, q.model, q.end),
    ]);
    if (champion !== null && (served.length === 0 || served.some((s) => s.version === champion)))
      return champion;
    return served[0]?.version ?? null;
  }

  return {
    /**
     * Validates a monitor request typed by a person or sent by the lifecycle, fills the policy from the settings, and
     * checks it against the registry: the model exists and the features named are its inputs.
     */
    async resolveMonitor(raw: unknown): Promise<MonitorSetup> {
      let setup: MonitorSetup;
      try {
        setup = parseMonitorRequest(raw, deps.monitorDefaults ?? builtInMonitorDefaults);
      } catch (error) {
        if (error instanceof InvalidMonitorError) throw invalid(error);
        throw error;
      }
      const versions = await listVersions(deps.db, setup.request.model);
      if (versions.length === 0) {
        throw invalid(
          new InvalidMonitorError([
            {
              path: 'model',
              message: `no model "${setup.request.model}" in the registry (register a version first)`,
            },
          ]),
        );
      }
      const latest = versions[0]!;
      const inputs = ((latest.onnxSignature as { inputs?: { name?: string }[] }).inputs ?? []).map(
        (i) => i.name,
      );
      const problems = (setup.policy.features ?? []).flatMap((f, i) =>
        inputs.includes(f)
          ? []
          : [
              {
                path: `policy.features.${i}`,
                message: `the model has no input "${f}" (its inputs: ${inputs.join(', ')})`,
              },
            ],
      );
      if (problems.length > 0) throw invalid(new InvalidMonitorError(problems));
      return setup;
    },

    /** Reads a window of the prediction log and judges it; writes only the analysis artifact (by content). */
    async judgeMonitorWindow(input: JudgeWindowInput): Promise<WindowJudgement> {
      const { model, range, policy } = input;
      const started = Date.now();
      const stop = keepHeartbeating(Context.current(), () => ({ window: range.start }));
      try {
        const q = { model, start: range.start, end: range.end, readAt: await databaseNow(deps.db) };
        const [rowCount, slo, version] = await Promise.all([
          countWindowRows(deps.db, q),
          readSloFigures(deps.db, q),
          monitoredVersion(q),
        ]);
        let reference: VersionReference | undefined;
        let performance: PerformanceFigures | null = null;
        let featureReport: DriftReport | null = null;
        let predictionReport: DriftReport | null = null;
        let rowsRead = 0;
        let status: WindowJudgement['status'] = 'no-version';
        if (version !== null) {
          reference = await references.forVersion(model, version);
          const threshold = policy.performance.threshold ?? reference.threshold;
          const from = new Date(
            Date.parse(range.end) - policy.performance.lookback * policy.intervalMs,
          ).toISOString();
          const labelled = await readLabelledScores(deps.db, { model, version, start: from, end: range.end });
          performance = performanceOf(labelled, policy.performance.metric, threshold, {
            from,
            to: range.end,
          });
          status = rowCount < policy.minRows ? 'too-few-rows' : 'judged';
          if (status === 'judged') {
            const rows = await readWindowRows(deps.db, { ...q, maxRows: policy.maxRows, total: rowCount });
            rowsRead = rows.length;
            const judged = policy.features ? new Set(policy.features) : undefined;
            const featureRef = judged
              ? {
                  ...reference.features,
                  features: reference.features.features.filter((f) => judged.has(f.name)),
                }
              : reference.features;
            const inputs = reference.inputs.filter((c) => !judged || judged.has(c.name));
            featureReport = compareWindow(
              featureRef,
              recordsToFrame(
                rows.map((r) => r.inputs),
                inputs,
              ),
              policy.drift,
            );
            if (policy.predictionDrift) {
              const scores = rows.filter((r) => r.served && r.version === version && r.score !== null);
              if (scores.length > 0) {
                predictionReport = compareWindow(
                  reference.prediction,
                  {
                    rowCount: scores.length,
                    columns: [
                      {
                        name: scoreColumn,
                        kind: 'numeric',
                        values: Float64Array.from(scores, (r) => r.score!),
                      },
                    ],
                  },
                  { ...policy.drift, tests: {} },
                );
              }
            }
          }
        }
        const features = featureReport ? featureReport.features.map(verdictOf) : [];
        const predictionFeature = predictionReport?.features[0];
        const prediction = predictionFeature ? verdictOf(predictionFeature) : null;
        const analysis: MonitorAnalysis = {
          model,
          window: range,
          version,
          status,
          rowCount,
          rowsRead,
          referenceRows: reference?.rows ?? null,
          features: featureReport,
          prediction: predictionReport,
          slo,
          performance,
        };
        const stored = await deps.store.putContent(Buffer.from(JSON.stringify(analysis)), {
          prefix: 'monitor/analyses',
          ext: 'json',
          contentType: 'application/json',
        });
        const judgement: WindowJudgement = {
          range,
          readAt: q.readAt,
          status,
          version,
          rowCount,
          rowsRead,
          features,
          prediction,
          slo,
          performance,
          outcomes: {},
          analysisUri: stored.uri,
          analysisSha256: stored.sha256,
        };
        return { ...judgement, outcomes: windowOutcomes(judgement, policy) };
      } finally {
        stop();
        deps.metrics?.windowSeconds.labels('judge').observe((Date.now() - started) / 1000);
      }
    },

    /**
     * Writes the window's report (JSON and HTML, with the statistics of earlier windows over time) and, in one
     * transaction, its rows, alert transitions, audit entries and webhook events. A window recorded before is left
     * as it is. Then recomputes the realised performance of the recent windows from the labels that have arrived.
     */
    async recordMonitorWindow(input: RecordWindowInput): Promise<RecordedOutcome> {
      const stop = keepHeartbeating(Context.current(), () => ({
        window: input.judgement.range.start,
        step: 'record',
      }));
      try {
        const { model, judgement: j, policy } = input;
        const started = Date.now();
        const analysis = JSON.parse(
          (await deps.store.get(j.analysisUri, { expectSha256: j.analysisSha256 })).toString('utf8'),
        ) as MonitorAnalysis;
        const history = await windowHistory(deps.db, model, j.range.start, policy.historyWindows);
        const report = renderMonitorReport({
          analysis,
          history,
          alertState: input.alertState,
          events: input.events,
          policy,
        });
        const [json, html] = await Promise.all([
          deps.store.putContent(Buffer.from(JSON.stringify(report.json)), {
            prefix: 'reports/monitor',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(Buffer.from(report.html), {
            prefix: 'reports/monitor',
            ext: 'html',
            contentType: 'text/html; charset=utf-8',
          }),
        ]);
        const driftRows: DriftStatRow[] = [
          ...(analysis.features?.features.map((f) => statRow('feature', f, analysis.referenceRows ?? 0)) ??
            []),
          ...(analysis.prediction?.features.map((f) =>
            statRow('prediction', f, analysis.referenceRows ?? 0),
          ) ?? []),
        ];
        const recorded = await recordWindow(deps.db, {
          model,
          workflowId: input.workflowId,
          judgement: j,
          alertState: input.alertState,
          events: input.events,
          report: { uri: json.uri, htmlUri: html.uri, sha256: json.sha256 },
          driftRows,
          webhook: deps.alertWebhook !== undefined,
        });
        if (recorded.created) {
          deps.metrics?.windows.labels(model, j.status).inc();
          for (const e of input.events)
            deps.metrics?.alertTransitions.labels(model, e.key, e.transition).inc();
          for (const e of input.events) {
            log.warn({ model, key: e.key, transition: e.transition, window: j.range.start }, e.message);
          }
        }
        await recomputePerformance(model, j, policy);
        await reportLateRows(model, j, policy);
        const pending = deps.alertWebhook ? await pendingOutbox(deps.db, alertTopic, { model }) : 0;
        deps.metrics?.windowSeconds.labels('record').observe((Date.now() - started) / 1000);
        return {
          reportUri: recorded.reportUri,
          reportHtmlUri: recorded.reportHtmlUri,
          pendingDeliveries: pending,
          created: recorded.created,
        };
      } finally {
        stop();
      }
    },

    /** Delivers the model's waiting alert events to the webhook once each (failed ones back off). */
    async deliverMonitorAlerts(input: { model: string }): Promise<DeliveryOutcome> {
      if (!deps.alertWebhook)
        return { delivered: 0, failed: 0, pending: 0, nextAttemptInMs: null, errors: [] };
      const stop = keepHeartbeating(Context.current(), () => ({ delivering: input.model }));
      try {
        const outcome = await deliverOutbox(deps.db, {
          topic: alertTopic,
          target: deps.alertWebhook,
          filter: { model: input.model },
        });
        deps.metrics?.webhookDeliveries.labels('delivered').inc(outcome.delivered);
        deps.metrics?.webhookDeliveries.labels('failed').inc(outcome.failed);
        if (outcome.failed > 0)
          log.warn({ model: input.model, errors: outcome.errors }, 'alert webhook delivery failed');
        return outcome;
      } finally {
        stop();
      }
    },
  };

  /** Rows of recent windows that landed after the window was read: judged with no window, so the lag is too short. */
  async function reportLateRows(model: string, j: WindowJudgement, policy: MonitorPolicy): Promise<void> {
    const since = new Date(Date.parse(j.range.start) - lateRowWindows * policy.intervalMs).toISOString();
    for (const w of await countLateRows(deps.db, model, since)) {
      deps.metrics?.lateRows.labels(model).inc(w.lateRows - w.before);
      log.warn(
        { model, window: w.start, lateRows: w.lateRows, lagMs: policy.lagMs },
        'prediction-log rows landed after their window was read; raise the monitor lag',
      );
    }
  }

  /** Each recent window's own realised performance, from the labels that have arrived by now. */
  async function recomputePerformance(
    model: string,
    j: WindowJudgement,
    policy: MonitorPolicy,
  ): Promise<void> {
    if (j.version === null) return;
    const from = new Date(
      Date.parse(j.range.end) - policy.performance.lookback * policy.intervalMs,
    ).toISOString();
    const windows = (await windowsSince(deps.db, model, from)).filter((w) => w.version === j.version);
    if (windows.length === 0) return;
    const labelled = await readLabelledScores(deps.db, {
      model,
      version: j.version,
      start: windows[0]!.start,
      end: windows[windows.length - 1]!.end,
    });
    const threshold = j.performance?.threshold ?? 0.5;
    const updates = windows.map((w) => {
      const s = Date.parse(w.start);
      const e = Date.parse(w.end);
      const mine = labelled.filter((l) => l.atMs >= s && l.atMs < e);
      const p = performanceOf(mine, policy.performance.metric, threshold, { from: w.start, to: w.end });
      return { start: w.start, labelled: mine.length, performance: mine.length > 0 ? { ...p } : null };
    });
    await updateWindowPerformance(deps.db, model, updates);
  }
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
