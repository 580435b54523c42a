// Loads the shared datasets into frames with the splits every benchmark uses, and writes the split indices so the
// Python peers (scikit-learn) train and test on exactly the same rows.
import { createReadStream, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { Column, Frame } from '../ml/frame.js';
import { takeRows } from '../ml/frame.js';
import { splitTarget } from '../ml/ingest/labels.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import { mulberry32 } from '../ml/metrics/bootstrap.js';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const datasetsDir = resolve(benchDir, '..', 'datasets');
export const cacheDir = join(benchDir, '.cache');

/** Where bench/scale-data.ts writes the CSV of `rows` rows. */
export const scaleCsvPath = (rows: number): string => join(cacheDir, `scale-${rows}.csv`);

export type BenchName = 'elec2' | 'adult' | 'scale';

export interface BenchDataset {
  readonly name: BenchName;
  readonly train: { features: Frame; labels: Uint8Array };
  readonly test: { features: Frame; labels: Uint8Array };
  readonly trainRows: Int32Array;
  readonly testRows: Int32Array;
  /** Path of a JSON file {train: number[], test: number[]} with 0-based data-row indices. */
  readonly splitFile: string;
  readonly csvPath: string;
  readonly target: string;
}

function loadCsv(
  path: string,
  target: string,
  positive: string,
  drop: string[],
): { frame: Frame; labels: Uint8Array } {
  const records: string[][] = parse(readFileSync(path), { skip_empty_lines: true });
  const header = records[0]!;
  const rows = records.slice(1);
  const targetIndex = header.indexOf(target);
  const labels = new Uint8Array(rows.length);
  rows.forEach((r, i) => (labels[i] = r[targetIndex] === positive ? 1 : 0));
  const columns: Column[] = [];
  header.forEach((name, j) => {
    if (j === targetIndex || drop.includes(name)) return;
    const numeric = rows.every((r) => r[j] === '' || Number.isFinite(Number(r[j])));
    if (numeric) {
      columns.push({
        name,
        kind: 'numeric',
        values: Float64Array.from(rows, (r) => (r[j] === '' ? NaN : Number(r[j]))),
      });
    } else {
      const categories = [...new Set(rows.map((r) => r[j]!))].filter((v) => v !== '').sort();
      const index = new Map(categories.map((c, k) => [c, k]));
      columns.push({
        name,
        kind: 'categorical',
        categories,
        codes: Int32Array.from(rows, (r) => index.get(r[j]!) ?? -1),
      });
    }
  });
  return { frame: { rowCount: rows.length, columns }, labels };
}

function pick(labels: Uint8Array, rows: Int32Array): Uint8Array {
  return Uint8Array.from(rows, (r) => labels[r]!);
}

/**
 * Elec2: time-ordered split, first 70 % train, last 30 % test (row order is time order; `period` is a feature).
 * Adult: stratified 70/30 split with seed 42.
 */
export function loadBenchDataset(name: 'elec2' | 'adult'): BenchDataset {
  return loadSmall(name);
}

/**
 * The 1M x 50 scale set (bench/scale-data.ts; write it first), read by our ingest: the first 800,000 rows train,
 * the last 200,000 test (rows are independent draws, so order carries nothing).
 */
export async function loadScaleDataset(): Promise<BenchDataset> {
  const csvPath = scaleCsvPath(1_000_000);
  const { frame } = await readDataset(() => createReadStream(csvPath));
  const { features, labels } = splitTarget(frame, 'label', '1');
  const n = frame.rowCount;
  const cut = Math.floor(n * 0.8);
  const trainRows = Int32Array.from({ length: cut }, (_, i) => i);
  const testRows = Int32Array.from({ length: n - cut }, (_, i) => cut + i);
  mkdirSync(cacheDir, { recursive: true });
  const splitFile = join(cacheDir, 'scale-split.json');
  writeFileSync(splitFile, JSON.stringify({ train: [...trainRows], test: [...testRows] }));
  return {
    name: 'scale',
    csvPath,
    target: 'label',
    trainRows,
    testRows,
    splitFile,
    train: { features: takeRows(features, trainRows), labels: pick(labels, trainRows) },
    test: { features: takeRows(features, testRows), labels: pick(labels, testRows) },
  };
}

function loadSmall(name: 'elec2' | 'adult'): BenchDataset {
  const csvPath = join(datasetsDir, name === 'elec2' ? 'electricity.csv' : 'adult.csv');
  const target = name === 'elec2' ? 'class' : 'income';
  const { frame, labels } = loadCsv(csvPath, target, name === 'elec2' ? '1' : '>50K', []);
  const n = frame.rowCount;
  let trainRows: Int32Array;
  let testRows: Int32Array;
  if (name === 'elec2') {
    const cut = Math.floor(n * 0.7);
    trainRows = Int32Array.from({ length: cut }, (_, i) => i);
    testRows = Int32Array.from({ length: n - cut }, (_, i) => cut + i);
  } else {
    const rand = mulberry32(42);
    const train: number[] = [];
    const test: number[] = [];
    for (const cls of [0, 1]) {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (labels[i] === cls) idx.push(i);
      for (let i = idx.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
      const cut = Math.round(idx.length * 0.7);
      train.push(...idx.slice(0, cut));
      test.push(...idx.slice(cut));
    }
    trainRows = Int32Array.from(train.sort((a, b) => a - b));
    testRows = Int32Array.from(test.sort((a, b) => a - b));
  }
  mkdirSync(cacheDir, { recursive: true });
  const splitFile = join(cacheDir, `${name}-split.json`);
  writeFileSync(splitFile, JSON.stringify({ train: [...trainRows], test: [...testRows] }));
  return {
    name,
    csvPath,
    target,
    trainRows,
    testRows,
    splitFile,
    train: { features: takeRows(frame, trainRows), labels: pick(labels, trainRows) },
    test: { features: takeRows(frame, testRows), labels: pick(labels, testRows) },
  };
}
