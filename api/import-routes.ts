import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { modelImportRequestSchema } from '../domain/model-import.js';
import { workflowTaskQueue } from '../domain/task-queues.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { modelImport } from '../workflows/model-import.js';
import { requireModel } from './auth.js';
import { HttpProblem } from './problem.js';

const uploadName = z.object({
  name: z
    .string()
    .regex(
      /^[^/\\]{1,200}\.(onnx|csv|ndjson|jsonl|parquet)$/i,
      'expected a file name ending in .onnx, .csv, .ndjson, .jsonl or .parquet',
    ),
});
const importIdParam = z.object({
  workflowId: z.string().regex(/^import-[a-z0-9_-]{1,63}-[0-9a-f]{12}$/, 'expected import-<model>-<12 hex>'),
});

/** Counts bytes through; fails the stream past `max`. */
function capped(max: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > max)
        callback(
          new HttpProblem(
            413,
            'Payload too large',
            `the upload is over the cap of ${max} bytes (SLIPWAY_UPLOAD_MAX_BYTES)`,
          ),
        );
      else callback(null, chunk);
    },
  });
}

/**
 * Bring your own model: `PUT /v1/uploads?name=...` streams a file into the artifact store (content-addressed), and
 * `POST /v1/model-imports` starts the `modelImport` workflow on uploaded files; `GET /v1/model-imports/:id` follows it.
 */
export function registerImportRoutes(
  app: FastifyInstance,
  deps: { client: Client; store: ArtifactStore; queuePrefix: string; uploadMaxBytes?: number },
): void {
  const maxBytes = deps.uploadMaxBytes ?? 512 * 1024 * 1024;
  void app.register((scope, _options, done) => {
    // Uploads are streams to the store, never buffered whole.
    scope.addContentTypeParser('application/octet-stream', (_request, payload, parsed) =>
      parsed(null, payload),
    );
    scope
      .withTypeProvider<ZodTypeProvider>()
      .put(
        '/v1/uploads',
        { config: { role: 'operator' }, schema: { querystring: uploadName }, bodyLimit: maxBytes },
        async (request, reply) => {
          const declared = Number(request.headers['content-length']);
          if (Number.isFinite(declared) && declared > maxBytes)
            throw new HttpProblem(
              413,
              'Payload too large',
              `the upload is over the cap of ${maxBytes} bytes (SLIPWAY_UPLOAD_MAX_BYTES)`,
            );
          const body = request.body as Readable | undefined;
          if (!body || typeof body.pipe !== 'function')
            throw new HttpProblem(415, 'Unsupported media type', 'send the file as application/octet-stream');
          const ext = request.query.name.slice(request.query.name.lastIndexOf('.') + 1).toLowerCase();
          const stored = await deps.store.putContent(body.pipe(capped(maxBytes)), { prefix: 'uploads', ext });
          return reply.status(201).send({ uri: stored.uri, sha256: stored.sha256, size: stored.size });
        },
      );
    done();
  });

  const api = app.withTypeProvider<ZodTypeProvider>();
  api.post(
    '/v1/model-imports',
    { config: { role: 'operator' }, schema: { body: modelImportRequestSchema } },
    async (request, reply) => {
      const body = request.body;
      requireModel(request, 'operator', body.model);
      for (const [field, uri] of [
        ['modelUri', body.modelUri],
        ['referenceUri', body.referenceUri],
      ] as const) {
        try {
          deps.store.parseUri(uri);
        } catch {
          throw new HttpProblem(
            400,
            'Invalid request',
            `${field}: ${uri} is not in this Slipway's artifact store; upload the file first (PUT /v1/uploads)`,
            {
              errors: [{ field, problem: 'not in the artifact store' }],
            },
          );
        }
      }
      // The same files and options are the same import: its id says so, and a repeat finds the first one.
      const digest = createHash('sha256')
        .update(
          JSON.stringify([
            body.model,
            body.modelSha256,
            body.referenceSha256,
            body.target ?? null,
            body.positiveClass ?? null,
          ]),
        )
        .digest('hex');
      const workflowId = `import-${body.model}-${digest.slice(0, 12)}`;
      try {
        await deps.client.workflow.start(modelImport, {
          workflowId,
          taskQueue: workflowTaskQueue(deps.queuePrefix),
          args: [{ ...body, requestedBy: request.actor, queuePrefix: deps.queuePrefix }],
          searchAttributes: { ModelName: [body.model] },
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
      return reply.status(202).send({ workflowId, statusUrl: `/v1/model-imports/${workflowId}` });
    },
  );

  api.get(
    '/v1/model-imports/:workflowId',
    { config: { role: 'viewer' }, schema: { params: importIdParam } },
    async (request) => {
      requireModel(request, 'viewer', request.params.workflowId.slice('import-'.length, -13));
      const handle = deps.client.workflow.getHandle<typeof modelImport>(request.params.workflowId);
      const state = (await handle.describe()).status.name;
      if (state === 'RUNNING') return { workflowId: request.params.workflowId, state };
      return handle.result().then(
        (result) => ({ workflowId: request.params.workflowId, state, result }),
        (error: unknown) => {
          const e = error as { cause?: { message?: string }; message?: string };
          return {
            workflowId: request.params.workflowId,
            state,
            failure: e.cause?.message ?? e.message ?? String(error),
          };
        },
      );
    },
  );
}
