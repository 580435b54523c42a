// Scale check for the GBDT trainer: a synthetic 1,000,000-row x 50-feature binary problem (45 numeric features, a
// few with missing values, and 5 categorical ones), 100 trees of 31 leaves. Prints the time per phase and the
// peak resident memory seen by the process. Run:
//   /usr/bin/time -v npx tsx bench/gbdt-scale.ts [rows]
import type { Column, Frame } from '../ml/frame.js';
import { gbdtTrainer } from '../ml/gbdt/index.js';
import { createRng } from '../ml/rng.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const numericCount = 45;
const categoricalCount = 5;

function gaussian(rng: ReturnType<typeof createRng>): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

function synthetic(n: number, seed: number): { features: Frame; labels: Uint8Array } {
  const rng = createRng(seed);
  const columns: Column[] = [];
  for (let f = 0; f < numericCount; f++) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = f % 10 === 9 && rng.nextFloat() < 0.05 ? NaN : gaussian(rng);
    columns.push({ name: `x${f}`, kind: 'numeric', values });
  }
  for (let f = 0; f < categoricalCount; f++) {
    const k = 4 + 8 * f;
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = rng.nextFloat() < 0.02 ? -1 : rng.nextInt(k);
    columns.push({
      name: `c${f}`,
      kind: 'categorical',
      codes,
      categories: Array.from({ length: k }, (_, c) => `v${c}`),
    });
  }
  const labels = new Uint8Array(n);
  const col = (j: number): Float64Array => (columns[j] as { values: Float64Array }).values;
  const cat = (j: number): Int32Array => (columns[numericCount + j] as { codes: Int32Array }).codes;
  for (let i = 0; i < n; i++) {
    const x9 = col(9)[i]!;
    const z =
      1.2 * col(0)[i]! -
      0.8 * col(1)[i]! * col(2)[i]! +
      Math.sin(2 * col(3)[i]!) +
      (Number.isNaN(x9) ? 0.7 : 0.4 * x9) +
      (cat(0)[i]! % 2 === 0 ? 0.5 : -0.5) +
      0.1 * (cat(2)[i]! % 5) +
      gaussian(rng);
    labels[i] = z > 0 ? 1 : 0;
  }
  return { features: { rowCount: n, columns }, labels };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
let peakRss = process.memoryUsage().rss;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

const t0 = performance.now();
const data = synthetic(rows, 7);
sample();
const t1 = performance.now();
process.stdout.write(
  `data: ${rows} rows x ${numericCount + categoricalCount} features in ${((t1 - t0) / 1000).toFixed(1)} s, rss ${mib(peakRss)}\n`,
);

const params = gbdtTrainer.parseParams({
  maxIter: Number(process.env.GBDT_TREES ?? 100),
  maxLeafNodes: 31,
  learningRate: 0.1,
  earlyStopping: false,
});
let firstTree = 0;
const model = gbdtTrainer.fit(data, {
  params,
  seed: 1,
  onProgress: (p) => {
    sample();
    if (p.step === 1) firstTree = performance.now();
    if (p.step % 10 === 0 || p.step === 1) {
      const s = ((performance.now() - t1) / 1000).toFixed(1);
      process.stdout.write(
        `tree ${p.step}/${p.totalSteps} at ${s} s, train loss ${p.trainLoss.toFixed(5)}, rss ${mib(process.memoryUsage().rss)}\n`,
      );
    }
  },
});
const t2 = performance.now();
sample();
const bytes = model.toOnnx();
const t3 = performance.now();
const facts = model.metadata();
const summary = {
  rows,
  features: numericCount + categoricalCount,
  trees: facts.treeCount,
  leaves: facts.leafCount,
  trainSeconds: +((t2 - t1) / 1000).toFixed(1),
  setupSeconds: +((firstTree - t1) / 1000).toFixed(1),
  perTreeMs: +((t2 - firstTree) / Math.max(1, Number(facts.treeCount) - 1)).toFixed(0),
  onnxBytes: bytes.length,
  onnxExportSeconds: +((t3 - t2) / 1000).toFixed(2),
  peakRssSampled: mib(peakRss),
  node: process.version,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
