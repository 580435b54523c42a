// The synthetic scale dataset shared by the GBDT scale benchmarks: 45 numeric features (some with missing values)
// and 5 categorical ones, with a nonlinear label.
import type { Column, Frame } from '../ml/frame.js';
import { createRng } from '../ml/rng.js';

export const numericCount = 45;
export const categoricalCount = 5;

function gaussian(rng: ReturnType<typeof createRng>): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

export function synthetic(n: number, seed: number): { features: Frame; labels: Uint8Array } {
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
