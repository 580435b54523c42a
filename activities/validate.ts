import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { featuresAndLabels, subset } from '../ml/dataset.js';
import type { IngestStats } from '../ml/ingest/read-frame.js';
import { encodeSplit, splitRows } from '../ml/split.js';
import { validateFrame } from '../ml/validation/checks.js';
import { buildReferenceProfile } from '../ml/validation/profile.js';
import { renderValidationReportHtml } from '../ml/validation/report-html.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { loadFrame } from './frame-loader.js';
import { keepHeartbeating } from './heartbeat.js';
import { publicFindingMessage } from './data-rejection.js';
import { dataFailure } from './ingest.js';

export interface ValidateInput {
  readonly runId: string;
  readonly spec: PipelineSpec;
  readonly frameUri: string;
  readonly frameSha256: string;
  readonly statsUri: string;
}

export interface ValidateOutput {
  /** No errors (and no warnings with failOnWarnings). */
  readonly ok: boolean;
  /** The findings that stop the run, each naming its column and problem. */
  readonly errors: string[];
  readonly warnings: number;
  readonly reportUri: string;
  readonly reportHtmlUri: string;
  /** Present when ok. */
  readonly profileUri: string;
  readonly splitUri: string;
  readonly splitSha256: string;
  readonly split: {
    kind: string;
    seed: number;
    testFraction: number;
    trainRows: number;
    testRows: number;
    orderBy?: string;
  };
}

/**
 * The validate stage: checks the data against the spec's rules and schema, writes the report (JSON and HTML), and
 * when it passes, records the split and the reference profile of the training rows that monitoring compares
 * serving traffic against.
 */
export function createValidateActivities(deps: { store: ArtifactStore }) {
  return {
    async validateDataset(input: ValidateInput): Promise<ValidateOutput> {
      const { spec } = input;
      const stopHeartbeats = keepHeartbeating(Context.current(), () => ({ stage: 'validating' }));
      try {
        const frame = await loadFrame(deps.store, input.frameUri, input.frameSha256);
        const stats = JSON.parse((await deps.store.get(input.statsUri)).toString('utf8')) as IngestStats;
        const { failOnWarnings, ...rules } = spec.validation;
        const report = validateFrame(frame, {
          target: spec.target,
          rules,
          ingest: stats,
          ...(spec.positiveClass ? { positiveLabel: spec.positiveClass } : {}),
          ...(spec.schema ? { schema: spec.schema } : {}),
        });
        const blocking = report.results.filter(
          (r) => r.severity === 'error' || (failOnWarnings && r.severity === 'warning'),
        );
        const errors = blocking.map(publicFindingMessage);
        const ok = errors.length === 0;

        let splitInfo: Omit<ValidateOutput, 'ok' | 'errors' | 'warnings' | 'reportUri' | 'reportHtmlUri'> = {
          profileUri: '',
          splitUri: '',
          splitSha256: '',
          split: {
            kind: spec.split.kind,
            seed: spec.split.seed,
            testFraction: spec.split.testFraction,
            trainRows: 0,
            testRows: 0,
          },
        };
        let profile;
        if (ok) {
          const data = featuresAndLabels(frame, {
            target: spec.target,
            drop: spec.drop,
            ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
          });
          const split = splitRows(frame, data.labels, {
            kind: spec.split.kind,
            testFraction: spec.split.testFraction,
            seed: spec.split.seed,
            ...(spec.split.kind === 'time' && spec.split.orderBy ? { orderBy: spec.split.orderBy } : {}),
          });
          profile = buildReferenceProfile(subset(data, split.train).features);
          const [splitObject, profileObject] = await Promise.all([
            deps.store.putContent(encodeSplit(split), { prefix: 'splits', ext: 'bin' }),
            deps.store.putContent(Buffer.from(JSON.stringify(profile)), { prefix: 'profiles', ext: 'json' }),
          ]);
          splitInfo = {
            profileUri: profileObject.uri,
            splitUri: splitObject.uri,
            splitSha256: splitObject.sha256,
            split: {
              kind: spec.split.kind,
              seed: spec.split.seed,
              testFraction: spec.split.testFraction,
              trainRows: split.train.length,
              testRows: split.test.length,
              ...(spec.split.kind === 'time' && spec.split.orderBy ? { orderBy: spec.split.orderBy } : {}),
            },
          };
        }
        const html = renderValidationReportHtml(report, profile, { title: `Data validation: ${spec.model}` });
        const [json, page] = await Promise.all([
          deps.store.putContent(Buffer.from(JSON.stringify(report)), {
            prefix: 'reports/validation',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(Buffer.from(html), {
            prefix: 'reports/validation',
            ext: 'html',
            contentType: 'text/html; charset=utf-8',
          }),
        ]);
        return {
          ok,
          errors,
          warnings: report.counts.warning,
          reportUri: json.uri,
          reportHtmlUri: page.uri,
          ...splitInfo,
        };
      } catch (error) {
        throw dataFailure(error);
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type ValidateActivities = ReturnType<typeof createValidateActivities>;
