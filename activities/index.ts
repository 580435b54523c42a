import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { createSkeletonActivities } from './skeleton.js';

/** What every activity may depend on; workers build it once. */
export interface ActivityDeps {
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly workerIdentity: string;
  readonly device: string;
}

/** All activities, composed from their per-stage factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSkeletonActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
