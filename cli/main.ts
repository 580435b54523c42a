// The `slipway` command.
import { Command } from 'commander';
import { datasetFormatSchema } from '../domain/dataset-schema.js';
import { inheritedEnvironment, loadConfig } from '../platform/config.js';
import { createLogger, resolveLogFormat } from '../platform/logger.js';
import { ApiError } from './api-client.js';
import { driftCommand } from './drift.js';
import { ingestCommand } from './ingest.js';
import { modelsImport } from './models-import.js';
import { modelsList, modelsShow } from './models.js';
import { registerLifecycleCommands } from './lifecycle-commands.js';
import { registerReplayCommand } from './replay-command.js';
import { predictCommand } from './predict.js';
import { runGateway } from '../serving/primary.js';
import { modelsPromote, rolloutDecide, rolloutStart, rolloutStatus } from './rollout.js';
import { temporalSetupCommand } from './temporal-setup.js';
import { runShowCommand, trainCommand } from './train.js';
import { up } from './up.js';

const env = inheritedEnvironment();
const collect = (value: string, previous: string[]): string[] => [...previous, value];
const program = new Command('slipway').description('ML models from raw data to production, on Temporal');
program.option('--api <url>', 'control API URL (default: SLIPWAY_API_URL or http://127.0.0.1:8080)');
const apiUrl = () => program.opts<{ api?: string }>().api ?? loadConfig(env).SLIPWAY_API_URL;
const apiKey = () => loadConfig(env).SLIPWAY_API_KEY;
program.option(
  '--gateway <url>',
  'serving gateway URL (default: SLIPWAY_GATEWAY_URL or http://127.0.0.1:8081)',
);
const gatewayUrl = () => program.opts<{ gateway?: string }>().gateway ?? loadConfig(env).SLIPWAY_GATEWAY_URL;

program
  .command('up')
  .description('start the local stack (Temporal dev server, database, workers, API, gateway) until Ctrl-C')
  .option('--no-demo', 'without the elec2-price lifecycle and its Elec2 replay')
  .action(async (opts: { demo: boolean }) => {
    const config = loadConfig(env);
    const format = resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true);
    await up(config, env, createLogger({ level: config.LOG_LEVEL, format }), { demo: opts.demo });
  });

program
  .command('serve')
  .description('run the serving gateway (one process per core on SERVING_PORT) until Ctrl-C')
  .action(async () => {
    const config = loadConfig(env);
    const format = resolveLogFormat(config.LOG_FORMAT, process.stdout.isTTY === true);
    await runGateway(
      config,
      createLogger({ level: config.LOG_LEVEL, format }).child({ component: 'gateway' }),
    );
  });

program
  .command('predict')
  .argument('<model>', 'a deployed model')
  .argument('<input>', 'rows: a .json or .csv file, - for standard input, or JSON text')
  .option('--version <n>', 'score with this version instead of the deployment')
  .option('--json', 'print JSON')
  .description('score rows through the gateway: probability, label, version and request id per row')
  .action(async (model: string, input: string, opts: { version?: string; json?: boolean }) => {
    process.exitCode = await predictCommand(model, input, {
      ...opts,
      gatewayUrl: gatewayUrl(),
      apiKey: apiKey(),
    });
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
  .command('import')
  .argument('<file>', 'an ONNX model trained elsewhere (skl2onnx, torch.onnx...)')
  .requiredOption('--name <model>', 'the model to register it under')
  .requiredOption(
    '--reference <data>',
    'reference data with labels (CSV or NDJSON): validation, metrics, drift profile',
  )
  .option('--target <column>', 'the label column (default: the one column the model does not take)')
  .option('--positive-class <label>', 'the positive class as the data writes it')
  .option('--json', 'print the result as JSON')
  .description('register an ONNX model trained elsewhere, checked against its reference data')
  .action(
    async (
      file: string,
      opts: { name: string; reference: string; target?: string; positiveClass?: string; json?: boolean },
    ) => {
      process.exitCode = await modelsImport(file, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
    },
  );
models
  .command('show')
  .argument('<ref>', '<name>, <name>@<alias> or <name>:<version>')
  .option('--json', 'print JSON')
  .action(async (ref: string, opts: { json?: boolean }) => {
    process.exitCode = await modelsShow(ref, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

registerReplayCommand(program, { env, gatewayUrl });
registerLifecycleCommands(program, { apiUrl, apiKey, env });
models
  .command('promote')
  .argument('<ref>', '<name>:<version>')
  .option('--expect-champion <version>', 'compare-and-set: the current champion (a version or "none")')
  .option('--reason <text>', 'why, for the audit log')
  .option('--json', 'print JSON')
  .description('make a version the champion with all traffic (admin role; refused while a rollout runs)')
  .action(async (ref: string, opts: { expectChampion?: string; reason?: string; json?: boolean }) => {
    process.exitCode = await modelsPromote(ref, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });

const rollout = program
  .command('rollout')
  .description('progressive delivery: shadow, canary steps, approval');
rollout
  .command('start')
  .argument('<ref>', '<name>:<version>')
  .option('--plan <file>', 'rollout plan (YAML or JSON; see docs/rollout.md)')
  .option('--json', 'print JSON')
  .description('start a rollout of a registered version (one per model at a time)')
  .action(async (ref: string, opts: { plan?: string; json?: boolean }) => {
    process.exitCode = await rolloutStart(ref, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });
rollout
  .command('status')
  .argument('<model>')
  .option('--watch', 'follow it until it ends')
  .option('--json', 'print JSON')
  .description('phase, traffic split, metrics and verdict of the current step, approvals')
  .action(async (model: string, opts: { watch?: boolean; json?: boolean }) => {
    process.exitCode = await rolloutStatus(model, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
  });
for (const [action, description] of [
  ['approve', 'approve at the gate (approver role)'],
  ['reject', 'reject: roll back now (approver role)'],
  ['pause', 'hold the rollout where it is (operator role)'],
  ['resume', 'let a paused rollout go on (operator role)'],
  ['abort', 'roll back now (operator role)'],
] as const) {
  rollout
    .command(action)
    .argument('<model>')
    .option('--comment <text>', 'recorded in the audit log')
    .option('--json', 'print JSON')
    .description(description)
    .action(async (model: string, opts: { comment?: string; json?: boolean }) => {
      process.exitCode = await rolloutDecide(action, model, { ...opts, apiUrl: apiUrl(), apiKey: apiKey() });
    });
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof ApiError || error instanceof Error ? error.message : String(error));
  process.exit(1);
});
