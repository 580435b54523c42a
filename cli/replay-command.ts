import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../platform/config.js';
import { replay } from './replay.js';

/** A whole number option, or an error naming the option. */
function count(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} ${text}: expected a number >= ${min}`);
  return n;
}

/**
 * `slipway replay <csv> --model <m>`: plays the CSV through the gateway until its end or Ctrl-C, then saves where it
 * is (with --state). Exit code 0 when every row was answered, 1 when some were refused.
 */
export async function replayCommand(
  csv: string,
  opts: Record<string, string | undefined>,
  settings: { gatewayUrl: string; apiKey?: string },
): Promise<number> {
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const summary = await replay({
      csv: resolve(csv),
      model: opts.model!,
      gatewayUrl: settings.gatewayUrl,
      ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
      speed: count('speed', opts.speed, 0.001)!,
      labelDelay: Math.floor(count('label-delay', opts.labelDelay, 0)!),
      ...(opts.labelColumn ? { labelColumn: opts.labelColumn } : {}),
      ...(opts.timeColumn ? { timeColumn: opts.timeColumn } : {}),
      startRow: Math.floor(count('start-row', opts.startRow, 0)!),
      ...(opts.limit !== undefined ? { limit: Math.floor(count('limit', opts.limit, 1)!) } : {}),
      batch: Math.floor(count('batch', opts.batch, 1)!),
      concurrency: Math.floor(count('concurrency', opts.concurrency, 1)!),
      ...(opts.state ? { statePath: resolve(opts.state) } : {}),
      progressEveryMs: count('progress-every', opts.progressEvery, 0.1)! * 1000,
      signal: abort.signal,
      say: (line) => process.stderr.write(`${line}\n`),
    });
    process.stderr.write(
      `replay ${summary.finished ? 'finished' : 'stopped'}: ${summary.rows} rows sent, ${summary.labels} labels posted${summary.failedRows ? `, ${summary.failedRows} rows refused` : ''}${summary.state.sent !== summary.rows ? ` (${summary.state.sent} and ${summary.state.labelled} over every run)` : ''}\n`,
    );
    return summary.failedRows > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/** Adds `slipway replay` to the program; the gateway is the program's `--gateway` (or SLIPWAY_GATEWAY_URL). */
export function registerReplayCommand(
  program: Command,
  options: { env: Record<string, string | undefined>; gatewayUrl: () => string },
): void {
  program
    .command('replay')
    .argument('<csv>', "a CSV file with the model's inputs and a label column")
    .requiredOption('--model <name>', 'the model to send the rows to')
    .option('--speed <rows/s>', 'rows per second', '50')
    .option('--label-delay <rows>', 'post each label after this many more rows', '0')
    .option('--label-column <name>', 'the label column (default: the one column that is not an input)')
    .option('--time-column <name>', 'play rows in the order of this column (default: file order)')
    .option('--start-row <n>', 'skip the first n data rows', '0')
    .option('--limit <n>', 'send at most n rows')
    .option('--batch <rows>', 'rows per request at most', '1')
    .option('--concurrency <n>', 'requests in flight at most', '4')
    .option('--state <file>', 'keep progress here, and resume from it')
    .option('--progress-every <seconds>', 'print progress this often', '10')
    .description('play a CSV through the gateway in order, posting each label a few rows later')
    .action(async (csv: string, opts: Record<string, string | undefined>) => {
      const config = loadConfig(options.env);
      process.exitCode = await replayCommand(csv, opts, {
        gatewayUrl: options.gatewayUrl(),
        ...(config.SLIPWAY_API_KEY ? { apiKey: config.SLIPWAY_API_KEY } : {}),
      });
    });
}
