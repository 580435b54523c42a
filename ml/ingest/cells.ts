/**
 * One raw value as a reader hands it over: CSV gives strings; NDJSON gives JSON scalars (null = missing), and
 * undefined for a key a row does not have.
 */
export type Cell = string | number | boolean | null | undefined;

/** What a cell is, once missing tokens are taken out: a missing value or a trimmed/untouched token. */
export const MISSING = Symbol('missing');

// Plain decimal and scientific notation only: Number() alone would also take '0x1f', '0b101', '' and '  ' (as 0),
// which no CSV writer means as numbers.
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

/** The number a text token spells, or undefined when it is not a number. 'inf'/'Infinity' give ±Infinity. */
export function parseNumberText(text: string): number | undefined {
  if (DECIMAL.test(text)) return Number(text);
  const inf = INFINITY.exec(text);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return undefined;
}

/** true/false for the usual spellings (case-insensitive 'true'/'false'), else undefined. */
export function parseBooleanText(text: string): boolean | undefined {
  const lower = text.length <= 5 ? text.toLowerCase() : '';
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return undefined;
}

/**
 * Normalizes a cell: MISSING for null/undefined/missing tokens, the value otherwise (strings trimmed when `trim`).
 * Missing tokens are matched on the trimmed text whatever `trim` says, so ' NA ' is missing too.
 */
export function normalizeCell(
  cell: Cell,
  missingTokens: ReadonlySet<string>,
  trim: boolean,
): string | number | boolean | typeof MISSING {
  if (cell === null || cell === undefined) return MISSING;
  if (typeof cell !== 'string') return cell;
  const trimmed = cell.trim();
  if (missingTokens.has(trimmed)) return MISSING;
  return trim ? trimmed : cell;
}

/** A cell as a number: numbers as they are, text parsed; undefined when it is not a number. */
export function cellToNumber(value: string | number | boolean): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return undefined;
  return parseNumberText(value.trim());
}

/** A cell as a boolean: JSON booleans as they are, text parsed; undefined when it is not a boolean. */
export function cellToBoolean(value: string | number | boolean): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return undefined;
  return parseBooleanText(value.trim());
}

/** A cell as a category label: text as it is, JSON numbers and booleans spelled as JSON spells them. */
export function cellToCategory(value: string | number | boolean): string {
  return typeof value === 'string' ? value : String(value);
}
