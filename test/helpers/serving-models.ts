// Models for gateway tests: a logistic regression trained on the first rows of Elec2, faulty versions of it (NaN
// outputs, slow, a wrong sha256), registered in a test schema and deployed. Shared with the rollout tests.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { DeploymentState, DeploymentTarget } from '../../domain/deployment.js';
import { featuresAndLabels } from '../../ml/dataset.js';
import type { Frame } from '../../ml/frame.js';
import { takeRows } from '../../ml/frame.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import { attr, createOnnxBuilder } from '../../ml/onnx-builder.js';
import { trainerByName } from '../../ml/trainers.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { readDeployment, writeDeployment } from '../../platform/deployments.js';
import { loadModel, modelSignature } from '../../platform/onnx-scoring.js';
import { registerVersion, upsertDataset } from '../../platform/registry.js';

export const elec2Path = join(import.meta.dirname, '..', '..', 'datasets', 'electricity.csv');
export const elec2Features = [
  'period',
  'nswprice',
  'nswdemand',
  'vicprice',
  'vicdemand',
  'transfer',
] as const;

let elec2: Promise<{ features: Frame; labels: Uint8Array }> | undefined;
/** Elec2's features and 0/1 labels (class 1: the price went up), read once per test file. */
export function elec2Data(): Promise<{ features: Frame; labels: Uint8Array }> {
  elec2 ??= readDataset(() => createReadStream(elec2Path)).then(({ frame }) =>
    featuresAndLabels(frame, { target: 'class', positiveClass: '1', drop: [] }),
  );
  return elec2;
}

/** Row objects of Elec2 (features only) from `start`, as a client sends them. */
export async function elec2Rows(start: number, count: number): Promise<Record<string, number>[]> {
  const { features } = await elec2Data();
  return Array.from({ length: count }, (_, k) => {
    const row: Record<string, number> = {};
    for (const c of features.columns) if (c.kind === 'numeric') row[c.name] = c.values[start + k]!;
    return row;
  });
}

/** A logistic regression on `rows` Elec2 rows from `start` (different slices give different, healthy versions). */
export async function trainElec2(
  options: { start?: number; rows?: number; C?: number } = {},
): Promise<Uint8Array> {
  const { features, labels } = await elec2Data();
  const start = options.start ?? 0;
  const take = Int32Array.from({ length: options.rows ?? 4000 }, (_, i) => start + i);
  const trainer = trainerByName('logistic_regression');
  const fitted = trainer.fit(
    { features: takeRows(features, take), labels: Uint8Array.from(take, (i) => labels[i]!) },
    { params: trainer.parseParams({ C: options.C ?? 1 }), seed: 1 },
  );
  return fitted.toOnnx();
}

/** A graph over the Elec2 inputs whose probabilities are all NaN (a broken challenger). */
export function nanModel(features: readonly string[] = elec2Features): Uint8Array {
  const b = createOnnxBuilder('nan');
  for (const f of features) b.input(f, 'float', ['N', 1]);
  const zero = b.op('Mul', [features[0]!, b.floats('zero', [0], [])], 'zero');
  const nan = b.op('Add', [zero, b.floats('nan', [NaN], [])], 'nan');
  b.node('Concat', [nan, nan], ['probabilities'], { axis: attr.int(1) });
  b.node('ArgMax', ['probabilities'], ['label'], { axis: attr.int(1), keepdims: attr.int(0) });
  b.output('label', 'int64', ['N']);
  b.output('probabilities', 'float', ['N', 2]);
  return b.toBytes();
}

/**
 * A graph over the Elec2 inputs with valid probabilities (a sigmoid of nswprice) that first multiplies a 256 x 256
 * matrix made from each row by itself `layers` times: a healthy but slow challenger (about 5-10 ms a layer per row
 * on one core). Both operands are computed, so onnxruntime has no weight to pre-pack and loads it at once.
 */
export function slowModel(layers: number, features: readonly string[] = elec2Features): Uint8Array {
  const b = createOnnxBuilder('slow');
  for (const f of features) b.input(f, 'float', ['N', 1]);
  const width = 256;
  const h = b.op('Mul', ['nswprice', b.floats('spread', new Array<number>(width).fill(1), [1, width])], 'h');
  const column = b.op('Unsqueeze', [h, b.int64s('axis2', [2], [1])], 'col');
  const row = b.op('Unsqueeze', [h, b.int64s('axis1', [1], [1])], 'row');
  let m = b.op('MatMul', [column, row], 'm');
  const scale = b.floats('scale', [1 / width], []);
  for (let l = 0; l < layers; l++)
    m = b.op('Tanh', [b.op('Mul', [b.op('MatMul', [m, m], 'mm'), scale], 'scaled')], 'm');
  const total = b.op('ReduceSum', [m, b.int64s('axes', [1, 2], [2])], 'sum', { keepdims: attr.int(0) });
  const tiny = b.op(
    'Mul',
    [b.op('Unsqueeze', [total, b.int64s('axis', [1], [1])], 'total'), b.floats('eps', [0], [])],
    'tiny',
  );
  const p1 = b.op('Sigmoid', [b.op('Add', ['nswprice', tiny], 'z')], 'p1');
  const p0 = b.op('Sub', [b.floats('one', [1], []), p1], 'p0');
  b.node('Concat', [p0, p1], ['probabilities'], { axis: attr.int(1) });
  b.node('ArgMax', ['probabilities'], ['label'], { axis: attr.int(1), keepdims: attr.int(0) });
  b.output('label', 'int64', ['N']);
  b.output('probabilities', 'float', ['N', 2]);
  return b.toBytes();
}

/**
 * Stores ONNX bytes and registers them as the next version of `model`. `sha256` overrides the recorded digest (a
 * version whose file doesn't match its registry entry); `metadata` is merged into the version's metadata.
 */
export async function registerOnnx(
  pool: Pool,
  store: ArtifactStore,
  model: string,
  bytes: Uint8Array,
  options: { sha256?: string; metadata?: Record<string, unknown> } = {},
): Promise<{ version: number; artifactUri: string; artifactSha256: string }> {
  const stored = await store.putContent(Buffer.from(bytes), { prefix: 'models', ext: 'onnx' });
  const loaded = await loadModel(bytes);
  const { signature, opset } = modelSignature(loaded, bytes);
  await loaded.session.release();
  const datasetSha256 = '0'.repeat(64);
  await upsertDataset(pool, {
    sha256: datasetSha256,
    readKey: '0'.repeat(64),
    readOptions: {},
    source: 'test',
    format: 'csv',
    rowCount: 0,
    frameUri: 'test',
    frameSha256: datasetSha256,
    schema: {},
  });
  const runId = `test-${randomBytes(6).toString('hex')}`;
  const artifactSha256 = options.sha256 ?? stored.sha256;
  const { version } = await registerVersion(
    pool,
    model,
    {
      runId,
      datasetSha256,
      split: {},
      validationReportUri: '',
      evaluationReportUri: '',
      referenceProfileUri: '',
      specHash: 'test',
      codeVersion: 'test',
      trainer: 'logistic_regression',
      params: {},
      metrics: {},
      artifactUri: stored.uri,
      artifactSha256,
      onnxSignature: signature,
      onnxOpset: opset,
      metadata: { classes: ['0', '1'], ...options.metadata },
    },
    'test',
  );
  return { version, artifactUri: stored.uri, artifactSha256 };
}

/** Sets a model's deployment (compare-and-set against what is there now); fields left out keep their value. */
export async function deploy(
  pool: Pool,
  model: string,
  target: Partial<DeploymentTarget>,
): Promise<DeploymentState> {
  const current = await readDeployment(pool, model);
  const { written, state } = await writeDeployment(pool, {
    model,
    target: {
      champion: current.champion,
      challenger: current.challenger,
      challengerWeight: current.challengerWeight,
      shadow: current.shadow,
      stickyKey: current.stickyKey,
      rolloutWorkflowId: current.rolloutWorkflowId,
      ...target,
    },
    expectedRevision: current.revision,
    actor: 'test',
    reason: 'test',
  });
  if (!written) throw new Error(`deployment of ${model} changed under the test`);
  return state;
}
