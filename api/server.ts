import rateLimit from '@fastify/rate-limit';
import type { Client } from '@temporalio/client';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { skeletonInputSchema } from '../domain/skeleton.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { pingDatabase, type Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { pingTemporal } from '../platform/temporal.js';
import { skeleton, skeletonStatusQuery } from '../workflows/skeleton.js';
import type { ApiKey } from '../domain/auth.js';
import { registerAuditRoutes } from './audit-routes.js';
import { registerAuth } from './auth.js';
import { registerLifecycleRoutes } from './lifecycle-routes.js';
import { registerFeedbackRoutes } from './feedback-routes.js';
import { registerImportRoutes } from './import-routes.js';
import { registerModelRoutes } from './model-routes.js';
import { HttpProblem, problemHandler } from './problem.js';
import { registerPromotionRoutes } from './promotion-routes.js';
import { registerRolloutRoutes } from './rollout-routes.js';
import { registerTrainingRoutes } from './training-routes.js';

export interface ApiDeps {
  readonly client: Client;
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly queuePrefix: string;
  /** API keys; none means an open API, which only a loopback host allows (assertSafeExposure). */
  readonly apiKeys?: readonly ApiKey[];
  /** The address the API listens on (default 127.0.0.1): on loopback the Host header is checked. */
  readonly host?: string;
  /** Requests per minute per client. */
  readonly rateLimitPerMinute?: number;
  /** How long a label may wait for its prediction to be logged (SERVING_FEEDBACK_PENDING_S). */
  readonly feedbackPendingSeconds?: number;
  /** Largest model or reference upload (SLIPWAY_UPLOAD_MAX_BYTES). */
  readonly uploadMaxBytes?: number;
  /** Failed authentications per client within `authFailureWindowMs` (default a minute) before 429. */
  readonly authFailuresPerWindow?: number;
  readonly authFailureWindowMs?: number;
}

async function check(probe: () => Promise<unknown>): Promise<{ ok: boolean; error?: string; ms: number }> {
  const started = Date.now();
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 5 s')), 5000).unref()),
    ]);
    return { ok: true, ms: Date.now() - started };
  } catch (error) {
    return {
      ok: false,
      error: error instanceof Error ? error.message : String(error),
      ms: Date.now() - started,
    };
  }
}

/** Builds the control-plane API (not listening yet). */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Widens pino's Logger type so the instance is a plain FastifyInstance for the route modules.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: deps.log.child({ component: 'api' }) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(problemHandler(deps.log));
  // OpenAPI from the same zod schemas that validate the requests; served at /openapi.json.
  await app.register(swagger, {
    openapi: {
      info: { title: 'Slipway control API', version: '1' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // Every request counts toward the rate limit, authenticated or not; failed authentications also have their own,
  // much lower, limit (api/auth.ts).
  await app.register(rateLimit, { max: deps.rateLimitPerMinute ?? 600, timeWindow: '1 minute' });
  registerAuth(app, {
    keys: deps.apiKeys ?? [],
    host: deps.host ?? '127.0.0.1',
    authFailuresPerWindow: deps.authFailuresPerWindow ?? 10,
    authFailureWindowMs: deps.authFailureWindowMs ?? 60_000,
  });
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/health', { config: { role: 'public' } }, async (_request, reply) => {
    const [temporal, database, artifactStore] = await Promise.all([
      check(() => pingTemporal(deps.client)),
      check(() => pingDatabase(deps.db)),
      check(() => deps.store.head('health/probe')),
    ]);
    const ok = temporal.ok && database.ok && artifactStore.ok;
    return reply
      .status(ok ? 200 : 503)
      .send({ status: ok ? 'ok' : 'degraded', temporal, database, artifactStore });
  });

  api.post(
    '/v1/skeleton-runs',
    { config: { role: 'operator' }, schema: { body: skeletonInputSchema.omit({ queuePrefix: true }) } },
    async (request, reply) => {
      const workflowId = `skeleton-${crypto.randomUUID()}`;
      const handle = await deps.client.workflow.start(skeleton, {
        workflowId,
        taskQueue: workflowTaskQueue(deps.queuePrefix),
        args: [{ message: request.body.message, queuePrefix: deps.queuePrefix }],
      });
      return reply.status(202).send({ workflowId, runId: handle.firstExecutionRunId });
    },
  );

  api.get(
    '/v1/skeleton-runs/:workflowId',
    {
      config: { role: 'viewer' },
      schema: {
        params: z.object({
          workflowId: z.string().regex(/^skeleton-[0-9a-f-]{36}$/, 'expected skeleton-<uuid>'),
        }),
      },
    },
    async (request) => {
      const handle = deps.client.workflow.getHandle(request.params.workflowId);
      const description = await handle.describe();
      const status = await handle.query(skeletonStatusQuery).catch(() => undefined);
      return { workflowId: request.params.workflowId, state: description.status.name, ...(status ?? {}) };
    },
  );

  api.get('/openapi.json', { config: { role: 'viewer' }, schema: { hide: true } }, (_request, reply) =>
    reply.send(app.swagger()),
  );
  registerTrainingRoutes(app, deps);
  registerModelRoutes(app, deps);
  registerLifecycleRoutes(app, deps);
  registerFeedbackRoutes(app, deps);
  registerImportRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerPromotionRoutes(app, deps);
  registerAuditRoutes(app, deps);

  api.setNotFoundHandler((request) => {
    throw new HttpProblem(404, 'Not found', `no route ${request.method} ${request.url}`);
  });
  return app;
}
