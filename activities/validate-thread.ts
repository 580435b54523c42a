// The validate stage's heavy work, in a worker thread (activities/thread-runner.ts): decoding the frame, the
// checks, the split, the reference profile and the report.
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { featuresAndLabels, subset } from '../ml/dataset.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import type { IngestStats } from '../ml/ingest/read-frame.js';
import { encodeSplit, splitRows } from '../ml/split.js';
import { validateFrame } from '../ml/validation/checks.js';
import { buildReferenceProfile } from '../ml/validation/profile.js';
import { renderValidationReportHtml } from '../ml/validation/report-html.js';
import { publicFindingMessage } from './data-rejection.js';
import { serveThread } from './thread-serve.js';

export interface ValidateThreadInput {
  readonly spec: Pick<
    PipelineSpec,
    'model' | 'target' | 'drop' | 'positiveClass' | 'schema' | 'split' | 'validation'
  >;
  frameBytes?: Uint8Array;
  readonly stats: IngestStats;
}

/** The split as recorded in the lineage. */
export type SplitSummary = {
  readonly kind: string;
  readonly seed: number;
  readonly testFraction: number;
  readonly trainRows: number;
  readonly testRows: number;
  readonly orderBy?: string;
};

export interface ValidateThreadDone {
  readonly ok: boolean;
  readonly errors: string[];
  readonly warnings: number;
  readonly reportJson: Uint8Array;
  readonly reportHtml: Uint8Array;
  /** Present when ok: the split's bytes, its summary, and the training rows' reference profile. */
  readonly split?: {
    readonly bytes: Uint8Array;
    readonly summary: SplitSummary;
    readonly profileJson: Uint8Array;
  };
}

serveThread<ValidateThreadInput, ValidateThreadDone>((input) => {
  const { spec } = input;
  const bytes = input.frameBytes!;
  input.frameBytes = undefined;
  const frame = decodeFrameFromArrow(bytes);
  const { failOnWarnings, ...rules } = spec.validation;
  const report = validateFrame(frame, {
    target: spec.target,
    rules,
    ingest: input.stats,
    ...(spec.positiveClass ? { positiveLabel: spec.positiveClass } : {}),
    ...(spec.schema ? { schema: spec.schema } : {}),
  });
  const blocking = report.results.filter(
    (r) => r.severity === 'error' || (failOnWarnings && r.severity === 'warning'),
  );
  // What the run's result says names the row, the column and the rule; cell values stay in the report.
  const errors = blocking.map(publicFindingMessage);
  const ok = errors.length === 0;

  let split: ValidateThreadDone['split'];
  let profile;
  if (ok) {
    const data = featuresAndLabels(frame, {
      target: spec.target,
      drop: spec.drop,
      ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
    });
    const rows = splitRows(frame, data.labels, {
      kind: spec.split.kind,
      testFraction: spec.split.testFraction,
      seed: spec.split.seed,
      ...(spec.split.kind === 'time' && spec.split.orderBy ? { orderBy: spec.split.orderBy } : {}),
    });
    profile = buildReferenceProfile(subset(data, rows.train).features);
    split = {
      bytes: encodeSplit(rows),
      profileJson: Buffer.from(JSON.stringify(profile)),
      summary: {
        kind: spec.split.kind,
        seed: spec.split.seed,
        testFraction: spec.split.testFraction,
        trainRows: rows.train.length,
        testRows: rows.test.length,
        ...(spec.split.kind === 'time' && spec.split.orderBy ? { orderBy: spec.split.orderBy } : {}),
      },
    };
  }
  const html = renderValidationReportHtml(report, profile, { title: `Data validation: ${spec.model}` });
  return {
    value: {
      ok,
      errors,
      warnings: report.counts.warning,
      reportJson: Buffer.from(JSON.stringify(report)),
      reportHtml: Buffer.from(html),
      ...(split ? { split } : {}),
    },
  };
});
