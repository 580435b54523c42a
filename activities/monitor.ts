import { ApplicationFailure, Context } from '@temporalio/activity';
import { parseMonitorRequest, type MonitorSetup, type WindowJudgement } from '../domain/monitor.js';
import {
  builtInMonitorDefaults,
  InvalidMonitorError,
  type MonitorDefaults,
} from '../domain/monitor-policy.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { alertTopic } from '../platform/monitor-store.js';
import { deliverOutbox, type DeliveryOutcome, type WebhookTarget } from '../platform/outbox.js';
import { listVersions } from '../platform/registry.js';
import type { WorkerMetrics } from '../platform/worker-metrics.js';
import { keepHeartbeating } from './heartbeat.js';
import { createWindowJudge, type JudgeWindowInput } from './monitor-judge.js';
import { createWindowRecorder, type RecordedOutcome, type RecordWindowInput } from './monitor-record.js';

export type { JudgeWindowInput, RecordedOutcome, RecordWindowInput };

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
  const log = deps.log.child({ component: 'monitor' });
  const judge = createWindowJudge({
    db: deps.db,
    store: deps.store,
    log,
    onReferenceBuilt: (model) => deps.metrics?.referenceBuilds.labels(model).inc(),
  });
  const record = createWindowRecorder({
    db: deps.db,
    store: deps.store,
    log,
    webhook: deps.alertWebhook !== undefined,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });

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
      const started = Date.now();
      const stop = keepHeartbeating(Context.current(), () => ({ window: input.range.start, step: 'judge' }));
      try {
        return await judge(input);
      } finally {
        stop();
        deps.metrics?.windowSeconds.labels('judge').observe((Date.now() - started) / 1000);
      }
    },

    /**
     * Writes the window's report, rows, alert transitions, audit entries and webhook events (once per window), then
     * recomputes the recent windows' realised performance and late rows.
     */
    async recordMonitorWindow(input: RecordWindowInput): Promise<RecordedOutcome> {
      const started = Date.now();
      const stop = keepHeartbeating(Context.current(), () => ({
        window: input.judgement.range.start,
        step: 'record',
      }));
      try {
        return await record(input);
      } finally {
        stop();
        deps.metrics?.windowSeconds.labels('record').observe((Date.now() - started) / 1000);
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
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
