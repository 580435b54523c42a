// The `slipway` command.
import { Command } from 'commander';
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createLogger, resolveLogFormat } from '../platform/logger.js';
import { ApiError } from './api-client.js';
import { driftCommand } from './drift.js';
import { modelsList, modelsShow } from './models.js';
import { trainCommand } from './train.js';
import { up } from './up.js';

const env = inheritedEnvironment();
const collect = (value: string, previous: string[]): string[] => [...previous, value];
const program = new Command('slipway').description('ML models from raw data to production, on Temporal');
program.option('--api <url>', 'control API URL (default: SLIPWAY_API_URL or http://127.0.0.1:8080)');
const apiUrl = () => program.opts<{ api?: string }>().api ?? loadConfig(env).SLIPWAY_API_URL;
const apiKey = () => loadConfig(env).SLIPWAY_API_KEY;

program
  .command('up')
  .description('start the local stack (Temporal dev server, database, workers, API) until Ctrl-C')
  .action(async () => {
    const config = loadConfig(env);
    const format = resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true);
    await up(config, env, createLogger({ level: config.LOG_LEVEL, format }));
  });

program
  .command('train')
  .argument('<spec>', 'pipeline spec file (YAML or JSON)')
  .option('--json', 'print the result as JSON')
  .description(
    'train, evaluate and register a model from a pipeline spec; exit 0 when a version is registered',
  )
  .action(async (spec: string, opts: { json?: boolean }) => {
    process.exitCode = await trainCommand(spec, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

program
  .command('drift')
  .argument('<reference>', 'reference data (CSV or NDJSON), e.g. the training rows')
  .argument('<current>', 'current data with the same columns, e.g. a window of serving rows')
  .option('--json', 'print the report as JSON')
  .option('--html <file>', 'also write the HTML report to this file')
  .option('--alpha <p>', 'chance that data without drift alerts (family-wise over features; default 0.05)')
  .option(
    '--test <feature=test>',
    'the test of a feature: ks, chi2, psi, jensenshannon, wasserstein, linf',
    collect,
    [],
  )
  .option('--exclude <columns>', 'comma-separated columns to leave out (identifiers, timestamps, the target)')
  .option('--bins <n>', 'quantile bins for PSI and Jensen-Shannon (default 10)')
  .option('--calibration <how>', "reference (default: the reference's chunk calibration) or none")
  .option('--seed <n>', 'seed of the Monte-Carlo p-values (default 1)')
  .description('compare two datasets feature by feature; exit 0 without drift, 1 with drift, 2 for bad input')
  .action(async (reference: string, current: string, opts: Parameters<typeof driftCommand>[2]) => {
    process.exitCode = await driftCommand(reference, current, opts);
  });

const models = program.command('models').description('the model registry');
models
  .command('list')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    process.exitCode = await modelsList({ ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });
models
  .command('show')
  .argument('<ref>', '<name>, <name>@<alias> or <name>:<version>')
  .option('--json', 'print JSON')
  .action(async (ref: string, opts: { json?: boolean }) => {
    process.exitCode = await modelsShow(ref, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof ApiError || error instanceof Error ? error.message : String(error));
  process.exit(1);
});
