import type { Frame } from './frame.js';

/** A CSV field as RFC 4180 writes it: quoted when it holds a quote, a comma, a line break or edge spaces. */
export function csvQuote(text: string): string {
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes a frame (plus optional extra columns) as RFC 4180 CSV text, in chunks of rows so a large frame never
 * becomes one giant string. Missing values are empty fields.
 */
export function* frameToCsv(
  frame: Frame,
  extra: { name: string; values: ArrayLike<number> }[] = [],
  rowsPerChunk = 5000,
): Generator<string> {
  const header = [...frame.columns.map((c) => c.name), ...extra.map((e) => e.name)].map(csvQuote).join(',');
  yield `${header}\r\n`;
  let chunk: string[] = [];
  for (let r = 0; r < frame.rowCount; r++) {
    const cells = frame.columns.map((c) => {
      if (c.kind === 'numeric') {
        const v = c.values[r]!;
        return Number.isNaN(v) ? '' : String(v);
      }
      const code = c.codes[r]!;
      return code < 0 ? '' : csvQuote(c.categories[code] ?? '');
    });
    for (const e of extra) cells.push(String(e.values[r]));
    chunk.push(cells.join(','));
    if (chunk.length === rowsPerChunk) {
      yield `${chunk.join('\r\n')}\r\n`;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield `${chunk.join('\r\n')}\r\n`;
}
