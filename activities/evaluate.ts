import { Context } from '@temporalio/activity';
import type { MetricDifference, Metrics } from '../domain/gates.js';
import type { MetricName } from '../domain/pipeline-spec.js';
import { trainTestData } from '../ml/dataset.js';
import type { BootstrapMetric } from '../ml/metrics/bootstrap.js';
import { evaluateBinary } from '../ml/metrics/evaluate.js';
import { renderEvaluationReportHtml } from '../ml/metrics/report-html.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { loadModel, modelSignature, scoreFrame, type LoadedModel } from '../platform/onnx-scoring.js';
import { findVersion } from '../platform/registry.js';
import { dataFailure } from './ingest.js';
import { loadFrame, loadSplit } from './frame-loader.js';
import { keepHeartbeating } from './heartbeat.js';
import type { TrainInput } from './train-types.js';

/** The train stage's input (run, spec, stored frame and split) plus the model it produced. */
export interface EvaluateInput extends TrainInput {
  readonly modelUri: string;
  readonly modelSha256: string;
  readonly trainerPredictionsUri?: string;
  readonly trainerPredictionsSha256?: string;
  readonly featureImportances: unknown;
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

const metricKeys: [MetricName, 'auc' | 'accuracy' | 'precision' | 'recall' | 'f1' | 'logLoss' | 'brier'][] = [
  ['auc', 'auc'],
  ['accuracy', 'accuracy'],
  ['precision', 'precision'],
  ['recall', 'recall'],
  ['f1', 'f1'],
  ['log_loss', 'logLoss'],
  ['brier', 'brier'],
];
const bootstrapMetrics: BootstrapMetric[] = ['auc', 'logLoss', 'brier', 'accuracy', 'f1'];

/** Trainer-reported importances, when they are a plain name -> number map. */
function importancesOf(raw: unknown): { featureImportances?: Record<string, number> } {
  if (!raw || typeof raw !== 'object') return {};
  const entries = Object.entries(raw as Record<string, unknown>).filter(
    (e): e is [string, number] => typeof e[1] === 'number',
  );
  return entries.length > 0 ? { featureImportances: Object.fromEntries(entries) } : {};
}

/**
 * The evaluate stage: scores the held-out split with onnxruntime (the exact graph that will be served, raw features
 * in), computes the metrics, scores the current champion on the same rows, and writes the report.
 */
export function createEvaluateActivities(deps: {
  store: ArtifactStore;
  db: Pool;
  log: Logger;
  device: string;
}) {
  return {
    async evaluateModel(input: EvaluateInput): Promise<EvaluateOutput> {
      const { spec } = input;
      const ctx = Context.current();
      const stopHeartbeats = keepHeartbeating(ctx, () => ({ stage: 'evaluating' }));
      const sessions: LoadedModel[] = [];
      try {
        const [frame, split, modelBytes] = await Promise.all([
          loadFrame(deps.store, input.frameUri, input.frameSha256),
          loadSplit(deps.store, input.splitUri, input.splitSha256),
          deps.store.get(input.modelUri, { expectSha256: input.modelSha256 }),
        ]);
        const { test } = trainTestData(frame, split, {
          target: spec.target,
          drop: spec.drop,
          ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
        });
        const model = await loadModel(modelBytes, { preferGpu: deps.device !== 'cpu' });
        sessions.push(model);
        const scores = await scoreFrame(model, test.features);

        // null: the two could not be compared (row counts differ, or a score is NaN), which fails the run.
        let parityMaxAbsDiff: number | null | undefined;
        if (input.trainerPredictionsUri) {
          const bytes = await deps.store.get(input.trainerPredictionsUri, {
            expectSha256: input.trainerPredictionsSha256,
          });
          const own = new Float64Array(
            bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
          );
          parityMaxAbsDiff = own.length === scores.length ? 0 : null;
          for (let i = 0; parityMaxAbsDiff !== null && i < own.length; i++) {
            const d = Math.abs(own[i]! - scores[i]!);
            if (Number.isNaN(d)) parityMaxAbsDiff = null;
            else if (d > parityMaxAbsDiff) parityMaxAbsDiff = d;
          }
        }

        // The champion, scored on exactly the same rows, for the regression gates and the report.
        const champion = await findVersion(deps.db, spec.model, { alias: 'champion' });
        let championScores: Float64Array | undefined;
        let championNote: string | undefined;
        if (champion) {
          try {
            const bytes = await deps.store.get(champion.artifactUri, {
              expectSha256: champion.artifactSha256,
            });
            const championModel = await loadModel(bytes);
            sessions.push(championModel);
            championScores = await scoreFrame(championModel, test.features);
          } catch (error) {
            championNote = `champion v${champion.version} could not be scored on this data: ${(error as Error).message}`;
            deps.log.warn(
              { model: spec.model, champion: champion.version, err: error },
              'champion not scored',
            );
          }
        }
        const report = evaluateBinary(test.labels, scores, {
          title: `${spec.model}: evaluation on the held-out split (${test.labels.length} rows)`,
          threshold: spec.evaluation.threshold,
          frame: test.features,
          sliceColumns: spec.evaluation.slices,
          bootstrap: {
            iterations: spec.evaluation.bootstrap.iterations,
            seed: spec.evaluation.bootstrap.seed,
            metrics: bootstrapMetrics,
          },
          ...(championScores ? { championScores } : {}),
        });
        const metrics: Metrics = {};
        for (const [name, key] of metricKeys) {
          const v = report.metrics[key];
          if (typeof v === 'number' && Number.isFinite(v)) metrics[name] = v;
        }
        let versusChampion: Partial<Record<MetricName, MetricDifference>> | undefined;
        if (champion) {
          versusChampion = {};
          for (const c of report.champion?.comparison ?? []) {
            const name = metricKeys.find(([, key]) => key === c.metric)?.[0];
            if (name && c.diff !== null && c.ciLow !== null && c.ciHigh !== null)
              versusChampion[name] = { mean: c.diff, low: c.ciLow, high: c.ciHigh };
          }
        }
        const { signature, opset } = modelSignature(model, modelBytes);
        const stored = {
          ...report,
          modelUri: input.modelUri,
          modelSha256: input.modelSha256,
          provider: model.provider,
          ...(champion ? { championVersion: champion.version } : {}),
          ...(championNote ? { championNote } : {}),
          ...(parityMaxAbsDiff !== undefined ? { parityMaxAbsDiff } : {}),
          featureImportances: input.featureImportances,
        };
        const [json, page] = await Promise.all([
          deps.store.putContent(Buffer.from(JSON.stringify(stored)), {
            prefix: 'reports/evaluation',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(
            Buffer.from(renderEvaluationReportHtml(report, importancesOf(input.featureImportances))),
            { prefix: 'reports/evaluation', ext: 'html', contentType: 'text/html; charset=utf-8' },
          ),
        ]);
        return {
          metrics,
          ...(champion ? { championVersion: champion.version } : {}),
          ...(versusChampion ? { versusChampion } : {}),
          ...(championNote ? { championNote } : {}),
          ...(parityMaxAbsDiff !== undefined ? { parityMaxAbsDiff } : {}),
          provider: model.provider,
          signature,
          opset,
          reportUri: json.uri,
          reportHtmlUri: page.uri,
        };
      } catch (error) {
        throw dataFailure(error);
      } finally {
        stopHeartbeats();
        await Promise.all(sessions.map((s) => s.session.release().catch(() => undefined)));
      }
    },
  };
}

export type EvaluateActivities = ReturnType<typeof createEvaluateActivities>;
