// Bad data ends a run with a message that anyone allowed to read the run may see (API viewers, the runs table, the
// Temporal UI). Such a message names the row, the column and the rule, and never quotes the data: a file's cells or
// header are the data owner's, not every viewer's (a spec pointed at the wrong file must not echo its lines). The
// full explanation, values included, goes into the validation report artifact, which the result links to.
import { ApplicationFailure } from '@temporalio/activity';
import { DataError, type DataErrorCode } from '../ml/ingest/data-error.js';
import { renderValidationReportHtml } from '../ml/validation/report-html.js';
import { resolveReadOptions, type ResolvedReadOptions } from '../domain/dataset-schema.js';
import { resolveRules, type CheckResult, type ValidationReport } from '../domain/validation-rules.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import { SourceError } from './dataset-source.js';

/** The limits a read ran under, for messages that name them. */
export type ReadLimits = Pick<ResolvedReadOptions, 'maxRows' | 'maxLineBytes' | 'maxTypeErrorRate'>;

const defaultReadLimits: ReadLimits = resolveReadOptions();

const pct = (rate: number): string => `${Number((100 * rate).toPrecision(3))}%`;

/** What each rule asks of the data, in words that quote nothing from it. */
function ruleSentence(code: DataErrorCode, limits: ReadLimits, share?: number): string {
  switch (code) {
    case 'empty_file':
      return 'the file is empty: expected a header line and at least one data row';
    case 'header_only':
      return 'the file has a header but no data rows';
    case 'ragged_row':
      return 'the row has a different number of fields than the header (a value containing the delimiter must be quoted)';
    case 'line_too_long':
      return `the row is longer than the limit of ${limits.maxLineBytes} bytes (dataset.maxLineBytes)`;
    case 'too_many_rows':
      return `the file has more than ${limits.maxRows} data rows, the limit (the smaller of dataset.maxRows and this worker's SLIPWAY_MAX_DATASET_ROWS)`;
    case 'not_csv':
      return 'the file is not CSV text (binary data, an image, an archive, HTML or a JSON document?)';
    case 'not_parquet':
      return 'the file is not Parquet (it must start and end with the magic bytes PAR1)';
    case 'bad_parquet_type':
      return 'the Parquet column has a type a frame cannot hold (a list, map, struct, decimal or raw binary)';
    case 'not_ndjson':
      return 'the file is not NDJSON (one JSON object per line)';
    case 'bad_encoding':
      return 'the file is not valid UTF-8 text; re-save it as UTF-8';
    case 'bad_quote':
      return 'a quoted value is not closed properly (a quote inside a quoted value is written as two quotes "")';
    case 'bad_json':
      return 'the line is not a flat JSON object';
    case 'duplicate_columns':
      return 'the header repeats this column name; column names must be unique';
    case 'bad_header':
      return 'a header column has an empty name (an unnamed first column is often a pandas index: write the CSV with index=False)';
    case 'missing_column':
      return 'the data has no such column (named as the target, in drop or in the schema)';
    case 'unexpected_column':
      return 'the data has a column the schema does not declare (declare it, or set allowExtraColumns)';
    case 'type_error_rate':
      if (share !== undefined) {
        return `${pct(share)} of the column's non-missing values do not parse as its type, more than the ${pct(limits.maxTypeErrorRate)} allowed (dataset.maxTypeErrorRate); declare the column categorical, add the tokens to dataset.missingTokens, or fix the data`;
      }
      return `more than ${pct(limits.maxTypeErrorRate)} of the column's non-missing values do not parse as its type (dataset.maxTypeErrorRate); declare the column categorical, add the tokens to dataset.missingTokens, or fix the data`;
    case 'too_many_categories':
      return 'the column has more distinct values than maxCategories allows (an identifier? leave it out of the data)';
    case 'bad_schema':
      return 'the explicit schema contradicts itself';
    case 'bad_arrow':
      return 'the bytes are not Arrow IPC data';
    case 'bad_label':
      return 'the target cannot give binary labels (a missing label, not exactly two classes, or a positiveClass that does not occur)';
    case 'source_changed':
      return 'the file changed between the two reads';
    default:
      return 'the data breaks this rule';
  }
}

/** "row 3 (line 4), column "age"": where a finding is, from its structured fields only. */
export function placeOf(found: { row?: number; line?: number; column?: string }): string {
  const parts: string[] = [];
  if (found.row !== undefined)
    parts.push(
      found.line === undefined || found.line === found.row
        ? `row ${found.row}`
        : `row ${found.row} (line ${found.line})`,
    );
  else if (found.line !== undefined) parts.push(`line ${found.line}`);
  if (found.column !== undefined) parts.push(`column "${found.column}"`);
  return parts.join(', ');
}

/** The message a DataError shows to every viewer: where, the rule in words, and the rule's name. */
export function publicDataMessage(error: DataError, limits: ReadLimits): string {
  const place = placeOf(error);
  return `${place ? `${place}: ` : ''}${ruleSentence(error.code, limits, error.share)} (${error.code})`;
}

/** Checks whose examples are row numbers (the rest hold values, which stay in the report). */
const rowExampleChecks = new Set(['missing_values', 'not_nullable', 'non_finite', 'label_values']);

/**
 * The line a blocking validation finding shows to every viewer: the column, the first rows where that applies,
 * the finding's message (which quotes no value: values are the finding's examples, in the report) and the check.
 */
export function publicFindingMessage(finding: CheckResult): string {
  const rows = rowExampleChecks.has(finding.check)
    ? (finding.examples ?? []).filter((e): e is number => typeof e === 'number')
    : [];
  const place = [
    ...(rows.length > 0 ? [`${rows.length === 1 ? 'row' : 'rows'} ${rows.join(', ')}`] : []),
    ...(finding.column !== undefined ? [`column "${finding.column}"`] : []),
  ].join(', ');
  return `${place ? `${place}: ` : ''}${finding.message} (${finding.check})`;
}

/** A validation report holding one ingest finding, with the reader's full message. */
function ingestReport(error: DataError, limits: ReadLimits): ValidationReport {
  const rules = resolveRules({ maxTypeErrorRate: limits.maxTypeErrorRate });
  return {
    version: 1,
    ok: false,
    rowCount: 0,
    columnCount: 0,
    target: null,
    counts: { error: 1, warning: 0, info: 0 },
    checksRun: ['ingest'],
    results: [
      {
        check: 'ingest',
        severity: 'error',
        ...(error.column !== undefined ? { column: error.column } : {}),
        message: error.message,
        examples: [error.code, ...(error.row !== undefined ? [`row ${error.row}`] : [])],
      },
    ],
    rules,
  };
}

/**
 * Turns an ingest, validate or evaluate error into the activity's failure. Bad data (a DataError, a refused source,
 * a model that cannot read its data) fails the run at once, without retries, with `publicDataMessage` for a
 * DataError; anything else passes through unchanged (it is retried). `reports` (the validation report holding the
 * full finding) rides in the failure's details.
 */
export function dataFailure(
  error: unknown,
  limits: ReadLimits = defaultReadLimits,
  reports?: { validationJson: string; validationHtml: string },
): unknown {
  if (error instanceof DataError) {
    return ApplicationFailure.create({
      message: publicDataMessage(error, limits),
      type: 'DataError',
      nonRetryable: true,
      details: [{ code: error.code, row: error.row, column: error.column, ...(reports ? { reports } : {}) }],
    });
  }
  if (error instanceof SourceError || (error instanceof Error && error.name === 'ModelInputError')) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'DataError',
      nonRetryable: true,
      details: [{ code: 'source' }],
    });
  }
  return error;
}

/**
 * `dataFailure`, after writing the reader's full message for a DataError into a validation report (JSON and HTML):
 * the only place where the values it quotes are kept.
 */
export async function dataFailureWithReport(
  error: unknown,
  context: { store: ArtifactStore; model: string; limits: ReadLimits },
): Promise<unknown> {
  if (!(error instanceof DataError)) return dataFailure(error, context.limits);
  const report = ingestReport(error, context.limits);
  const [json, page] = await Promise.all([
    context.store.putContent(Buffer.from(JSON.stringify(report)), {
      prefix: 'reports/validation',
      ext: 'json',
      contentType: 'application/json',
    }),
    context.store.putContent(
      Buffer.from(
        renderValidationReportHtml(report, undefined, { title: `Data validation: ${context.model}` }),
      ),
      { prefix: 'reports/validation', ext: 'html', contentType: 'text/html; charset=utf-8' },
    ),
  ]);
  return dataFailure(error, context.limits, { validationJson: json.uri, validationHtml: page.uri });
}
