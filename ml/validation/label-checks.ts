import type { Column } from '../frame.js';
import { DataError } from '../ingest/data-error.js';
import { binaryLabels } from '../ingest/labels.js';
import { categoryCounts } from './profile.js';
import { pct } from './column-checks.js';
import type { CheckResult, ResolvedRules } from '../../domain/validation-rules.js';

/** Distinct present labels with their counts, and the 1-based rows with a missing or non-finite label. */
function tally(column: Column): {
  classes: { label: string; count: number }[];
  badRows: number[];
  bad: number;
} {
  const badRows: number[] = [];
  let bad = 0;
  const note = (i: number): void => {
    bad++;
    if (badRows.length < 5) badRows.push(i + 1);
  };
  if (column.kind === 'numeric') {
    const counts = new Map<number, number>();
    column.values.forEach((v, i) => (Number.isFinite(v) ? counts.set(v, (counts.get(v) ?? 0) + 1) : note(i)));
    const classes = [...counts]
      .sort((a, b) => a[0] - b[0])
      .map(([v, count]) => ({ label: String(v), count }));
    return { classes, badRows, bad };
  }
  column.codes.forEach((c, i) => c < 0 && note(i));
  const { counts } = categoryCounts(column);
  const classes = column.categories
    .map((label, i) => ({ label, count: counts[i] ?? 0 }))
    .filter((c) => c.count > 0);
  return { classes, badRows, bad };
}

/**
 * Checks of the target column for binary classification: present, no missing/NaN/infinite label, exactly two
 * classes, a known positive class, and a minority class share of at least `rules.minMinorityRate`.
 */
export function checkLabel(
  target: string,
  column: Column | undefined,
  rules: ResolvedRules,
  positiveLabel: string | undefined,
): CheckResult[] {
  if (!column) {
    return [
      {
        check: 'label_present',
        severity: 'error',
        column: target,
        message: `the target column "${target}" is not in the data`,
      },
    ];
  }
  const out: CheckResult[] = [];
  const { classes, badRows, bad } = tally(column);
  if (bad > 0) {
    const what = column.kind === 'numeric' ? 'missing, NaN or infinite' : 'missing';
    out.push({
      check: 'label_values',
      severity: 'error',
      column: target,
      message: `${bad} label(s) are ${what}; every row needs a label`,
      value: bad,
      examples: badRows,
    });
  }
  const total = classes.reduce((s, c) => s + c.count, 0);
  if (classes.length < 2) {
    out.push({
      check: 'label_classes',
      severity: 'error',
      column: target,
      message:
        classes.length === 0
          ? 'no row has a label'
          : 'every label is the same; a classifier needs both classes to learn from',
      value: classes.length,
      examples: classes.map((c) => c.label),
    });
    return out;
  }
  if (classes.length > 2) {
    out.push({
      check: 'label_classes',
      severity: 'error',
      column: target,
      message: `${classes.length} classes; binary classification needs exactly two`,
      value: classes.length,
      examples: classes.slice(0, 5).map((c) => c.label),
    });
    return out;
  }
  if (bad === 0) {
    try {
      binaryLabels(column, positiveLabel);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      // The labels themselves go to the examples: a message is shown to every viewer of the run.
      out.push({
        check: 'label_classes',
        severity: 'error',
        column: target,
        message:
          positiveLabel !== undefined && !classes.some((c) => c.label === positiveLabel)
            ? 'the positive class (positiveClass) does not occur among the labels'
            : 'cannot tell which of the two labels is the positive class; set positiveClass',
        examples: classes.map((c) => c.label),
      });
    }
  }
  const minority = Math.min(...classes.map((c) => c.count)) / total;
  if (minority < rules.minMinorityRate) {
    out.push({
      check: 'label_balance',
      severity: 'warning',
      column: target,
      message: `the rarer class is ${pct(minority)} of the labels, below ${pct(rules.minMinorityRate)}`,
      value: minority,
      threshold: rules.minMinorityRate,
      examples: classes.map((c) => `${c.label}: ${c.count}`),
    });
  }
  return out;
}
