import type { TrainingCache, TrainingResult } from '../domain/training.js';
import type { Pool } from '../platform/db.js';

export interface CacheLookupInput {
  readonly model: string;
  readonly datasetSha256: string;
  readonly specHash: string;
}

export type CacheLookup =
  | (TrainingCache & { readonly hit: true; readonly result: TrainingResult })
  | (TrainingCache & { readonly hit: false });

const short = (hash: string) => hash.slice(0, 12);

/** A code version that does not pin the code (local changes, no git): nothing can be known to match it. */
function unpinned(codeVersion: string): boolean {
  return codeVersion === 'unknown' || codeVersion.endsWith('-dirty');
}

/**
 * Step caching: a training run whose dataset sha256, spec hash and code version match a finished run reuses that
 * run's outputs (its registered version, metrics and reports) instead of training again. The answer always says
 * why it hit or missed, naming the closest run when there is one.
 */
export function createTrainingCacheActivities(deps: { db: Pool; codeVersion: string }) {
  return {
    async findReusableRun(input: CacheLookupInput): Promise<CacheLookup> {
      const key = {
        datasetSha256: input.datasetSha256,
        specHash: input.specHash,
        codeVersion: deps.codeVersion,
      };
      if (unpinned(deps.codeVersion)) {
        return {
          hit: false,
          key,
          reason: `code version "${deps.codeVersion}" does not pin the code (uncommitted changes or no git commit), so no earlier run is known to match`,
        };
      }
      const { rows } = await deps.db.query<{
        version: number;
        run_id: string;
        workflow_id: string;
        spec_hash: string;
        code_version: string;
        details: TrainingResult;
      }>(
        `SELECT v.version, v.run_id, r.workflow_id, v.spec_hash, v.code_version, r.details
         FROM model_versions v JOIN models m ON m.id = v.model_id JOIN runs r ON r.run_id = v.run_id
         WHERE m.name = $1 AND v.dataset_sha256 = $2 AND r.status = 'registered'
         ORDER BY v.version DESC`,
        [input.model, input.datasetSha256],
      );
      const hit = rows.find((r) => r.spec_hash === input.specHash && r.code_version === deps.codeVersion);
      if (hit && hit.details.outcome === 'registered') {
        return {
          hit: true,
          key,
          fromRunId: hit.run_id,
          fromWorkflowId: hit.workflow_id,
          version: hit.version,
          reason: `run ${hit.workflow_id} registered version ${hit.version} from the same dataset (${short(input.datasetSha256)}), spec (${short(input.specHash)}) and code (${deps.codeVersion}); its outputs are reused`,
          result: hit.details,
        };
      }
      const sameSpec = rows.find((r) => r.spec_hash === input.specHash);
      if (sameSpec) {
        return {
          hit: false,
          key,
          reason: `version ${sameSpec.version} was trained from the same dataset and spec by code ${sameSpec.code_version}; this worker runs ${deps.codeVersion}`,
        };
      }
      const latest = rows[0];
      if (latest) {
        return {
          hit: false,
          key,
          reason: `versions trained on this dataset (latest: ${latest.version}) used another spec (${short(latest.spec_hash)}); this spec is ${short(input.specHash)}`,
        };
      }
      return {
        hit: false,
        key,
        reason: `no finished run of ${input.model} registered a version from dataset ${short(input.datasetSha256)}`,
      };
    },
  };
}

export type TrainingCacheActivities = ReturnType<typeof createTrainingCacheActivities>;
