import type { ReadWarning } from './read-frame.js';

/**
 * The one error type of ingest: bad input data, as opposed to a bug. Activities treat it as non-retryable (the same
 * bytes fail the same way every time), and its message is meant for the person who supplied the file.
 */
export type DataErrorCode =
  /** Zero bytes, or only a byte-order mark and whitespace. */
  | 'empty_file'
  /** A CSV header and no data rows. */
  | 'header_only'
  /** A CSV row with more or fewer fields than the header. */
  | 'ragged_row'
  /** A line (CSV record or NDJSON line) longer than `maxLineBytes`. */
  | 'line_too_long'
  /** More data rows than `maxRows`. */
  | 'too_many_rows'
  /** The bytes are not CSV at all: binary, an image, an archive, HTML, a JSON document... */
  | 'not_csv'
  /** The bytes are not NDJSON: binary, a JSON array, a pretty-printed document... */
  | 'not_ndjson'
  /** The bytes are not a Parquet file (no PAR1 magic, or a footer that can't be read). */
  | 'not_parquet'
  /** A Parquet column of a type a frame can't hold (lists, maps, structs, raw binary). */
  | 'bad_parquet_type'
  /** The bytes are not valid UTF-8. */
  | 'bad_encoding'
  /** A quote in the wrong place, or a quoted field that never closes. */
  | 'bad_quote'
  /** An NDJSON line that is not valid JSON, or not a flat object. */
  | 'bad_json'
  /** Two header columns with the same name. */
  | 'duplicate_columns'
  /** A header column with an empty name. */
  | 'bad_header'
  /** A column the schema declares is absent from the file. */
  | 'missing_column'
  /** A file column the schema does not declare (when extra columns are not allowed). */
  | 'unexpected_column'
  /** Too many values of a numeric or boolean column failed to parse. */
  | 'type_error_rate'
  /** A categorical column with more distinct values than `maxCategories`. */
  | 'too_many_categories'
  /** An explicit schema that contradicts itself (duplicate names, min above max...). */
  | 'bad_schema'
  /** Arrow bytes that do not decode into a frame. */
  | 'bad_arrow'
  /** A target column that cannot give binary 0/1 labels (missing values, not two classes, unknown positive). */
  | 'bad_label'
  /** The input's bytes differ between two passes over it. */
  | 'source_changed';

export interface DataErrorContext {
  /** 1-based data row (the header is not counted), when the problem is in one row. */
  readonly row?: number;
  /** 1-based physical line of the file where the row ends, when known. */
  readonly line?: number;
  /** The column name, when the problem is in one column. */
  readonly column?: string;
  /** For type_error_rate: the share of the column's non-missing values that did not parse (a statistic, no value). */
  readonly share?: number;
  readonly cause?: unknown;
}

/** Bad input data: `code` says what kind, `row`/`line`/`column` say where, the message says what was expected. */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly code: DataErrorCode;
  readonly row: number | undefined;
  readonly line: number | undefined;
  readonly column: string | undefined;
  readonly share: number | undefined;

  constructor(code: DataErrorCode, message: string, context: DataErrorContext = {}) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.code = code;
    this.row = context.row;
    this.line = context.line;
    this.column = context.column;
    this.share = context.share;
  }
}

/** "row 3 (line 4)": how messages name a place in the file. */
export function where(row: number, line?: number): string {
  return line === undefined || line === row ? `row ${row}` : `row ${row} (line ${line})`;
}

/**
 * Columns of the file that the declared schema lacks: refused (naming them) unless the schema allows extra columns,
 * in which case they are skipped with a warning for the validation report.
 * @throws DataError `unexpected_column`
 */
export function checkExtraColumns(
  extra: readonly string[],
  allowed: boolean | undefined,
  warnings: ReadWarning[],
): void {
  if (extra.length === 0) return;
  if (!allowed) {
    throw new DataError(
      'unexpected_column',
      `the file has column${extra.length > 1 ? 's' : ''} ${extra.map((e) => `"${e}"`).join(', ')} that the ` +
        'schema does not declare; declare them or set allowExtraColumns',
      { column: extra[0] },
    );
  }
  warnings.push({
    code: 'extra_columns_skipped',
    message: `columns not in the schema were skipped: ${extra.join(', ')}`,
  });
}
