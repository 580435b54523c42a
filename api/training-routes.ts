import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidSpecError, parsePipelineSpec } from '../domain/pipeline-spec.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import { specHash } from '../platform/spec-file.js';
import { training, trainingStatusQuery } from '../workflows/training.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const workflowIdParam = z.object({
  workflowId: z
    .string()
    .regex(/^training-[a-z0-9_-]{1,63}-[0-9a-f]{8}$/, 'expected training-<model>-<8 hex>'),
});

const activityStates: Record<number, string> = {
  1: 'scheduled',
  2: 'started',
  3: 'cancel_requested',
  4: 'paused',
  5: 'pause_requested',
};

/** Pending activities with their decoded heartbeat details: progress and checkpoint of a running stage. */
function pendingActivities(raw: unknown) {
  const pending = (raw as { pendingActivities?: unknown[] }).pendingActivities ?? [];
  return pending.map((p) => {
    const a = p as {
      activityType?: { name?: string };
      state?: number;
      attempt?: number;
      heartbeatDetails?: { payloads?: unknown[] };
      lastHeartbeatTime?: { seconds?: { toString(): string } };
      lastFailure?: { message?: string };
      lastWorkerIdentity?: string;
    };
    const payload = a.heartbeatDetails?.payloads?.[0];
    return {
      activity: a.activityType?.name ?? 'unknown',
      state: activityStates[a.state ?? 0] ?? 'unknown',
      attempt: a.attempt ?? 1,
      ...(a.lastWorkerIdentity ? { worker: a.lastWorkerIdentity } : {}),
      ...(payload ? { heartbeat: defaultPayloadConverter.fromPayload(payload) } : {}),
      ...(a.lastFailure?.message ? { lastFailure: a.lastFailure.message } : {}),
    };
  });
}

/** Training runs: start one from a spec, follow its stage and progress, read its result. */
export function registerTrainingRoutes(
  app: FastifyInstance,
  deps: { client: Client; queuePrefix: string },
): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.post(
    '/v1/training-runs',
    { config: { role: 'operator' }, schema: { body: z.object({ spec: z.unknown() }).strict() } },
    async (request, reply) => {
      let spec;
      try {
        spec = parsePipelineSpec(request.body.spec);
      } catch (error) {
        if (error instanceof InvalidSpecError) {
          throw new HttpProblem(400, 'Invalid pipeline spec', error.message, { errors: error.problems });
        }
        throw error;
      }
      // A relative dataset.source is looked up in the worker's data roots.
      requireModel(request, 'operator', spec.model);
      const workflowId = `training-${spec.model}-${randomBytes(4).toString('hex')}`;
      await deps.client.workflow.start(training, {
        workflowId,
        taskQueue: workflowTaskQueue(deps.queuePrefix),
        args: [{ spec, specHash: specHash(spec), queuePrefix: deps.queuePrefix, requestedBy: request.actor }],
        searchAttributes: { ModelName: [spec.model] },
      });
      return reply.status(202).send({ workflowId, statusUrl: `/v1/training-runs/${workflowId}` });
    },
  );

  api.get(
    '/v1/training-runs/:workflowId',
    { config: { role: 'viewer' }, schema: { params: workflowIdParam } },
    async (request) => {
      const handle = deps.client.workflow.getHandle(request.params.workflowId);
      const description = await handle.describe();
      const status = await handle.query(trainingStatusQuery).catch(() => undefined);
      // The model is in the workflow id (training-<model>-<hex>) and in the status; a scoped key sees its models' runs.
      requireModel(
        request,
        'viewer',
        status?.model ?? request.params.workflowId.replace(/^training-(.*)-[0-9a-f]{8}$/, '$1'),
      );
      const state = description.status.name;
      const pending = pendingActivities(description.raw);
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
      const waiting = pending
        .filter((p) => p.state === 'scheduled' && p.attempt === 1 && !p.heartbeat)
        .map((p) => `${p.activity} is waiting for a worker on ${status?.trainQueue ?? 'its task queue'}`);
      return {
        workflowId: request.params.workflowId,
        state,
        ...(status ?? {}),
        pending,
        ...(waiting.length ? { waiting } : {}),
        ...(failure ? { failure } : {}),
      };
    },
  );
}
