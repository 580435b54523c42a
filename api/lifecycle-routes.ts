import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { lifecycleWorkflowId, type RollbackRequest } from '../domain/lifecycle.js';
import { InvalidLifecycleSpecError } from '../domain/lifecycle-spec.js';
import { modelNameSchema } from '../domain/model-name.js';
import { modelNameKey } from '../domain/search-attributes.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { Pool } from '../platform/db.js';
import { listLifecycleEvents } from '../platform/lifecycle-store.js';
import { resolveLifecycleDocument } from '../platform/lifecycle-spec-file.js';
import {
  approveUpdate,
  lifecycle,
  lifecycleStatusQuery,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  retrainNowUpdate,
  rollbackUpdate,
} from '../workflows/lifecycle.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const modelParams = z.object({ model: modelNameSchema });
const commentBody = z.object({ comment: z.string().max(2000).optional() }).strict();

/** Traffic changes of a model (deployment history) after `afterRevision`: the canary steps as they happen. */
async function trafficAfter(db: Pool, model: string, afterRevision: number, limit: number) {
  const { rows } = await db.query<{
    revision: string;
    champion_version: number | null;
    challenger_version: number | null;
    challenger_weight: number;
    shadow: boolean;
    reason: string;
    updated_by: string;
    updated_at: Date;
  }>(
    `SELECT revision, champion_version, challenger_version, challenger_weight, shadow, reason, updated_by, updated_at
     FROM deployment_history WHERE model_name = $1 AND revision > $2 ORDER BY revision LIMIT $3`,
    [model, afterRevision, limit],
  );
  return rows.map((r) => ({
    revision: Number(r.revision),
    at: r.updated_at.toISOString(),
    champion: r.champion_version,
    challenger: r.challenger_version,
    challengerWeight: Number(r.challenger_weight),
    shadow: r.shadow,
    reason: r.reason,
    by: r.updated_by,
  }));
}

/** A refused Update as the HTTP status its type names (the lifecycle's and the rollout's validators share them). */
function updateProblem(error: unknown): never {
  if (error instanceof WorkflowUpdateFailedError) {
    const cause = error.cause;
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    const status = type === 'Forbidden' ? 403 : type === 'InvalidRequest' ? 400 : 409;
    const title = status === 403 ? 'Forbidden' : status === 400 ? 'Invalid request' : 'Conflict';
    throw new HttpProblem(status, title, cause?.message ?? error.message);
  }
  if (error instanceof WorkflowNotFoundError) {
    throw new HttpProblem(404, 'Not found', 'no lifecycle of this model is running');
  }
  throw error;
}

/**
 * Lifecycles: start one from a spec, read its status and its whole history, and send it the Updates a person may
 * (retrain, pause, resume, rollback; approve and reject pass through to the active rollout). Each Update carries
 * the authenticated caller, whose role the workflow checks.
 */
export function registerLifecycleRoutes(
  app: FastifyInstance,
  deps: { client: Client; db: Pool; queuePrefix: string },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/lifecycles',
    {
      config: { role: 'operator' },
      schema: { body: z.object({ spec: z.record(z.string(), z.unknown()) }).strict() },
    },
    async (request, reply) => {
      const { spec } = request.body;
      // An inline spec is checked here, so a bad one is refused before anything starts; a pipeline given as a
      // file path is for the worker to read, and checked there (the run ends as rejected, with every problem).
      let model: string | undefined;
      if (typeof spec.pipeline === 'object') {
        try {
          model = (await resolveLifecycleDocument(spec, '/')).model;
        } catch (error) {
          if (error instanceof InvalidLifecycleSpecError) {
            throw new HttpProblem(400, 'Invalid lifecycle spec', error.message, { errors: error.problems });
          }
          throw error;
        }
      } else if (typeof spec.model === 'string') model = spec.model;
      const parsedModel = modelNameSchema.safeParse(model);
      if (!parsedModel.success) {
        throw new HttpProblem(
          400,
          'Invalid lifecycle spec',
          'model: name the model when the pipeline is a file',
          {
            errors: [{ path: 'model', message: 'expected the model name when the pipeline is a file path' }],
          },
        );
      }
      requireModel(request, 'operator', parsedModel.data);
      const workflowId = lifecycleWorkflowId(parsedModel.data);
      try {
        const handle = await deps.client.workflow.start(lifecycle, {
          workflowId,
          taskQueue: workflowTaskQueue(deps.queuePrefix),
          args: [{ spec, requestedBy: request.actor }],
          typedSearchAttributes: [{ key: modelNameKey, value: parsedModel.data }],
        });
        return reply.status(202).send({
          workflowId,
          runId: handle.firstExecutionRunId,
          statusUrl: `/v1/lifecycles/${parsedModel.data}`,
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError) {
          throw new HttpProblem(409, 'Conflict', `${workflowId} is already running: one lifecycle per model`);
        }
        throw error;
      }
    },
  );

  api.get(
    '/v1/lifecycles/:model',
    { config: { role: 'viewer' }, schema: { params: modelParams } },
    async (request) => {
      requireModel(request, 'viewer', request.params.model);
      const workflowId = lifecycleWorkflowId(request.params.model);
      const handle = deps.client.workflow.getHandle(workflowId);
      const description = await handle.describe().catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) {
          throw new HttpProblem(404, 'Not found', `no lifecycle of ${request.params.model} (${workflowId})`);
        }
        throw error;
      });
      const state = description.status.name;
      if (state === 'RUNNING') return { workflowId, state, status: await handle.query(lifecycleStatusQuery) };
      const result: unknown = await handle.result().catch((error: unknown) => ({
        failure: (error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message,
      }));
      return { workflowId, state, result };
    },
  );

  api.get(
    '/v1/lifecycles/:model/events',
    {
      config: { role: 'viewer' },
      schema: {
        params: modelParams,
        querystring: z
          .object({
            after: z.coerce.number().int().min(0).default(0),
            afterRevision: z.coerce.number().int().min(0).default(0),
            limit: z.coerce.number().int().min(1).max(1000).default(200),
          })
          .strict(),
      },
    },
    async (request) => {
      const { model } = request.params;
      requireModel(request, 'viewer', model);
      const { after, afterRevision, limit } = request.query;
      const [events, traffic] = await Promise.all([
        listLifecycleEvents(deps.db, { model, afterId: after, limit }),
        trafficAfter(deps.db, model, afterRevision, limit),
      ]);
      return {
        events,
        traffic,
        next: {
          after: events.at(-1)?.id ?? after,
          afterRevision: traffic.at(-1)?.revision ?? afterRevision,
        },
      };
    },
  );

  // Updates: the body's comment (and rollback's toVersion) with the authenticated caller; the workflow decides.
  const updates = [
    ['retrain', retrainNowUpdate, commentBody, 'operator'],
    ['pause', pauseUpdate, commentBody, 'operator'],
    ['resume', resumeUpdate, commentBody, 'operator'],
    ['approve', approveUpdate, commentBody, 'approver'],
    ['reject', rejectUpdate, commentBody, 'approver'],
    [
      'rollback',
      rollbackUpdate,
      commentBody.extend({ toVersion: z.number().int().positive().optional() }).strict(),
      'operator',
    ],
  ] as const;
  for (const [path, definition, body, role] of updates) {
    const options = { config: { role }, schema: { params: modelParams, body } };
    api.post(`/v1/lifecycles/:model/${path}`, options, async (request) => {
      requireModel(request, role, request.params.model);
      const handle = deps.client.workflow.getHandle(lifecycleWorkflowId(request.params.model));
      const { caller } = request;
      const args: RollbackRequest = {
        ...request.body,
        caller: {
          name: caller.name,
          role: caller.role,
          ...(caller.models ? { models: [...caller.models] } : {}),
        },
        source: 'api',
      };
      // One Update name per route; every lifecycle Update takes a request of this shape.
      return handle.executeUpdate(definition.name, { args: [args] }).catch(updateProblem);
    });
  }
}
