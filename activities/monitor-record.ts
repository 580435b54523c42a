import type { AlertState } from '../domain/alert-hysteresis.js';
import type { MonitorAlertEvent, WindowJudgement } from '../domain/monitor.js';
import type { MonitorPolicy } from '../domain/monitor-policy.js';
import { renderMonitorReport, type MonitorAnalysis } from '../ml/monitor/report.js';
import { performanceOf, statRow, type DriftStatRow } from '../ml/monitor/window-figures.js';
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
import { pendingOutbox } from '../platform/outbox.js';
import { countLateRows, readLabelledScores } from '../platform/prediction-window.js';
import type { WorkerMetrics } from '../platform/worker-metrics.js';

/** Windows re-checked for late rows on every tick. */
const lateRowWindows = 12;

export interface RecordWindowInput {
  readonly model: string;
  readonly workflowId: string;
  /** Who started the monitor (the lifecycle, a person), for the audit log. */
  readonly requestedBy: string;
  readonly judgement: WindowJudgement;
  readonly alertState: Readonly<Record<string, AlertState>>;
  readonly events: readonly MonitorAlertEvent[];
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

/**
 * Recording a window, for the monitor stage (activities/monitor.ts): its report (JSON and HTML, with the statistics of
 * earlier windows over time) and, in one transaction, its rows, alert transitions, audit entries and webhook events;
 * a window recorded before is left as it is. Then the recent windows' realised performance (labels that arrived
 * since) and their late rows.
 */
export function createWindowRecorder(deps: {
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly webhook: boolean;
  readonly metrics?: WorkerMetrics;
}) {
  const log = deps.log;

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

  return async function recordWindowOf(input: RecordWindowInput): Promise<RecordedOutcome> {
    const { model, judgement: j, policy } = input;
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
      ...(analysis.features?.features.map((f) => statRow('feature', f, analysis.referenceRows ?? 0)) ?? []),
      ...(analysis.prediction?.features.map((f) => statRow('prediction', f, analysis.referenceRows ?? 0)) ??
        []),
    ];
    const recorded = await recordWindow(deps.db, {
      model,
      workflowId: input.workflowId,
      requestedBy: input.requestedBy,
      judgement: j,
      alertState: input.alertState,
      events: input.events,
      report: { uri: json.uri, htmlUri: html.uri, sha256: json.sha256 },
      driftRows,
      webhook: deps.webhook,
    });
    if (recorded.created) {
      deps.metrics?.windows.labels(model, j.status).inc();
      for (const e of input.events) deps.metrics?.alertTransitions.labels(model, e.key, e.transition).inc();
      for (const e of input.events) {
        log.warn({ model, key: e.key, transition: e.transition, window: j.range.start }, e.message);
      }
    }
    await recomputePerformance(model, j, policy);
    await reportLateRows(model, j, policy);
    const pending = deps.webhook ? await pendingOutbox(deps.db, alertTopic, { model }) : 0;
    return {
      reportUri: recorded.reportUri,
      reportHtmlUri: recorded.reportHtmlUri,
      pendingDeliveries: pending,
      created: recorded.created,
    };
  };
}
