import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { monitorWorkflowId, type MonitorRequestInput } from '../../domain/monitor.js';
import { workflowTaskQueue } from '../../domain/task-queues.js';
import { recordsToFrame } from '../../ml/records-frame.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { writeDeployment } from '../../platform/deployments.js';
import { loadModel, scoreFrame } from '../../platform/onnx-scoring.js';
import { findVersion } from '../../platform/registry.js';
import { monitor } from '../../workflows/monitor.js';
import { repoRoot } from './api.js';
import { readCsv, type CsvTable } from './prediction-log.js';
import { exampleSpec, runTraining } from './training.js';

export const elec2Path = join(repoRoot, 'datasets', 'electricity.csv');
/** The Elec2 row where Victoria's price, demand and the transfer stop being a constant fill and start to vary. */
export const elec2VictoriaStarts = 17_424;
export const elec2Features = [
  'period',
  'nswprice',
  'nswdemand',
  'vicprice',
  'vicdemand',
  'transfer',
] as const;

let elec2: Promise<CsvTable> | undefined;
/** Elec2, read once per test file. */
export function readElec2(): Promise<CsvTable> {
  elec2 ??= readCsv(elec2Path);
  return elec2;
}

/**
 * Trains the Elec2 logistic regression on the first `rows` rows (the spec's time split keeps its last 20 % for the
 * test), and deploys the version as the champion. Returns the model name and version.
 */
export async function trainEarlyElec2(options: {
  client: Client;
  pool: Pool;
  store: ArtifactStore;
  prefix: string;
  rows: number;
  /** Make the version the champion (the first version of a model); default true. */
  deploy?: boolean;
  /** Train another version of this model instead of a new model. */
  model?: string;
}): Promise<{ model: string; version: number; trainRows: number }> {
  // The early stretch goes to the artifact store the workers read, as an s3:// dataset of its own.
  const lines = (await readFile(elec2Path, 'utf8')).split('\n');
  const stored = await options.store.put(
    `datasets/elec2-first-${options.rows}.csv`,
    Buffer.from(`${lines.slice(0, options.rows + 1).join('\n')}\n`),
  );
  const spec = await exampleSpec('elec2-logistic.yaml', {
    ...(options.model ? { model: options.model } : {}),
    dataset: { source: stored.uri },
    split: { kind: 'time', testFraction: 0.2, seed: 42 },
    evaluation: {
      threshold: 0.5,
      slices: [],
      gates: { min: {}, max: {}, maxRegression: {} },
      bootstrap: { iterations: 100, seed: 7 },
    },
  });
  // Another version of the same model on the same data is a new version only with the step cache off.
  const result = await runTraining(
    options.client,
    spec,
    options.prefix,
    options.model ? { cache: false } : {},
  );
  if (result.outcome !== 'registered' || result.version === undefined) {
    throw new Error(`training failed: ${JSON.stringify(result.reasons)}`);
  }
  if (options.deploy === false)
    return {
      model: spec.model,
      version: result.version,
      trainRows: options.rows - Math.round(options.rows * 0.2),
    };
  await writeDeployment(options.pool, {
    model: spec.model,
    target: {
      champion: result.version,
      challenger: null,
      challengerWeight: 0,
      shadow: false,
      stickyKey: null,
      rolloutWorkflowId: null,
    },
    expectedRevision: 0,
    actor: 'test',
    reason: 'first champion',
  });
  return {
    model: spec.model,
    version: result.version,
    trainRows: options.rows - Math.round(options.rows * 0.2),
  };
}

/** The registered version's probabilities for `records`, from its ONNX file (what the gateway would answer). */
export async function scoreRecords(
  deps: { pool: Pool; store: ArtifactStore },
  model: string,
  version: number,
  records: readonly Record<string, unknown>[],
): Promise<Float64Array> {
  const v = await findVersion(deps.pool, model, version);
  if (!v) throw new Error(`no ${model}:${version}`);
  const loaded = await loadModel(await deps.store.get(v.artifactUri, { expectSha256: v.artifactSha256 }));
  try {
    const names = loaded.session.inputNames;
    return await scoreFrame(
      loaded,
      recordsToFrame(
        records,
        names.map((name) => ({ name, kind: 'numeric' as const })),
      ),
    );
  } finally {
    await loaded.session.release();
  }
}

/** Starts `monitor-<model>` on the queues of `prefix`. */
export async function startMonitor(client: Client, prefix: string, request: MonitorRequestInput) {
  return client.workflow.start(monitor, {
    workflowId: monitorWorkflowId(request.model),
    taskQueue: workflowTaskQueue(prefix),
    args: [request],
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
