import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';

export interface SkeletonDeps {
  readonly db: Pool;
  readonly store: ArtifactStore;
  /** The worker's identity, recorded so a test can see which worker ran which step. */
  readonly workerIdentity: string;
  /** What the GPU step computes on: a CUDA device name, or `cpu` when no GPU is present (the clean fallback). */
  readonly device: string;
}

/** The walking skeleton's steps: an artifact write, a verified read, and a database row. */
export function createSkeletonActivities(deps: SkeletonDeps) {
  return {
    async skeletonWriteArtifact(input: { workflowId: string; message: string }) {
      const body = Buffer.from(JSON.stringify({ workflowId: input.workflowId, message: input.message }));
      const put = await deps.store.putContent(body, { prefix: 'skeleton', ext: 'json' });
      return { uri: put.uri, sha256: put.sha256, worker: deps.workerIdentity };
    },

    async skeletonReadArtifact(input: { uri: string; sha256: string }) {
      const bytes = await deps.store.get(input.uri, { expectSha256: input.sha256 });
      JSON.parse(bytes.toString('utf8'));
      return { worker: deps.workerIdentity, device: deps.device };
    },

    async skeletonRecordRun(input: {
      runKey: string;
      workflowId: string;
      cpuWorker: string;
      gpuWorker: string;
      artifactUri: string;
      artifactSha256: string;
    }) {
      // Idempotent: a retried activity finds its row already there.
      await deps.db.query(
        `INSERT INTO skeleton_runs (run_key, workflow_id, cpu_worker, gpu_worker, artifact_uri, artifact_sha256)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_key) DO NOTHING`,
        [
          input.runKey,
          input.workflowId,
          input.cpuWorker,
          input.gpuWorker,
          input.artifactUri,
          input.artifactSha256,
        ],
      );
    },
  };
}

export type SkeletonActivities = ReturnType<typeof createSkeletonActivities>;
