// The validated rows of one request, column by column, whatever shape they arrived in (row JSON or V2 tensors).
import { HttpProblem } from '../platform/http-problem.js';
import type { ServingInterface } from '../domain/serving-interface.js';

export type { FeatureBatch, FeatureColumn } from '../platform/serving-feeds.js';

/** One problem with a request, named by its field path (`rows.3.nswprice`, `inputs.0.shape`). */
export interface FieldProblem {
  readonly field: string;
  readonly problem: string;
}

/** Collects problems up to a bound, so a huge bad request gets a readable answer. */
export class ProblemList {
  readonly items: FieldProblem[] = [];
  private dropped = 0;
  constructor(private readonly limit = 20) {}
  add(field: string, problem: string): void {
    if (this.items.length < this.limit) this.items.push({ field, problem });
    else this.dropped++;
  }
  get full(): boolean {
    return this.items.length >= this.limit;
  }
  get empty(): boolean {
    return this.items.length === 0;
  }
  /** A 400 (or the given status) naming every collected problem. */
  toProblem(status = 400): HttpProblem {
    const more = this.dropped > 0 ? `; and ${this.dropped} more` : '';
    const detail = this.items.map((e) => `${e.field}: ${e.problem}`).join('; ') + more;
    return invalidRequest(detail, this.items, status);
  }
}

/** A 4xx problem+json listing field problems; `error` repeats the detail for Open Inference Protocol clients. */
export function invalidRequest(detail: string, errors: readonly FieldProblem[], status = 400): HttpProblem {
  const title = status === 413 ? 'Payload too large' : status === 404 ? 'Not found' : 'Invalid request';
  return new HttpProblem(status, title, detail, { errors, error: detail });
}

/** How a JSON value looks, for messages: `a string ("abc")`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `a string (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
      return Number.isFinite(value) ? `the number ${value}` : 'a number too large to represent';
    case 'boolean':
      return `a boolean (${value})`;
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const float32Max = 3.4028234663852886e38;

/** Checks one numeric feature value; returns the number (NaN for missing) or undefined after recording a problem. */
export function numericValue(
  value: unknown,
  field: string,
  iface: ServingInterface,
  type: ServingInterface['inputs'][number]['type'],
  problems: ProblemList,
): number | undefined {
  const integer = type === 'int64';
  if (value === null) {
    if (iface.acceptsMissing && !integer) return NaN;
    problems.add(field, 'missing values (null) are not accepted by this model');
    return undefined;
  }
  if (typeof value !== 'number') {
    problems.add(field, `expected a number, got ${describeValue(value)}`);
    return undefined;
  }
  if (!Number.isFinite(value)) {
    problems.add(field, 'not a finite number (the model takes finite numbers only)');
    return undefined;
  }
  if (type === 'float32' && Math.abs(value) > float32Max) {
    problems.add(field, `${value} is out of range for the model's float32 input (at most ±3.4e38)`);
    return undefined;
  }
  if (integer && !Number.isSafeInteger(value)) {
    problems.add(field, `expected an integer, got ${value}`);
    return undefined;
  }
  return value;
}

/** Checks one categorical feature value: a string, a boolean (as "true"/"false"), or null (missing). */
export function categoricalValue(
  value: unknown,
  field: string,
  iface: ServingInterface,
  problems: ProblemList,
): string | null | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) {
    if (iface.acceptsMissing) return null;
    problems.add(field, 'missing values (null) are not accepted by this model');
    return undefined;
  }
  problems.add(field, `expected a string, got ${describeValue(value)}`);
  return undefined;
}

/** A list of names for messages: `a, b, c` (at most a dozen). */
export function nameList(names: readonly string[]): string {
  return names.length > 12
    ? `${names.slice(0, 12).join(', ')}, … (${names.length} in all)`
    : names.join(', ');
}
