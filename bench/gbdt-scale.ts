// Scale check for the GBDT trainer: a synthetic 1,000,000-row x 50-feature binary problem (45 numeric features, a
// few with missing values, and 5 categorical ones), 100 trees of 31 leaves. Prints the time per phase and the
// peak resident memory seen by the process. Run:
//   /usr/bin/time -v npx tsx bench/gbdt-scale.ts [rows]
import { gbdtTrainer } from '../ml/gbdt/index.js';
import { numericCount, categoricalCount, synthetic } from './synthetic.js';

const rows = Number(process.argv[2] ?? 1_000_000);
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
