// The GBDT scale check as a worker runs it: the frame travels as Arrow IPC bytes into the training thread
// (activities/train-thread.ts, started by activities/thread-runner.ts exactly as the train activity does),
// which decodes it, splits it, trains with checkpoints every 10 trees, and exports ONNX. Peak memory is the whole
// worker process's, thread included. Run:
//   /usr/bin/time -v npx tsx bench/gbdt-worker-scale.ts [rows]
// (the first run also writes the data to bench/.cache/gbdt-scale-<rows>.arrow, in a separate process).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInThread } from '../activities/thread-runner.js';
import type { TrainThreadDone, TrainThreadInput, TrainThreadProgress } from '../activities/train-thread.js';
import type { Frame } from '../ml/frame.js';
import { encodeFrameToArrow } from '../ml/ingest/arrow-codec.js';
import { createRng, permutation } from '../ml/rng.js';
import { encodeSplit } from '../ml/split.js';
import { cacheDir } from './datasets.js';
import { synthetic } from './synthetic.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
let peakRss = process.memoryUsage().rss;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const timer = setInterval(sample, 200);

// The data is made once by a separate process and read from a file, so this process holds what a worker holds:
// the downloaded Arrow bytes (the activity's store.get), not the generator's arrays.
const file = join(cacheDir, `gbdt-scale-${rows}.arrow`);
if (process.argv.includes('--prepare')) {
  const data = synthetic(rows, 7);
  const frame: Frame = {
    rowCount: rows,
    columns: [
      ...data.features.columns,
      { name: 'y', kind: 'numeric', values: Float64Array.from(data.labels) },
    ],
  };
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(file, encodeFrameToArrow(frame));
  process.exit(0);
}
if (!existsSync(file)) {
  const made = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), String(rows), '--prepare'],
    { stdio: 'inherit' },
  );
  if (made.status !== 0) throw new Error('could not prepare the data');
}
const t0 = performance.now();
const frameBytes: Uint8Array = readFileSync(file);
const order = permutation(rows, createRng(3));
const testRows = Math.round(rows * 0.2);
const splitBytes = encodeSplit({
  train: order.slice(testRows).sort(),
  test: order.slice(0, testRows).sort(),
});
sample();
process.stdout.write(
  `data: ${rows} rows, ${mib(frameBytes.byteLength)} of Arrow read in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mib(peakRss)}\n`,
);

const input: TrainThreadInput = {
  trainer: 'gbdt',
  params: {
    maxIter: Number(process.env.GBDT_TREES ?? 100),
    maxLeafNodes: 31,
    learningRate: 0.1,
    earlyStopping: false,
  },
  seed: 1,
  checkpointEvery: 10,
  frameBytes,
  splitBytes,
  target: 'y',
  positiveClass: '1',
  drop: [],
};
const t1 = performance.now();
let checkpoints = 0;
let checkpointBytes = 0;
const done = await runInThread<TrainThreadDone, TrainThreadProgress>({
  entry: new URL('../activities/train-thread.ts', import.meta.url),
  input,
  transfer: [frameBytes.buffer as ArrayBuffer],
  onProgress: (m) => {
    sample();
    if (m.checkpoint) {
      checkpoints++;
      checkpointBytes += m.checkpoint.byteLength;
    }
  },
});
clearInterval(timer);
sample();
process.stdout.write(
  [
    `training in the thread: ${((performance.now() - t1) / 1000).toFixed(1)} s`,
    `checkpoints: ${checkpoints} (${mib(checkpointBytes)} in all)`,
    `onnx: ${done.onnx.byteLength} bytes, test predictions: ${done.testPredictions.length}`,
    `peak rss (sampled, whole process): ${mib(peakRss)}`,
    '',
  ].join('\n'),
);
process.exit(0);
