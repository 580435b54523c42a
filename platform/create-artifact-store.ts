// Picks the artifact store implementation from a small config object, so callers depend on the interface alone.
import { z } from 'zod';
import type { ArtifactStore } from './artifact-store.js';
import { createLocalArtifactStore } from './local-artifact-store.js';
import { createS3ArtifactStore } from './s3-artifact-store.js';

/** The artifact store's settings: a local directory, or a bucket (and key prefix) on an S3 API. */
export const artifactStoreConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), root: z.string().min(1) }),
  z
    .object({
      kind: z.literal('s3'),
      endpoint: z.url().optional(),
      region: z.string().min(1),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
      prefix: z.string().optional(),
      accessKeyId: z.string().min(1).optional(),
      secretAccessKey: z.string().min(1).optional(),
      forcePathStyle: z.boolean().optional(),
      listPageSize: z.int().min(1).max(1000).optional(),
      partSizeBytes: z
        .int()
        .min(5 * 1024 * 1024)
        .optional(),
      spoolDir: z.string().min(1).optional(),
    })
    .refine((c) => (c.accessKeyId === undefined) === (c.secretAccessKey === undefined), {
      message: 'give both accessKeyId and secretAccessKey, or neither',
      path: ['secretAccessKey'],
    }),
]);

export type ArtifactStoreConfig = z.infer<typeof artifactStoreConfigSchema>;

/**
 * The artifact store a config names. The S3 store holds connections: call `close()` when done.
 * @throws ArtifactError `invalid_argument` or `invalid_key` for settings the store can't work with
 */
export function createArtifactStore(config: ArtifactStoreConfig): ArtifactStore {
  switch (config.kind) {
    case 'local':
      return createLocalArtifactStore({ root: config.root });
    case 's3': {
      const { kind: _kind, ...options } = config;
      return createS3ArtifactStore(options);
    }
  }
}
