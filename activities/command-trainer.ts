// The `command` trainer: runs any program under the contract in docs/trainer-contract.md. Slipway writes the data
// and a job file into a fresh directory, the program writes out/model.onnx, and each `SLIPWAY_PROGRESS {json}` line
// it prints becomes a heartbeat (with its checkpoint file stored as an artifact, so a retry on another machine
// resumes from it).
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { trainerSpecSchema } from '../domain/pipeline-spec.js';
import { trainTestData } from '../ml/dataset.js';
import { inheritedEnvironment } from '../platform/config.js';
import { frameToCsv } from '../ml/frame-csv.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { classNames } from '../ml/ingest/labels.js';
import { columnOf } from '../ml/frame.js';
import { decodeSplit } from '../ml/split.js';
import {
  storeCheckpoint,
  type TrainDeps,
  type TrainHeartbeat,
  type TrainInput,
  type TrainOutput,
} from './train-types.js';
import { underWatchdog } from './trainer-watchdog.js';

const progressLine = z
  .object({
    step: z.number().int().min(0),
    totalSteps: z.number().int().min(0),
    trainLoss: z.number().optional(),
    validLoss: z.number().optional(),
    checkpoint: z.string().min(1).optional(),
  })
  .strict();

/** Exit status a program uses for bad input (params, data): the run fails without retries. */
export const commandTrainerUsageExit = 64;

/** How often the last progress is heartbeated again while the program runs, so a long epoch is not taken for a dead worker. */
const keepAliveMs = 10_000;

function parseProgress(text: string): z.infer<typeof progressLine> | undefined {
  try {
    const parsed = progressLine.safeParse(JSON.parse(text) as unknown);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function runCommandTrainer(
  deps: TrainDeps,
  input: TrainInput,
  resume: TrainHeartbeat | undefined,
): Promise<TrainOutput> {
  const ctx = Context.current();
  const { spec } = input;
  if (spec.trainer.kind !== 'command') throw new Error('not a command trainer');
  const started = Date.now();
  // Command trainers run programs on the worker: only the ones its operator registered (SLIPWAY_COMMAND_TRAINERS),
  // by name, with the entry point the operator gave. The spec was validated where it was submitted; a workflow
  // started by hand (Temporal UI, CLI) may carry anything, so the trainer part is validated again here.
  const checked = trainerSpecSchema.safeParse(spec.trainer);
  if (!checked.success) {
    throw ApplicationFailure.nonRetryable(
      checked.error.issues.map((i) => `${['trainer', ...i.path].join('.')}: ${i.message}`).join('; '),
      'InvalidSpec',
    );
  }
  const registered = deps.commandTrainers ?? [];
  const entry = registered.find((t) => t.name === spec.trainer.name);
  if (!entry) {
    throw ApplicationFailure.nonRetryable(
      `trainer.name: no command trainer "${spec.trainer.name}" on this worker (registered: ${registered.map((t) => t.name).join(', ') || 'none'}; the worker's operator registers trainers in SLIPWAY_COMMAND_TRAINERS)`,
      'InvalidSpec',
    );
  }
  const [program, ...programArgs] = entry.argv as [string, ...string[]];
  const dir = await mkdtemp(join(tmpdir(), 'slipway-train-'));
  try {
    const [frameBytes, splitBytes] = await Promise.all([
      deps.store.get(input.frameUri, { expectSha256: input.frameSha256 }),
      deps.store.get(input.splitUri, { expectSha256: input.splitSha256 }),
    ]);
    const frame = decodeFrameFromArrow(frameBytes);
    const classes = classNames(columnOf(frame, spec.target), spec.positiveClass);
    const { train, test } = trainTestData(frame, decodeSplit(splitBytes), {
      target: spec.target,
      drop: spec.drop,
      ...(spec.positiveClass ? { positiveClass: spec.positiveClass } : {}),
    });
    const labelColumn = spec.target;
    await pipeline(
      Readable.from(frameToCsv(train.features, [{ name: labelColumn, values: train.labels }])),
      createWriteStream(join(dir, 'train.csv')),
    );
    await pipeline(
      Readable.from(frameToCsv(test.features, [{ name: labelColumn, values: test.labels }])),
      createWriteStream(join(dir, 'test.csv')),
    );
    await mkdir(join(dir, 'out', 'checkpoints'), { recursive: true });
    let resumeFrom: string | null = null;
    if (resume?.checkpointUri) {
      resumeFrom = join(dir, 'resume.ckpt');
      await writeFile(
        resumeFrom,
        await deps.store.get(resume.checkpointUri, { expectSha256: resume.checkpointSha256 }),
      );
    }
    const job = {
      target: labelColumn,
      features: train.features.columns.map((c) => ({ name: c.name, kind: c.kind })),
      params: spec.trainer.params,
      seed: spec.seed,
      checkpointEvery: spec.checkpointEvery,
      train: join(dir, 'train.csv'),
      test: join(dir, 'test.csv'),
      outputDir: join(dir, 'out'),
      resumeFrom,
    };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job, null, 2));

    const inherited = inheritedEnvironment();
    // Under a watchdog that leads the process group: cancellation kills the group (the program and whatever it
    // started: shells, data loaders), and so does the worker's death (see trainer-watchdog.ts).
    const watched = underWatchdog(process.pid, [program, ...programArgs]);
    const child = spawn(watched.program, watched.args, {
      cwd: dir,
      detached: true,
      env: {
        ...spec.trainer.env,
        PATH: inherited.PATH ?? '',
        HOME: inherited.HOME ?? '',
        SLIPWAY_JOB: join(dir, 'job.json'),
        PYTHONUNBUFFERED: '1',
        // The one GPU this job was given on a GPU worker; none elsewhere, so a CPU job can't take a GPU.
        CUDA_VISIBLE_DEVICES: deps.gpu ? String(deps.gpu.index) : '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const kill = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    ctx.cancellationSignal.addEventListener('abort', kill, { once: true });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    let latest: TrainHeartbeat = resume ?? { step: 0, totalSteps: 0 };
    let chain: Promise<void> = Promise.resolve();
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (!line.startsWith('SLIPWAY_PROGRESS ')) return;
      // A line that is not valid JSON is the program's bug, not the worker's: throwing here would crash the worker.
      const p = parseProgress(line.slice('SLIPWAY_PROGRESS '.length));
      if (!p) {
        deps.log.warn({ line }, 'ignoring a malformed progress line');
        return;
      }
      chain = chain.then(async () => {
        let next: TrainHeartbeat = {
          ...latest,
          step: p.step,
          totalSteps: p.totalSteps,
          ...(p.trainLoss !== undefined ? { trainLoss: p.trainLoss } : {}),
          ...(p.validLoss !== undefined ? { validLoss: p.validLoss } : {}),
        };
        if (p.checkpoint) {
          const path = normalize(isAbsolute(p.checkpoint) ? p.checkpoint : resolve(dir, p.checkpoint));
          if (!path.startsWith(dir + sep))
            throw new Error(`checkpoint ${p.checkpoint} is outside the job directory`);
          next = {
            ...next,
            ...(await storeCheckpoint(deps.store, input.runId, await readFile(path), p.step)),
          };
        }
        latest = next;
        ctx.heartbeat(latest);
      });
      chain.catch(kill);
    });
    const keepAlive = setInterval(() => ctx.heartbeat(latest), keepAliveMs);
    // 'close', not 'exit': only then are stdout and stderr fully read (the last progress line, the refusal message).
    const code = await new Promise<number | null>((resolveExit, reject) => {
      child.on('error', (e) =>
        reject(
          ApplicationFailure.nonRetryable(
            `cannot run command trainer "${entry.name}" (${program}): ${e.message}`,
            'InvalidSpec',
          ),
        ),
      );
      child.on('close', (c) => resolveExit(c));
    }).finally(() => clearInterval(keepAlive));
    ctx.cancellationSignal.removeEventListener('abort', kill);
    await chain;
    if (code === commandTrainerUsageExit) {
      throw ApplicationFailure.nonRetryable(
        `trainer command refused its input: ${stderr.trim()}`,
        'InvalidParams',
      );
    }
    if (code !== 0) throw new Error(`trainer command exited with code ${code}: ${stderr.trim()}`);
    const onnx = await readFile(join(dir, 'out', 'model.onnx')).catch(() => {
      throw ApplicationFailure.nonRetryable(
        'trainer command exited 0 but wrote no out/model.onnx',
        'InvalidParams',
      );
    });
    const metrics = await readFile(join(dir, 'out', 'metrics.json'), 'utf8').then(
      (t) => JSON.parse(t) as Record<string, unknown>,
      () => ({}),
    );
    const model = await deps.store.putContent(onnx, { prefix: 'models', ext: 'onnx' });
    return {
      modelUri: model.uri,
      modelSha256: model.sha256,
      trainer: `command:${entry.name}`,
      params: spec.trainer.params,
      metadata: { trainerMetrics: metrics, entryPoint: [program, ...programArgs], classes },
      ...(resume?.checkpointStep !== undefined ? { resumedFromStep: resume.checkpointStep } : {}),
      steps: latest.step,
      seconds: (Date.now() - started) / 1000,
      worker: deps.workerIdentity,
      device: deps.device,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
