import { resolve } from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { LifecycleEvent, LifecycleStart } from '../domain/lifecycle.js';
import { InvalidLifecycleSpecError, type FloorMetric, type LifecycleSpec } from '../domain/lifecycle-spec.js';
import type { SpecProblem } from '../domain/pipeline-spec.js';
import type { MonitorDefaults } from '../domain/monitor-policy.js';
import type { RolloutDefaults } from '../domain/rollout-plan.js';
import { binaryMetrics, rocAuc } from '../ml/metrics/classification.js';
import type { Pool } from '../platform/db.js';
import { selectLabelledScores } from '../platform/labelled-traffic.js';
import { recordLifecycleEvents } from '../platform/lifecycle-store.js';
import { loadLifecycleSpecFile, resolveLifecycleDocument } from '../platform/lifecycle-spec-file.js';
import { PromotionConflictError, promoteVersion } from '../platform/promotion.js';
import { RegistryNotFoundError } from '../platform/registry.js';
import { specHash } from '../platform/spec-file.js';

export type ResolvedLifecycle =
  | { readonly ok: true; readonly spec: LifecycleSpec; readonly pipelineSpecHash: string }
  | { readonly ok: false; readonly problems: readonly SpecProblem[] };

/** The lifecycle's own side effects: its spec, its history, the champion rollback and its calls to other workflows. */
export function createLifecycleActivities(deps: {
  db: Pool;
  specRoot?: string;
  rolloutDefaults?: RolloutDefaults;
  monitorDefaults?: MonitorDefaults;
}) {
  const specRoot = deps.specRoot ?? process.cwd();
  const defaults = {
    ...(deps.rolloutDefaults ? { rollout: deps.rolloutDefaults } : {}),
    ...(deps.monitorDefaults ? { monitor: deps.monitorDefaults } : {}),
  };
  return {
    /**
     * Validates and resolves a lifecycle spec (inline or a file under the worker's spec root). A bad spec is an
     * answer, not a failure: the workflow ends as rejected with every problem by field path.
     */
    async resolveLifecycleSpec(input: LifecycleStart): Promise<ResolvedLifecycle> {
      try {
        const spec = input.specPath
          ? await loadLifecycleSpecFile(resolve(specRoot, input.specPath), defaults)
          : await resolveLifecycleDocument(input.spec, specRoot, defaults);
        return { ok: true, spec, pipelineSpecHash: specHash(spec.pipeline) };
      } catch (error) {
        if (error instanceof InvalidLifecycleSpecError) return { ok: false, problems: error.problems };
        throw error;
      }
    },

    /** Appends events to the lifecycle's history in PostgreSQL (idempotent per workflow, chain and seq). */
    async recordLifecycleEvents(input: {
      workflowId: string;
      chainId: string;
      model: string;
      events: readonly LifecycleEvent[];
    }): Promise<void> {
      await recordLifecycleEvents(deps.db, input);
    },

    /** The metric over a version's latest labelled, served predictions (for a performance floor). */
    async labelledPerformance(input: {
      model: string;
      version: number;
      metric: FloorMetric;
      windowRows: number;
      since?: string;
    }): Promise<{ labels: number; value: number | null }> {
      const { scores, labels } = await selectLabelledScores(deps.db, {
        model: input.model,
        version: input.version,
        rows: input.windowRows,
        ...(input.since ? { since: input.since } : {}),
      });
      if (labels.length === 0) return { labels: 0, value: null };
      if (input.metric === 'auc') return { labels: labels.length, value: rocAuc(labels, scores) };
      const metrics = binaryMetrics(labels, scores);
      const value = metrics[input.metric];
      return {
        labels: labels.length,
        value: typeof value === 'number' && Number.isFinite(value) ? value : null,
      };
    },

    /**
     * Sends an Update to another workflow (the active rollout) and returns its answer. A refusal by its validator or
     * handler comes back as a non-retryable failure with the rollout's own message.
     */
    async forwardUpdate(input: { workflowId: string; update: string; arg: unknown }): Promise<unknown> {
      const handle = Context.current().client.workflow.getHandle(input.workflowId);
      try {
        return await handle.executeUpdate(input.update, { args: [input.arg] });
      } catch (error) {
        // The rollout's own refusal (Forbidden, Conflict, InvalidRequest) comes back with its type and message.
        if (error instanceof WorkflowUpdateFailedError) {
          const cause = error.cause;
          throw ApplicationFailure.create({
            type: cause instanceof ApplicationFailure && cause.type ? cause.type : 'Conflict',
            message: cause?.message ?? error.message,
            nonRetryable: true,
          });
        }
        if (error instanceof WorkflowNotFoundError) {
          throw ApplicationFailure.create({
            type: 'Conflict',
            message: `${input.workflowId} is not running`,
            nonRetryable: true,
          });
        }
        throw error;
      }
    },

    /** Whether a workflow (the monitor) is still running. */
    async workflowRunning(input: { workflowId: string }): Promise<boolean> {
      try {
        const description = await Context.current().client.workflow.getHandle(input.workflowId).describe();
        return description.status.name === 'RUNNING';
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) return false;
        throw error;
      }
    },

    /**
     * Makes `to` the champion again and sends it all traffic (alias and deployment by compare-and-set, audited, in
     * one transaction). Idempotent per `requestId`; a champion that moved meanwhile, or a deployment a rollout owns,
     * is refused naming why.
     */
    async rollbackChampion(input: {
      model: string;
      from: number;
      to: number;
      actor: string;
      requestId: string;
      reason: string;
    }): Promise<{ champion: number }> {
      try {
        await promoteVersion(deps.db, {
          model: input.model,
          version: input.to,
          expectedChampion: input.from,
          actor: input.actor,
          source: 'lifecycle',
          reason: input.reason,
          requestId: input.requestId,
        });
        return { champion: input.to };
      } catch (error) {
        if (error instanceof PromotionConflictError || error instanceof RegistryNotFoundError) {
          throw ApplicationFailure.create({ type: 'Conflict', message: error.message, nonRetryable: true });
        }
        throw error;
      }
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
