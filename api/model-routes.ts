import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pool } from '../platform/db.js';
import { findVersion, listModels, listVersions, moveAlias } from '../platform/registry.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const modelName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a model name');
/** A version number (`3`) or an alias (`champion`). */
const versionRef = z
  .string()
  .regex(/^([1-9][0-9]{0,8}|[a-z][a-z0-9_-]{0,31})$/, 'expected a version number or an alias');
const aliasName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'expected an alias such as champion');

/**
 * Registry reads (viewer): models, their versions, one version by number or alias; and moving an alias (approver):
 * which version is the champion is a release decision. A key scoped to some models sees and moves only those.
 */
export function registerModelRoutes(app: FastifyInstance, deps: { db: Pool }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/v1/models', { config: { role: 'viewer' } }, async (request) => {
    const { models } = request.caller;
    const all = await listModels(deps.db);
    return { models: models === undefined ? all : all.filter((m) => models.includes(m.name)) };
  });

  api.get(
    '/v1/models/:model',
    { config: { role: 'viewer' }, schema: { params: z.object({ model: modelName }) } },
    async (request) => {
      requireModel(request, 'viewer', request.params.model);
      const versions = await listVersions(deps.db, request.params.model);
      if (versions.length === 0)
        throw new HttpProblem(404, 'Not found', `no model "${request.params.model}" with any version`);
      return { model: request.params.model, versions };
    },
  );

  api.get(
    '/v1/models/:model/versions/:ref',
    { config: { role: 'viewer' }, schema: { params: z.object({ model: modelName, ref: versionRef }) } },
    async (request) => {
      const { model, ref } = request.params;
      requireModel(request, 'viewer', model);
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

  api.put(
    '/v1/models/:model/aliases/:alias',
    {
      config: { role: 'approver' },
      schema: {
        params: z.object({ model: modelName, alias: aliasName }),
        body: z
          .object({
            version: z.number().int().positive(),
            /** The version the alias points at now (null: not set yet); the move is refused if it moved since. */
            expected: z.number().int().positive().nullable(),
          })
          .strict(),
      },
    },
    async (request) => {
      const { model, alias } = request.params;
      requireModel(request, 'approver', model);
      if (!(await findVersion(deps.db, model, request.body.version)))
        throw new HttpProblem(404, 'Not found', `${model} has no version ${request.body.version}`);
      const result = await moveAlias(deps.db, {
        model,
        alias,
        version: request.body.version,
        expected: request.body.expected,
        actor: request.caller.name,
        source: 'api',
      });
      if (!result.moved) {
        throw new HttpProblem(
          409,
          'Conflict',
          `${model}@${alias} points at ${result.current ?? 'nothing'}, not ${request.body.expected ?? 'nothing'}; read it again and retry`,
          { current: result.current },
        );
      }
      return { model, alias, version: result.current };
    },
  );
}
