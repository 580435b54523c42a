import { z } from 'zod';

/**
 * Thresholds of the validation checks. Every field is optional; `resolveRules` fills the defaults below. Rates are
 * shares in [0, 1].
 */
export const validationRulesSchema = z
  .object({
    /** Fewer rows than this is an error. Default 100. */
    minRows: z.number().int().min(0).optional(),
    /** Share of a column's non-missing values that failed to parse: above it an error, above 0 a warning. 0.01. */
    maxTypeErrorRate: z.number().min(0).max(1).optional(),
    /** Missing share of a column above which a warning is raised (all missing is always an error). 0.3. */
    maxMissingRate: z.number().min(0).max(1).optional(),
    /** Share of rows that repeat an earlier row above which a warning is raised (any is reported). 0.01. */
    maxDuplicateRowRate: z.number().min(0).max(1).optional(),
    /** Share of the rarer label class below which a warning is raised. 0.05. */
    minMinorityRate: z.number().min(0).max(0.5).optional(),
    /** Robust z-score (0.6745 |x - median| / MAD, Iglewicz and Hoaglin) beyond which a value is an outlier. 3.5. */
    outlierZ: z.number().positive().optional(),
    /** Tukey's fences Q1 - k IQR and Q3 + k IQR with this k (an outlier must be beyond these and the z bound). 3. */
    outlierIqrK: z.number().positive().optional(),
    /** Share of a column's values that are outliers above which a warning is raised (any is reported). 0.01. */
    maxOutlierRate: z.number().min(0).max(1).optional(),
    /** Distinct categories above which a categorical column gets a warning. 1000. */
    maxCategories: z.number().int().positive().optional(),
    /** Severity of schema violations: values out of range, unknown categories, missing values in non-nullable columns. */
    schemaSeverity: z.enum(['error', 'warning']).optional(),
  })
  .strict();
export type ValidationRules = z.infer<typeof validationRulesSchema>;
export type ResolvedRules = Required<ValidationRules>;

export const DEFAULT_RULES: ResolvedRules = {
  minRows: 100,
  maxTypeErrorRate: 0.01,
  maxMissingRate: 0.3,
  maxDuplicateRowRate: 0.01,
  minMinorityRate: 0.05,
  outlierZ: 3.5,
  outlierIqrK: 3,
  maxOutlierRate: 0.01,
  maxCategories: 1000,
  schemaSeverity: 'error',
};

/** The rules with their defaults filled in. */
export function resolveRules(rules: ValidationRules = {}): ResolvedRules {
  const defined = Object.fromEntries(Object.entries(rules).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_RULES, ...defined };
}

export type Severity = 'error' | 'warning' | 'info';

export type CheckName =
  /** The data could not be read at all (ingest refused it); the finding carries the reader's message. */
  | 'ingest'
  | 'row_count'
  | 'schema_columns'
  | 'type_parse_errors'
  | 'missing_values'
  | 'not_nullable'
  | 'non_finite'
  | 'range'
  | 'unknown_categories'
  | 'constant_column'
  | 'high_cardinality'
  | 'outliers'
  | 'duplicate_columns'
  | 'duplicate_rows'
  | 'label_present'
  | 'label_values'
  | 'label_classes'
  | 'label_balance'
  | 'label_leakage';

/** One finding. JSON-safe. */
export interface CheckResult {
  readonly check: CheckName;
  readonly severity: Severity;
  /** The column concerned, when there is one. */
  readonly column?: string;
  readonly message: string;
  /** The measured quantity (a rate, a count) and the threshold it was held to, when that applies. */
  readonly value?: number;
  readonly threshold?: number;
  /** A few offending values or row numbers, to look at. */
  readonly examples?: readonly (string | number)[];
}

/** The validation report. JSON-safe; `ok` is false when any finding is an error. */
export interface ValidationReport {
  readonly version: 1;
  readonly ok: boolean;
  readonly rowCount: number;
  readonly columnCount: number;
  readonly target: string | null;
  readonly counts: { readonly error: number; readonly warning: number; readonly info: number };
  /** The checks that ran (a check with no finding passed). */
  readonly checksRun: readonly CheckName[];
  readonly results: readonly CheckResult[];
  readonly rules: ResolvedRules;
}
