import type { CategoricalColumn, Column, NumericColumn } from '../frame.js';
import type { ColumnReadStats } from '../ingest/column-builder.js';
import type { ColumnSpec } from '../../domain/dataset-schema.js';
import { quantileSorted, sortedFinite } from './binning.js';
import { categoryCounts } from './profile.js';
import type { CheckResult, ResolvedRules } from '../../domain/validation-rules.js';

export interface ColumnCheckContext {
  readonly rowCount: number;
  readonly rules: ResolvedRules;
  readonly spec?: ColumnSpec;
  readonly ingest?: ColumnReadStats;
}

const EXAMPLES = 5;

/** "12.3%" with three significant digits. */
export function pct(rate: number): string {
  return `${(100 * rate).toPrecision(3)}%`;
}

/** The first few 1-based rows where `test` holds. */
function rowsWhere(n: number, test: (i: number) => boolean): number[] {
  const rows: number[] = [];
  for (let i = 0; i < n && rows.length < EXAMPLES; i++) if (test(i)) rows.push(i + 1);
  return rows;
}

function parseChecks(column: Column, { ingest, rules }: ColumnCheckContext): CheckResult[] {
  if (!ingest || ingest.parseErrors === 0) return [];
  const over = ingest.parseErrorRate > rules.maxTypeErrorRate;
  return [
    {
      check: 'type_parse_errors',
      severity: over ? 'error' : 'warning',
      column: column.name,
      message:
        `${ingest.parseErrors} value(s) (${pct(ingest.parseErrorRate)} of the non-missing) are not ${ingest.type === 'numeric' ? 'numbers' : 'true/false'} ` +
        `and were read as missing${over ? `; at most ${pct(rules.maxTypeErrorRate)} may be` : ''}`,
      value: ingest.parseErrorRate,
      threshold: rules.maxTypeErrorRate,
      examples: ingest.badValues.map((b) => `${b.value} (row ${b.row})`),
    },
  ];
}

function missingChecks(
  column: Column,
  missing: number,
  { rowCount, rules, spec }: ColumnCheckContext,
): CheckResult[] {
  const out: CheckResult[] = [];
  const rate = rowCount === 0 ? 0 : missing / rowCount;
  const isMissing =
    column.kind === 'numeric'
      ? (i: number) => Number.isNaN(column.values[i])
      : (i: number) => (column.codes[i] ?? 0) < 0;
  if (rowCount > 0 && missing === rowCount) {
    out.push({
      check: 'missing_values',
      severity: 'error',
      column: column.name,
      message: 'every value is missing',
      value: 1,
    });
  } else if (missing > 0) {
    const over = rate > rules.maxMissingRate;
    out.push({
      check: 'missing_values',
      severity: over ? 'warning' : 'info',
      column: column.name,
      message: `${missing} missing value(s) (${pct(rate)})${over ? `, more than ${pct(rules.maxMissingRate)}` : ''}`,
      value: rate,
      threshold: rules.maxMissingRate,
      examples: rowsWhere(rowCount, isMissing),
    });
  }
  if (spec?.nullable === false && missing > 0) {
    out.push({
      check: 'not_nullable',
      severity: rules.schemaSeverity,
      column: column.name,
      message: `the schema says the column is never missing, but ${missing} value(s) are (rows listed)`,
      value: missing,
      examples: rowsWhere(rowCount, isMissing),
    });
  }
  return out;
}

/**
 * Outliers: values beyond both the robust z-score bound (0.6745 |x - median| / MAD > z, Iglewicz and Hoaglin) and
 * Tukey's far-out fences (Q1 - k IQR, Q3 + k IQR), each applied when its spread is above 0. Requiring both keeps
 * a sharply peaked but legitimate distribution (most people work 40 hours) from being reported wholesale.
 */
function outlierCheck(column: NumericColumn, sorted: Float64Array, rules: ResolvedRules): CheckResult[] {
  const n = sorted.length;
  if (n < 10) return [];
  const median = quantileSorted(sorted, 0.5);
  const mad = quantileSorted(sorted.map((v) => Math.abs(v - median)).sort(), 0.5);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  if (mad <= 0 && q3 - q1 <= 0) return [];
  // A value must be beyond both bounds, i.e. beyond the wider of the two.
  const bounds: [number, number][] = [];
  const how: string[] = [];
  if (mad > 0) {
    const spread = (rules.outlierZ * mad) / 0.6745;
    bounds.push([median - spread, median + spread]);
    how.push(`robust z-score above ${rules.outlierZ}`);
  }
  if (q3 - q1 > 0) {
    bounds.push([q1 - rules.outlierIqrK * (q3 - q1), q3 + rules.outlierIqrK * (q3 - q1)]);
    how.push(`outside Q1 - ${rules.outlierIqrK} IQR .. Q3 + ${rules.outlierIqrK} IQR`);
  }
  const lower = Math.min(...bounds.map((b) => b[0]));
  const upper = Math.max(...bounds.map((b) => b[1]));
  let count = 0;
  for (const v of sorted) if (v < lower || v > upper) count++;
  if (count === 0) return [];
  const rate = count / n;
  const over = rate > rules.maxOutlierRate;
  // The most extreme values on either side make the best examples.
  const extremes = [...sorted.subarray(0, 3), ...sorted.subarray(Math.max(3, n - 3))].filter(
    (v) => v < lower || v > upper,
  );
  return [
    {
      check: 'outliers',
      severity: over ? 'warning' : 'info',
      column: column.name,
      message:
        `${count} value(s) (${pct(rate)}) are outliers (${how.join(' and ')}: outside ${lower.toPrecision(4)} .. ${upper.toPrecision(4)})` +
        (over ? '; heavy tails, a second population, sentinel values or mixed units?' : ''),
      value: rate,
      threshold: rules.maxOutlierRate,
      examples: [...new Set(extremes)],
    },
  ];
}

function numericChecks(column: NumericColumn, context: ColumnCheckContext): CheckResult[] {
  const { rowCount, rules, spec } = context;
  const { values, name } = column;
  const out: CheckResult[] = [];
  const sorted = sortedFinite(values);
  let missing = 0;
  for (const v of values) if (Number.isNaN(v)) missing++;
  const infinite = rowCount - sorted.length - missing;
  out.push(...missingChecks(column, missing, context));
  if (infinite > 0) {
    out.push({
      check: 'non_finite',
      severity: 'error',
      column: name,
      message: `${infinite} value(s) are infinite; features must be finite numbers or missing`,
      value: infinite,
      examples: rowsWhere(rowCount, (i) => Math.abs(values[i]!) === Infinity),
    });
  }
  if (spec?.min !== undefined || spec?.max !== undefined) {
    const lo = spec.min ?? -Infinity;
    const hi = spec.max ?? Infinity;
    const outside = (v: number): boolean => v < lo || v > hi;
    let count = 0;
    for (const v of values) if (outside(v)) count++;
    if (count > 0) {
      out.push({
        check: 'range',
        severity: rules.schemaSeverity,
        column: name,
        message: `${count} value(s) fall outside the declared range [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`,
        value: count,
        examples: rowsWhere(rowCount, (i) => outside(values[i]!)).map(
          (row) => `${values[row - 1]} (row ${row})`,
        ),
      });
    }
  }
  if (sorted.length > 0 && sorted[0] === sorted[sorted.length - 1]) {
    out.push({
      check: 'constant_column',
      severity: 'warning',
      column: name,
      message: 'every value is the same; the column carries no information',
      examples: [sorted[0]!],
    });
  }
  out.push(...outlierCheck(column, sorted, rules));
  return out;
}

function categoricalChecks(column: CategoricalColumn, context: ColumnCheckContext): CheckResult[] {
  const { rowCount, rules, spec } = context;
  const { counts, missing } = categoryCounts(column);
  const out = missingChecks(column, missing, context);
  const present = column.categories.filter((_, i) => (counts[i] ?? 0) > 0);
  if (spec?.categories !== undefined) {
    const allowed = new Set(spec.categories);
    const unknown = column.categories
      .map((c, i) => ({ c, n: counts[i] ?? 0 }))
      .filter((x) => x.n > 0 && !allowed.has(x.c));
    if (unknown.length > 0) {
      const rows = unknown.reduce((s, x) => s + x.n, 0);
      out.push({
        check: 'unknown_categories',
        severity: rules.schemaSeverity,
        column: column.name,
        message: `${unknown.length} categor${unknown.length === 1 ? 'y' : 'ies'} in ${rows} row(s) are not among the declared ones`,
        value: rows,
        examples: unknown.slice(0, EXAMPLES).map((x) => x.c),
      });
    }
  }
  if (present.length === 1) {
    out.push({
      check: 'constant_column',
      severity: 'warning',
      column: column.name,
      message: 'every value is the same; the column carries no information',
      examples: [present[0]!],
    });
  }
  const nonMissing = rowCount - missing;
  if (present.length > rules.maxCategories) {
    out.push({
      check: 'high_cardinality',
      severity: 'warning',
      column: column.name,
      message: `${present.length} distinct categories, more than ${rules.maxCategories}; one-hot encoding it will be large`,
      value: present.length,
      threshold: rules.maxCategories,
    });
  } else if (nonMissing >= 50 && present.length >= 0.95 * nonMissing) {
    out.push({
      check: 'high_cardinality',
      severity: 'warning',
      column: column.name,
      message: `${present.length} distinct values in ${nonMissing} rows: nearly every value is unique, like an identifier; it will not generalize`,
      value: present.length,
    });
  }
  return out;
}

/** All single-column checks of one column (the target gets label checks instead). */
export function checkColumn(column: Column, context: ColumnCheckContext): CheckResult[] {
  const own = column.kind === 'numeric' ? numericChecks(column, context) : categoricalChecks(column, context);
  return [...parseChecks(column, context), ...own];
}
