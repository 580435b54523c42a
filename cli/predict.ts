import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DEFAULT_MISSING_TOKENS } from '../domain/dataset-schema.js';
import { openCsv } from '../ml/ingest/csv-reader.js';
import { ApiError, apiClient } from './api-client.js';

interface Prediction {
  requestId: string;
  version: number;
  probability: number;
  label: string;
}

type Row = Record<string, unknown>;

/** Rows from JSON: an array of row objects, `{"rows": [...]}`, or one row object. */
function rowsFromJson(text: string): Row[] {
  const doc = JSON.parse(text) as unknown;
  const rows = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && 'rows' in doc ? doc.rows : [doc];
  if (!Array.isArray(rows) || !rows.every((r) => r && typeof r === 'object' && !Array.isArray(r)))
    throw new Error('expected JSON rows: an array of objects, {"rows": [...]}, or one object');
  return rows as Row[];
}

const missing = new Set(DEFAULT_MISSING_TOKENS);

/**
 * Rows from CSV with a header, read by Slipway's own CSV reader: cells typed by the model's inputs (numbers for
 * numeric ones, missing tokens as null).
 */
async function rowsFromCsv(
  text: string,
  datatypes: ReadonlyMap<string, string>,
): Promise<{ rows: Row[]; ignored: string[] }> {
  const reader = await openCsv(Readable.from([Buffer.from(text, 'utf8')]));
  const header = reader.columns;
  const ignored = datatypes.size > 0 ? header.filter((h) => !datatypes.has(h)) : [];
  const rows: Row[] = [];
  for await (const record of reader.rows) {
    const row: Row = {};
    header.forEach((name, k) => {
      if (ignored.includes(name)) return;
      const raw = record.cells[k];
      const cell = raw === null || raw === undefined ? '' : String(raw);
      const type = datatypes.get(name);
      const text = cell.trim();
      // Missing cells are read as Slipway reads a dataset, so a row scores as it did in the reference data.
      if (missing.has(text)) row[name] = null;
      else if (type === 'BYTES') row[name] = cell;
      else row[name] = type !== undefined || Number.isFinite(Number(text)) ? Number(text) : cell;
    });
    rows.push(row);
  }
  return { rows, ignored };
}

/**
 * `slipway predict <model> <json-or-csv>`: scores rows through the gateway's row JSON endpoint and prints each
 * row's probability, label, version and request id. The input is a .json or .csv file, `-` for standard input, or
 * JSON text. CSV cells are typed by the model's inputs; columns the model doesn't take are left out, with a note.
 */
export async function predictCommand(
  model: string,
  input: string,
  options: { version?: string; json?: boolean; gatewayUrl: string; apiKey?: string; batchRows?: number },
): Promise<number> {
  const gateway = apiClient(options.gatewayUrl, options.apiKey);
  const inline = /^\s*[[{]/.test(input);
  const text = inline
    ? input
    : input === '-'
      ? await readStdin()
      : await readFile(input, 'utf8').catch(() => undefined);
  if (text === undefined) {
    process.stderr.write(`${input}: no such file\n`);
    return 2;
  }
  const path = options.version ? `/v2/models/${model}/versions/${options.version}` : `/v2/models/${model}`;
  const base = options.version ? `/v1/models/${model}/versions/${options.version}` : `/v1/models/${model}`;
  let rows: Row[];
  try {
    if (inline || /\.json$/i.test(input) || (input === '-' && /^\s*[[{]/.test(text)))
      rows = rowsFromJson(text);
    else {
      const metadata = await gateway.get<{ inputs: { name: string; datatype: string }[] }>(path);
      const parsed = await rowsFromCsv(text, new Map(metadata.inputs.map((i) => [i.name, i.datatype])));
      if (parsed.ignored.length > 0)
        process.stderr.write(`left out columns the model does not take: ${parsed.ignored.join(', ')}\n`);
      rows = parsed.rows;
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
    process.stderr.write(`${input}: ${(error as Error).message}\n`);
    return 2;
  }
  if (rows.length === 0) {
    process.stderr.write(`${input}: no rows\n`);
    return 2;
  }
  const predictions: Prediction[] = [];
  const size = options.batchRows ?? 500;
  for (let start = 0; start < rows.length; start += size) {
    const answer = await gateway.post<{ predictions: Prediction[] }>(`${base}/predict`, {
      rows: rows.slice(start, start + size),
    });
    predictions.push(...answer.predictions);
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify(predictions, null, 2)}\n`);
    return 0;
  }
  process.stdout.write('row\tprobability\tlabel\tversion\trequest id\n');
  predictions.forEach((p, i) =>
    process.stdout.write(
      `${i + 1}\t${p.probability.toFixed(6)}\t${p.label}\tv${p.version}\t${p.requestId}\n`,
    ),
  );
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
