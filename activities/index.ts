import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { createEvaluateActivities } from './evaluate.js';
import { createIngestActivities } from './ingest.js';
import { createModelImportActivities } from './model-import.js';
import { createRegisterActivities } from './register.js';
import { createSkeletonActivities } from './skeleton.js';
import { createTrainActivities } from './train.js';
import { createValidateActivities } from './validate.js';

/** What every activity may depend on; workers build it once. */
export interface ActivityDeps {
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly workerIdentity: string;
  /** `cpu`, or the GPU this worker computes on. */
  readonly device: string;
  /** Recorded in each registered version's lineage (the git commit). */
  readonly codeVersion: string;
  /** Local directories datasets may be read from (real paths); absent: anywhere the worker can read. */
  readonly dataRoots?: readonly string[];
  /** Programs `command` trainers may run (argv[0] exactly); absent or empty: none. */
  readonly commandTrainers?: readonly string[];
}

/** All activities, composed from their per-stage factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSkeletonActivities(deps),
    ...createIngestActivities(deps),
    ...createValidateActivities(deps),
    ...createTrainActivities(deps),
    ...createEvaluateActivities(deps),
    ...createRegisterActivities(deps),
    ...createModelImportActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
