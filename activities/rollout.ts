import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeploymentState } from '../domain/deployment.js';
import {
  parseRolloutRequest,
  rolloutWorkflowId,
  type RolloutRequest,
  type TrafficSplit,
} from '../domain/rollout.js';
import type { StepMetrics } from '../domain/rollout-metrics.js';
import {
  builtInRolloutDefaults,
  InvalidRolloutError,
  type RolloutDefaults,
  type RolloutPlan,
  type RolloutProblem,
} from '../domain/rollout-plan.js';
import { ArtifactError, type ArtifactStore } from '../platform/artifact-store.js';
import { keepHeartbeating } from './heartbeat.js';
import { audit } from '../platform/audit.js';
import type { Pool } from '../platform/db.js';
import { readDeployment, writeDeployment } from '../platform/deployments.js';
import type { Logger } from '../platform/logger.js';
import { PromotionConflictError, promoteVersion, type PromotionResult } from '../platform/promotion.js';
import { findVersion } from '../platform/registry.js';
import { readStepMetrics } from '../platform/rollout-metrics.js';

export interface PreparedRollout {
  readonly request: RolloutRequest;
  readonly plan: RolloutPlan;
  readonly requestedBy: string;
  /** The version serving all traffic now; null for a model's first rollout. */
  readonly champion: number | null;
  readonly revision: number;
  /** History length after which the run continues as a new one. */
  readonly continueAsNewAfterEvents: number;
}

export interface SetTrafficInput {
  readonly model: string;
  readonly workflowId: string;
  readonly split: TrafficSplit;
  readonly stickyKey: string | null;
  readonly expectedRevision: number;
  readonly requestId: string;
  readonly reason: string;
  readonly actor: string;
}

function invalid(problems: readonly RolloutProblem[]): ApplicationFailure {
  const error = new InvalidRolloutError(problems);
  return ApplicationFailure.nonRetryable(error.message, 'InvalidRolloutInput', { problems });
}

/**
 * The rollout's side effects: validating and resolving its input against the registry, moving traffic by
 * compare-and-set on the deployment, measuring a phase from the prediction log, promoting, restoring the champion,
 * and the audit trail.
 */
export function createRolloutActivities(deps: {
  db: Pool;
  store: ArtifactStore;
  log: Logger;
  rolloutDefaults?: RolloutDefaults;
}) {
  const log = deps.log.child({ component: 'rollout' });
  return {
    /**
     * Validates a rollout request as typed (Temporal UI, CLI, API, training) and resolves its plan with this
     * deployment's defaults; checks the version exists with an intact artifact, that it is not already the
     * champion, and that the workflow id is the model's one rollout id. Every problem is listed by field path.
     */
    async prepareRollout(raw: unknown): Promise<PreparedRollout> {
      const workflowId = Context.current().info.workflowExecution?.workflowId ?? '(none)';
      let parsed: ReturnType<typeof parseRolloutRequest>;
      try {
        parsed = parseRolloutRequest(raw, deps.rolloutDefaults ?? builtInRolloutDefaults);
      } catch (error) {
        if (error instanceof InvalidRolloutError) throw invalid(error.problems);
        throw error;
      }
      const { request, plan } = parsed;
      const problems: RolloutProblem[] = [];
      if (workflowId !== rolloutWorkflowId(request.model)) {
        problems.push({
          path: '(workflow id)',
          message: `a rollout of ${request.model} must run as ${rolloutWorkflowId(request.model)} (so only one runs at a time), not ${workflowId}`,
        });
      }
      const [version, champion, deployment] = await Promise.all([
        findVersion(deps.db, request.model, request.version),
        findVersion(deps.db, request.model, { alias: 'champion' }),
        readDeployment(deps.db, request.model),
      ]);
      if (!version) {
        problems.push({
          path: 'version',
          message: `${request.model} has no registered version ${request.version}`,
        });
      } else {
        try {
          await deps.store.get(version.artifactUri, { expectSha256: version.artifactSha256 });
        } catch (error) {
          if (!(error instanceof ArtifactError) || error.code === 'io') throw error;
          problems.push({
            path: 'version',
            message: `the model file of ${request.model}:${request.version} can't be served: ${error.message}`,
          });
        }
      }
      const aliasChampion = champion?.version ?? null;
      if (aliasChampion !== null && deployment.champion !== null && aliasChampion !== deployment.champion) {
        problems.push({
          path: 'model',
          message: `the champion alias of ${request.model} (v${aliasChampion}) and the version serving it (v${deployment.champion}) disagree; settle it with \`slipway models promote\` first`,
        });
      }
      const current = aliasChampion ?? deployment.champion;
      if (current !== null && current === request.version) {
        problems.push({
          path: 'version',
          message: `v${request.version} is already the champion of ${request.model}`,
        });
      }
      if (problems.length > 0) throw invalid(problems);
      const requestedBy = request.requestedBy ?? 'temporal';
      await audit(deps.db, {
        actor: requestedBy,
        action: 'rollout.start',
        subject: `${request.model}:${request.version}`,
        source: 'rollout',
        details: { workflowId, champion: current, plan },
      });
      log.info({ modelName: request.model, version: request.version, champion: current }, 'rollout started');
      return {
        request,
        plan,
        requestedBy,
        champion: current,
        revision: deployment.revision,
        continueAsNewAfterEvents: deps.rolloutDefaults?.continueAsNewAfterEvents ?? 8000,
      };
    },

    /** Sets the split by compare-and-set; a deployment changed by anyone else stops the rollout (not retried). */
    async setTraffic(input: SetTrafficInput): Promise<{ revision: number; updatedAt: string }> {
      const { written, state } = await writeDeployment(deps.db, {
        model: input.model,
        target: {
          ...input.split,
          stickyKey: input.stickyKey,
          rolloutWorkflowId: input.workflowId,
        },
        expectedRevision: input.expectedRevision,
        actor: input.actor,
        reason: input.reason,
        requestId: input.requestId,
        source: 'rollout',
      });
      if (!written) {
        throw ApplicationFailure.nonRetryable(
          `the deployment of ${input.model} was changed outside this rollout (revision ${state.revision} by ${state.updatedBy}, expected ${input.expectedRevision})`,
          'DeploymentConflict',
        );
      }
      log.info({ modelName: input.model, ...input.split, revision: state.revision }, 'traffic set');
      return { revision: state.revision, updatedAt: state.updatedAt };
    },

    /**
     * Rolls back: all traffic to the champion (the alias, which a rollback never moves), no challenger, no shadow.
     * Writes only while this rollout still owns the deployment, re-reading after a lost race; any other failure
     * throws so Temporal retries it with backoff until it succeeds.
     */
    async restoreChampion(input: {
      model: string;
      workflowId: string;
      requestId: string;
      reason: string;
      actor: string;
    }): Promise<{ champion: number | null; restored: boolean; deployment: DeploymentState }> {
      for (let attempt = 0; attempt < 20; attempt++) {
        const deployment = await readDeployment(deps.db, input.model);
        const { rows } = await deps.db.query<{ request_id: string | null }>(
          'SELECT request_id FROM deployments WHERE model_name = $1',
          [input.model],
        );
        if (rows[0]?.request_id === input.requestId) {
          return { champion: deployment.champion, restored: true, deployment };
        }
        if (deployment.rolloutWorkflowId !== input.workflowId) {
          log.warn(
            { modelName: input.model, owner: deployment.rolloutWorkflowId },
            'deployment no longer ours: left as is',
          );
          return { champion: deployment.champion, restored: false, deployment };
        }
        const alias = await findVersion(deps.db, input.model, { alias: 'champion' });
        const champion = alias?.version ?? deployment.champion;
        const { written, state } = await writeDeployment(deps.db, {
          model: input.model,
          target: {
            champion,
            challenger: null,
            challengerWeight: 0,
            shadow: false,
            stickyKey: deployment.stickyKey,
            rolloutWorkflowId: null,
          },
          expectedRevision: deployment.revision,
          actor: input.actor,
          reason: input.reason,
          requestId: input.requestId,
          source: 'rollout',
        });
        if (written) {
          log.warn({ modelName: input.model, champion, reason: input.reason }, 'rolled back');
          return { champion, restored: true, deployment: state };
        }
      }
      throw new Error(`the deployment of ${input.model} kept changing under the rollback; retrying`);
    },

    /**
     * The phase's metrics per version since `from`, aggregated in SQL (seconds for a million requests, see
     * bench/results/rollout-analysis.md); heartbeats meanwhile, so a dead worker is noticed long before a slow
     * query would time out.
     */
    async measureStep(input: {
      model: string;
      champion: number;
      challenger: number;
      from: string;
      threshold: number;
    }): Promise<StepMetrics> {
      const stop = keepHeartbeating(Context.current(), () => ({ model: input.model, from: input.from }));
      try {
        return await readStepMetrics(deps.db, input);
      } finally {
        stop();
      }
    },

    /** Champion alias and all traffic to `version`, in one transaction; a lost compare-and-set is not retried. */
    async promoteChallenger(input: {
      model: string;
      version: number;
      expectedChampion: number | null;
      workflowId: string;
      requestId: string;
      actor: string;
      reason: string;
    }): Promise<PromotionResult> {
      try {
        const result = await promoteVersion(deps.db, {
          ...input,
          owner: input.workflowId,
          source: 'rollout',
        });
        log.info({ modelName: input.model, version: input.version }, 'promoted');
        return result;
      } catch (error) {
        if (error instanceof PromotionConflictError) {
          throw ApplicationFailure.nonRetryable(error.message, 'PromotionConflict');
        }
        throw error;
      }
    },

    /** One entry of the audit log: approvals, rejections, pauses, outcomes. */
    async recordRolloutEvent(entry: {
      actor: string;
      action: string;
      subject: string;
      source: string;
      details: unknown;
    }): Promise<void> {
      await audit(deps.db, entry);
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
