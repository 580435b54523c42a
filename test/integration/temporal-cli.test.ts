import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import type { TrainingResult, TrainingStatus } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { findVersion, listVersions } from '../../platform/registry.js';
import { findExecutable } from '../../platform/tool-cache.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { examplesDir } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

/**
 * What an engineer does from a terminal: `temporal workflow start --type training --input '{"spec": ...}'`, watch it
 * with `temporal workflow query --name status`, find it with a search-attribute filter. The real `temporal` binary
 * against the real server, workers and registry.
 */
describe('training runs started and watched with the temporal CLI', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let temporal: string;
  let scratch: string;
  const prefix = uniquePrefix('tcli');

  /** Runs the `temporal` CLI against the test server; resolves with its exit code and output. */
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const stack = testStack();
      execFile(
        temporal,
        [...args, '--address', stack.temporalAddress, '--namespace', stack.temporalNamespace],
        { env: inheritedEnvironment(), maxBuffer: 1 << 24 },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  const start = async (workflowId: string, input: unknown) => {
    const started = await cli([
      'workflow',
      'start',
      '--type',
      'training',
      '--task-queue',
      `${prefix}.cpu`,
      '--workflow-id',
      workflowId,
      '--input',
      JSON.stringify(input),
    ]);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    return client.workflow.getHandle(workflowId);
  };

  /** The YAML example as the JSON a person would paste, with a model name of its own. */
  const typedSpec = async (model: string) => {
    const spec = parseYaml(await readFile(join(examplesDir, 'elec2-logistic.yaml'), 'utf8')) as Record<
      string,
      unknown
    >;
    // A relative source in a typed spec is looked up in the worker's data roots (the repository's datasets/).
    return { ...spec, model, dataset: { source: 'electricity.csv' } };
  };

  beforeAll(async () => {
    const found = await findExecutable('temporal', inheritedEnvironment().PATH);
    if (!found)
      throw new Error('the temporal CLI is not on PATH or in the tool cache (npm test provisions it)');
    temporal = found;
    scratch = await realpath(await mkdtemp(join(tmpdir(), 'slipway-tcli-')));
    db = await createTestDb('tcli');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `tcli-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'cli-box',
        device: 'cpu',
        codeVersion: 'test',
        specRoots: [
          await realpath(examplesDir),
          await realpath(join(repoRoot, 'datasets')),
          join(scratch, 'specs'),
        ],
      },
    });
  });

  afterAll(async () => {
    await workers?.stop();
    await client?.connection.close();
    await store?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('`temporal workflow start` with the spec typed as JSON registers a version; the status query and list filters find it', async () => {
    const model = `elec2-cli-${randomBytes(3).toString('hex')}`;
    const workflowId = `training-${model}-cli`;
    const handle = await start(workflowId, { spec: await typedSpec(model), queuePrefix: prefix });

    // `temporal workflow query --name status` answers while the run is under way and after it finished.
    let status: TrainingStatus | undefined;
    for (const deadline = Date.now() + 60_000; !status;) {
      const queried = await cli([
        'workflow',
        'query',
        '--workflow-id',
        workflowId,
        '--name',
        'status',
        '-o',
        'json',
      ]);
      if (queried.code === 0) {
        status = (JSON.parse(queried.stdout) as { queryResult: TrainingStatus[] }).queryResult[0];
      } else if (Date.now() > deadline) throw new Error(`status query failed: ${queried.stderr}`);
      else await new Promise((r) => setTimeout(r, 500));
    }
    expect(status.model).toBe(model);
    expect(status.stages.map((s) => s.stage)).toEqual([
      'spec',
      'ingest',
      'validate',
      'train',
      'evaluate',
      'register',
    ]);

    const result: TrainingResult = await handle.result();
    expect(result.reasons).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'registered', model, version: 1 });
    const version = await findVersion(db.pool, model, 1);
    expect(version?.runId).toBe(result.runId);
    expect(version?.specHash).toMatch(/^[0-9a-f]{64}$/);

    const after = await cli([
      'workflow',
      'query',
      '--workflow-id',
      workflowId,
      '--name',
      'status',
      '-o',
      'json',
    ]);
    expect(after.code).toBe(0);
    const done = (JSON.parse(after.stdout) as { queryResult: TrainingStatus[] }).queryResult[0]!;
    expect(done.stage).toBe('done');
    expect(done.stages.every((s) => s.state === 'done')).toBe(true);

    // The search attributes make the runs of a model, at a stage, a list filter.
    const listed = await cli([
      'workflow',
      'list',
      '--query',
      `ModelName = "${model}" AND Stage = "registered"`,
      '-o',
      'json',
    ]);
    expect(listed.code).toBe(0);
    const ids = (JSON.parse(listed.stdout) as { execution: { workflowId: string } }[]).map(
      (w) => w.execution.workflowId,
    );
    expect(ids).toEqual([workflowId]);
  });

  it('`{"specPath": "examples/elec2-logistic.yaml"}`: the worker reads the file and resolves its dataset against it', async () => {
    const workflowId = `training-specpath-${randomBytes(4).toString('hex')}`;
    const handle = await start(workflowId, { specPath: 'examples/elec2-logistic.yaml', queuePrefix: prefix });
    const result: TrainingResult = await handle.result();
    expect(result.reasons).toBeUndefined();
    expect(result).toMatchObject({ outcome: 'registered', model: 'elec2-price' });
    const [version] = await listVersions(db.pool, 'elec2-price');
    expect(version?.metadata.ingest).toMatchObject({
      source: await realpath(join(repoRoot, 'datasets', 'electricity.csv')),
    });
  });

  it('a broken spec ends the run as rejected, every problem by field path in the workflow result', async () => {
    const workflowId = `training-broken-${randomBytes(4).toString('hex')}`;
    const handle = await start(workflowId, {
      spec: {
        model: 'Elec2 Price',
        dataset: { source: 'electricity.csv', format: 'xlsx' },
        target: 'class',
        split: { kind: 'shuffle' },
        trainer: { kind: 'builtin', name: 'xgboost' },
        seed: 'forty-two',
      },
      queuePrefix: prefix,
    });
    const result: TrainingResult = await handle.result();
    expect(result).toMatchObject({ outcome: 'rejected', rejectedAt: 'spec' });
    expect(result.problems?.map((p) => p.path)).toEqual([
      'model',
      'dataset.format',
      'split.kind',
      'trainer.name',
      'seed',
    ]);
    expect(result.problems?.[3]?.message).toBe(
      'Invalid option: expected one of "logistic_regression"|"mlp"|"gbdt"',
    );

    // It is the workflow's result: what the UI and `temporal workflow show` display as the completion.
    const shown = await cli(['workflow', 'show', '--workflow-id', workflowId, '-o', 'json']);
    const events = (JSON.parse(shown.stdout) as { events: Record<string, unknown>[] }).events;
    const completed = events.find((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED') as {
      workflowExecutionCompletedEventAttributes: { result: { payloads: { data: string }[] } };
    };
    const shownResult = JSON.parse(
      Buffer.from(
        completed.workflowExecutionCompletedEventAttributes.result.payloads[0]!.data,
        'base64',
      ).toString(),
    ) as TrainingResult;
    expect(shownResult.problems).toEqual(result.problems);
    const listed = await cli([
      'workflow',
      'list',
      '--query',
      `WorkflowId = "${workflowId}" AND Stage = "rejected"`,
      '-o',
      'json',
    ]);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
    expect(await listVersions(db.pool, 'elec2-price-broken').catch(() => [])).toHaveLength(0);
  });

  it('a request that is not the documented shape is rejected naming the bad field', async () => {
    const handle = await start(`training-envelope-${randomBytes(4).toString('hex')}`, {
      sepc: { model: 'x' },
      queuePrefix: prefix,
    });
    const result: TrainingResult = await handle.result();
    expect(result).toMatchObject({ outcome: 'rejected', rejectedAt: 'spec' });
    expect(result.problems).toEqual([
      { path: '(input)', message: 'Unrecognized key: "sepc"' },
      {
        path: '(input)',
        message:
          'expected exactly one of "spec" (the spec as JSON) or "specPath" (a spec file on the worker)',
      },
    ]);
  });

  it('reads spec files only from its spec roots: a path outside, or a symlink out of one, is refused', async () => {
    const outside = join(scratch, 'outside');
    const roots = join(scratch, 'specs');
    await mkdir(outside, { recursive: true });
    await mkdir(roots, { recursive: true });
    const spec = await readFile(join(examplesDir, 'elec2-logistic.yaml'), 'utf8');
    await writeFile(join(outside, 'spec.yaml'), spec);
    await symlink(join(outside, 'spec.yaml'), join(roots, 'link.yaml'));
    for (const specPath of [
      join(outside, 'spec.yaml'),
      join(roots, 'link.yaml'),
      'examples/../../../etc/hosts.yaml',
    ]) {
      const handle = await start(`training-outside-${randomBytes(4).toString('hex')}`, {
        specPath,
        queuePrefix: prefix,
      });
      const result: TrainingResult = await handle.result();
      expect(result).toMatchObject({ outcome: 'rejected', rejectedAt: 'spec' });
      expect(result.problems).toHaveLength(1);
      expect(result.problems?.[0]?.path).toBe('specPath');
      expect(result.problems?.[0]?.message).toMatch(
        new RegExp(
          `^${specPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: (spec files are read only from under .*|no such file on the worker)$`,
        ),
      );
    }
    const missing = await start(`training-missing-${randomBytes(4).toString('hex')}`, {
      specPath: 'examples/no-such-spec.yaml',
      queuePrefix: prefix,
    });
    expect((await missing.result()).problems).toEqual([
      { path: 'specPath', message: 'examples/no-such-spec.yaml: no such file on the worker' },
    ]);
  });
});
