// Built-in logistic regression and MLP against scikit-learn on Elec2 and Adult: test AUC and training time.
//
//   npx tsx bench/linear-mlp.ts [--datasets elec2,adult] [--trainers logistic_regression,mlp] [--no-sklearn]
//                               [--sklearn-threads 1]
//
// Ours run first, then bench/sklearn_linear_mlp.py on the same split files, one after the other so they do not
// compete for the CPU. Training time includes fitting the preprocessing, on both sides; ours is timed after an
// untimed warm-up fit on 2,000 rows. Prints a markdown table.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { feedsFor } from '../platform/onnx-scoring.js';
import { rocAuc } from '../ml/metrics/classification.js';
import type { Frame } from '../ml/frame.js';
import { takeRows } from '../ml/frame.js';
import { trainerByName } from '../ml/trainers.js';
import { benchDir, loadBenchDataset } from './datasets.js';

interface Row {
  dataset: string;
  trainer: string;
  auc: number;
  trainSeconds: number;
  cpuSeconds: number;
  iterations: number;
  width: number;
  onnxMaxDiff?: number;
}

interface SklearnResult {
  dataset: string;
  trainer: string;
  auc: number;
  train_seconds: number;
  cpu_seconds: number;
  iterations: number;
  width: number;
}

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/**
 * Rows of the comparison: trainer, our params, and the scikit-learn model the Python script fits under the same
 * key (its defaults otherwise: hidden layer (100,), batch 200, at most 200 epochs; C = 1, at most 100 iterations).
 */
const VARIANTS: ReadonlyArray<{ key: string; trainer: string; params: Record<string, unknown> }> = [
  {
    key: 'logistic_regression/newton-cholesky',
    trainer: 'logistic_regression',
    params: { C: 1, maxIter: 100, tolerance: 1e-4, solver: 'newton-cholesky' },
  },
  {
    key: 'logistic_regression/lbfgs',
    trainer: 'logistic_regression',
    params: { C: 1, maxIter: 100, tolerance: 1e-4, solver: 'lbfgs' },
  },
  {
    key: 'mlp',
    trainer: 'mlp',
    params: {
      hiddenLayerSizes: [100],
      activation: 'relu',
      alpha: 1e-4,
      batchSize: 200,
      learningRateInit: 1e-3,
      maxEpochs: 200,
      tolerance: 1e-4,
      nIterNoChange: 10,
    },
  },
];

async function onnxMaxDiff(bytes: Uint8Array, frame: Frame, ours: Float64Array): Promise<number> {
  const session = await ort.InferenceSession.create(bytes);
  const probabilities = (await session.run(feedsFor(session, frame))).probabilities!.data as Float32Array;
  await session.release();
  let max = 0;
  for (let i = 0; i < frame.rowCount; i++)
    max = Math.max(max, Math.abs(probabilities[2 * i + 1]! - ours[i]!));
  return max;
}

async function runOurs(datasets: string[], trainers: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  for (const name of datasets) {
    const data = loadBenchDataset(name as 'elec2' | 'adult');
    for (const variant of VARIANTS.filter((v) => trainers.includes(v.trainer))) {
      const trainer = trainerByName(variant.trainer);
      const params = trainer.parseParams(variant.params);
      // An untimed fit on a slice first, so the timed fit measures steady-state code rather than the JIT's
      // first compilation (a worker process pays that once, not per model).
      const slice = Int32Array.from(
        { length: 2000 },
        (_, i) => i * Math.floor(data.train.labels.length / 2000),
      );
      trainer.fit(
        {
          features: takeRows(data.train.features, slice),
          labels: Uint8Array.from(slice, (r) => data.train.labels[r]!),
        },
        {
          params: trainer.parseParams({
            ...variant.params,
            ...(variant.trainer === 'mlp' ? { maxEpochs: 3 } : {}),
          }),
          seed: 1,
        },
      );
      const cpu = process.cpuUsage();
      const start = performance.now();
      const model = trainer.fit(data.train, { params, seed: 1 });
      const trainSeconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const p = model.predictProba(data.test.features);
      const meta = model.metadata() as { iterations?: number; epochs?: number; featureCount: number };
      rows.push({
        dataset: name,
        trainer: variant.key,
        auc: rocAuc(data.test.labels, p) ?? NaN,
        trainSeconds,
        cpuSeconds: (used.user + used.system) / 1e6,
        iterations: meta.iterations ?? meta.epochs ?? 0,
        width: meta.featureCount,
        onnxMaxDiff: await onnxMaxDiff(model.toOnnx(), data.test.features, p),
      });
      process.stderr.write(`ours ${name} ${variant.key}: ${trainSeconds.toFixed(2)} s\n`);
    }
  }
  return rows;
}

function runSklearn(
  datasets: string[],
  trainers: string[],
): { versions: Record<string, string>; results: SklearnResult[] } {
  const script = join(benchDir, 'sklearn_linear_mlp.py');
  const args = [script, '--datasets', datasets.join(','), '--trainers', trainers.join(','), '--seed', '1'];
  // One BLAS thread by default: our trainers use one core, and on a shared two-core machine OpenBLAS's second
  // thread made scikit-learn's timings swing by 4x from run to run. `--sklearn-threads 2` measures its default.
  const threads = argument('sklearn-threads', '1');
  const env = {
    ...process.env,
    OPENBLAS_NUM_THREADS: threads,
    OMP_NUM_THREADS: threads,
    MKL_NUM_THREADS: threads,
  };
  const out = execFileSync('python3', args, {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 1 << 24,
  });
  return JSON.parse(out) as { versions: Record<string, string>; results: SklearnResult[] };
}

const f = (x: number | undefined, digits: number): string =>
  x === undefined || Number.isNaN(x) ? 'n/a' : x.toFixed(digits);

async function main(): Promise<void> {
  const datasets = argument('datasets', 'elec2,adult').split(',');
  const trainers = argument('trainers', 'logistic_regression,mlp').split(',');
  const ours = await runOurs(datasets, trainers);
  const sk = process.argv.includes('--no-sklearn') ? undefined : runSklearn(datasets, trainers);
  const lines = [
    '| dataset | trainer | AUC ours | AUC sklearn | AUC diff | train s ours | train s sklearn | time ratio | CPU s ours | CPU s sklearn | iters ours / sklearn | width ours / sklearn | ONNX vs JS max diff |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of ours) {
    const s = sk?.results.find((x) => x.dataset === r.dataset && x.trainer === r.trainer);
    lines.push(
      `| ${r.dataset} | ${r.trainer} | ${f(r.auc, 4)} | ${f(s?.auc, 4)} | ${s ? f(r.auc - s.auc, 4) : 'n/a'} | ` +
        `${f(r.trainSeconds, 2)} | ${f(s?.train_seconds, 2)} | ${s ? f(r.trainSeconds / s.train_seconds, 2) + 'x' : 'n/a'} | ` +
        `${f(r.cpuSeconds, 2)} | ${f(s?.cpu_seconds, 2)} | ${r.iterations} / ${s?.iterations ?? 'n/a'} | ` +
        `${r.width} / ${s?.width ?? 'n/a'} | ${r.onnxMaxDiff?.toExponential(1) ?? 'n/a'} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (sk)
    process.stdout.write(
      `\nsklearn side: ${JSON.stringify(sk.versions)}, BLAS threads ${argument('sklearn-threads', '1')}; node ${process.version}, onnxruntime-node ${ort.env.versions.common}\n`,
    );
}

await main();
