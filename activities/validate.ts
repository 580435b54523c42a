import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import type { IngestStats } from '../ml/ingest/read-frame.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { keepHeartbeating } from './heartbeat.js';
import { dataFailure } from './ingest.js';
import { ownBuffer, runInThread } from './thread-runner.js';
import type { SplitSummary, ValidateThreadDone, ValidateThreadInput } from './validate-thread.js';

const threadEntry = new URL('./validate-thread.ts', import.meta.url);

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
  readonly split: SplitSummary;
}

/**
 * The validate stage: checks the data against the spec's rules and schema, writes the report (JSON and HTML), and
 * when it passes, records the split and the reference profile of the training rows that monitoring compares
 * serving traffic against. The work runs in a worker thread, so the worker's other activities keep heartbeating.
 */
export function createValidateActivities(deps: { store: ArtifactStore }) {
  return {
    async validateDataset(input: ValidateInput): Promise<ValidateOutput> {
      const { spec } = input;
      const ctx = Context.current();
      const stopHeartbeats = keepHeartbeating(ctx, () => ({ stage: 'validating' }));
      try {
        const [frameBytes, statsBytes] = await Promise.all([
          deps.store.get(input.frameUri, { expectSha256: input.frameSha256 }),
          deps.store.get(input.statsUri),
        ]);
        const frame = ownBuffer(frameBytes);
        const threadInput: ValidateThreadInput = {
          spec,
          frameBytes: frame,
          stats: JSON.parse(statsBytes.toString('utf8')) as IngestStats,
        };
        const done = await runInThread<ValidateThreadDone>({
          entry: threadEntry,
          input: threadInput,
          transfer: [frame.buffer],
          signal: ctx.cancellationSignal,
        });
        const put = (bytes: Uint8Array, prefix: string, ext: string, contentType?: string) =>
          deps.store.putContent(bytes, { prefix, ext, ...(contentType ? { contentType } : {}) });
        const [json, page, split, profile] = await Promise.all([
          put(done.reportJson, 'reports/validation', 'json', 'application/json'),
          put(done.reportHtml, 'reports/validation', 'html', 'text/html; charset=utf-8'),
          done.split ? put(done.split.bytes, 'splits', 'bin') : undefined,
          done.split ? put(done.split.profileJson, 'profiles', 'json') : undefined,
        ]);
        return {
          ok: done.ok,
          errors: done.errors,
          warnings: done.warnings,
          reportUri: json.uri,
          reportHtmlUri: page.uri,
          profileUri: profile?.uri ?? '',
          splitUri: split?.uri ?? '',
          splitSha256: split?.sha256 ?? '',
          split: done.split?.summary ?? {
            kind: spec.split.kind,
            seed: spec.split.seed,
            testFraction: spec.split.testFraction,
            trainRows: 0,
            testRows: 0,
          },
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
