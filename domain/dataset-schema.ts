import { z } from 'zod';

/**
 * Column types a dataset schema can declare. `boolean` columns become categorical columns of the frame with the
 * categories `['false', 'true']` (so the ONNX contract stays "categorical -> string"); `numeric` become Float64.
 */
export const columnTypeSchema = z.enum(['numeric', 'categorical', 'boolean']);
export type ColumnType = z.infer<typeof columnTypeSchema>;

/** One declared column: its type and the constraints validation checks (ingest itself only uses name and type). */
export const columnSpecSchema = z
  .object({
    name: z.string().min(1, 'a column name must not be empty'),
    type: columnTypeSchema,
    /** false: a missing value in this column is a validation error. Absent means true. */
    nullable: z.boolean().optional(),
    /** Inclusive bounds for numeric columns. */
    min: z.number().optional(),
    max: z.number().optional(),
    /** The allowed categories of a categorical column; other values are reported as unknown. */
    categories: z.array(z.string()).optional(),
  })
  .strict()
  .refine((c) => c.min === undefined || c.max === undefined || c.min <= c.max, {
    message: 'min must not be greater than max',
    path: ['min'],
  })
  .refine((c) => c.type === 'numeric' || (c.min === undefined && c.max === undefined), {
    message: 'min and max apply to numeric columns only',
    path: ['min'],
  })
  .refine((c) => c.type === 'categorical' || c.categories === undefined, {
    message: 'categories apply to categorical columns only',
    path: ['categories'],
  });
export type ColumnSpec = z.infer<typeof columnSpecSchema>;

/** An explicit or inferred dataset schema. Column order is the frame's column order, not the file's. */
export const datasetSchemaSchema = z
  .object({
    columns: z.array(columnSpecSchema).min(1, 'a schema needs at least one column'),
    /** Cell values read as missing (compared after trimming whitespace). Absent means DEFAULT_MISSING_TOKENS. */
    missingTokens: z.array(z.string()).optional(),
    /** true: file columns the schema does not list are skipped; false (default): they are an error. */
    allowExtraColumns: z.boolean().optional(),
  })
  .strict()
  .refine((s) => new Set(s.columns.map((c) => c.name)).size === s.columns.length, {
    message: 'column names must be unique',
    path: ['columns'],
  });
export type DatasetSchema = z.infer<typeof datasetSchemaSchema>;

/**
 * Tokens read as a missing value by default, after trimming: the usual spellings of "no value" from pandas, R,
 * spreadsheets and the UCI repository ('?'). 'NaN' is among them because the frame stores missing numbers as NaN.
 */
export const DEFAULT_MISSING_TOKENS: readonly string[] = [
  '',
  'NA',
  'N/A',
  'n/a',
  'na',
  'NaN',
  'nan',
  'NAN',
  'null',
  'NULL',
  'Null',
  'None',
  'none',
  '?',
  '#N/A',
];

/** File formats a dataset can be read from. */
export const datasetFormatSchema = z.enum(['csv', 'ndjson', 'parquet']);
export type DatasetFormat = z.infer<typeof datasetFormatSchema>;

/** Options shared by schema inference and frame building. Every field has a default. */
export const readOptionsSchema = z
  .object({
    format: datasetFormatSchema.optional(),
    /** CSV field delimiter, one character; default ','. */
    delimiter: z.string().length(1).optional(),
    /** A record (CSV, quoted newlines included) or NDJSON line longer than this many bytes is refused. 1 MiB. */
    maxLineBytes: z.number().int().positive().optional(),
    /** More data rows than this is refused (a guard against reading a far bigger file than intended). */
    maxRows: z.number().int().positive().optional(),
    /** Overrides DEFAULT_MISSING_TOKENS (an explicit schema's own missingTokens win over this). */
    missingTokens: z.array(z.string()).optional(),
    /** Trim whitespace around values (default true). Missing tokens and numbers are always matched trimmed. */
    trim: z.boolean().optional(),
    /**
     * Largest allowed share of non-missing values of a numeric or boolean column that fail to parse (they become
     * missing, with a warning); above it reading fails with `type_error_rate`. Default 0.01.
     */
    maxTypeErrorRate: z.number().min(0).max(1).optional(),
    /**
     * Inference: a column is numeric when at least this share of its non-missing values are numbers. Default 0.5:
     * a column that is mostly numbers is numeric, and its text values are then reported (an error above
     * `maxTypeErrorRate`, a warning below) instead of silently making the column categorical.
     */
    numericShare: z.number().min(0).max(1).optional(),
    /** Worker threads that parse a large CSV input; default: the machine's cores. 1 parses in the calling thread. */
    threads: z.number().int().min(1).max(64).optional(),
    /** A categorical column with more distinct values than this is refused (an identifier?). Default 100,000. */
    maxCategories: z.number().int().positive().optional(),
  })
  .strict();
export type ReadOptions = z.infer<typeof readOptionsSchema>;

export interface ResolvedReadOptions {
  readonly format: DatasetFormat;
  readonly delimiter: string;
  readonly maxLineBytes: number;
  readonly maxRows: number;
  readonly missingTokens: ReadonlySet<string>;
  readonly trim: boolean;
  readonly maxTypeErrorRate: number;
  readonly numericShare: number;
  readonly maxCategories: number;
}

/** Fills the defaults of `ReadOptions`; `schemaTokens` (from a schema) win over the options' missing tokens. */
export function resolveReadOptions(
  options: ReadOptions = {},
  schemaTokens?: readonly string[],
): ResolvedReadOptions {
  return {
    format: options.format ?? 'csv',
    delimiter: options.delimiter ?? ',',
    maxLineBytes: options.maxLineBytes ?? 1024 * 1024,
    maxRows: options.maxRows ?? Number.MAX_SAFE_INTEGER,
    missingTokens: new Set(
      (schemaTokens ?? options.missingTokens ?? DEFAULT_MISSING_TOKENS).map((t) => t.trim()),
    ),
    trim: options.trim ?? true,
    maxTypeErrorRate: options.maxTypeErrorRate ?? 0.01,
    numericShare: options.numericShare ?? 0.5,
    maxCategories: options.maxCategories ?? 100_000,
  };
}
