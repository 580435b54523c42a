// Writes the scale dataset as CSV: 1,000,000 rows (by default) x 50 features and a 0/1 label, from bench/synthetic.ts
// (45 numeric features, 5 of them 5 % missing; 5 categorical ones with 4 to 36 categories, 2 % missing; a known
// nonlinear signal). Numbers are written with 6 decimals, categories as text, missing values as empty cells.
//
//   npx tsx bench/scale-data.ts [--rows 1000000] [--out bench/.cache/scale-1000000.csv]
// bench/scale_parquet.py turns the CSV into Parquet for the Parquet benchmark.
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Column } from '../ml/frame.js';
import { scaleCsvPath } from './datasets.js';
import { synthetic } from './synthetic.js';

export { scaleCsvPath };

function cell(column: Column, i: number): string {
  if (column.kind === 'numeric') {
    const x = column.values[i]!;
    return Number.isNaN(x) ? '' : x.toFixed(6);
  }
  const c = column.codes[i]!;
  return c < 0 ? '' : column.categories[c]!;
}

/** Writes the CSV (header: x0..x44, c0..c4, label) and resolves when it is on disk. */
export async function writeScaleCsv(rows: number, path: string, seed = 7): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const { features, labels } = synthetic(rows, seed);
  const out = createWriteStream(path);
  const columns = features.columns;
  out.write(`${[...columns.map((c) => c.name), 'label'].join(',')}\n`);
  const batch = 2000;
  for (let start = 0; start < rows; start += batch) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      lines.push(`${columns.map((c) => cell(c, i)).join(',')},${labels[i]}`);
    }
    if (!out.write(`${lines.join('\n')}\n`)) await new Promise((r) => out.once('drain', () => r(undefined)));
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const rows = args.includes('--rows') ? Number(args[args.indexOf('--rows') + 1]) : 1_000_000;
  const out = args.includes('--out') ? args[args.indexOf('--out') + 1]! : scaleCsvPath(rows);
  const started = performance.now();
  await writeScaleCsv(rows, out);
  console.log(`wrote ${out} (${rows} rows) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
