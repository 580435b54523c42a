// Throughput and memory of the data half of the pipeline: CSV ingest (two streaming passes), validation and the
// reference profile, metrics and the paired bootstrap. bench/ml-data-pipeline-peer.py times the Python peers
// (pandas.read_csv, scikit-learn metrics, a resampling loop over roc_auc_score) on the same inputs.
//
//   npx tsx bench/ml-data-pipeline.ts speed            # ingest, validate, metrics, bootstrap
//   npx tsx bench/ml-data-pipeline.ts memory infer 50  # peak RSS while inferring the schema of a generated 50 MB CSV
//   npx tsx bench/ml-data-pipeline.ts memory frame 50  # the same for building its frame
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { inferSchema } from '../ml/ingest/infer-schema.js';
import { readDataset, readFrame } from '../ml/ingest/read-frame.js';
import { pairedBootstrap } from '../ml/metrics/bootstrap.js';
import { binaryMetrics } from '../ml/metrics/classification.js';
import { validateFrame } from '../ml/validation/checks.js';
import { buildReferenceProfile } from '../ml/validation/profile.js';
import { datasetsDir } from './datasets.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(runs: number, body: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await body();
    times.push(performance.now() - t);
  }
  return median(times);
}

/** Deterministic scores for n rows: labels ~ 30 % positive, two models of different quality. */
function scored(n: number): { labels: Uint8Array; a: Float64Array; b: Float64Array } {
  let seed = 12345;
  const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const labels = Uint8Array.from({ length: n }, () => (random() < 0.3 ? 1 : 0));
  const a = Float64Array.from(labels, (y) => 1 / (1 + Math.exp(-(2 * y - 1 + (random() - 0.5) * 4))));
  const b = Float64Array.from(labels, (y) => 1 / (1 + Math.exp(-(1.5 * y - 0.75 + (random() - 0.5) * 4))));
  return { labels, a, b };
}

async function speed(): Promise<void> {
  for (const [file, target, positive] of [
    ['adult.csv', 'income', '>50K'],
    ['electricity.csv', 'class', '1'],
  ] as const) {
    const path = join(datasetsDir, file);
    const ingest = await timed(3, () => readDataset(() => createReadStream(path)));
    const { frame, stats } = await readDataset(() => createReadStream(path));
    const validate = await timed(3, () =>
      validateFrame(frame, { target, positiveLabel: positive, ingest: stats }),
    );
    const profile = await timed(3, () => buildReferenceProfile(frame, { target }));
    const mb = stats.bytes / 1e6;
    console.log(
      `${file}: ${frame.rowCount} rows, ${mb.toFixed(2)} MB; ingest (infer + build) ${ingest.toFixed(0)} ms ` +
        `(${(mb / (ingest / 1000)).toFixed(1)} MB/s); validate ${validate.toFixed(0)} ms; profile ${profile.toFixed(0)} ms`,
    );
  }
  const big = scored(1_000_000);
  const metrics = await timed(3, () => binaryMetrics(big.labels, big.a));
  console.log(`binaryMetrics (AUC, log loss, Brier, confusion) on 1,000,000 rows: ${metrics.toFixed(0)} ms`);
  const test = scored(13_594);
  const boot = await timed(1, () =>
    pairedBootstrap(test.labels, test.a, test.b, { iterations: 1000, metrics: ['auc', 'logLoss', 'brier'] }),
  );
  console.log(`pairedBootstrap, 13,594 rows, 1000 resamples, AUC + log loss + Brier: ${boot.toFixed(0)} ms`);
  const bootAuc = await timed(1, () =>
    pairedBootstrap(test.labels, test.a, test.b, { iterations: 1000, metrics: ['auc'] }),
  );
  console.log(`pairedBootstrap, 13,594 rows, 1000 resamples, AUC only: ${bootAuc.toFixed(0)} ms`);
}

/** A CSV of about `megabytes` MB, generated chunk by chunk so it never exists whole, not even on disk. */
function* generatedCsv(megabytes: number): Generator<Buffer> {
  yield Buffer.from('id,price,demand,region,flag,label\n');
  const regions = ['NSW', 'VIC', 'QLD', 'SA', 'TAS'];
  let bytes = 0;
  let row = 0;
  while (bytes < megabytes * 1e6) {
    const lines: string[] = [];
    for (let k = 0; k < 1000; k++, row++) {
      lines.push(
        `${row},${((row * 7919) % 10007) / 97},${(row % 977) / 3},${regions[row % 5]},${row % 3 === 0},${row % 2}`,
      );
    }
    const chunk = Buffer.from(lines.join('\n') + '\n');
    bytes += chunk.length;
    yield chunk;
  }
}

async function memory(what: string, mb: number): Promise<void> {
  const before = process.resourceUsage().maxRSS / 1024;
  let rows = 0;
  if (what === 'infer') {
    rows = (await inferSchema(Readable.from(generatedCsv(mb)))).rowCount;
  } else {
    const schema = (await inferSchema(Readable.from(generatedCsv(mb)))).schema;
    const result = await readFrame(Readable.from(generatedCsv(mb)), schema);
    rows = result.frame.rowCount;
  }
  const after = process.resourceUsage().maxRSS / 1024;
  console.log(
    `${what}: ${mb} MB generated CSV, ${rows} rows; peak RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after`,
  );
}

const [mode, what] = process.argv.slice(2);
if (mode === 'memory') await memory(what ?? 'infer', Number(process.argv[4] ?? 50));
else await speed();
