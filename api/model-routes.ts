import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pool } from '../platform/db.js';
import { findVersion, listModels, listVersions } from '../platform/registry.js';
import { HttpProblem } from './problem.js';

const modelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a model name');
/** A version number (`3`) or an alias (`champion`). */
const versionRef = z
  .string()
  .regex(/^([1-9][0-9]{0,8}|[a-z][a-z0-9_-]{0,31})$/, 'expected a version number or an alias');

/** Registry reads: models, their versions, one version by number or alias. */
export function registerModelRoutes(app: FastifyInstance, deps: { db: Pool }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/v1/models', async () => ({ models: await listModels(deps.db) }));

  api.get('/v1/models/:model', { schema: { params: z.object({ model: modelName }) } }, async (request) => {
    const versions = await listVersions(deps.db, request.params.model);
    if (versions.length === 0)
      throw new HttpProblem(404, 'Not found', `no model "${request.params.model}" with any version`);
    return { model: request.params.model, versions };
  });

  api.get(
    '/v1/models/:model/versions/:ref',
    { schema: { params: z.object({ model: modelName, ref: versionRef }) } },
    async (request) => {
      const { model, ref } = request.params;
      const version = await findVersion(deps.db, model, /^\d+$/.test(ref) ? Number(ref) : { alias: ref });
      if (!version)
        throw new HttpProblem(
          404,
          'Not found',
          `${model} has no version ${/^\d+$/.test(ref) ? ref : `aliased "${ref}"`}`,
        );
      return version;
    },
  );
}
