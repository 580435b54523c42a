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
}

export const trainingStages = ['ingest', 'validate', 'train', 'evaluate', 'register'] as const;
export type TrainingStage = (typeof trainingStages)[number];

export interface StageState {
  readonly stage: TrainingStage;
  readonly state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
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
  /** The rollout a registered version was handed to (spec option `rollout:`). */
  readonly rollout?: {
    readonly workflowId: string;
    readonly started: boolean;
    /** Why it did not start (another rollout of the model is running). */
    readonly reason?: string;
  };
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
  readonly result?: TrainingResult;
}
