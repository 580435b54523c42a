import type { Column, Frame } from './frame.js';

/**
 * A frame of the named columns from JSON records (logged request rows), each column of the kind given. Numeric:
 * numbers as they are, numeric strings parsed, anything else (absent, null, text) missing (NaN). Categorical: strings
 * as they are, numbers and booleans as their text, absent or null missing (code -1).
 */
export function recordsToFrame(
  records: readonly Readonly<Record<string, unknown>>[],
  columns: readonly { readonly name: string; readonly kind: 'numeric' | 'categorical' }[],
): Frame {
  const n = records.length;
  return {
    rowCount: n,
    columns: columns.map(({ name, kind }): Column => {
      if (kind === 'numeric') {
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = toNumber(records[i]![name]);
        return { name, kind, values };
      }
      const codes = new Int32Array(n);
      const categories: string[] = [];
      const index = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const text = toText(records[i]![name]);
        if (text === undefined) {
          codes[i] = -1;
          continue;
        }
        let code = index.get(text);
        if (code === undefined) {
          code = categories.length;
          categories.push(text);
          index.set(text, code);
        }
        codes[i] = code;
      }
      return { name, kind, codes, categories };
    }),
  };
}

function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isNaN(parsed) ? NaN : parsed;
  }
  return NaN;
}

function toText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
