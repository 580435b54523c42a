import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowIdReusePolicy } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidSpecError, parsePipelineSpec } from '../domain/pipeline-spec.js';
import { modelNameKey } from '../domain/search-attributes.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { TrainingRequest, TrainingResult } from '../domain/training.js';
import { canonicalJson } from '../platform/spec-file.js';
import { training, trainingStatusQuery } from '../workflows/training.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const workflowIdParam = z.object({
  // Runs started here are `training-<model>-<hex>`; runs started from the Temporal UI or CLI have any id.
  workflowId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:@=+-]{0,254}$/, 'expected a workflow id (letters, digits and ._:@=+-)'),
});

/** An Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header): 1-255 printable ASCII characters. */
const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'expected 1-255 printable ASCII characters without spaces')
    .optional(),
});

/** How long a status read may wait for a worker to answer the status query. */
const queryDeadlineMs = 5000;

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
    {
      config: { role: 'operator' },
      schema: { body: z.object({ spec: z.unknown() }).strict(), headers: idempotencyHeaders },
    },
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
      // The same plain input anyone can type into the Temporal UI; the workflow validates it again itself.
      const input: TrainingRequest = { spec, requestedBy: request.actor, queuePrefix: deps.queuePrefix };
      const requestSha256 = createHash('sha256').update(canonicalJson(spec)).digest('hex');
      const key = request.headers['idempotency-key'];
      // A key fixes the workflow id (per caller), so a retried POST finds the run the first one started.
      const suffix = key
        ? createHash('sha256').update(`${request.actor}\0${key}`).digest('hex').slice(0, 16)
        : randomBytes(4).toString('hex');
      const workflowId = `training-${spec.model}-${suffix}`;
      const body = { workflowId, statusUrl: `/v1/training-runs/${workflowId}` };
      try {
        await deps.client.workflow.start(training, {
          workflowId,
          taskQueue: workflowTaskQueue(deps.queuePrefix),
          args: [input],
          typedSearchAttributes: [{ key: modelNameKey, value: spec.model }],
          memo: { requestSha256 },
          // A keyed run's id is never reused, even after it closes (until the namespace's retention drops it).
          ...(key ? { workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE } : {}),
        });
      } catch (error) {
        if (!(key && error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        const existing = await deps.client.workflow.getHandle(workflowId).describe();
        if (existing.memo?.requestSha256 !== requestSha256) {
          throw new HttpProblem(
            409,
            'Idempotency-Key reused',
            `Idempotency-Key ${JSON.stringify(key)} already started ${workflowId} with a different spec; use a new key for a new run`,
            { workflowId },
          );
        }
        return reply.status(200).header('idempotent-replayed', 'true').send(body);
      }
      return reply.status(202).send(body);
    },
  );

  api.get(
    '/v1/training-runs/:workflowId',
    { config: { role: 'viewer' }, schema: { params: workflowIdParam } },
    async (request) => {
      const handle = deps.client.workflow.getHandle(request.params.workflowId);
      const description = await handle.describe();
      if (description.type !== 'training') {
        throw new HttpProblem(404, 'Not found', `${request.params.workflowId} is not a training run`);
      }
      // A scoped key sees its models' runs: the model is the run's ModelName search attribute (set at start).
      requireModel(request, 'viewer', description.typedSearchAttributes.get(modelNameKey) ?? '');
      const state = description.status.name;
      const pending = pendingActivities(description.raw);
      // A finished run's result is the workflow's result, which the server keeps: no worker needs to be running.
      // Only a running run is asked for its status, and not for long (no worker, no answer).
      let result: TrainingResult | undefined;
      let failure: string | undefined;
      if (state === 'COMPLETED') {
        result = (await handle.result()) as TrainingResult;
      } else if (state !== 'RUNNING') {
        failure = await handle.result().then(
          () => undefined,
          (error: unknown) => {
            const e = error as { cause?: { message?: string }; message?: string };
            return e.cause?.message ?? e.message ?? String(error);
          },
        );
      }
      const status =
        state === 'RUNNING'
          ? await deps.client
              .withDeadline(Date.now() + queryDeadlineMs, () => handle.query(trainingStatusQuery))
              .catch(() => undefined)
          : undefined;
      const waiting = pending
        .filter((p) => p.state === 'scheduled' && p.attempt === 1 && !p.heartbeat)
        .map((p) => `${p.activity} is waiting for a worker on ${status?.trainQueue ?? 'its task queue'}`);
      return {
        workflowId: request.params.workflowId,
        state,
        ...(status ?? {}),
        ...(result ? { stage: 'done', model: result.model, runId: result.runId, result } : {}),
        pending,
        ...(waiting.length ? { waiting } : {}),
        ...(failure ? { failure } : {}),
      };
    },
  );
}
