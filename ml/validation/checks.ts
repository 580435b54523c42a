import type { Frame } from '../frame.js';
import type { IngestStats } from '../ingest/read-frame.js';
import type { DatasetSchema } from '../../domain/dataset-schema.js';
import { checkColumn, pct } from './column-checks.js';
import { duplicateColumns, duplicateRows } from './duplicates.js';
import { checkLabel } from './label-checks.js';
import {
  resolveRules,
  type CheckName,
  type CheckResult,
  type ValidationReport,
  type ValidationRules,
} from '../../domain/validation-rules.js';

export interface ValidateOptions {
  /** The target column; label checks run when it is given (its absence is then an error). */
  readonly target?: string;
  /** The target's positive class, as written in the data; needed unless the labels are 0/1, false/true, no/yes... */
  readonly positiveLabel?: string;
  /** Thresholds; defaults in DEFAULT_RULES. */
  readonly rules?: ValidationRules;
  /** The explicit schema, for ranges, allowed categories and nullability. */
  readonly schema?: DatasetSchema;
  /** `readFrame`'s stats, for the type-parse check (values that did not parse were made missing). */
  readonly ingest?: IngestStats;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/**
 * Validates a frame before training and returns a JSON-safe report: per-check findings with severity
 * error | warning | info, and `ok` = no errors. Checks: row count, schema columns present, type parse errors,
 * missing values (an all-missing column is an error), nullability, infinite values, declared ranges, unknown
 * categories, constant columns, high cardinality, outliers (robust z / IQR), duplicate columns (a feature equal to
 * the target is an error: leakage), duplicate rows, and for the target: presence, missing/NaN/infinite labels,
 * exactly two classes, the positive class, class balance. Findings are sorted by severity, then column.
 */
export function validateFrame(frame: Frame, options: ValidateOptions = {}): ValidationReport {
  const rules = resolveRules(options.rules);
  const { target, schema, ingest } = options;
  const results: CheckResult[] = [];
  const ran = new Set<CheckName>([
    'row_count',
    'missing_values',
    'non_finite',
    'constant_column',
    'high_cardinality',
    'outliers',
    'duplicate_columns',
    'duplicate_rows',
  ]);

  if (frame.rowCount < rules.minRows) {
    results.push({
      check: 'row_count',
      severity: 'error',
      message: `${frame.rowCount} rows; at least ${rules.minRows} are required`,
      value: frame.rowCount,
      threshold: rules.minRows,
    });
  }
  if (schema) {
    ran.add('schema_columns').add('not_nullable').add('range').add('unknown_categories');
    const names = new Set(frame.columns.map((c) => c.name));
    for (const spec of schema.columns) {
      if (!names.has(spec.name)) {
        results.push({
          check: 'schema_columns',
          severity: 'error',
          column: spec.name,
          message: 'the schema declares this column but the data lacks it',
        });
      }
    }
  }
  if (ingest) ran.add('type_parse_errors');

  const specs = new Map(schema?.columns.map((c) => [c.name, c]));
  const readStats = new Map(ingest?.columns.map((c) => [c.name, c]));
  for (const column of frame.columns) {
    if (column.name === target) continue;
    const spec = specs.get(column.name);
    const stats = readStats.get(column.name);
    results.push(
      ...checkColumn(column, {
        rowCount: frame.rowCount,
        rules,
        ...(spec ? { spec } : {}),
        ...(stats ? { ingest: stats } : {}),
      }),
    );
  }

  if (target !== undefined) {
    ran
      .add('label_present')
      .add('label_values')
      .add('label_classes')
      .add('label_balance')
      .add('label_leakage');
    const column = frame.columns.find((c) => c.name === target);
    results.push(...checkLabel(target, column, rules, options.positiveLabel));
  }

  for (const group of duplicateColumns(frame)) {
    const leak = target !== undefined && group.includes(target);
    results.push({
      check: leak ? 'label_leakage' : 'duplicate_columns',
      severity: leak ? 'error' : 'warning',
      column: group[0],
      message: leak
        ? `column${group.length > 2 ? 's' : ''} ${group
            .filter((g) => g !== target)
            .map((g) => `"${g}"`)
            .join(', ')} equal the target row for row: the label leaks into the features`
        : `columns ${group.map((g) => `"${g}"`).join(', ')} hold identical values; keep one`,
      examples: group,
    });
  }

  const dups = duplicateRows(frame);
  if (dups.count > 0) {
    const rate = dups.count / frame.rowCount;
    const over = rate > rules.maxDuplicateRowRate;
    results.push({
      check: 'duplicate_rows',
      severity: over ? 'warning' : 'info',
      message: `${dups.count} row(s) (${pct(rate)}) repeat an earlier row exactly${over ? `, more than ${pct(rules.maxDuplicateRowRate)}` : ''}`,
      value: rate,
      threshold: rules.maxDuplicateRowRate,
      examples: dups.examples.map(([row, earlier]) => `row ${row} = row ${earlier}`),
    });
  }

  results.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      ((a.column ?? '') < (b.column ?? '') ? -1 : (a.column ?? '') > (b.column ?? '') ? 1 : 0),
  );
  const counts = { error: 0, warning: 0, info: 0 };
  for (const r of results) counts[r.severity]++;
  return {
    version: 1,
    ok: counts.error === 0,
    rowCount: frame.rowCount,
    columnCount: frame.columns.length,
    target: target ?? null,
    counts,
    checksRun: [...ran],
    results,
    rules,
  };
}
