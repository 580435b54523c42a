import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callerAllows } from '../domain/auth.js';
import { modelNameSchema } from '../domain/model-name.js';
import { parseRolloutRequest, rolloutWorkflowId, type DecisionRequest } from '../domain/rollout.js';
import { builtInRolloutDefaults, InvalidRolloutError } from '../domain/rollout-plan.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import { audit } from '../platform/audit.js';
import type { Pool } from '../platform/db.js';
import { findVersion } from '../platform/registry.js';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  rollout,
  rolloutStatusQuery,
} from '../workflows/rollout.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const modelParam = z.object({ model: modelNameSchema });
const decisionBody = z.object({ comment: z.string().max(2000).optional() }).strict();

/** Update failures from a validator carry their meaning in the type. */
const statusOfRefusal: Record<string, number> = { Forbidden: 403, Conflict: 409, InvalidRequest: 400 };

/** Where a request came from, for the audit log: the CLI says so in a header. */
function sourceOf(request: FastifyRequest): 'cli' | 'api' {
  return request.headers['x-slipway-client'] === 'cli' ? 'cli' : 'api';
}

/** The status of a model's rollout, running or ended (its last run). */
async function describeRollout(client: Client, model: string) {
  const handle = client.workflow.getHandle(rolloutWorkflowId(model));
  const description = await handle.describe();
  const status = await handle.query(rolloutStatusQuery).catch(() => undefined);
  const state = description.status.name;
  let failure: string | undefined;
  if (state === 'FAILED' || state === 'TERMINATED' || state === 'TIMED_OUT') {
    failure = await handle.result().then(
      () => undefined,
      (error: unknown) => {
        const e = error as { cause?: { message?: string }; message?: string };
        return e.cause?.message ?? e.message ?? String(error);
      },
    );
  }
  return {
    workflowId: handle.workflowId,
    runId: description.runId,
    state,
    ...(status ?? {}),
    ...(failure ? { failure } : {}),
  };
}

/**
 * Rollouts: start one for a registered version, follow it, and steer it (approve and reject need the approver role
 * for the model; pause, resume and abort the operator role). Every decision reaches the workflow as a Temporal
 * Update carrying the authenticated caller, whose validator checks the role again.
 */
export function registerRolloutRoutes(
  app: FastifyInstance,
  deps: { client: Client; db: Pool; queuePrefix: string },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/rollouts',
    {
      config: { role: 'operator' },
      schema: { body: z.object({ model: z.unknown(), version: z.unknown(), plan: z.unknown() }).partial() },
    },
    async (request, reply) => {
      let parsed;
      try {
        parsed = parseRolloutRequest(request.body, builtInRolloutDefaults);
      } catch (error) {
        if (error instanceof InvalidRolloutError) {
          throw new HttpProblem(400, 'Invalid rollout', error.message, { errors: error.problems });
        }
        throw error;
      }
      const { model, version, plan } = parsed.request;
      requireModel(request, 'operator', model);
      if (!(await findVersion(deps.db, model, version))) {
        throw new HttpProblem(404, 'Not found', `${model} has no registered version ${version}`);
      }
      const workflowId = rolloutWorkflowId(model);
      try {
        await deps.client.workflow.start(rollout, {
          workflowId,
          taskQueue: workflowTaskQueue(deps.queuePrefix),
          args: [
            {
              model,
              version,
              ...(plan ? { plan: request.body.plan as never } : {}),
              requestedBy: request.caller.name,
            },
          ],
          searchAttributes: { ModelName: [model] },
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        const running = await describeRollout(deps.client, model).catch(() => undefined);
        const where = running && 'stage' in running ? `, at ${String(running.stage)}` : '';
        const what = running && 'version' in running ? ` of v${String(running.version)}` : '';
        throw new HttpProblem(
          409,
          'Rollout already running',
          `a rollout${what} of ${model} is already running (${workflowId}${where}): approve, reject or abort it before starting another`,
        );
      }
      return reply.status(202).send({ workflowId, statusUrl: `/v1/rollouts/${model}` });
    },
  );

  api.get(
    '/v1/rollouts/:model',
    { config: { role: 'viewer' }, schema: { params: modelParam } },
    async (request) => {
      try {
        return await describeRollout(deps.client, request.params.model);
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new HttpProblem(404, 'Not found', `${request.params.model} has never been rolled out`);
        }
        throw error;
      }
    },
  );

  const decisions = [
    ['approve', approveUpdate, 'approver'],
    ['reject', rejectUpdate, 'approver'],
    ['pause', pauseUpdate, 'operator'],
    ['resume', resumeUpdate, 'operator'],
    ['abort', abortUpdate, 'operator'],
  ] as const;
  for (const [action, update, needed] of decisions) {
    api.post(
      `/v1/rollouts/:model/${action}`,
      { config: { role: needed }, schema: { params: modelParam, body: decisionBody.optional() } },
      async (request) => {
        const { model } = request.params;
        const source = sourceOf(request);
        const refuse = async (status: number, title: string, detail: string): Promise<never> => {
          if (needed === 'approver') {
            await audit(deps.db, {
              actor: request.caller.name,
              action: `rollout.${action}.refused`,
              subject: model,
              source,
              details: { reason: detail, from: request.ip },
            });
          }
          throw new HttpProblem(status, title, detail);
        };
        if (!callerAllows(request.caller, needed, model)) {
          await refuse(
            403,
            'Forbidden',
            `${request.caller.name} (role ${request.caller.role}) may not ${action} the rollout of ${model}: that needs the ${needed} role for ${model}`,
          );
        }
        const decision: DecisionRequest = {
          caller: {
            name: request.caller.name,
            role: request.caller.role,
            ...(request.caller.models ? { models: request.caller.models } : {}),
          },
          source,
          from: request.ip,
          ...(request.body?.comment ? { comment: request.body.comment } : {}),
        };
        const handle = deps.client.workflow.getHandle(rolloutWorkflowId(model));
        try {
          return await handle.executeUpdate(update as typeof approveUpdate, { args: [decision] });
        } catch (error) {
          if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
            const status = statusOfRefusal[error.cause.type ?? ''] ?? 409;
            return refuse(status, status === 403 ? 'Forbidden' : 'Conflict', error.cause.message);
          }
          if (error instanceof WorkflowNotFoundError) {
            const last = await describeRollout(deps.client, model).catch(() => undefined);
            if (!last) return refuse(404, 'Not found', `${model} has no rollout running`);
            const ended = 'outcome' in last && last.outcome ? String(last.outcome) : last.state.toLowerCase();
            return refuse(409, 'Conflict', `the rollout of ${model} has already ended (${ended})`);
          }
          throw error;
        }
      },
    );
  }
}
