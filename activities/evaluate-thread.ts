// The evaluate stage's heavy work, in a worker thread (activities/thread-runner.ts): decoding the frame, scoring
// with onnxruntime, metrics, slices, the paired bootstrap against the champion, and rendering the report.
import type { MetricDifference, Metrics } from '../domain/gates.js';
import type { MetricName, PipelineSpec } from '../domain/pipeline-spec.js';
import { trainTestData } from '../ml/dataset.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import type { BootstrapMetric } from '../ml/metrics/bootstrap.js';
import { evaluateBinary } from '../ml/metrics/evaluate.js';
import { renderEvaluationReportHtml } from '../ml/metrics/report-html.js';
import { decodeSplit } from '../ml/split.js';
import { loadModel, modelSignature, scoreFrame, type LoadedModel } from '../platform/onnx-scoring.js';
import { serveThread } from './thread-serve.js';

export interface EvaluateThreadInput {
  readonly spec: Pick<PipelineSpec, 'model' | 'target' | 'drop' | 'positiveClass' | 'evaluation'>;
  frameBytes?: Uint8Array;
  readonly splitBytes: Uint8Array;
  readonly modelBytes: Uint8Array;
  readonly modelUri: string;
  readonly modelSha256: string;
  /** The GPU to score on (onnxruntime's CUDA provider, falling back to CPU); absent: CPU. */
  readonly gpuIndex?: number;
  readonly trainerPredictions?: Uint8Array;
  readonly champion?: { readonly version: number; readonly bytes: Uint8Array };
  /** Why the champion is missing although the model has one (its artifact could not be read). */
  readonly championNote?: string;
  /** The trainer's metadata JSON (for feature importances), or importances recorded inline by earlier code. */
  readonly metadataJson?: Uint8Array;
  readonly featureImportances?: unknown;
}

export interface EvaluateThreadDone {
  readonly metrics: Metrics;
  readonly versusChampion?: Partial<Record<MetricName, MetricDifference>>;
  readonly championNote?: string;
  readonly parityMaxAbsDiff?: number | null;
  readonly provider: string;
  readonly signature: Record<string, unknown>;
  readonly opset: Record<string, unknown>;
  readonly reportJson: Uint8Array;
  readonly reportHtml: Uint8Array;
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

/** Largest |ONNX - trainer| over the test split; null when they can't be compared (row counts differ, a NaN). */
function parity(ownBytes: Uint8Array, scores: Float64Array): number | null {
  const own = new Float64Array(
    ownBytes.buffer.slice(ownBytes.byteOffset, ownBytes.byteOffset + ownBytes.byteLength),
  );
  let max: number | null = own.length === scores.length ? 0 : null;
  for (let i = 0; max !== null && i < own.length; i++) {
    const d = Math.abs(own[i]! - scores[i]!);
    if (Number.isNaN(d)) max = null;
    else if (d > max) max = d;
  }
  return max;
}

serveThread<EvaluateThreadInput, EvaluateThreadDone>(async (input) => {
  const { spec } = input;
  const sessions: LoadedModel[] = [];
  try {
    const frameBytes = input.frameBytes!;
    input.frameBytes = undefined;
    const { test } = trainTestData(decodeFrameFromArrow(frameBytes), decodeSplit(input.splitBytes), {
      target: spec.target,
      drop: spec.drop,
      ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
    });
    const onDevice = input.gpuIndex !== undefined ? { gpuDevice: input.gpuIndex } : {};
    const model = await loadModel(input.modelBytes, onDevice);
    sessions.push(model);
    const scores = await scoreFrame(model, test.features);
    const parityMaxAbsDiff = input.trainerPredictions ? parity(input.trainerPredictions, scores) : undefined;

    // The champion, scored on exactly the same rows, for the regression gates and the report.
    let championScores: Float64Array | undefined;
    let championNote = input.championNote;
    if (input.champion) {
      try {
        const championModel = await loadModel(input.champion.bytes, onDevice);
        sessions.push(championModel);
        championScores = await scoreFrame(championModel, test.features);
      } catch (error) {
        championNote = `champion v${input.champion.version} could not be scored on this data: ${(error as Error).message}`;
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
    if (input.champion || input.championNote) {
      versusChampion = {};
      for (const c of report.champion?.comparison ?? []) {
        const name = metricKeys.find(([, key]) => key === c.metric)?.[0];
        if (name && c.diff !== null && c.ciLow !== null && c.ciHigh !== null)
          versusChampion[name] = { mean: c.diff, low: c.ciLow, high: c.ciHigh };
      }
    }
    const featureImportances = input.metadataJson
      ? ((JSON.parse(Buffer.from(input.metadataJson).toString('utf8')) as { featureImportanceGain?: unknown })
          .featureImportanceGain ?? null)
      : (input.featureImportances ?? null);
    const { signature, opset } = modelSignature(model, input.modelBytes);
    const stored = {
      ...report,
      modelUri: input.modelUri,
      modelSha256: input.modelSha256,
      provider: model.provider,
      ...(input.champion ? { championVersion: input.champion.version } : {}),
      ...(championNote ? { championNote } : {}),
      ...(parityMaxAbsDiff !== undefined ? { parityMaxAbsDiff } : {}),
      featureImportances,
    };
    return {
      value: {
        metrics,
        ...(versusChampion ? { versusChampion } : {}),
        ...(championNote ? { championNote } : {}),
        ...(parityMaxAbsDiff !== undefined ? { parityMaxAbsDiff } : {}),
        provider: model.provider,
        signature,
        opset,
        reportJson: Buffer.from(JSON.stringify(stored)),
        reportHtml: Buffer.from(renderEvaluationReportHtml(report, importancesOf(featureImportances))),
      },
    };
  } finally {
    await Promise.all(sessions.map((s) => s.session.release().catch(() => undefined)));
  }
});
