// Slipway GBDT vs scikit-learn's HistGradientBoostingClassifier on Elec2 and Adult, same rows, matched settings
// (early stopping off). Trains ours `--repeat` times per dataset (median and minimum time), checks the ONNX export against
// predictProba on the test split with onnxruntime, then runs bench/sklearn_gbdt.py with OMP_NUM_THREADS=1 and with
// OpenMP's default thread count, and prints a markdown table. Run:
//   npx tsx bench/gbdt.ts [--repeat 5] [--no-sklearn]
// The machine is shared, so times are given as median and minimum of the repeats (the minimum is the steadier one).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { feedsFor } from '../platform/onnx-scoring.js';
import type { Frame } from '../ml/frame.js';
import { gbdtTrainer } from '../ml/gbdt/index.js';
import type { FittedModel } from '../ml/trainer.js';
import { benchDir, loadBenchDataset } from './datasets.js';

const args = process.argv.slice(2);
const repeat = args.includes('--repeat') ? Number(args[args.indexOf('--repeat') + 1]) : 5;
const withSklearn = !args.includes('--no-sklearn');
const shared = {
  learningRate: 0.1,
  maxIter: 100,
  maxLeafNodes: 31,
  maxBins: 255,
  l2Regularization: 0,
  minSamplesLeaf: 20,
};

/** Rank-based ROC AUC (ties get the average rank). */
function auc(scores: ArrayLike<number>, labels: Uint8Array): number {
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) j++;
    const rank = (i + j + 1) / 2;
    for (let k = i; k < j; k++)
      if (labels[order[k]!] === 1) {
        positives++;
        rankSum += rank;
      }
    i = j;
  }
  const negatives = labels.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

async function onnxProbabilities(bytes: Uint8Array, frame: Frame): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run(feedsFor(session, frame));
  return out.probabilities!.data as Float32Array;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const maxRssMib = (): number => process.resourceUsage().maxRSS / 1024;

interface Ours {
  dataset: string;
  auc: number;
  onnxAuc: number;
  onnxMaxDiff: number;
  fitWall: number;
  fitCpu: number;
  fitWallMin: number;
  fitCpuMin: number;
  rssLoaded: number;
  rss: number;
}

const ours: Ours[] = [];
for (const name of ['elec2', 'adult'] as const) {
  const ds = loadBenchDataset(name);
  const rssLoaded = maxRssMib();
  const params = gbdtTrainer.parseParams({ ...shared, earlyStopping: false });
  const walls: number[] = [];
  const cpus: number[] = [];
  let model: FittedModel | undefined;
  for (let r = 0; r < repeat; r++) {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    model = gbdtTrainer.fit(ds.train, { params, seed: 1 });
    const used = process.cpuUsage(cpu);
    walls.push((performance.now() - wall) / 1000);
    cpus.push((used.user + used.system) / 1e6);
  }
  const rss = maxRssMib();
  const p = model!.predictProba(ds.test.features);
  const probabilities = await onnxProbabilities(model!.toOnnx(), ds.test.features);
  const p1 = Float64Array.from({ length: p.length }, (_, i) => probabilities[2 * i + 1]!);
  let onnxMaxDiff = 0;
  for (let i = 0; i < p.length; i++) onnxMaxDiff = Math.max(onnxMaxDiff, Math.abs(p[i]! - p1[i]!));
  ours.push({
    dataset: name,
    auc: auc(p, ds.test.labels),
    onnxAuc: auc(p1, ds.test.labels),
    onnxMaxDiff,
    fitWall: median(walls),
    fitCpu: median(cpus),
    fitWallMin: Math.min(...walls),
    fitCpuMin: Math.min(...cpus),
    rssLoaded,
    rss,
  });
  process.stdout.write(`${JSON.stringify(ours.at(-1))}\n`);
}

interface SklearnResult {
  dataset: string;
  auc: number;
  fit_wall_s: number;
  fit_cpu_s: number;
  fit_wall_min_s: number;
  fit_cpu_min_s: number;
  max_rss_loaded_mib: number;
  max_rss_mib: number;
}

function sklearn(threads: string | null): { version: string; results: SklearnResult[] } {
  const env = { ...process.env };
  if (threads) env.OMP_NUM_THREADS = threads;
  else delete env.OMP_NUM_THREADS;
  const out = execFileSync('python3', [join(benchDir, 'sklearn_gbdt.py'), '--repeat', String(repeat)], {
    env,
    encoding: 'utf8',
  });
  const parsed = JSON.parse(out) as { sklearn: string; results: SklearnResult[] };
  process.stdout.write(`${out.trim()}\n`);
  return { version: parsed.sklearn, results: parsed.results };
}

if (withSklearn) {
  const one = sklearn('1');
  const all = sklearn(null);
  const f = (x: number, d = 2): string => x.toFixed(d);
  const time = (wall: number, cpu: number, wallMin: number, cpuMin: number): string =>
    `${f(wall)} / ${f(cpu)} (min ${f(wallMin)} / ${f(cpuMin)})`;
  const lines = [
    `| dataset | AUC ours | AUC sklearn ${one.version} | fit s wall / cpu, ours | sklearn, OMP_NUM_THREADS=1 | sklearn, default threads | peak RSS MiB ours (after load) | peak RSS MiB sklearn 1 thread (after load) |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const o of ours) {
    const s1 = one.results.find((r) => r.dataset === o.dataset)!;
    const sa = all.results.find((r) => r.dataset === o.dataset)!;
    lines.push(
      `| ${o.dataset} | ${f(o.auc, 5)} | ${f(s1.auc, 5)} | ${time(o.fitWall, o.fitCpu, o.fitWallMin, o.fitCpuMin)} | ${time(s1.fit_wall_s, s1.fit_cpu_s, s1.fit_wall_min_s, s1.fit_cpu_min_s)} | ${time(sa.fit_wall_s, sa.fit_cpu_s, sa.fit_wall_min_s, sa.fit_cpu_min_s)} | ${f(o.rss, 0)} (${f(o.rssLoaded, 0)}) | ${f(s1.max_rss_mib, 0)} (${f(s1.max_rss_loaded_mib, 0)}) |`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
}
for (const o of ours) {
  process.stdout.write(
    `${o.dataset}: ONNX (onnxruntime-node) test AUC ${o.onnxAuc.toFixed(5)}, max |predictProba - onnx| = ${o.onnxMaxDiff.toExponential(2)}\n`,
  );
}
