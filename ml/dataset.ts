import type { Frame } from './frame.js';
import { takeRows } from './frame.js';
import { splitTarget } from './ingest/labels.js';
import type { Split } from './split.js';
import type { TrainingData } from './trainer.js';

export interface LabelSpec {
  readonly target: string;
  readonly positiveClass?: string;
  /** Columns that are not features. */
  readonly drop: readonly string[];
}

/** Features (all columns but the target and the dropped ones) and 0/1 labels of a whole frame. */
export function featuresAndLabels(frame: Frame, spec: LabelSpec): TrainingData {
  const { features, labels } = splitTarget(frame, spec.target, spec.positiveClass);
  const dropped = new Set(spec.drop);
  return {
    features: { rowCount: features.rowCount, columns: features.columns.filter((c) => !dropped.has(c.name)) },
    labels,
  };
}

/** The rows of `data` listed in `rows`. */
export function subset(data: TrainingData, rows: Int32Array): TrainingData {
  return { features: takeRows(data.features, rows), labels: Uint8Array.from(rows, (r) => data.labels[r]!) };
}

/** Train and test parts of a frame for a recorded split. */
export function trainTestData(
  frame: Frame,
  split: Split,
  spec: LabelSpec,
): { train: TrainingData; test: TrainingData } {
  const all = featuresAndLabels(frame, spec);
  return { train: subset(all, split.train), test: subset(all, split.test) };
}
