// Small frames for the drift tests, and the repository's datasets read through ml/ingest.
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CategoricalColumn, Frame, NumericColumn } from '../../ml/frame.js';
import { readDataset } from '../../ml/ingest/read-frame.js';
import { createRng, type Rng } from '../../ml/rng.js';

export function numeric(name: string, values: ArrayLike<number>): NumericColumn {
  return { name, kind: 'numeric', values: Float64Array.from(values) };
}

/** A categorical column from labels; null is missing. */
export function categorical(name: string, labels: readonly (string | null)[]): CategoricalColumn {
  const categories = [...new Set(labels.filter((l): l is string => l !== null))].sort();
  const index = new Map(categories.map((c, i) => [c, i]));
  return {
    name,
    kind: 'categorical',
    categories,
    codes: Int32Array.from(labels, (l) => (l === null ? -1 : index.get(l)!)),
  };
}

export function frameOf(...columns: (NumericColumn | CategoricalColumn)[]): Frame {
  return {
    rowCount: columns[0]?.kind === 'numeric' ? columns[0].values.length : (columns[0]?.codes.length ?? 0),
    columns,
  };
}

export function normals(rng: Rng, n: number, mean = 0, sd = 1): Float64Array {
  return Float64Array.from({ length: n }, () => {
    const u = (rng.nextUint32() + 0.5) / 4294967296;
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  });
}

export { createRng };

export function range(start: number, end: number): Int32Array {
  return Int32Array.from({ length: end - start }, (_, i) => start + i);
}

/** A dataset of datasets/ as a frame, read by ml/ingest (schema inferred). */
export async function loadDataset(file: 'electricity.csv' | 'adult.csv'): Promise<Frame> {
  const path = fileURLToPath(new URL(`../../datasets/${file}`, import.meta.url));
  return (await readDataset(() => createReadStream(path))).frame;
}
