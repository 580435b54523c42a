// The `slipway` command.
import { Command } from 'commander';
import { datasetFormatSchema } from '../domain/dataset-schema.js';
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createLogger, resolveLogFormat } from '../platform/logger.js';
import { ApiError } from './api-client.js';
import { driftCommand } from './drift.js';
import { ingestCommand } from './ingest.js';
import { modelsList, modelsShow } from './models.js';
import { temporalSetupCommand } from './temporal-setup.js';
import { runShowCommand, trainCommand } from './train.js';
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
  .option('--idempotency-key <key>', 'the same key again follows the same run instead of starting another')
  .description(
    'train, evaluate and register a model from a pipeline spec; exit 0 when a version is registered',
  )
  .action(async (spec: string, opts: { json?: boolean; idempotencyKey?: string }) => {
    process.exitCode = await trainCommand(spec, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

program
  .command('drift')
  .argument('<reference>', 'reference data (CSV, NDJSON or Parquet), e.g. the training rows')
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

program
  .command('run')
  .argument('<workflowId>', 'a training run, e.g. training-elec2-price-1a2b3c4d')
  .option('--json', 'print the result as JSON')
  .description("a training run's stage and progress, or its result once it has finished")
  .action(async (workflowId: string, opts: { json?: boolean }) => {
    process.exitCode = await runShowCommand(workflowId, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

program
  .command('temporal')
  .description('the Temporal namespace Slipway runs in')
  .command('setup')
  .option('--check', 'only report which search attributes are present')
  .description(
    'register the search attributes ModelName, Stage and ChampionVersion (idempotent; uses TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS)',
  )
  .action(async (opts: { check?: boolean }) => {
    process.exitCode = await temporalSetupCommand(loadConfig(env), opts);
  });

program
  .command('ingest')
  .argument('<file>', 'a CSV, NDJSON or Parquet file (or an s3:// URI in the artifact bucket)')
  .option('--format <format>', 'csv, ndjson or parquet (default: from the file name, else csv)')
  .option('--json', 'print the result as JSON (rows, columns, schema, sha256, seconds...)')
  .description('read a dataset into the artifact store on its own: rows, columns, schema, sha256, seconds')
  .action(async (file: string, opts: { format?: string; json?: boolean }) => {
    const format = opts.format === undefined ? undefined : datasetFormatSchema.parse(opts.format);
    process.exitCode = await ingestCommand(file, {
      ...(format ? { format } : {}),
      ...(opts.json ? { json: true } : {}),
      config: loadConfig(env),
    });
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
