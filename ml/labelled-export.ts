import type { Frame } from './frame.js';
import { csvQuote } from './frame-csv.js';

/** A logged prediction's raw features with the label that arrived for it. */
export interface LabelledTrafficRow {
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly label: string;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'string') return csvQuote(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return csvQuote(JSON.stringify(value));
}

/**
 * Labelled traffic as a training dataset: RFC 4180 CSV with the original dataset's columns in its order, the
 * original rows first (those from `originalFrom` on, when an original frame is given), then the traffic rows in
 * order with the label in the target column. A feature the traffic lacks is a missing value; a traffic key that is
 * not a column is left out (the gateway only logs the model's features). Yields chunks of text; the same inputs
 * give the same bytes, so the file's sha256 identifies the dataset.
 */
export function* labelledExportCsv(options: {
  readonly columns: readonly string[];
  readonly target: string;
  readonly original?: { readonly frame: Frame; readonly from: number };
  readonly traffic: readonly LabelledTrafficRow[];
  readonly rowsPerChunk?: number;
}): Generator<string> {
  const { columns, target, original, traffic } = options;
  const perChunk = options.rowsPerChunk ?? 5000;
  yield `${columns.map(csvQuote).join(',')}\r\n`;
  let chunk: string[] = [];
  const flush = function* () {
    if (chunk.length > 0) yield `${chunk.join('\r\n')}\r\n`;
    chunk = [];
  };
  if (original) {
    const byName = new Map(original.frame.columns.map((c) => [c.name, c]));
    const sources = columns.map((name) => byName.get(name));
    for (let r = original.from; r < original.frame.rowCount; r++) {
      chunk.push(
        sources
          .map((c) => {
            if (!c) return '';
            if (c.kind === 'numeric') {
              const v = c.values[r]!;
              return Number.isNaN(v) ? '' : String(v);
            }
            const code = c.codes[r]!;
            return code < 0 ? '' : csvQuote(c.categories[code] ?? '');
          })
          .join(','),
      );
      if (chunk.length === perChunk) yield* flush();
    }
  }
  for (const row of traffic) {
    chunk.push(
      columns.map((name) => (name === target ? csvQuote(row.label) : cell(row.inputs[name]))).join(','),
    );
    if (chunk.length === perChunk) yield* flush();
  }
  yield* flush();
}
