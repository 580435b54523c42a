import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelNameSchema } from '../domain/model-name.js';
import type { Pool } from '../platform/db.js';
import { readDeployment } from '../platform/deployments.js';
import { PromotionConflictError, promoteVersion } from '../platform/promotion.js';
import { findVersion, RegistryNotFoundError } from '../platform/registry.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const promoteBody = z
  .object({
    version: z.number().int().positive(),
    /** Compare-and-set: the champion the caller saw (null: none). Absent: the champion at the time of the request. */
    expectedChampion: z.number().int().positive().nullable().optional(),
    reason: z.string().max(2000).optional(),
  })
  .strict();

/** Whether a rollout workflow named in a deployment is still running (a terminated one leaves its name behind). */
async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch {
    return false;
  }
}

/**
 * `POST /v1/models/:model/promote` (admin): makes a version the champion and sends it all traffic, by
 * compare-and-set on the alias and the deployment, audited. Refused while a rollout of the model runs.
 */
export function registerPromotionRoutes(app: FastifyInstance, deps: { client: Client; db: Pool }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.post(
    '/v1/models/:model/promote',
    {
      config: { role: 'admin' },
      schema: { params: z.object({ model: modelNameSchema }), body: promoteBody },
    },
    async (request) => {
      const { model } = request.params;
      const { version } = request.body;
      requireModel(request, 'admin', model);
      const deployment = await readDeployment(deps.db, model);
      const owner = deployment.rolloutWorkflowId;
      // A rollout that no longer runs (terminated) may not keep a model from being promoted.
      const stale = owner !== null && !(await isRunning(deps.client, owner));
      const expectedChampion =
        request.body.expectedChampion !== undefined
          ? request.body.expectedChampion
          : ((await findVersion(deps.db, model, { alias: 'champion' }))?.version ?? null);
      try {
        const result = await promoteVersion(deps.db, {
          model,
          version,
          expectedChampion,
          actor: request.caller.name,
          source: `api ${request.ip}`,
          reason: request.body.reason ?? `promoted by ${request.caller.name}`,
          requestId: `promote-${randomUUID()}`,
          ...(stale && owner ? { owner } : {}),
        });
        return {
          model,
          champion: version,
          previousChampion: result.previousChampion,
          aliasMoved: result.aliasMoved,
          deployment: result.deployment,
        };
      } catch (error) {
        if (error instanceof PromotionConflictError) throw new HttpProblem(409, 'Conflict', error.message);
        if (error instanceof RegistryNotFoundError) throw new HttpProblem(404, 'Not found', error.message);
        throw error;
      }
    },
  );
}
