import { ApplicationFailure } from '@temporalio/activity';
import { pipelineSpecSchema, type PipelineSpec } from '../domain/pipeline-spec.js';
import { featuresAndLabels } from '../ml/dataset.js';
import { buildDriftReference, type DriftReference } from '../ml/drift/reference.js';
import { takeRows, type Column, type Frame } from '../ml/frame.js';
import { splitRows } from '../ml/split.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { loadModel, scoreFrame } from '../platform/onnx-scoring.js';
import { findVersion, type ModelVersion } from '../platform/registry.js';
import { loadFrame } from './frame-loader.js';

/**
 * What a version's windows are compared with, built once per version from its training rows (the lineage names the
 * dataset, the run's spec and its split) and kept as an artifact keyed by the version: the drift reference of the
 * model's inputs, and of the version's own scores on those rows (for prediction drift).
 */
export interface VersionReference {
  readonly format: 1;
  readonly model: string;
  readonly version: number;
  readonly artifactSha256: string;
  readonly datasetSha256: string;
  /** Training rows the reference was built from, and how they were chosen. */
  readonly rows: number;
  readonly rowsFrom: 'training-split' | 'whole-dataset';
  /** Score at or above which a prediction is the positive class (the run's evaluation threshold). */
  readonly threshold: number;
  /** The model's inputs, in its signature's order, with their kinds. */
  readonly inputs: readonly { readonly name: string; readonly kind: 'numeric' | 'categorical' }[];
  readonly features: DriftReference;
  readonly prediction: DriftReference;
}

/** The column name of the scores in a prediction drift reference and window. */
export const scoreColumn = 'score';

const formatVersion = 1;

/** Where a version's reference is kept: the artifact's sha256 in the key ties it to that exact model file. */
export function referenceKey(model: string, version: number, artifactSha256: string): string {
  return `monitor/references/${model}/v${version}-${artifactSha256.slice(0, 16)}-f${formatVersion}.json`;
}

function integrity(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, 'IntegrityError');
}

function signatureInputs(v: ModelVersion): string[] {
  const inputs = (v.onnxSignature as { inputs?: { name?: unknown }[] }).inputs ?? [];
  return inputs.map((i) => i.name).filter((n): n is string => typeof n === 'string');
}

/** The rows a version was trained on: the run's split recomputed from its spec, checked against the lineage. */
async function trainingFrame(
  deps: { db: Pool; store: ArtifactStore },
  v: ModelVersion,
): Promise<{ frame: Frame; rowsFrom: VersionReference['rowsFrom']; spec: PipelineSpec | undefined }> {
  // The entry the version was trained from: the file read the way its run read it (a version registered before
  // read keys has none, and its file one entry).
  const { rows: datasets } = await deps.db.query<{ frame_uri: string; frame_sha256: string }>(
    `SELECT frame_uri, frame_sha256 FROM datasets
      WHERE sha256 = $1 AND ($2::text IS NULL OR read_key = $2)
      ORDER BY created_at DESC LIMIT 1`,
    [v.datasetSha256, v.datasetReadKey ?? null],
  );
  const dataset = datasets[0];
  if (!dataset) throw integrity(`${v.model}:${v.version}: dataset ${v.datasetSha256} is not in the registry`);
  const frame = await loadFrame(deps.store, dataset.frame_uri, dataset.frame_sha256);
  const { rows: runs } = await deps.db.query<{ spec: unknown }>('SELECT spec FROM runs WHERE run_id = $1', [
    v.runId,
  ]);
  const parsed = runs[0] ? pipelineSpecSchema.safeParse(runs[0].spec) : undefined;
  if (!parsed?.success) {
    // A version registered without a training run (imported): its dataset is its reference.
    return { frame, rowsFrom: 'whole-dataset', spec: undefined };
  }
  const spec = parsed.data;
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
  const recorded = (v.split as { trainRows?: unknown }).trainRows;
  if (typeof recorded === 'number' && recorded !== split.train.length) {
    throw integrity(
      `${v.model}:${v.version}: the recomputed split has ${split.train.length} training rows, the lineage records ${recorded}`,
    );
  }
  return { frame: takeRows(data.features, split.train), rowsFrom: 'training-split', spec };
}

/** Builds a version's reference from scratch (minutes for large training sets; the caller heartbeats). */
export async function buildVersionReference(
  deps: { db: Pool; store: ArtifactStore },
  v: ModelVersion,
): Promise<VersionReference> {
  const { frame, rowsFrom, spec } = await trainingFrame(deps, v);
  const names = signatureInputs(v);
  const columns: Column[] = names.map((name) => {
    const column = frame.columns.find((c) => c.name === name);
    if (!column)
      throw integrity(`${v.model}:${v.version}: the model's input "${name}" is not in its training data`);
    return column;
  });
  const inputs: Frame = { rowCount: frame.rowCount, columns };
  const bytes = await deps.store.get(v.artifactUri, { expectSha256: v.artifactSha256 });
  const model = await loadModel(bytes);
  let scores: Float64Array;
  try {
    scores = await scoreFrame(model, inputs);
  } finally {
    await model.session.release().catch(() => undefined);
  }
  return {
    format: formatVersion,
    model: v.model,
    version: v.version,
    artifactSha256: v.artifactSha256,
    datasetSha256: v.datasetSha256,
    rows: frame.rowCount,
    rowsFrom,
    threshold: spec?.evaluation.threshold ?? 0.5,
    inputs: columns.map((c) => ({ name: c.name, kind: c.kind })),
    features: buildDriftReference(inputs),
    prediction: buildDriftReference({
      rowCount: scores.length,
      columns: [{ name: scoreColumn, kind: 'numeric', values: scores }],
    }),
  };
}

/**
 * Version references: from memory, else the artifact store, else built from the training rows and stored. Two
 * workers building the same one at once store the same bytes under the same key.
 */
export function createReferenceCache(deps: {
  db: Pool;
  store: ArtifactStore;
  log: Logger;
  onBuild?: (model: string) => void;
  capacity?: number;
}) {
  const memory = new Map<string, VersionReference>();
  const capacity = deps.capacity ?? 8;
  return {
    async forVersion(model: string, version: number): Promise<VersionReference> {
      const v = await findVersion(deps.db, model, version);
      if (!v)
        throw integrity(`the prediction log names ${model}:${version}, which the registry does not have`);
      const key = referenceKey(model, version, v.artifactSha256);
      const hit = memory.get(key);
      if (hit) {
        memory.delete(key);
        memory.set(key, hit);
        return hit;
      }
      let reference: VersionReference;
      if (await deps.store.head(key)) {
        reference = JSON.parse((await deps.store.get(key)).toString('utf8')) as VersionReference;
      } else {
        const started = Date.now();
        reference = await buildVersionReference(deps, v);
        await deps.store.put(key, Buffer.from(JSON.stringify(reference)), {
          contentType: 'application/json',
        });
        deps.onBuild?.(model);
        deps.log.info(
          { model, version, rows: reference.rows, ms: Date.now() - started },
          'drift reference built',
        );
      }
      memory.set(key, reference);
      while (memory.size > capacity) memory.delete(memory.keys().next().value!);
      return reference;
    },
  };
}

export type ReferenceCache = ReturnType<typeof createReferenceCache>;
