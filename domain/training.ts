import type { GateDecision, MetricDifference, Metrics } from './gates.js';
import type { MetricName, PipelineSpec } from './pipeline-spec.js';

/** Input of the `training` workflow. The spec is already validated and its paths resolved by the starter. */
export interface TrainingInput {
  readonly spec: PipelineSpec;
  /** sha256 of the canonical JSON of the spec: part of every version's lineage. */
  readonly specHash: string;
  /** Task-queue prefix (`slipway` unless isolated). */
  readonly queuePrefix: string;
  /** Who asked (API key owner, CLI user); recorded in the audit log. */
  readonly requestedBy: string;
  /** Reuse a finished run with the same dataset, spec and code (default true); false trains again. */
  readonly cache?: boolean;
}

/** Whether a run reused a finished run's outputs (step caching), and why it did or did not. */
export interface TrainingCache {
  readonly hit: boolean;
  readonly reason: string;
  /** What was looked up: the dataset's sha256, the spec's hash and the worker's code version. */
  readonly key?: { readonly datasetSha256: string; readonly specHash: string; readonly codeVersion: string };
  readonly fromRunId?: string;
  readonly fromWorkflowId?: string;
  readonly version?: number;
}

export const trainingStages = ['ingest', 'validate', 'train', 'evaluate', 'register'] as const;
export type TrainingStage = (typeof trainingStages)[number];

export interface StageState {
  readonly stage: TrainingStage;
  /** `cached`: its output was reused from an earlier run (step caching). */
  readonly state: 'pending' | 'running' | 'done' | 'failed' | 'skipped' | 'cached';
}

export type TrainingOutcome = 'registered' | 'rejected';

export interface TrainingResult {
  readonly outcome: TrainingOutcome;
  readonly model: string;
  readonly runId: string;
  /** Present when registered. */
  readonly version?: number;
  /** Why not registered: which stage refused and the reasons. */
  readonly rejectedAt?: TrainingStage;
  readonly reasons?: readonly string[];
  readonly metrics?: Metrics;
  readonly gates?: GateDecision;
  readonly versusChampion?: Partial<Record<MetricName, MetricDifference>>;
  readonly championVersion?: number;
  readonly datasetSha256?: string;
  readonly artifactUri?: string;
  readonly artifactSha256?: string;
  readonly reports: {
    readonly validationJson?: string;
    readonly validationHtml?: string;
    readonly evaluationJson?: string;
    readonly evaluationHtml?: string;
    readonly referenceProfile?: string;
  };
  /** Step caching: whether this run reused a finished run's outputs, and why. */
  readonly cache?: TrainingCache;
  readonly training?: {
    readonly worker: string;
    readonly device: string;
    readonly resumedFromStep?: number;
    readonly seconds: number;
  };
}

export interface TrainingStatus {
  readonly runId: string;
  readonly model: string;
  readonly stage: TrainingStage | 'done';
  readonly stages: readonly StageState[];
  readonly trainQueue: string;
  readonly cache?: TrainingCache;
  readonly result?: TrainingResult;
}
