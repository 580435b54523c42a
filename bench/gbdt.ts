// Slipway GBDT vs scikit-learn's HistGradientBoostingClassifier and LightGBM on Elec2, Adult and the 1M x 50 scale
// set, same rows, matched settings (early stopping off), the same thread count for all three. Trains ours `--repeat`
// times per dataset with `--threads` threads and with 1 (median and minimum time), checks the ONNX export against
// predictProba with onnxruntime, then runs bench/sklearn_gbdt.py for scikit-learn and for LightGBM with
// OMP_NUM_THREADS=<threads>, and prints a markdown table. Run:
//   npx tsx bench/gbdt.ts [--repeat 5] [--threads 2] [--datasets elec2,adult,scale] [--no-peers] [--passive-peers]
// (scale needs `npx tsx bench/scale-data.ts` first.) The machine is shared, so times are given as median and minimum
// of the repeats (the minimum is the steadier one), with the load average.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { feedsFor } from '../platform/onnx-scoring.js';
import type { Frame } from '../ml/frame.js';
import { gbdtTrainer } from '../ml/gbdt/index.js';
import type { FittedModel } from '../ml/trainer.js';
import { loadavg } from 'node:os';
import { benchDir, loadBenchDataset, loadScaleDataset, type BenchDataset } from './datasets.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string =>
  args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback;
const repeat = Number(option('repeat', '5'));
const threads = Number(option('threads', '2'));
const datasets = option('datasets', 'elec2,adult,scale').split(',');
const withPeers = !args.includes('--no-peers');
const load = [loadavg()[0]!];
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
  oneThreadWall: number;
  oneThreadWallMin: number;
  sameBytes: boolean;
  rssLoaded: number;
  rss: number;
}

/** Fits `repeat` times with `count` threads (after one untimed fit: the JIT and the team start once). */
function fits(ds: BenchDataset, count: number): { walls: number[]; cpus: number[]; model: FittedModel } {
  const params = gbdtTrainer.parseParams({ ...shared, earlyStopping: false, threads: count });
  // The 1M-row set is fitted once per thread count (minutes each); its fit dwarfs the warm-up a small set needs.
  const large = ds.train.labels.length > 200_000;
  let model = large ? undefined : gbdtTrainer.fit(ds.train, { params, seed: 1 });
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < (large ? 1 : repeat); r++) {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    model = gbdtTrainer.fit(ds.train, { params, seed: 1 });
    const used = process.cpuUsage(cpu);
    walls.push((performance.now() - wall) / 1000);
    cpus.push((used.user + used.system) / 1e6);
  }
  return { walls, cpus, model: model! };
}

const ours: Ours[] = [];
for (const name of datasets) {
  const ds = name === 'scale' ? await loadScaleDataset() : loadBenchDataset(name as 'elec2' | 'adult');
  const rssLoaded = maxRssMib();
  const { walls, cpus, model } = fits(ds, threads);
  const single = fits(ds, 1);
  const sameBytes = Buffer.from(single.model.toOnnx()).equals(Buffer.from(model.toOnnx()));
  const rss = maxRssMib();
  const p = model.predictProba(ds.test.features);
  const probabilities = await onnxProbabilities(model.toOnnx(), ds.test.features);
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
    oneThreadWall: median(single.walls),
    oneThreadWallMin: Math.min(...single.walls),
    sameBytes,
    rssLoaded,
    rss,
  });
  process.stdout.write(`${JSON.stringify(ours.at(-1))}\n`);
}

interface PeerResult {
  dataset: string;
  auc: number;
  fit_wall_s: number;
  fit_cpu_s: number;
  fit_wall_min_s: number;
  fit_cpu_min_s: number;
  max_rss_loaded_mib: number;
  max_rss_mib: number;
}

function peer(library: 'sklearn' | 'lightgbm'): { version: string; results: PeerResult[] } {
  // --passive-peers: OpenMP threads sleep instead of spinning while they wait (fairer on a machine shared with
  // other work, where spinning threads fight for the cores; on an idle machine it costs them a little).
  const env = {
    ...process.env,
    OMP_NUM_THREADS: String(threads),
    ...(args.includes('--passive-peers') ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}),
  };
  const out = execFileSync(
    'python3',
    [
      join(benchDir, 'sklearn_gbdt.py'),
      '--repeat',
      String(repeat),
      '--library',
      library,
      '--datasets',
      datasets.join(','),
    ],
    { env, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  const parsed = JSON.parse(out) as { version: string; results: PeerResult[] };
  process.stdout.write(`${out.trim()}\n`);
  return { version: parsed.version, results: parsed.results };
}

load.push(loadavg()[0]!);
if (withPeers) {
  const sk = peer('sklearn');
  load.push(loadavg()[0]!);
  const lgb = peer('lightgbm');
  load.push(loadavg()[0]!);
  const f = (x: number, d = 2): string => x.toFixed(d);
  const time = (wall: number, wallMin: number): string => `${f(wall)} (min ${f(wallMin)})`;
  const lines = [
    `| dataset | AUC ours | AUC scikit-learn ${sk.version} | AUC LightGBM ${lgb.version} | fit s ours, ${threads} threads | ours, 1 thread | scikit-learn, ${threads} threads | LightGBM, ${threads} threads | ours / scikit-learn | peak RSS MiB ours (after load) | scikit-learn (after load) |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of ours) {
    const s1 = sk.results.find((r) => r.dataset === o.dataset)!;
    const l1 = lgb.results.find((r) => r.dataset === o.dataset)!;
    lines.push(
      `| ${o.dataset} | ${f(o.auc, 5)} | ${f(s1.auc, 5)} | ${f(l1.auc, 5)} | ${time(o.fitWall, o.fitWallMin)} | ${time(o.oneThreadWall, o.oneThreadWallMin)} | ${time(s1.fit_wall_s, s1.fit_wall_min_s)} | ${time(l1.fit_wall_s, l1.fit_wall_min_s)} | ${f(o.fitWall / s1.fit_wall_s)}x (min ${f(o.fitWallMin / s1.fit_wall_min_s)}x) | ${f(o.rss, 0)} (${f(o.rssLoaded, 0)}) | ${f(s1.max_rss_mib, 0)} (${f(s1.max_rss_loaded_mib, 0)}) |`,
    );
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
}
for (const o of ours) {
  process.stdout.write(
    `${o.dataset}: ONNX (onnxruntime-node) test AUC ${o.onnxAuc.toFixed(5)}, max |predictProba - onnx| = ${o.onnxMaxDiff.toExponential(2)}; ONNX bytes with ${threads} threads and with 1 thread ${o.sameBytes ? 'identical' : 'DIFFERENT'}\n`,
  );
}
process.stdout.write(
  `load average (1 min) at start / after ours / after scikit-learn / after LightGBM: ${load.map((l) => l.toFixed(2)).join(' / ')}\n`,
);
