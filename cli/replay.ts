import { createReadStream } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { gatewayClient, GatewayError, type GatewayClient, type GatewayInput } from './gateway-client.js';

export interface ReplayOptions {
  readonly csv: string;
  readonly model: string;
  readonly gatewayUrl: string;
  readonly apiKey?: string;
  /** Rows per second. */
  readonly speed: number;
  /** Each row's label is posted after this many more rows were sent. */
  readonly labelDelay: number;
  /** The label column; default: the one column that is neither a model input nor the time column. */
  readonly labelColumn?: string;
  /** Play rows in the order of this column (numbers or dates); default: file order. */
  readonly timeColumn?: string;
  /** Skip the first rows (those the champion was trained on, say). */
  readonly startRow: number;
  readonly limit?: number;
  /** Rows per request at most. */
  readonly batch: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  /** Where progress is kept, so a second run resumes where the first stopped. */
  readonly statePath?: string;
  readonly progressEveryMs: number;
  readonly signal?: AbortSignal;
  readonly say: (line: string) => void;
}

/** What a replay keeps between runs. */
export interface ReplayState {
  readonly csv: string;
  readonly size: number;
  /** The next row to send (0-based, in play order). */
  nextRow: number;
  sent: number;
  labelled: number;
  /** Answered rows whose label is not posted yet. */
  pending: { row: number; requestId: string; label: string }[];
}

export interface ReplaySummary {
  /** Rows sent and labels posted by this run (`state` has the totals over every run). */
  readonly rows: number;
  readonly labels: number;
  readonly failedRows: number;
  readonly byVersion: Record<string, number>;
  readonly finished: boolean;
  readonly state: ReplayState;
}

const wait = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

async function readRows(
  path: string,
  timeColumn: string | undefined,
): Promise<{ header: string[]; rows: string[][] }> {
  const parser = createReadStream(path).pipe(parse({ relax_column_count: false, bom: true }));
  let header: string[] | undefined;
  const rows: string[][] = [];
  for await (const record of parser as AsyncIterable<string[]>) {
    if (!header) header = record;
    else rows.push(record);
  }
  if (!header) throw new Error(`${path}: the file is empty`);
  if (timeColumn !== undefined) {
    const at = header.indexOf(timeColumn);
    if (at < 0)
      throw new Error(`--time-column ${timeColumn}: no such column (columns: ${header.join(', ')})`);
    const key = (row: string[]) => {
      const text = row[at] ?? '';
      const n = Number(text);
      return text !== '' && Number.isFinite(n) ? n : Date.parse(text);
    };
    const bad = rows.findIndex((row) => Number.isNaN(key(row)));
    if (bad >= 0)
      throw new Error(
        `--time-column ${timeColumn}: row ${bad + 2} has "${rows[bad]![at]}", not a number or a date`,
      );
    const keyed = rows.map((row, i) => ({ row, i, k: key(row) }));
    keyed.sort((a, b) => a.k - b.k || a.i - b.i);
    return { header, rows: keyed.map((x) => x.row) };
  }
  return { header, rows };
}

function toValue(text: string, input: GatewayInput): unknown {
  if (text === '') return null;
  if (input.datatype === 'BYTES') return text;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

async function loadState(
  path: string | undefined,
  csv: string,
  size: number,
): Promise<ReplayState | undefined> {
  if (!path) return undefined;
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const state = JSON.parse(text) as ReplayState;
  if (state.csv !== csv || state.size !== size) {
    throw new Error(
      `${path} records a replay of ${state.csv} (${state.size} bytes), not of ${csv}: delete it to start over`,
    );
  }
  return state;
}

async function saveState(path: string | undefined, state: ReplayState): Promise<void> {
  if (!path) return;
  await writeFile(`${path}.tmp`, JSON.stringify(state));
  await rename(`${path}.tmp`, path);
}

/** Waits until the model can answer (it may have no champion yet), saying so once. */
async function waitUntilReady(gateway: GatewayClient, options: ReplayOptions): Promise<boolean> {
  let said = false;
  while (!options.signal?.aborted) {
    if (await gateway.ready(options.model).catch(() => false)) return true;
    if (!said)
      options.say(`replay: waiting for ${options.model} to have a version serving at ${options.gatewayUrl}`);
    said = true;
    await wait(1000, options.signal);
  }
  return false;
}

/**
 * Plays a CSV through the gateway's row API in order at `speed` rows per second, and posts each row's label
 * `labelDelay` rows later through /v1/feedback. Only the model's inputs are sent; the label and other columns stay
 * behind. Progress (the next row and the labels still owed) is saved to `statePath`, so a second run resumes.
 */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const gateway = gatewayClient(options.gatewayUrl, options.apiKey);
  const { size } = await stat(options.csv);
  const { header, rows } = await readRows(options.csv, options.timeColumn);
  const state: ReplayState = (await loadState(options.statePath, options.csv, size)) ?? {
    csv: options.csv,
    size,
    nextRow: options.startRow,
    sent: 0,
    labelled: 0,
    pending: [],
  };
  const byVersion: Record<string, number> = {};
  let failedRows = 0;
  const sentBefore = state.sent;
  const labelledBefore = state.labelled;
  if (!(await waitUntilReady(gateway, options)))
    return { rows: 0, labels: 0, failedRows, byVersion, finished: false, state };

  const inputs = await gateway.inputs(options.model);
  const missing = inputs.filter((i) => !header.includes(i.name)).map((i) => i.name);
  if (missing.length > 0) throw new Error(`${options.csv} lacks the model's inputs ${missing.join(', ')}`);
  const inputNames = new Set(inputs.map((i) => i.name));
  const leftover = header.filter((c) => !inputNames.has(c) && c !== options.timeColumn);
  const labelColumn = options.labelColumn ?? (leftover.length === 1 ? leftover[0] : undefined);
  if (labelColumn === undefined) {
    throw new Error(
      `which column is the label? name it with --label-column (candidates: ${leftover.join(', ') || 'none'})`,
    );
  }
  const labelAt = header.indexOf(labelColumn);
  if (labelAt < 0)
    throw new Error(`--label-column ${labelColumn}: no such column (columns: ${header.join(', ')})`);
  const columns = inputs.map((input) => ({ input, at: header.indexOf(input.name) }));
  const end = Math.min(
    rows.length,
    options.limit !== undefined ? state.nextRow + options.limit : rows.length,
  );
  const firstRow = state.nextRow;
  options.say(
    `replay: ${options.csv} rows ${firstRow + 1}..${end} of ${rows.length} at ${options.speed}/s, labels ${options.labelDelay} rows later`,
  );

  const started = Date.now();
  let dispatched = state.nextRow;
  let lastSaved = Date.now();
  let lastProgress = Date.now();
  // Shares of the rows answered since the last progress line: a canary's split shows as it moves.
  let sinceLast: Record<string, number> = {};
  const progress = () => {
    const total = Object.values(sinceLast).reduce((a, b) => a + b, 0);
    const shares = Object.entries(sinceLast)
      .map(([v, n]) => `v${v} ${((100 * n) / Math.max(1, total)).toFixed(0)}%`)
      .join(', ');
    options.say(
      `replay: row ${state.nextRow}/${rows.length}, ${state.sent} sent, ${state.labelled} labelled, lately answered by ${shares || 'none'}${failedRows ? `, ${failedRows} failed` : ''}`,
    );
    sinceLast = {};
  };
  const postLabels = async (force: boolean) => {
    const due = state.pending.filter((p) => force || p.row + options.labelDelay < dispatched);
    if (due.length === 0) return;
    for (let i = 0; i < due.length; i += 500) {
      const chunk = due.slice(i, i + 500);
      for (let attempt = 0; ; attempt++) {
        try {
          await gateway.feedback(chunk.map((p) => ({ requestId: p.requestId, label: p.label })));
          break;
        } catch (error) {
          if (!(error instanceof GatewayError && error.retry) || attempt >= 10) throw error;
          await wait(500 * (attempt + 1), options.signal);
        }
      }
      const posted = new Set(chunk.map((p) => p.requestId));
      state.pending = state.pending.filter((p) => !posted.has(p.requestId));
      state.labelled += chunk.length;
    }
  };
  const send = async (from: number, to: number) => {
    const batch = rows
      .slice(from, to)
      .map((row) =>
        Object.fromEntries(columns.map(({ input, at }) => [input.name, toValue(row[at] ?? '', input)])),
      );
    for (let attempt = 0; ; attempt++) {
      try {
        const answers = await gateway.predict(options.model, batch);
        answers.forEach((answer, i) => {
          byVersion[answer.version] = (byVersion[answer.version] ?? 0) + 1;
          sinceLast[answer.version] = (sinceLast[answer.version] ?? 0) + 1;
          state.pending.push({
            row: from + i,
            requestId: answer.requestId,
            label: rows[from + i]![labelAt] ?? '',
          });
        });
        state.sent += batch.length;
        return;
      } catch (error) {
        const retry =
          error instanceof GatewayError && error.retry && attempt < 20 && !options.signal?.aborted;
        if (!retry) {
          failedRows += batch.length;
          if (failedRows === batch.length)
            options.say(`replay: rows ${from + 1}..${to} refused: ${(error as Error).message}`);
          return;
        }
        await wait(Math.min(5000, 250 * 2 ** Math.min(attempt, 4)), options.signal);
      }
    }
  };

  const flights = new Set<Promise<void>>();
  const inFlightFrom = new Set<number>();
  // The first row not answered (or refused) yet: where a second run starts.
  const settledUpTo = () => (inFlightFrom.size > 0 ? Math.min(...inFlightFrom) : dispatched);
  while (dispatched < end && !options.signal?.aborted) {
    const dueAt = started + ((dispatched - firstRow) / options.speed) * 1000;
    const now = Date.now();
    if (dueAt > now) {
      await wait(dueAt - now, options.signal);
      continue;
    }
    while (flights.size >= options.concurrency) await Promise.race(flights);
    // Every row that is due, in requests of at most `batch` rows.
    const dueRows = Math.min(end, firstRow + Math.floor(((Date.now() - started) / 1000) * options.speed) + 1);
    const from = dispatched;
    const to = Math.max(from + 1, Math.min(dueRows, from + options.batch));
    dispatched = to;
    inFlightFrom.add(from);
    const flight: Promise<void> = send(from, to).finally(() => {
      inFlightFrom.delete(from);
      flights.delete(flight);
    });
    flights.add(flight);
    await postLabels(false);
    if (Date.now() - lastSaved > 1000) {
      state.nextRow = settledUpTo();
      await saveState(options.statePath, state);
      lastSaved = Date.now();
    }
    if (Date.now() - lastProgress > options.progressEveryMs) {
      state.nextRow = settledUpTo();
      progress();
      lastProgress = Date.now();
    }
  }
  await Promise.all(flights);
  state.nextRow = dispatched;
  const finished = dispatched >= end;
  // At the end of the file the last labels are due too (the rows after them will never come).
  await postLabels(finished).catch((error: unknown) =>
    options.say(`replay: labels not posted: ${(error as Error).message}`),
  );
  await saveState(options.statePath, state);
  progress();
  return {
    rows: state.sent - sentBefore,
    labels: state.labelled - labelledBefore,
    failedRows,
    byVersion,
    finished,
    state,
  };
}
