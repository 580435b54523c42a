import { createReadStream } from 'node:fs';
import { rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { driftOptionsSchema, driftTestSchema, type DriftOptions, type DriftTest } from '../domain/drift.js';
import { compareWindow, DriftInputError } from '../ml/drift/compare.js';
import { buildDriftReference } from '../ml/drift/reference.js';
import type { DriftReport, FeatureDrift } from '../ml/drift/report.js';
import { renderDriftReportHtml } from '../ml/drift/report-html.js';
import type { Frame } from '../ml/frame.js';
import { DataError } from '../ml/ingest/data-error.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import type { DatasetFormat, DatasetSchema } from '../domain/dataset-schema.js';

export interface DriftCommandOptions {
  readonly json?: boolean;
  readonly html?: string;
  readonly alpha?: string;
  /** `feature=test`, repeatable. */
  readonly test?: readonly string[];
  /** Comma-separated columns to leave out. */
  readonly exclude?: string;
  readonly bins?: string;
  readonly calibration?: string;
  readonly seed?: string;
}

/** A problem with the command line or the files: printed as is, exit code 2. */
class UsageError extends Error {}

function formatOf(path: string): DatasetFormat {
  if (/\.parquet$/i.test(path)) return 'parquet';
  return /\.(ndjson|jsonl)$/i.test(path) ? 'ndjson' : 'csv';
}

async function readFile(
  path: string,
  schema?: DatasetSchema,
): Promise<{ frame: Frame; schema: DatasetSchema }> {
  const file = resolve(path);
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`${path}: no such file`);
  const format = formatOf(file);
  try {
    const result = await readDataset(() => createReadStream(file), {
      format,
      ...(schema ? { schema: { ...schema, allowExtraColumns: true } } : {}),
    });
    return { frame: result.frame, schema: result.schema };
  } catch (error) {
    if (error instanceof DataError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

function number(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new UsageError(`--${name} must be a number, got "${text}"`);
  return value;
}

function driftOptions(options: DriftCommandOptions): DriftOptions {
  const tests: Record<string, DriftTest> = {};
  for (const entry of options.test ?? []) {
    const at = entry.lastIndexOf('=');
    const test = driftTestSchema.safeParse(entry.slice(at + 1));
    if (at <= 0 || !test.success)
      throw new UsageError(
        `--test ${entry}: expected feature=test with test one of ${driftTestSchema.options.join(', ')}`,
      );
    tests[entry.slice(0, at)] = test.data;
  }
  const parsed = driftOptionsSchema.safeParse({
    alpha: number('alpha', options.alpha),
    seed: number('seed', options.seed),
    calibration: options.calibration,
    ...(Object.keys(tests).length > 0 ? { tests } : {}),
  });
  if (!parsed.success)
    throw new UsageError(
      parsed.error.issues.map((i) => `--${i.path.join('.') || 'options'}: ${i.message}`).join('\n'),
    );
  return parsed.data;
}

function cell(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (x === 0) return '0';
  const abs = Math.abs(x);
  return abs < 1e-4 || abs >= 1e6 ? x.toExponential(2) : String(Number(x.toPrecision(4)));
}

const COLUMNS: readonly [string, (f: FeatureDrift) => string][] = [
  ['feature', (f) => f.feature],
  ['kind', (f) => f.kind],
  ['test', (f) => f.test ?? '-'],
  ['statistic', (f) => cell(f.statistic)],
  ['p-value', (f) => cell(f.pValue)],
  ['threshold', (f) => cell(f.threshold)],
  ['verdict', (f) => (f.test === null ? 'untested' : f.drift ? 'DRIFT' : 'ok')],
  ['inflation', (f) => cell(f.inflation)],
  ['test_pvalue', (f) => cell(f.testPValue)],
  ['ks', (f) => cell(f.ks)],
  ['ks_pvalue', (f) => cell(f.ks_pvalue)],
  ['wasserstein', (f) => cell(f.wasserstein)],
  ['wasserstein_normalized', (f) => cell(f.wasserstein_normalized)],
  ['jensenshannon', (f) => cell(f.jensenshannon)],
  ['psi', (f) => cell(f.psi)],
  ['chi2', (f) => cell(f.chi2)],
  ['chi2_pvalue', (f) => cell(f.chi2_pvalue)],
  ['linf', (f) => cell(f.linf)],
];

/** The report as aligned text: a header, one row per feature, and the notes that explain the thresholds. */
export function formatDriftReport(report: DriftReport, reference: string, current: string): string {
  const rows = [
    COLUMNS.map(([name]) => name),
    ...report.features.map((f) => COLUMNS.map(([, get]) => get(f))),
  ];
  const widths = COLUMNS.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  const table = rows.map((r) =>
    r
      .map((c, j) => c.padEnd(widths[j]!))
      .join('  ')
      .trimEnd(),
  );
  const tested = report.features.filter((f) => f.test !== null).length;
  const lines = [
    `reference: ${reference} (${report.reference.rows} rows); current: ${current} (${report.current.rows} rows)`,
    report.drift
      ? `DRIFT in ${report.driftedFeatures.length} of ${tested} features: ${report.driftedFeatures.join(', ')}`
      : `no drift in ${tested} features`,
    '',
    ...table,
    '',
    'A feature drifts when its p-value (the test_pvalue deflated by the inflation) is at or below its threshold.',
    `Calibration: ${report.calibration.description};`,
    report.correction === 'holm'
      ? `Holm's correction across features at alpha ${report.alpha} (a window without drift alerts with probability at most ${report.alpha}).`
      : `no correction across features (each at alpha ${report.alpha}).`,
  ];
  for (const f of report.features)
    if (f.current.unseenCategories)
      lines.push(
        `${f.feature}: categories the reference never had: ${f.current.unseenCategories.map((u) => `${u.value} (${u.count})`).join(', ')}`,
      );
  return `${lines.join('\n')}\n`;
}

/**
 * `slipway drift <reference> <current>`: builds the drift reference of the first file and compares the second with
 * it. Prints every feature's statistics, threshold and verdict (or the JSON report), optionally writes the HTML
 * report. Exit code 0: no drift; 1: drift; 2: bad input (the message says which file and what).
 */
export async function driftCommand(
  referencePath: string,
  currentPath: string,
  options: DriftCommandOptions,
): Promise<number> {
  try {
    const compareOptions = driftOptions(options);
    const bins = number('bins', options.bins);
    const exclude = (options.exclude ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const reference = await readFile(referencePath);
    const current = await readFile(currentPath, reference.schema);
    let report: DriftReport;
    try {
      const driftReference = buildDriftReference(reference.frame, {
        exclude,
        ...(bins === undefined ? {} : { bins, fineBins: bins * 100 }),
      });
      report = compareWindow(driftReference, current.frame, compareOptions);
    } catch (error) {
      if (error instanceof RangeError || error instanceof DriftInputError)
        throw new UsageError(error.message);
      throw error;
    }
    if (options.html) {
      const target = resolve(options.html);
      const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
      const html = renderDriftReportHtml(report, {
        title: `Drift: ${basename(currentPath)} against ${basename(referencePath)}`,
      });
      try {
        await writeFile(temp, html);
        await rename(temp, target);
      } catch (error) {
        throw new UsageError(`--html ${options.html}: cannot write it (${(error as Error).message})`);
      }
    }
    process.stdout.write(
      options.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatDriftReport(report, referencePath, currentPath),
    );
    return report.drift ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
