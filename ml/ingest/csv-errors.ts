// The problems the CSV tokenizer finds in a record, as plain data (so a worker thread can report one with the row
// numbers of its own chunk), and the DataErrors they become once the row's place in the whole file is known.
import { DataError, where } from './data-error.js';

export type CsvProblem =
  | { readonly kind: 'ragged'; readonly row: number; readonly line: number; readonly fields: number }
  | { readonly kind: 'too_long'; readonly row: number; readonly line: number; readonly size: number }
  /** A record that never ends within the limit: an unclosed quote, most often. */
  | { readonly kind: 'unterminated'; readonly row: number; readonly line: number }
  | { readonly kind: 'unclosed_quote'; readonly row: number; readonly line: number }
  | { readonly kind: 'bad_closing_quote'; readonly row: number; readonly line: number }
  | { readonly kind: 'stray_quote'; readonly row: number; readonly line: number };

/** The DataError of a problem at data row `problem.row + rowOffset`, line `problem.line + lineOffset`. */
export function csvProblemError(
  problem: CsvProblem,
  rowOffset: number,
  lineOffset: number,
  headerLength: number,
  maxLineBytes: number,
): DataError {
  const row = problem.row + rowOffset;
  const line = problem.line + lineOffset;
  const at = { row, line };
  const place = where(row, line);
  switch (problem.kind) {
    case 'ragged':
      return new DataError(
        'ragged_row',
        `${place} has ${problem.fields} field${problem.fields === 1 ? '' : 's'}; the header has ` +
          `${headerLength} (a value containing the delimiter must be quoted)`,
        at,
      );
    case 'too_long':
      return new DataError(
        'line_too_long',
        `${place} is ${problem.size} bytes, longer than the limit of ${maxLineBytes} bytes`,
        at,
      );
    case 'unterminated':
      return new DataError(
        'line_too_long',
        `${place} is longer than the limit of ${maxLineBytes} bytes (if that row should be short: an unclosed ` +
          'quote makes the rest of the file one value)',
        at,
      );
    case 'unclosed_quote':
      return new DataError(
        'bad_quote',
        `a quoted value in ${place} is never closed (the file ends inside it)`,
        at,
      );
    case 'bad_closing_quote':
      return new DataError(
        'bad_quote',
        `${place}: a quoted value must end with a quote followed by the delimiter or the end of the line ` +
          '(write a quote inside a quoted value as two quotes "")',
        at,
      );
    case 'stray_quote':
      return new DataError(
        'bad_quote',
        `${place}: a quote inside an unquoted value; quote the whole value and write the quote as two quotes ""`,
        at,
      );
  }
}

/** Checks the header: names trimmed, none empty, none repeated. */
export function checkHeader(header: readonly string[]): string[] {
  const names = header.map((name) => name.trim());
  names.forEach((name, i) => {
    if (name === '') {
      throw new DataError(
        'bad_header',
        `header column ${i + 1} has an empty name; every column needs a name` +
          (i === 0
            ? ' (an unnamed first column is often a pandas index: write the CSV with index=False)'
            : ''),
        { line: 1 },
      );
    }
  });
  const seen = new Map<string, number[]>();
  names.forEach((name, i) => seen.set(name, [...(seen.get(name) ?? []), i + 1]));
  const repeated = [...seen].filter(([, positions]) => positions.length > 1);
  if (repeated.length > 0) {
    const list = repeated
      .map(([name, positions]) => `"${name}" (columns ${positions.join(', ')})`)
      .join(', ');
    throw new DataError(
      'duplicate_columns',
      `the header repeats column names: ${list}; column names must be unique`,
      { line: 1, column: repeated[0]?.[0] },
    );
  }
  return names;
}
