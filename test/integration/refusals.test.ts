// What a worker refuses whatever the spec says: files outside its data roots, datasets over its operator's caps, and
// any program its operator did not register, or an environment that would change which code runs. Specs here reach
// the workflow as they would from the Temporal UI or a client that skips validation, so the worker's own checks are
// what is tested.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { resolveDataRoots } from '../../activities/dataset-source.js';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import { trainerEnvHelp } from '../../domain/pipeline-spec.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { resolveCommandTrainers } from '../../platform/command-trainers.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { exampleTrainerEntry } from '../../platform/python-env.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { runTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'data');
const outsideRoots =
  "outside this worker's data roots; datasets are read only from the directories in SLIPWAY_DATA_ROOTS (a relative path is looked up in each)";

/** A spec as a client could send it without validation: whatever shape, straight into the workflow. */
function rawSpec(model: string, source: string, trainer: Record<string, unknown>): PipelineSpec {
  return {
    model,
    dataset: { source },
    target: 'label',
    drop: [],
    split: { kind: 'random', testFraction: 0.25, seed: 1 },
    validation: { minRows: 1, failOnWarnings: false },
    trainer,
    resources: { gpu: 0 },
    evaluation: {
      threshold: 0.5,
      slices: [],
      gates: { min: {}, max: {}, maxRegression: {} },
      bootstrap: { iterations: 100, seed: 7 },
    },
    seed: 1,
    checkpointEvery: 1,
  } as unknown as PipelineSpec;
}

const logistic = { kind: 'builtin', name: 'logistic_regression', params: {} };

describe('a worker refuses what its operator did not allow', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let capped: RunningWorkers;
  let root: string;
  const prefix = uniquePrefix('refuse');
  const cappedPrefix = uniquePrefix('caps');

  beforeAll(async () => {
    db = await createTestDb('refuse');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `refuse-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    // A data root of our own, holding a symlink that leads out of it and a FIFO that nothing will ever write to.
    root = await mkdtemp(join(tmpdir(), 'slipway-roots-'));
    await symlink('/etc/passwd', join(root, 'passwd.csv'));
    await promisify(execFile)('mkfifo', [join(root, 'pipe.csv')]);
    const deps = {
      db: db.pool,
      store,
      log: testLog,
      workerIdentity: 'cpu-box',
      device: 'cpu',
      codeVersion: 'test',
      dataRoots: await resolveDataRoots([fixtures, root]),
    };
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        ...deps,
        commandTrainers: await resolveCommandTrainers(exampleTrainerEntry(testStack().python), {
          cwd: repoRoot,
          searchPath: inheritedEnvironment().PATH,
        }),
      },
    });
    capped = await startTestWorkers({
      tags: ['cpu'],
      prefix: cappedPrefix,
      deps: { ...deps, datasetLimits: { maxBytes: 1000, maxRows: 5 } },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await capped?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function rejection(spec: PipelineSpec, queuePrefix = prefix) {
    const result = await runTraining(client, spec, queuePrefix);
    expect(result.outcome).toBe('rejected');
    const { rows } = await db.pool.query(`SELECT status FROM runs WHERE model_name = $1`, [spec.model]);
    expect(rows).toEqual([{ status: 'rejected' }]);
    return { stage: result.rejectedAt, reasons: result.reasons };
  }

  it('refuses /etc/passwd, a relative path that climbs out, and a symlink that leads out of a root', async () => {
    expect(await rejection(rawSpec('etc-passwd', '/etc/passwd', logistic))).toEqual({
      stage: 'ingest',
      reasons: [`dataset.source /etc/passwd: ${outsideRoots}`],
    });
    expect(await rejection(rawSpec('climb', '../../../../../../etc/passwd', logistic))).toEqual({
      stage: 'ingest',
      reasons: [`dataset.source ../../../../../../etc/passwd: ${outsideRoots}`],
    });
    const link = join(root, 'passwd.csv');
    expect(await rejection(rawSpec('link-out', link, logistic))).toEqual({
      stage: 'ingest',
      reasons: [
        `dataset.source ${link}: leads outside this worker's data roots (a symbolic link?); datasets are read only from the directories in SLIPWAY_DATA_ROOTS`,
      ],
    });
    const fifo = join(root, 'pipe.csv');
    expect(await rejection(rawSpec('fifo', fifo, logistic))).toEqual({
      stage: 'ingest',
      reasons: [`dataset.source ${fifo}: not a regular file`],
    });
    expect(await rejection(rawSpec('absent', 'absent.csv', logistic))).toEqual({
      stage: 'ingest',
      reasons: ["dataset.source absent.csv: file not found in this worker's data roots"],
    });
  });

  it('reads a relative path from the data roots, as a spec typed in the Temporal UI gives it', async () => {
    const result = await runTraining(
      client,
      rawSpec('relative', 'text-in-numeric-few.csv', logistic),
      prefix,
    );
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    const { rows } = await db.pool.query(`SELECT source FROM datasets WHERE sha256 = $1`, [
      result.datasetSha256,
    ]);
    expect(rows[0].source).toBe(join(fixtures, 'text-in-numeric-few.csv'));
  });

  it("holds every dataset to the operator's caps in bytes and rows, whatever the spec asks", async () => {
    const many = rawSpec('too-many-rows', join(fixtures, 'one-class.csv'), logistic);
    const asksMore = { ...many, dataset: { ...many.dataset, maxRows: 1000 } };
    expect(await rejection(asksMore, cappedPrefix)).toEqual({
      stage: 'ingest',
      reasons: [
        "row 6: the file has more than 5 data rows, the limit (the smaller of dataset.maxRows and this worker's SLIPWAY_MAX_DATASET_ROWS) (too_many_rows)",
      ],
    });
    const big = join(fixtures, 'text-in-numeric.csv');
    expect(await rejection(rawSpec('too-big', big, logistic), cappedPrefix)).toEqual({
      stage: 'ingest',
      reasons: [
        `dataset.source ${big}: larger than this worker's limit of 1000 bytes (SLIPWAY_MAX_DATASET_BYTES)`,
      ],
    });
    const object = await store.put('datasets/big.csv', await readFile(big));
    expect(await rejection(rawSpec('too-big-s3', object.uri, logistic), cappedPrefix)).toEqual({
      stage: 'ingest',
      reasons: [
        `dataset.source ${object.uri}: larger than this worker's limit of 1000 bytes (SLIPWAY_MAX_DATASET_BYTES)`,
      ],
    });
  });

  it('runs no program a spec names, takes no environment that changes which code runs, and names its trainers', async () => {
    const source = join(fixtures, 'text-in-numeric-few.csv');
    const marker = join(root, 'pwned');
    const argv = rawSpec('argv', source, {
      kind: 'command',
      command: ['python3', '-c', `open(${JSON.stringify(marker)}, "w").write("pwned")`],
      params: {},
      env: {},
    });
    // The workflow's first activity validates the spec: refused before any stage runs, every problem by path.
    expect(await rejection(argv)).toEqual({
      stage: 'spec',
      reasons: [
        'trainer.name: expected a registered trainer name: 1-63 lower-case letters, digits, _ and -',
        "trainer.command: a spec cannot name a program to run (command); name a trainer that the worker's operator registered, with trainer.name",
      ],
    });
    await expect(access(marker)).rejects.toThrow(/ENOENT/);

    const preload = rawSpec('preload', source, {
      kind: 'command',
      name: 'sklearn-example',
      params: {},
      env: { LD_PRELOAD: join(root, 'evil.so'), TRAINER_OK: '1' },
    });
    expect(await rejection(preload)).toEqual({
      stage: 'spec',
      reasons: [`trainer.env.LD_PRELOAD: a spec may not set LD_PRELOAD (${trainerEnvHelp})`],
    });

    const unknown = rawSpec('unknown-trainer', source, {
      kind: 'command',
      name: 'xgboost',
      params: {},
      env: {},
    });
    expect(await rejection(unknown)).toEqual({
      stage: 'spec',
      reasons: [
        'trainer.name: no command trainer "xgboost" on this worker (registered: sklearn-example; the worker\'s operator registers trainers in SLIPWAY_COMMAND_TRAINERS)',
      ],
    });
  });
});
