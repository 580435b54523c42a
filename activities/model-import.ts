import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { ModelImportRequest } from '../domain/model-import.js';
import type { ServingInterface } from '../domain/serving-interface.js';
import { featuresAndLabels } from '../ml/dataset.js';
import { evaluateBinary } from '../ml/metrics/evaluate.js';
import { renderEvaluationReportHtml } from '../ml/metrics/report-html.js';
import { ImportPlanError, planImport, type SignatureTensor } from '../ml/onnx-import-plan.js';
import { validateFrame } from '../ml/validation/checks.js';
import { buildReferenceProfile } from '../ml/validation/profile.js';
import { renderValidationReportHtml } from '../ml/validation/report-html.js';
import type { Frame } from '../ml/frame.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import { loadModel, modelSignature, type LoadedModel } from '../platform/onnx-scoring.js';
import type { VersionLineage } from '../platform/registry.js';
import { buildFeeds, frameToBatch } from '../platform/serving-feeds.js';
import { defaultDatasetLimits, storedSource, type DatasetLimits } from './dataset-source.js';
import { keepHeartbeating } from './heartbeat.js';
import { dataFailure, ingestSource } from './ingest.js';

export interface ImportModelInput extends ModelImportRequest {
  /** The import's idempotency key (its workflow id): a retry registers the same version. */
  readonly importId: string;
}

export type ImportModelOutput =
  | {
      readonly ok: true;
      readonly lineage: Omit<VersionLineage, 'codeVersion'>;
      readonly acceptsMissing: boolean;
      readonly classes: readonly [string, string];
      readonly warnings: readonly string[];
      readonly reports: Record<string, string>;
    }
  | { readonly ok: false; readonly reasons: readonly string[]; readonly reports: Record<string, string> };

const metricKeys = [
  ['auc', 'auc'],
  ['accuracy', 'accuracy'],
  ['precision', 'precision'],
  ['recall', 'recall'],
  ['f1', 'f1'],
  ['log_loss', 'logLoss'],
  ['brier', 'brier'],
] as const;

/** P(positive) of every row of `features`, scored in chunks; NaN where the model gave no usable probability. */
async function scoreAll(model: LoadedModel, iface: ServingInterface, features: Frame): Promise<Float64Array> {
  const batch = frameToBatch(features);
  const out = new Float64Array(features.rowCount);
  const chunk = 50_000;
  for (let start = 0; start < features.rowCount; start += chunk) {
    const count = Math.min(chunk, features.rowCount - start);
    const rows = Int32Array.from({ length: count }, (_, i) => start + i);
    const result = await model.session.run(buildFeeds(iface, [{ batch, rows, count }], count), [
      iface.probabilities.output,
    ]);
    const data = result[iface.probabilities.output]!.data as Float32Array | Float64Array;
    for (let i = 0; i < count; i++) {
      const p = data[i * iface.probabilities.width + iface.probabilities.positiveIndex]!;
      out[start + i] = p >= 0 && p <= 1 ? p : NaN;
    }
  }
  return out;
}

/** Whether the graph takes missing numbers: the first rows with every numeric feature NaN give finite probabilities. */
async function takesMissing(model: LoadedModel, iface: ServingInterface, features: Frame): Promise<boolean> {
  if (!features.columns.some((c) => c.kind === 'numeric')) return true;
  const n = Math.min(100, features.rowCount);
  const probe: Frame = {
    rowCount: n,
    columns: features.columns.map((c) =>
      c.kind === 'numeric'
        ? { ...c, values: new Float64Array(n).fill(NaN) }
        : { ...c, codes: c.codes.subarray(0, n) },
    ),
  };
  try {
    const p = await scoreAll(model, iface, probe);
    return p.every((x) => !Number.isNaN(x));
  } catch {
    return false;
  }
}

/** `slipway models import`: checks and describes an ONNX model trained elsewhere, ready to register. */
export function createModelImportActivities(deps: {
  store: ArtifactStore;
  db: Pool;
  datasetLimits?: DatasetLimits;
}) {
  const limits = deps.datasetLimits ?? defaultDatasetLimits;
  return {
    async importOnnxModel(input: ImportModelInput): Promise<ImportModelOutput> {
      let stage = 'reading';
      const stopHeartbeats = keepHeartbeating(Context.current(), () => ({ stage }));
      let model: LoadedModel | undefined;
      try {
        const bytes = await deps.store.get(input.modelUri, { expectSha256: input.modelSha256 });
        try {
          model = await loadModel(bytes);
        } catch (error) {
          return {
            ok: false,
            reasons: [
              `the model file is not an ONNX model onnxruntime can load: ${(error as Error).message}`,
            ],
            reports: {},
          };
        }
        const { signature, opset } = modelSignature(model, bytes);
        // The reference data is read as a dataset is (the same reader, the operator's byte and row caps) and
        // recorded in the datasets table, so the version's lineage points at a real entry.
        const source = await storedSource(input.referenceUri, deps.store, {
          describe: input.referenceFileName ?? input.referenceUri,
          limits,
          expectSha256: input.referenceSha256,
        });
        const ingested = await ingestSource(deps, source, {
          readOptions: { maxRows: limits.maxRows },
          onStage: (next) => (stage = next),
        });
        const { frame, stats } = ingested.result;
        stage = 'checking';
        let plan;
        try {
          plan = planImport(signature as { inputs: SignatureTensor[]; outputs: SignatureTensor[] }, frame, {
            ...(input.target ? { target: input.target } : {}),
            ...(input.positiveClass ? { positiveClass: input.positiveClass } : {}),
          });
        } catch (error) {
          if (error instanceof ImportPlanError)
            return { ok: false, reasons: [...error.problems], reports: {} };
          throw error;
        }
        const validation = validateFrame(frame, {
          target: plan.target,
          ingest: stats,
          positiveLabel: plan.iface.classes[1],
        });
        const data = featuresAndLabels(frame, {
          target: plan.target,
          positiveClass: plan.iface.classes[1],
          drop: plan.unused,
        });
        const profile = buildReferenceProfile(data.features);
        const title = `${input.model}: reference data of an imported model`;
        const [validationJson, validationHtml, profileObject] = await Promise.all([
          deps.store.putContent(Buffer.from(JSON.stringify(validation)), {
            prefix: 'reports/validation',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(Buffer.from(renderValidationReportHtml(validation, profile, { title })), {
            prefix: 'reports/validation',
            ext: 'html',
            contentType: 'text/html; charset=utf-8',
          }),
          deps.store.putContent(Buffer.from(JSON.stringify(profile)), { prefix: 'profiles', ext: 'json' }),
        ]);
        const reports: Record<string, string> = {
          validationJson: validationJson.uri,
          validationHtml: validationHtml.uri,
          referenceProfile: profileObject.uri,
        };
        const blocking = validation.results.filter((r) => r.severity === 'error');
        if (blocking.length > 0)
          return {
            ok: false,
            reasons: blocking.map((r) => `${r.column ? `column "${r.column}": ` : ''}${r.message}`),
            reports,
          };

        stage = 'scoring';
        const acceptsMissing = await takesMissing(
          model,
          { ...plan.iface, acceptsMissing: true },
          data.features,
        );
        const iface: ServingInterface = { ...plan.iface, acceptsMissing };
        const scores = await scoreAll(model, iface, data.features);
        const failed = scores.findIndex((p) => Number.isNaN(p));
        if (failed !== -1)
          return {
            ok: false,
            reasons: [
              `the model gives no probability in [0, 1] for reference row ${failed + 1} (and maybe others)`,
            ],
            reports,
          };
        const evaluation = evaluateBinary(data.labels, scores, {
          title: `${input.model}: the imported model on its reference data (${scores.length} rows)`,
        });
        const metrics: Record<string, number> = {};
        for (const [name, key] of metricKeys) {
          const v = evaluation.metrics[key];
          if (typeof v === 'number' && Number.isFinite(v)) metrics[name] = v;
        }
        const warnings = [
          ...(plan.unused.length > 0
            ? [`reference columns the model does not take were left out: ${plan.unused.join(', ')}`]
            : []),
          ...((metrics.auc ?? 1) < 0.5
            ? [
                `AUC ${metrics.auc!.toFixed(3)} on the reference data is below 0.5: is "${plan.iface.classes[1]}" the positive class the probabilities' column ${plan.iface.probabilities.positiveIndex} stands for?`,
              ]
            : []),
        ];
        stage = 'storing';
        const [evaluationJson, evaluationHtml, stored] = await Promise.all([
          deps.store.putContent(Buffer.from(JSON.stringify({ ...evaluation, modelUri: input.modelUri })), {
            prefix: 'reports/evaluation',
            ext: 'json',
            contentType: 'application/json',
          }),
          deps.store.putContent(Buffer.from(renderEvaluationReportHtml(evaluation)), {
            prefix: 'reports/evaluation',
            ext: 'html',
            contentType: 'text/html; charset=utf-8',
          }),
          deps.store.putContent(bytes, { prefix: 'models', ext: 'onnx' }),
        ]);
        const options = { target: plan.target, positiveClass: plan.iface.classes[1] };
        return {
          ok: true,
          acceptsMissing,
          classes: plan.iface.classes,
          warnings,
          reports: { ...reports, evaluationJson: evaluationJson.uri, evaluationHtml: evaluationHtml.uri },
          lineage: {
            runId: input.importId,
            datasetSha256: stats.sha256,
            datasetReadKey: ingested.readKey,
            split: { kind: 'none', rows: frame.rowCount },
            validationReportUri: validationJson.uri,
            evaluationReportUri: evaluationJson.uri,
            referenceProfileUri: profileObject.uri,
            specHash: createHash('sha256')
              .update(JSON.stringify({ ...options, modelSha256: input.modelSha256 }))
              .digest('hex'),
            trainer: 'onnx-import',
            params: { ...options, ...(input.modelFileName ? { modelFile: input.modelFileName } : {}) },
            metrics,
            artifactUri: stored.uri,
            artifactSha256: stored.sha256,
            onnxSignature: signature,
            onnxOpset: opset,
            metadata: {
              serving: iface,
              classes: iface.classes,
              acceptsMissing,
              import: { unusedColumns: plan.unused, warnings },
            },
          },
        };
      } catch (error) {
        throw dataFailure(error);
      } finally {
        stopHeartbeats();
        await model?.session.release().catch(() => undefined);
      }
    },
  };
}

export type ModelImportActivities = ReturnType<typeof createModelImportActivities>;
