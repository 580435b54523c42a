// Row JSON for people: `{"rows": [{feature: value, ...}, ...]}`, validated against the model's interface before
// anything reaches onnxruntime.
import type { ServingInterface } from '../domain/serving-interface.js';
import {
  ProblemList,
  categoricalValue,
  describeValue,
  invalidRequest,
  nameList,
  numericValue,
  type FeatureBatch,
  type FeatureColumn,
} from './feature-batch.js';

export interface RowRequest {
  readonly batch: FeatureBatch;
  /** Each row's sticky value (from the row field the deployment names), when it has one. */
  readonly sticky: readonly (string | undefined)[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and validates a row JSON body: every feature present with a value of its type, no other field (but the
 * sticky field), 1 to `maxRows` rows.
 * @throws HttpProblem 400 naming each bad field (up to 20), or 413 for too many rows
 */
export function parseRowRequest(
  body: unknown,
  iface: ServingInterface,
  options: { maxRows: number; stickyField: string | null },
): RowRequest {
  if (!isPlainObject(body))
    throw invalidRequest(`(body): expected a JSON object {"rows": [...]}, got ${describeValue(body)}`, [
      { field: '(body)', problem: `expected a JSON object {"rows": [...]}, got ${describeValue(body)}` },
    ]);
  const problems = new ProblemList();
  for (const key of Object.keys(body))
    if (key !== 'rows') problems.add(key, 'unknown field; the body has "rows" only');
  const rows = body.rows;
  if (!Array.isArray(rows) || rows.length === 0) {
    problems.add(
      'rows',
      `expected an array of 1 to ${options.maxRows} row objects, got ${describeValue(rows)}`,
    );
    throw problems.toProblem();
  }
  if (rows.length > options.maxRows) {
    const detail = `rows: ${rows.length} rows is over the cap of ${options.maxRows} a request (SERVING_MAX_BATCH_ROWS)`;
    throw invalidRequest(detail, [{ field: 'rows', problem: detail.slice(6) }], 413);
  }
  const n = rows.length;
  const features = iface.features;
  const known = new Set(features.map((f) => f.name));
  const inputType = new Map(iface.inputs.map((i) => [i.name, i.type]));
  const columns = new Map<string, FeatureColumn>();
  const numeric: (Float64Array | undefined)[] = [];
  const categorical: ((string | null)[] | undefined)[] = [];
  for (const f of features) {
    if (f.kind === 'numeric') {
      const values = new Float64Array(n);
      numeric.push(values);
      categorical.push(undefined);
      columns.set(f.name, { kind: 'numeric', values });
    } else {
      const values = new Array<string | null>(n);
      numeric.push(undefined);
      categorical.push(values);
      columns.set(f.name, { kind: 'categorical', values });
    }
  }
  const sticky: (string | undefined)[] = new Array<string | undefined>(n);
  const stickyField = options.stickyField;
  for (let i = 0; i < n && !problems.full; i++) {
    const row: unknown = rows[i];
    if (!isPlainObject(row)) {
      problems.add(`rows.${i}`, `expected an object of features, got ${describeValue(row)}`);
      continue;
    }
    for (let j = 0; j < features.length; j++) {
      const f = features[j]!;
      const field = `rows.${i}.${f.name}`;
      if (!Object.hasOwn(row, f.name)) {
        problems.add(field, 'missing; send every feature (null for a missing value)');
        continue;
      }
      const value = row[f.name];
      if (f.kind === 'numeric') {
        const x = numericValue(value, field, iface, inputType.get(f.input) ?? 'float32', problems);
        if (x !== undefined) numeric[j]![i] = x;
      } else {
        const s = categoricalValue(value, field, iface, problems);
        if (s !== undefined) categorical[j]![i] = s;
      }
    }
    for (const key of Object.keys(row)) {
      if (known.has(key)) continue;
      if (key === stickyField) {
        const v = row[key];
        if (typeof v === 'string' || typeof v === 'number') sticky[i] = String(v);
        else
          problems.add(
            `rows.${i}.${key}`,
            `the sticky key: expected a string or number, got ${describeValue(v)}`,
          );
        continue;
      }
      problems.add(
        `rows.${i}.${key}`,
        `not a feature of this model; its features are ${nameList([...known])}`,
      );
    }
  }
  if (!problems.empty) throw problems.toProblem();
  return { batch: { rowCount: n, columns }, sticky };
}
