import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { CommandTrainer } from '../platform/command-trainers.js';
import type { DataRoot, DatasetLimits } from './dataset-source.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import type { RolloutDefaults } from '../domain/rollout-plan.js';
import { createCheckpointActivities } from './checkpoints.js';
import { createEvaluateActivities } from './evaluate.js';
import { createExportTrafficActivities } from './export-traffic.js';
import { createIngestActivities } from './ingest.js';
import { createLifecycleActivities } from './lifecycle.js';
import { createMonitorActivities, type MonitorDeps } from './monitor.js';
import { createModelImportActivities } from './model-import.js';
import { createRegisterActivities } from './register.js';
import { createResolveSpecActivities } from './resolve-spec.js';
import { createRolloutActivities } from './rollout.js';
import { createSkeletonActivities } from './skeleton.js';
import { createTrainActivities } from './train.js';
import type { GpuDevice } from './train-types.js';
import { createTrainingCacheActivities } from './training-cache.js';
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
  /**
   * Local directories datasets are read from; relative dataset paths resolve against them. Absent: the repository's
   * datasets/ only (workers/main.ts passes SLIPWAY_DATA_ROOTS or its defaults).
   */
  readonly dataRoots?: readonly DataRoot[];
  /** The command trainers this worker's operator registered (SLIPWAY_COMMAND_TRAINERS); absent or empty: none. */
  readonly commandTrainers?: readonly CommandTrainer[];
  /** Caps on one dataset, set by the worker's operator (a spec may only ask for less). */
  readonly datasetLimits?: DatasetLimits;
  /** Rollout plan defaults from the settings (ROLLOUT_*); absent: the built-in ones. */
  readonly rolloutDefaults?: RolloutDefaults;
  /** Monitor settings and the worker's metrics (see activities/monitor.ts). */
  readonly monitorDefaults?: MonitorDeps['monitorDefaults'];
  readonly alertWebhook?: MonitorDeps['alertWebhook'];
  readonly metrics?: MonitorDeps['metrics'];
  /** Folders (real paths) a `specPath` may name a file in; absent or empty: `specPath` is refused. */
  readonly specRoots?: readonly string[];
  /** What a relative `specPath` is relative to; default: the repository. */
  readonly specBaseDir?: string;
  /** The GPU a train or evaluate job was given (set per job by a GPU worker). */
  readonly gpu?: GpuDevice;
}

/** The repository this code runs from: relative spec paths (`examples/...`) are relative to it. */
export const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/** All activities, composed from their per-stage factories. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSkeletonActivities(deps),
    ...createResolveSpecActivities({ ...deps, specBaseDir: deps.specBaseDir ?? repositoryRoot }),
    ...createIngestActivities(deps),
    ...createValidateActivities(deps),
    ...createTrainActivities(deps),
    ...createEvaluateActivities(deps),
    ...createRegisterActivities(deps),
    ...createMonitorActivities(deps),
    ...createModelImportActivities(deps),
    ...createCheckpointActivities(deps),
    ...createTrainingCacheActivities(deps),
    ...createLifecycleActivities(deps),
    ...createExportTrafficActivities(deps),
    ...createRolloutActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
