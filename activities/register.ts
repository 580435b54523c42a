import type { Pool } from '../platform/db.js';
import { recordRun, registerVersion, type VersionLineage } from '../platform/registry.js';

export interface RegisterInput {
  readonly runId: string;
  readonly model: string;
  readonly actor: string;
  readonly lineage: Omit<VersionLineage, 'codeVersion'>;
}

/** The register stage and the run records: thin, idempotent writes to the registry. */
export function createRegisterActivities(deps: { db: Pool; codeVersion: string }) {
  return {
    /** Allocates the next version under the model's row lock; a retry of the same run gets the same version. */
    async registerModel(input: RegisterInput): Promise<{ version: number; created: boolean }> {
      return registerVersion(
        deps.db,
        input.model,
        { ...input.lineage, codeVersion: deps.codeVersion },
        input.actor,
      );
    },

    async recordTrainingRun(run: Parameters<typeof recordRun>[1]): Promise<void> {
      await recordRun(deps.db, run);
    },
  };
}

export type RegisterActivities = ReturnType<typeof createRegisterActivities>;
