// Every workflow the workers register. One workflow per file; this list is what Temporal bundles.
export { skeleton, skeletonStatusQuery } from './skeleton.js';
export { training, trainingStatusQuery } from './training.js';
export { monitor, monitorAlertSignal, monitorStatusQuery } from './monitor.js';
export { modelImport } from './model-import.js';
export {
  abortUpdate,
  approveSignal,
  approveUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  rollout,
  rolloutStatusQuery,
} from './rollout.js';
export { lifecycle, lifecycleStatusQuery } from './lifecycle.js';
