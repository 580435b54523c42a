import type { Column, Frame } from '../frame.js';
import { columnOf } from '../frame.js';
import { DataError } from './data-error.js';

/** The class labels read as positive / negative without being told, compared case-insensitively. */
const NATURAL_PAIRS: readonly (readonly [string, string])[] = [
  ['0', '1'],
  ['false', 'true'],
  ['no', 'yes'],
  ['n', 'y'],
  ['negative', 'positive'],
];

function badLabel(column: string, message: string, row?: number): DataError {
  return new DataError(
    'bad_label',
    `target "${column}": ${message}`,
    row === undefined ? { column } : { column, row },
  );
}

function firstMissing(n: number, isMissing: (i: number) => boolean): number {
  for (let i = 0; i < n; i++) if (isMissing(i)) return i;
  return -1;
}

/**
 * The positive class of a binary target: `positive` when given (it must occur), else the second of a natural pair
 * (0/1, false/true, no/yes, n/y, negative/positive), else a DataError asking for `positiveLabel`.
 */
function positiveIndex(column: string, labels: readonly string[], positive: string | undefined): number {
  if (positive !== undefined) {
    const at = labels.indexOf(positive);
    if (at === -1) {
      throw badLabel(
        column,
        `the positive label "${positive}" does not occur; the labels are ${labels.map((l) => `"${l}"`).join(', ')}`,
      );
    }
    return at;
  }
  const lower = labels.map((l) => l.toLowerCase());
  for (const [negative, pos] of NATURAL_PAIRS) {
    if (lower.includes(negative) && lower.includes(pos)) return lower.indexOf(pos);
  }
  throw badLabel(
    column,
    `cannot tell which of ${labels.map((l) => `"${l}"`).join(' and ')} is the positive class; set positiveLabel`,
  );
}

/**
 * 0/1 labels from a binary target column. The column must have no missing (or infinite) value and exactly two
 * distinct values; which one is positive comes from `positive` (the label text; for numeric targets the number as
 * written, e.g. "1") or a natural pair such as 0/1 or false/true. Throws a DataError (`bad_label`) naming the
 * first offending row otherwise.
 */
export function binaryLabels(column: Column, positive?: string): Uint8Array {
  const n = column.kind === 'numeric' ? column.values.length : column.codes.length;
  const out = new Uint8Array(n);
  if (column.kind === 'numeric') {
    const { values } = column;
    const bad = firstMissing(n, (i) => !Number.isFinite(values[i]));
    if (bad !== -1) {
      throw badLabel(
        column.name,
        `row ${bad + 1} is ${String(values[bad])}; every label must be present and finite`,
        bad + 1,
      );
    }
    const distinct = [...new Set(values)].sort((a, b) => a - b);
    if (distinct.length !== 2) {
      throw badLabel(
        column.name,
        `expected exactly 2 classes, found ${distinct.length} (${distinct.slice(0, 5).join(', ')}${distinct.length > 5 ? ', ...' : ''})`,
      );
    }
    const pos = distinct[positiveIndex(column.name, distinct.map(String), positive)];
    for (let i = 0; i < n; i++) out[i] = values[i] === pos ? 1 : 0;
    return out;
  }
  const { codes, categories } = column;
  const bad = firstMissing(n, (i) => (codes[i] ?? -1) < 0);
  if (bad !== -1)
    throw badLabel(column.name, `row ${bad + 1} has no label; every label must be present`, bad + 1);
  const used = [...new Set(codes)].sort((a, b) => a - b);
  const labels = used.map((c) => categories[c] ?? '');
  if (used.length !== 2) {
    throw badLabel(
      column.name,
      `expected exactly 2 classes, found ${used.length} (${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', ...' : ''})`,
    );
  }
  const posCode = used[positiveIndex(column.name, labels, positive)];
  for (let i = 0; i < n; i++) out[i] = codes[i] === posCode ? 1 : 0;
  return out;
}

/**
 * The class labels of a binary target column as [negative, positive], written as in the data (numbers as
 * `String(n)`), with the positive class chosen as `binaryLabels` chooses it.
 */
export function classNames(column: Column, positive?: string): [string, string] {
  const labels =
    column.kind === 'numeric'
      ? [...new Set(column.values)]
          .filter(Number.isFinite)
          .sort((a, b) => a - b)
          .map(String)
      : [...new Set(column.codes)]
          .filter((c) => c >= 0)
          .sort((a, b) => a - b)
          .map((c) => column.categories[c] ?? '');
  if (labels.length !== 2) throw badLabel(column.name, `expected exactly 2 classes, found ${labels.length}`);
  const at = positiveIndex(column.name, labels, positive);
  return [labels[1 - at]!, labels[at]!];
}

/** Splits a frame into its features (every column but `target`) and the 0/1 labels of `target`. */
export function splitTarget(
  frame: Frame,
  target: string,
  positive?: string,
): { features: Frame; labels: Uint8Array } {
  const column = columnOf(frame, target);
  return {
    features: { rowCount: frame.rowCount, columns: frame.columns.filter((c) => c.name !== target) },
    labels: binaryLabels(column, positive),
  };
}
