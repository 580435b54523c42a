import {
  continueAsNew,
  defineQuery,
  defineSignal,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor.js';
import { stepAlerts, type AlertState } from '../domain/alert-hysteresis.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import {
  alertIdempotencyKey,
  alertKindOf,
  isVersionAlert,
  windowAt,
  type MonitorAlertEvent,
  type MonitorCarried,
  type MonitorPhase,
  type MonitorRequestInput,
  type MonitorStatus,
  type WindowJudgement,
  type WindowSummary,
} from '../domain/monitor.js';
import { describeTransition } from '../domain/monitor-judgement.js';
import { championVersionKey, modelNameKey, stageKey } from '../domain/search-attributes.js';

/** The monitor's state: policy, next window, alerts, the last windows. */
export const monitorStatusQuery = defineQuery<MonitorStatus>('status');

/**
 * Sent by the monitor to the workflow it reports to (its parent, the lifecycle, unless `notifyWorkflowId` says
 * otherwise) whenever an alert fires or clears. The lifecycle decides on retraining from these.
 */
export const monitorAlertSignal = defineSignal<[MonitorAlertEvent]>('monitorAlert');

const retry = {
  maximumAttempts: 10,
  initialInterval: '1 second',
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...nonRetryableErrorTypes, 'InvalidMonitorInput'],
};

/** Windows kept in the status query; longer history lives in PostgreSQL (monitor_windows, drift_stats). */
const recentWindows = 10;

/**
 * One model's monitor (id `monitor-<model>`): every `interval`, the window [start, end) of logged traffic, read
 * `lag` after its end, is judged against the deployed version's drift reference (features, scores), realised
 * performance on the labels that have arrived, and the latency and error SLOs. Each window's report and rows are
 * written once; alerts fire and clear with hysteresis, reach the audit log, the webhook (through the outbox) and the
 * parent workflow. Windows follow each other without gaps, so a monitor that was down catches up window by window.
 * Continues as new before its history grows long, carrying its state.
 */
export async function monitor(input: MonitorRequestInput): Promise<void> {
  const info = workflowInfo();
  const setup = proxyActivities<MonitorActivities>({ startToCloseTimeout: '1 minute', retry });
  const { request, policy } = await setup.resolveMonitor(input);
  const model = request.model;
  const acts = proxyActivities<MonitorActivities>({
    // The first window of a version builds its drift reference (loading the training rows and scoring them), so
    // judging may take long; every activity heartbeats, and a worker that dies under one is noticed within seconds.
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '20 seconds',
    retry,
  });
  const notifyWorkflowId = request.notifyWorkflowId ?? info.parent?.workflowId ?? null;

  // The first window starts on a multiple of the interval, so windows line up with the clock (hours on the hour).
  const firstStart =
    request.startAt ?? new Date(Math.floor(Date.now() / policy.intervalMs) * policy.intervalMs).toISOString();
  const carried: MonitorCarried = request.carried ?? {
    nextStart: firstStart,
    windowsJudged: 0,
    version: null,
    alerts: {},
    firingSince: {},
    runs: 1,
    pendingDeliveries: 0,
  };
  let nextStart = carried.nextStart;
  let windowsJudged = carried.windowsJudged;
  let version = carried.version;
  let alerts: Record<string, AlertState> = { ...carried.alerts };
  const firingSince: Record<string, string> = { ...carried.firingSince };
  let pendingDeliveries = carried.pendingDeliveries;
  let phase: MonitorPhase = 'waiting';
  const recent: WindowSummary[] = [];

  setHandler(monitorStatusQuery, (): MonitorStatus => {
    const next = windowAt(nextStart, windowsJudged, policy);
    return {
      model,
      phase,
      policy,
      version,
      nextWindow: next.range,
      nextDueAt: new Date(next.dueAtMs).toISOString(),
      windowsJudged,
      firing: Object.entries(firingSince).map(([key, since]) => ({ key, since })),
      alerts,
      recent,
      pendingDeliveries,
      notifyWorkflowId,
      runs: carried.runs,
    };
  });
  // Search attributes (Temporal UI filters): the model, `monitoring` or `alerting`, the version judged. Written when
  // they change, not every window.
  const stage = () => (Object.keys(firingSince).length > 0 ? 'alerting' : 'monitoring');
  let shown = { stage: stage(), version };
  upsertSearchAttributes([
    { key: modelNameKey, value: model },
    { key: stageKey, value: shown.stage },
    ...(version !== null ? [{ key: championVersionKey, value: version }] : []),
  ]);

  /** Delivers waiting webhook events, retrying on durable timers until they are out or `untilMs` comes. */
  const deliver = async (untilMs: number) => {
    while (pendingDeliveries > 0) {
      const outcome = await acts.deliverMonitorAlerts({ model }).catch((error: unknown) => {
        log.warn('alert delivery failed', { model, error: String(error) });
        return undefined;
      });
      if (!outcome) return;
      pendingDeliveries = outcome.pending;
      if (outcome.pending === 0 || outcome.nextAttemptInMs === null) return;
      const wait = Math.max(outcome.nextAttemptInMs, 1000);
      if (Date.now() + wait >= untilMs) return;
      await sleep(wait);
    }
  };

  const notify = async (events: readonly MonitorAlertEvent[]) => {
    if (!notifyWorkflowId) return;
    const target = getExternalWorkflowHandle(notifyWorkflowId);
    for (const event of events) {
      await target.signal(monitorAlertSignal, event).catch((error: unknown) => {
        // The listener may be gone (a lifecycle that ended); the alert is in the audit log and the webhook anyway.
        log.warn('could not signal the alert listener', {
          notifyWorkflowId,
          key: event.key,
          error: String(error),
        });
      });
    }
  };

  for (;;) {
    const { range, dueAtMs } = windowAt(nextStart, windowsJudged, policy);
    if (dueAtMs > Date.now()) {
      phase = 'waiting';
      await deliver(dueAtMs);
      const wait = dueAtMs - Date.now();
      if (wait > 0) await sleep(wait);
    } else {
      phase = 'catching-up';
    }

    const judgement: WindowJudgement = await acts.judgeMonitorWindow({ model, range, policy });
    phase = 'judging';

    // A new version restarts the alerts about the old one's data, clearing those that were firing.
    const events: MonitorAlertEvent[] = [];
    const event = (key: string, transition: 'fired' | 'cleared', reason?: string): MonitorAlertEvent => {
      const { kind, feature } = alertKindOf(key);
      return {
        idempotencyKey: alertIdempotencyKey(model, key, range.start, transition),
        model,
        version: judgement.version,
        transition,
        key,
        kind,
        ...(feature !== undefined ? { feature } : {}),
        window: range,
        message: describeTransition(key, transition, judgement, policy, reason),
      };
    };
    if (version !== null && judgement.version !== null && judgement.version !== version) {
      for (const key of Object.keys(alerts).filter(isVersionAlert)) {
        if (alerts[key]?.firing) {
          events.push(event(key, 'cleared', `as version ${judgement.version} replaced version ${version}`));
        }
        delete alerts[key];
      }
    }
    const stepped = stepAlerts(alerts, judgement.outcomes, policy.alerts);
    for (const t of stepped.transitions) events.push(event(t.key, t.transition));
    alerts = stepped.states;

    const recorded = await acts.recordMonitorWindow({
      model,
      workflowId: info.workflowId,
      requestedBy: request.requestedBy ?? 'temporal',
      judgement,
      alertState: alerts,
      events,
      policy,
    });
    for (const e of events) {
      if (e.transition === 'fired') firingSince[e.key] = range.start;
      else delete firingSince[e.key];
    }
    const reported = events.map((e) => ({
      ...e,
      reportUri: recorded.reportUri,
      reportHtmlUri: recorded.reportHtmlUri,
    }));
    await notify(reported);

    if (judgement.version !== null) version = judgement.version;
    windowsJudged += 1;
    nextStart = range.end;
    pendingDeliveries = recorded.pendingDeliveries;
    recent.push({
      index: range.index,
      start: range.start,
      end: range.end,
      status: judgement.status,
      version: judgement.version,
      rows: judgement.rowCount,
      drifted: judgement.features.filter((f) => f.drift).map((f) => f.feature),
      predictionDrift: judgement.prediction ? judgement.prediction.drift : null,
      performance: judgement.performance?.value ?? null,
      breaches: Object.entries(judgement.outcomes)
        .filter(([, o]) => o === 'breach')
        .map(([k]) => k),
      reportHtmlUri: recorded.reportHtmlUri,
    });
    if (recent.length > recentWindows) recent.shift();
    if (stage() !== shown.stage || version !== shown.version) {
      shown = { stage: stage(), version };
      upsertSearchAttributes([
        { key: stageKey, value: shown.stage },
        ...(version !== null ? [{ key: championVersionKey, value: version }] : []),
      ]);
    }

    const { historyLength, continueAsNewSuggested } = workflowInfo();
    if (continueAsNewSuggested || historyLength >= policy.maxHistoryEvents) {
      // Deliveries still waiting are carried over and retried by the next run.
      await deliver(Date.now());
      return continueAsNew<typeof monitor>({
        ...input,
        carried: {
          nextStart,
          windowsJudged,
          version,
          alerts,
          firingSince,
          runs: carried.runs + 1,
          pendingDeliveries,
        },
      });
    }
  }
}
