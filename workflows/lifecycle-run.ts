// One run of the lifecycle workflow: its state, its activities, its event log, its search attributes and its
// monitor child, shared by the workflow's loop (lifecycle.ts), its phases and its message handlers.
import {
  ParentClosePolicy,
  proxyActivities,
  startChild,
  upsertSearchAttributes,
  type WorkflowInfo,
} from '@temporalio/workflow';
import type { ExportTrafficActivities } from '../activities/export-traffic.js';
import type { LifecycleActivities } from '../activities/lifecycle.js';
import { formatDuration } from '../domain/duration.js';
import { nonRetryableErrorTypes } from '../domain/errors.js';
import type { LifecycleEvent, LifecycleState } from '../domain/lifecycle.js';
import type { RetrainPolicy } from '../domain/lifecycle-spec.js';
import { appendEvent, stageOf } from '../domain/lifecycle-state.js';
import { monitorWorkflowId } from '../domain/monitor.js';
import type { RetrainTrigger } from '../domain/retrain-policy.js';
import { championVersionKey, modelNameKey, stageKey } from '../domain/search-attributes.js';
import { monitor } from './monitor.js';

/** Activity failures the lifecycle does not retry: bad input, and the refusals it passes on to a caller. */
const retryForever = {
  initialInterval: '1 second',
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: [...nonRetryableErrorTypes, 'Conflict', 'Forbidden', 'InvalidRequest'],
};

export const now = () => new Date().toISOString();

/** The message of a failure, its cause's when it has one (an activity's or a child's own message). */
export function failureMessage(error: unknown): string {
  const cause = (error as { cause?: { message?: string } }).cause;
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}

export type EventDraft = Omit<LifecycleEvent, 'seq' | 'at'>;

export interface LifecycleRun {
  readonly state: LifecycleState;
  readonly model: string;
  readonly policy: RetrainPolicy;
  readonly workflowId: string;
  /** The first run id of the continue-as-new chain: with the seq, the key of each event. */
  readonly chainId: string;
  readonly taskQueue: string;
  readonly queuePrefix: string;
  readonly monitorId: string;
  readonly acts: LifecycleActivities;
  readonly exporter: ExportTrafficActivities;
  /** The child in flight. */
  active: { kind: 'training' | 'rollout'; workflowId: string } | null;
  /** A retrain a person asked for, waiting for the loop to take it. */
  manual: RetrainTrigger | null;
  /** Set by handlers to wake the loop's wait. */
  wake: boolean;
  /** A loop (training, rollout) completed: time to continue as new. */
  loopDone: boolean;
  /** Numbers the event into the state and writes it to PostgreSQL (in order, in the background). */
  emit(event: EventDraft): void;
  /** Resolves when every event emitted so far is written. */
  flush(): Promise<void>;
  /** Sets the Stage search attribute when the stage changed. */
  syncAttributes(): void;
  setChampion(version: number): void;
  poke(): void;
  /** Starts the monitor once a champion exists (or again, if it is no longer running). */
  ensureMonitor(): Promise<void>;
}

export function createLifecycleRun(state: LifecycleState, info: WorkflowInfo): LifecycleRun {
  const workflowId = info.workflowId;
  const chainId = info.firstExecutionRunId;
  const model = state.spec.model;
  const acts = proxyActivities<LifecycleActivities>({ startToCloseTimeout: '1 minute', retry: retryForever });
  // One small insert: a short timeout, so a write lost with a killed worker holds the event chain for seconds, not
  // the minute the other calls may need.
  const eventWriter = proxyActivities<Pick<LifecycleActivities, 'recordLifecycleEvents'>>({
    startToCloseTimeout: '10 seconds',
    retry: retryForever,
  });
  const exporter = proxyActivities<ExportTrafficActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '1 minute',
    retry: { ...retryForever, maximumAttempts: 5 },
  });

  // Events: numbered into the state at once, written to PostgreSQL in order by one chain of activities.
  const unwritten: LifecycleEvent[] = [];
  let writing: Promise<void> = Promise.resolve();
  const flush = (): Promise<void> => {
    writing = writing
      .then(async () => {
        while (unwritten.length > 0) {
          const events = unwritten.splice(0, unwritten.length);
          try {
            await eventWriter.recordLifecycleEvents({ workflowId, chainId, model, events });
          } catch (error) {
            // Only a cancelled run gets here (the write is retried until the database takes it): keep the events
            // for the next flush, and keep the chain alive.
            unwritten.unshift(...events);
            throw error;
          }
        }
      })
      .catch(() => undefined);
    return writing;
  };

  let stage = '';
  let monitorStarted = false;
  const run: LifecycleRun = {
    state,
    model,
    policy: state.spec.retrain,
    workflowId,
    chainId,
    taskQueue: info.taskQueue,
    queuePrefix: info.taskQueue.replace(/\.cpu$/, ''),
    monitorId: monitorWorkflowId(model),
    acts,
    exporter,
    active: null,
    manual: null,
    wake: false,
    loopDone: false,
    emit(event) {
      unwritten.push(appendEvent(state, { at: now(), ...event }));
      void flush();
    },
    flush,
    syncAttributes() {
      const next = stageOf(state);
      if (next === stage) return;
      stage = next;
      upsertSearchAttributes([{ key: stageKey, value: stage }]);
    },
    setChampion(version) {
      state.champion = version;
      upsertSearchAttributes([{ key: championVersionKey, value: version }]);
    },
    poke() {
      run.wake = true;
    },
    // One monitor for the lifecycle's life (it follows whichever version is the champion), started with ABANDON so
    // it outlives each continue-as-new, and found again by its id afterwards.
    async ensureMonitor() {
      const monitorPolicy = state.spec.monitor;
      if (state.champion === null || monitorPolicy === false || monitorStarted) return;
      if (state.monitor && (await acts.workflowRunning({ workflowId: run.monitorId }))) {
        monitorStarted = true;
        return;
      }
      const handle = await startChild(monitor, {
        workflowId: run.monitorId,
        taskQueue: info.taskQueue,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [{ model, policy: monitorPolicy, notifyWorkflowId: workflowId, requestedBy: workflowId }],
      });
      monitorStarted = true;
      const restarted = state.monitor !== null;
      state.monitor = { workflowId: run.monitorId, startedAt: now() };
      run.emit({
        kind: 'monitor-started',
        message: `${restarted ? 'monitor restarted (it was not running)' : 'monitoring the champion'}${monitorPolicy.interval !== undefined ? `: a window every ${formatDuration(monitorPolicy.interval)}` : ''}`,
        workflowId: run.monitorId,
        runId: handle.firstExecutionRunId,
      });
    },
  };
  upsertSearchAttributes([
    { key: modelNameKey, value: model },
    ...(state.champion !== null ? [{ key: championVersionKey, value: state.champion }] : []),
  ]);
  run.syncAttributes();
  return run;
}
