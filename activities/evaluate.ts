import { Context } from '@temporalio/activity';
import type { MetricDifference, Metrics } from '../domain/gates.js';
import type { MetricName } from '../domain/pipeline-spec.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { findVersion } from '../platform/registry.js';
import type { EvaluateThreadDone, EvaluateThreadInput } from './evaluate-thread.js';
import { keepHeartbeating } from './heartbeat.js';
import { dataFailure } from './ingest.js';
import { ownBuffer, runInThread } from './thread-runner.js';
import type { GpuDevice, TrainInput } from './train-types.js';

const threadEntry = new URL('./evaluate-thread.ts', import.meta.url);

/** The train stage's input (run, spec, stored frame and split) plus the model it produced. */
export interface EvaluateInput extends TrainInput {
  readonly modelUri: string;
  readonly modelSha256: string;
  readonly trainerPredictionsUri?: string;
  readonly trainerPredictionsSha256?: string;
  /** The trainer's metadata artifact, for its feature importances. */
  readonly metadataUri?: string;
  readonly metadataSha256?: string;
  /** Importances passed inline by runs started before metadata moved to an artifact. */
  readonly featureImportances?: unknown;
}

export interface EvaluateOutput {
  readonly metrics: Metrics;
  readonly championVersion?: number;
  /** Candidate minus champion on the same rows, with bootstrap intervals; `{}` when the champion could not be scored. */
  readonly versusChampion?: Partial<Record<MetricName, MetricDifference>>;
  readonly championNote?: string;
  /** Largest |ONNX - trainer| over the test split (built-in trainers); null when they could not be compared. */
  readonly parityMaxAbsDiff?: number | null;
  readonly provider: string;
  readonly signature: Record<string, unknown>;
  readonly opset: Record<string, unknown>;
  readonly reportUri: string;
  readonly reportHtmlUri: string;
}

/**
 * The evaluate stage: scores the held-out split with onnxruntime (the exact graph that will be served, raw features
 * in), computes the metrics, scores the current champion on the same rows, and writes the report. The scoring and
 * statistics run in a worker thread, so the worker's other activities keep heartbeating meanwhile.
 */
export function createEvaluateActivities(deps: {
  store: ArtifactStore;
  db: Pool;
  log: Logger;
  device: string;
  gpu?: GpuDevice;
}) {
  return {
    async evaluateModel(input: EvaluateInput): Promise<EvaluateOutput> {
      const { spec } = input;
      const ctx = Context.current();
      const stopHeartbeats = keepHeartbeating(ctx, () => ({ stage: 'evaluating' }));
      try {
        const champion = await findVersion(deps.db, spec.model, { alias: 'champion' });
        const [frameBytes, splitBytes, modelBytes, trainerPredictions, metadataJson, championBytes] =
          await Promise.all([
            deps.store.get(input.frameUri, { expectSha256: input.frameSha256 }),
            deps.store.get(input.splitUri, { expectSha256: input.splitSha256 }),
            deps.store.get(input.modelUri, { expectSha256: input.modelSha256 }),
            input.trainerPredictionsUri
              ? deps.store.get(input.trainerPredictionsUri, { expectSha256: input.trainerPredictionsSha256 })
              : undefined,
            input.metadataUri
              ? deps.store.get(input.metadataUri, { expectSha256: input.metadataSha256 })
              : undefined,
            champion
              ? deps.store
                  .get(champion.artifactUri, { expectSha256: champion.artifactSha256 })
                  .catch((error: unknown) => error as Error)
              : undefined,
          ]);
        const frame = ownBuffer(frameBytes);
        const threadInput: EvaluateThreadInput = {
          spec,
          frameBytes: frame,
          splitBytes,
          modelBytes,
          modelUri: input.modelUri,
          modelSha256: input.modelSha256,
          ...(deps.gpu ? { gpuIndex: deps.gpu.index } : {}),
          ...(trainerPredictions ? { trainerPredictions } : {}),
          ...(metadataJson ? { metadataJson } : { featureImportances: input.featureImportances ?? null }),
          ...(champion && championBytes instanceof Buffer
            ? { champion: { version: champion.version, bytes: championBytes } }
            : {}),
          ...(champion && championBytes instanceof Error
            ? { championNote: `champion v${champion.version} could not be read: ${championBytes.message}` }
            : {}),
        };
        const done = await runInThread<EvaluateThreadDone>({
          entry: threadEntry,
          input: threadInput,
          transfer: [frame.buffer],
          signal: ctx.cancellationSignal,
        });
        const championNote = done.championNote;
        if (championNote) deps.log.warn({ model: spec.model, champion: champion?.version }, championNote);
        const [json, page] = await Promise.all([
          deps.store.putContent(done.reportJson, {
            prefix: 'reports/evaluation',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(done.reportHtml, {
            prefix: 'reports/evaluation',
            ext: 'html',
            contentType: 'text/html; charset=utf-8',
          }),
        ]);
        return {
          metrics: done.metrics,
          ...(champion ? { championVersion: champion.version } : {}),
          // A champion that could not be scored compares as nothing: regression gates then fail closed.
          ...(champion ? { versusChampion: done.versusChampion ?? {} } : {}),
          ...(championNote ? { championNote } : {}),
          ...(done.parityMaxAbsDiff !== undefined ? { parityMaxAbsDiff: done.parityMaxAbsDiff } : {}),
          provider: done.provider,
          signature: done.signature,
          opset: done.opset,
          reportUri: json.uri,
          reportHtmlUri: page.uri,
        };
      } catch (error) {
        throw dataFailure(error);
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
