// The `command` trainer on the real stack: the Python example (examples/python-trainer/train.py) run by the
// training workflow under the contract of docs/trainer-contract.md, on the real datasets.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { checkpointSegment } from '../../activities/train-types.js';
import type { PipelineSpec } from '../../domain/pipeline-spec.js';
import type { TrainingResult } from '../../domain/training.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { resolveCommandTrainers } from '../../platform/command-trainers.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { exampleTrainerEntry, exampleTrainerScript } from '../../platform/python-env.js';
import { findVersion, listVersions } from '../../platform/registry.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { testStack } from '../helpers/stack.js';
import { exampleSpec, runTraining, startTraining } from '../helpers/training.js';
import {
  startTestWorkers,
  testClient,
  testLog,
  uniquePrefix,
  type RunningWorkers,
} from '../helpers/workers.js';

/** The attempt number of the train activity's final execution, from the workflow history. */
async function trainAttempts(handle: WorkflowHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  const scheduled = events?.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel',
  );
  expect(scheduled).toBeDefined();
  const started = events?.find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled!.eventId),
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

function withTrainer(
  spec: PipelineSpec,
  change: { name?: string; params?: Record<string, unknown> },
): PipelineSpec {
  if (spec.trainer.kind !== 'command') throw new Error('expected a command trainer spec');
  return { ...spec, trainer: { ...spec.trainer, ...change } };
}

// Runs train.py, but on the first attempt (no resumeFrom) dies right after printing epoch 3's progress line:
// a worker or program crash in the middle of training.
const crashOnce = `
import json, os, subprocess, sys
job = json.load(open(os.environ["SLIPWAY_JOB"]))
if job.get("resumeFrom"):
    os.execv(sys.executable, [sys.executable, sys.argv[1]])
child = subprocess.Popen([sys.executable, sys.argv[1]], stdout=subprocess.PIPE, text=True)
for line in child.stdout:
    sys.stdout.write(line)
    sys.stdout.flush()
    if line.startswith("SLIPWAY_PROGRESS ") and json.loads(line[len("SLIPWAY_PROGRESS "):])["step"] == 3:
        child.kill()
        print("simulated crash after epoch 3", file=sys.stderr)
        sys.exit(1)
sys.exit(child.wait())
`;

describe('command trainer: the Python example through the real training workflow', () => {
  let db: { pool: Pool; schema: string };
  let store: ArtifactStore;
  let client: Client;
  let workers: RunningWorkers;
  let scratch: string;
  const prefix = uniquePrefix('cmdtrain');
  let elec2Uninterrupted: TrainingResult | undefined;

  beforeAll(async () => {
    db = await createTestDb('cmdtrain');
    store = createArtifactStore({
      kind: 's3',
      ...testStack().s3,
      prefix: `cmdtrain-${randomBytes(4).toString('hex')}`,
      forcePathStyle: true,
    });
    client = await testClient();
    scratch = await mkdtemp(join(tmpdir(), 'slipway-cmdtrain-'));
    const wrapper = join(scratch, 'crash-once.py');
    await writeFile(wrapper, crashOnce);
    // The example trainer in the virtual environment the global setup made, and the same script behind a wrapper
    // that crashes once, registered as a worker's operator would.
    const { python } = testStack();
    const commandTrainers = await resolveCommandTrainers(
      `${exampleTrainerEntry(python)},sklearn-crash-once=${python}:${wrapper}:${exampleTrainerScript}`,
      { cwd: repoRoot, searchPath: process.env.PATH },
    );
    workers = await startTestWorkers({
      tags: ['cpu'],
      prefix,
      deps: {
        db: db.pool,
        store,
        log: testLog,
        workerIdentity: 'cpu-box',
        device: 'cpu',
        codeVersion: 'test-commit',
        commandTrainers,
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

  it('trains Adult with the scikit-learn MLP, scores its ONNX in the evaluate stage and registers it', async () => {
    const spec = await exampleSpec('adult-python.yaml');
    const result = await runTraining(client, spec, prefix);
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.metrics?.auc).toBeGreaterThan(0.85);

    const versions = await listVersions(db.pool, spec.model);
    expect(versions).toHaveLength(1);
    const version = versions[0]!;
    expect(version.trainer).toBe('command:sklearn-example');
    expect(version.metadata.entryPoint).toEqual([
      testStack().python,
      join(repoRoot, 'examples', 'python-trainer', 'train.py'),
    ]);
    expect(version.params).toMatchObject({ model: 'mlp', epochs: 10 });
    // The ONNX contract: raw features in, by column name and kind; label and probabilities out.
    const signature = version.onnxSignature as {
      inputs: { name: string; type: string; shape: number[] }[];
      outputs: { name: string; type: string }[];
    };
    expect(signature.inputs).toContainEqual({ name: 'age', type: 'float32', shape: [-1, 1] });
    expect(signature.inputs).toContainEqual({ name: 'occupation', type: 'string', shape: [-1, 1] });
    expect(signature.inputs.map((i) => i.name)).not.toContain('fnlwgt');
    expect(signature.outputs.map((o) => [o.name, o.type])).toEqual([
      ['label', 'int64'],
      ['probabilities', 'float32'],
    ]);
    // The program scored the same test rows in scikit-learn that Slipway scored with onnxruntime.
    const own = version.metadata.trainerMetrics as { testAuc: number; onnxParityMaxAbsDiff: number };
    expect(Math.abs(own.testAuc - result.metrics!.auc!)).toBeLessThan(1e-3);
    expect(own.onnxParityMaxAbsDiff).toBeLessThan(1e-5);
  });

  it('trains Elec2 with SGD logistic regression, heartbeating a stored checkpoint every epoch, none kept after', async () => {
    const spec = await exampleSpec('elec2-python.yaml');
    const handle = await startTraining(client, spec, prefix);
    const result = await handle.result();
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(result.version).toBe(1);
    expect(result.metrics?.auc).toBeGreaterThan(0.75);
    expect(result.training?.resumedFromStep).toBeUndefined();
    expect(await trainAttempts(handle)).toBe(1);
    elec2Uninterrupted = result;

    const version = await findVersion(db.pool, spec.model, 1);
    expect(version?.split).toMatchObject({ kind: 'time', trainRows: 31718, testRows: 13594 });
    expect(version?.artifactSha256).toBe(result.artifactSha256);
    expect(version?.metadata.trainerMetrics).toMatchObject({ resumedAfterEpoch: 0, epochs: 20 });
    await expect(
      store.get(version!.artifactUri, { expectSha256: version!.artifactSha256 }),
    ).resolves.toBeInstanceOf(Buffer);
    // Checkpoints live only while the run may resume: a registered run has none left.
    const checkpoints = [];
    for await (const item of store.list(`checkpoints/${checkpointSegment(result.runId)}/`))
      checkpoints.push(item);
    expect(checkpoints).toHaveLength(0);
  });

  it('resumes from the last stored checkpoint after a crash, and exports the same model as an uninterrupted run', async () => {
    expect(elec2Uninterrupted, 'needs the uninterrupted Elec2 run above').toBeDefined();
    const spec = withTrainer(await exampleSpec('elec2-python.yaml'), { name: 'sklearn-crash-once' });
    const handle = await startTraining(client, spec, prefix);
    const result = await handle.result();
    expect(result.reasons).toBeUndefined();
    expect(result.outcome).toBe('registered');
    expect(await trainAttempts(handle)).toBe(2);
    expect(result.training?.resumedFromStep).toBe(3);
    // The program itself continued from the checkpoint (its metrics.json says so), it did not start over.
    const version = await findVersion(db.pool, spec.model, 1);
    expect(version?.metadata.trainerMetrics).toMatchObject({ resumedAfterEpoch: 3, epochs: 20 });
    // Epochs 4..20 after a resume train exactly as they would have: same bytes, same sha256.
    expect(result.artifactSha256).toBe(elec2Uninterrupted!.artifactSha256);
  });

  it("rejects bad params at the train stage with the program's own message, without retrying or registering", async () => {
    const base = await exampleSpec('elec2-python.yaml');
    if (base.trainer.kind !== 'command') throw new Error('expected a command trainer spec');
    const spec = withTrainer(base, { params: { ...base.trainer.params, epochs: 0 } });
    const handle = await startTraining(client, spec, prefix);
    const result = await handle.result();
    expect(result.outcome).toBe('rejected');
    expect(result.rejectedAt).toBe('train');
    expect(result.reasons).toHaveLength(1);
    expect(result.reasons![0]).toContain('params.epochs: expected an integer from 1 to 10000, got 0');
    expect(await trainAttempts(handle)).toBe(1);
    expect(await listVersions(db.pool, spec.model)).toEqual([]);
  });
});
