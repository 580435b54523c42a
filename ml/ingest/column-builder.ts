import type { Column } from '../frame.js';
import { cellToBoolean, cellToCategory, cellToNumber, MISSING, normalizeCell, type Cell } from './cells.js';
import { DataError, where } from './data-error.js';
import type { ColumnSpec, ColumnType } from '../../domain/dataset-schema.js';

/** A value that did not parse as its column's type, kept to name it in messages (first few per column). */
export interface BadValue {
  readonly row: number;
  readonly value: string;
}

/** What building one column saw. JSON-safe. */
export interface ColumnReadStats {
  readonly name: string;
  readonly type: ColumnType;
  /** Missing values as read (null, absent, or a missing token). Parse errors are not counted here. */
  readonly missing: number;
  /** Values that are not missing but failed to parse as the column's type; they became missing in the frame. */
  readonly parseErrors: number;
  /** parseErrors / (rows - missing), 0 when every value is missing. */
  readonly parseErrorRate: number;
  /** Up to 5 of the values that failed to parse, with their data row. */
  readonly badValues: readonly BadValue[];
}

export interface ColumnBuilder {
  add(cell: Cell, row: number): void;
  finish(): { column: Column; stats: ColumnReadStats };
}

export interface BuilderSettings {
  readonly missingTokens: ReadonlySet<string>;
  readonly trim: boolean;
  readonly maxCategories: number;
  /** Rows expected, to size buffers once; they still grow past it. */
  readonly expectedRows?: number;
}

const MAX_BAD_VALUES = 5;

function grow<T extends Float64Array | Int32Array>(array: T, make: (n: number) => T, need: number): T {
  if (need <= array.length) return array;
  const next = make(Math.max(need, array.length * 2, 1024));
  next.set(array);
  return next;
}

function badValueText(value: string | number | boolean): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Creates the builder of one column of a frame: numeric -> Float64 (NaN missing), others -> categorical codes. */
export function createColumnBuilder(spec: ColumnSpec, settings: BuilderSettings): ColumnBuilder {
  const { missingTokens, trim } = settings;
  let n = 0;
  let missing = 0;
  let parseErrors = 0;
  const badValues: BadValue[] = [];
  const initial = Math.max(16, settings.expectedRows ?? 1024);
  const fail = (value: string | number | boolean, row: number): void => {
    parseErrors++;
    if (badValues.length < MAX_BAD_VALUES) badValues.push({ row, value: badValueText(value) });
  };
  const stats = (): ColumnReadStats => ({
    name: spec.name,
    type: spec.type,
    missing,
    parseErrors,
    parseErrorRate: n - missing === 0 ? 0 : parseErrors / (n - missing),
    badValues,
  });

  if (spec.type === 'numeric') {
    let values = new Float64Array(initial);
    return {
      add(cell, row) {
        values = grow(values, (k) => new Float64Array(k), n + 1);
        const value = normalizeCell(cell, missingTokens, trim);
        let x = NaN;
        if (value === MISSING) missing++;
        else {
          const parsed = cellToNumber(value);
          if (parsed === undefined) fail(value, row);
          else x = parsed;
        }
        values[n++] = x;
      },
      finish: () => ({
        column: { name: spec.name, kind: 'numeric', values: values.slice(0, n) },
        stats: stats(),
      }),
    };
  }

  const declared = spec.type === 'boolean' ? ['false', 'true'] : (spec.categories ?? []);
  const codeOf = new Map<string, number>(declared.map((c, i) => [c, i]));
  const categories = [...declared];
  let codes = new Int32Array(initial);
  return {
    add(cell, row) {
      codes = grow(codes, (k) => new Int32Array(k), n + 1);
      const value = normalizeCell(cell, missingTokens, trim);
      let code = -1;
      if (value === MISSING) missing++;
      else if (spec.type === 'boolean') {
        const parsed = cellToBoolean(value);
        if (parsed === undefined) fail(value, row);
        else code = parsed ? 1 : 0;
      } else {
        const label = cellToCategory(value);
        const known = codeOf.get(label);
        if (known !== undefined) code = known;
        else {
          if (categories.length >= settings.maxCategories + declared.length) {
            throw new DataError(
              'too_many_categories',
              `column "${spec.name}" has more than ${settings.maxCategories} distinct values at ${where(row)}; ` +
                'an identifier? leave it out of the data, or raise maxCategories',
              { row, column: spec.name },
            );
          }
          code = categories.length;
          codeOf.set(label, code);
          categories.push(label);
        }
      }
      codes[n++] = code;
    },
    finish() {
      // Declared categories keep their order; the ones found in the data follow, sorted, so the frame does not
      // depend on row order.
      const found = categories.slice(declared.length);
      const sorted = [...found].sort();
      const remap = new Int32Array(categories.length);
      for (let i = 0; i < declared.length; i++) remap[i] = i;
      const rank = new Map(sorted.map((c, i) => [c, declared.length + i]));
      found.forEach((c, i) => (remap[declared.length + i] = rank.get(c) ?? -1));
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = codes[i] ?? -1;
        out[i] = c < 0 ? -1 : (remap[c] ?? -1);
      }
      const column: Column = {
        name: spec.name,
        kind: 'categorical',
        codes: out,
        categories: [...declared, ...sorted],
      };
      return { column, stats: stats() };
    },
  };
}

/**
 * The type_error_rate error for a column whose share of unparseable values is above `maxRate`, else undefined.
 * Shared by inference and frame building so both explain the problem the same way.
 */
export function typeErrorRateError(
  stats: Pick<ColumnReadStats, 'name' | 'type' | 'parseErrors' | 'parseErrorRate' | 'badValues'>,
  maxRate: number,
): DataError | undefined {
  if (stats.parseErrors === 0 || stats.parseErrorRate <= maxRate) return undefined;
  const examples = stats.badValues.map((b) => `"${b.value}" (row ${b.row})`).join(', ');
  const first = stats.badValues[0];
  const pct = (x: number): string => `${(100 * x).toPrecision(3)}%`;
  return new DataError(
    'type_error_rate',
    `column "${stats.name}" is ${stats.type}, but ${stats.parseErrors} of its values (${pct(stats.parseErrorRate)} of ` +
      `the non-missing ones) are not ${stats.type === 'numeric' ? 'numbers' : 'true/false'}, e.g. ${examples}; ` +
      `at most ${pct(maxRate)} may be (they become missing). Declare the column categorical in the schema, add ` +
      'those tokens to missingTokens, or fix the data',
    { column: stats.name, share: stats.parseErrorRate, ...(first ? { row: first.row } : {}) },
  );
}
