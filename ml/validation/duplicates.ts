import type { Column, Frame } from '../frame.js';

// Hashing finds candidate duplicates in O(n log n) without holding a string key per row; candidates are then
// compared value by value, so a hash collision can never report a false duplicate.

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);

function mix(h: number, x: number): number {
  // FNV-1a-style step on 32-bit words, then a final avalanche in `finish`.
  return Math.imul(h ^ x, 0x01000193) >>> 0;
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

function mixNumber(h: number, v: number): number {
  if (Number.isNaN(v)) return mix(h, 0x7ff80000);
  bits[0] = v === 0 ? 0 : v; // -0 and 0 are the same value
  return mix(mix(h, words[0]!), words[1]!);
}

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return finish(h);
}

function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

function cellsEqual(column: Column, i: number, j: number): boolean {
  return column.kind === 'numeric'
    ? sameNumber(column.values[i]!, column.values[j]!)
    : column.codes[i] === column.codes[j];
}

/** Indices 0..n-1 sorted by `keys`, so equal keys are adjacent. */
function orderBy(keys: Float64Array): Uint32Array {
  const order = new Uint32Array(keys.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => keys[a]! - keys[b]!);
}

/**
 * Rows that repeat an earlier row in every column (missing equals missing): their count and the first few
 * (1-based) as [row, earlier row] pairs.
 */
export function duplicateRows(frame: Frame): { count: number; examples: [number, number][] } {
  const n = frame.rowCount;
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = 0x811c9dc5;
    let b = 0x01000193;
    for (const column of frame.columns) {
      if (column.kind === 'numeric') {
        a = mixNumber(a, column.values[i]!);
        b = mixNumber(b ^ 0x9e3779b9, column.values[i]!);
      } else {
        a = mix(a, column.codes[i]! + 2);
        b = mix(b ^ 0x9e3779b9, column.codes[i]! + 2);
      }
    }
    // 53 bits of two independent 32-bit hashes fit a double exactly.
    keys[i] = finish(a) * 0x200000 + (finish(b) & 0x1fffff);
  }
  const order = orderBy(keys);
  let count = 0;
  const examples: [number, number][] = [];
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && keys[order[end]!] === keys[order[start]!]) end++;
    // Within a run of equal keys, each row is a duplicate if it equals a row earlier in the file.
    const run = [...order.subarray(start, end)].sort((x, y) => x - y);
    const firsts: number[] = [];
    for (const row of run) {
      const same = firsts.find((f) => frame.columns.every((c) => cellsEqual(c, f, row)));
      if (same === undefined) firsts.push(row);
      else {
        count++;
        examples.push([row + 1, same + 1]);
      }
    }
    start = end;
  }
  // The earliest duplicates make the best examples; hash order is arbitrary.
  examples.sort((x, y) => x[0] - y[0]);
  return { count, examples: examples.slice(0, 5) };
}

function columnKey(column: Column): number {
  let h = 0x811c9dc5;
  if (column.kind === 'numeric') {
    for (const v of column.values) h = mixNumber(h, v);
  } else {
    // Hash labels, not codes: two columns with the same values may number their categories differently.
    const labelHash = column.categories.map(stringHash);
    for (const code of column.codes) h = mix(h, code < 0 ? 0 : (labelHash[code] ?? 0) + 1);
  }
  return finish(h);
}

function columnsEqual(a: Column, b: Column): boolean {
  if (a.kind === 'numeric' && b.kind === 'numeric')
    return a.values.every((v, i) => sameNumber(v, b.values[i]!));
  if (a.kind === 'categorical' && b.kind === 'categorical') {
    return a.codes.every((code, i) => {
      const other = b.codes[i]!;
      if (code < 0 || other < 0) return code < 0 && other < 0;
      return a.categories[code] === b.categories[other];
    });
  }
  return false;
}

/** Groups of columns (by name, in frame order) that hold identical values in every row; groups of two or more. */
export function duplicateColumns(frame: Frame): string[][] {
  const keyed = frame.columns.map((c) => ({ c, key: `${c.kind}:${columnKey(c)}` }));
  const groups: Column[][] = [];
  const byKey = new Map<string, Column[][]>();
  for (const { c, key } of keyed) {
    const candidates = byKey.get(key) ?? [];
    const group = candidates.find((g) => columnsEqual(g[0]!, c));
    if (group) group.push(c);
    else {
      const fresh = [c];
      candidates.push(fresh);
      groups.push(fresh);
      byKey.set(key, candidates);
    }
  }
  return groups.filter((g) => g.length > 1).map((g) => g.map((c) => c.name));
}
