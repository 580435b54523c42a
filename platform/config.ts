import { z } from 'zod';
import { servingSettingsShape } from './serving-settings.js';
import { durationSchema, parseDuration } from '../domain/duration.js';
import { builtInRolloutDefaults, type RolloutDefaults } from '../domain/rollout-plan.js';

/**
 * Every environment setting Slipway reads, declared once and parsed once at start-up by an entrypoint.
 * Nothing else reads `process.env`.
 */
const secretNames = new Set([
  'DATABASE_URL',
  'S3_SECRET_ACCESS_KEY',
  'SLIPWAY_API_KEYS',
  'SLIPWAY_API_KEY',
  'TEMPORAL_API_KEY',
  'SLIPWAY_ALERT_WEBHOOK',
  'SLIPWAY_ALERT_WEBHOOK_SECRET',
]);

const port = z.coerce.number().int().min(0).max(65535);
/** A duration (`30s`, `10m`, `1h30m`), parsed to milliseconds. */
const duration = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 30s, 10m or 1h' });
    return z.NEVER;
  }
  return ms;
});
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `auto`: readable lines when stdout is a terminal, JSON otherwise. */
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Where local state lives: Temporal's SQLite file, the embedded database, local artifacts. */
  SLIPWAY_HOME: z.string().min(1).default('.slipway'),

  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.default(false),
  /** Path of the `temporal` CLI binary for the local dev server; otherwise PATH and the tool cache are searched. */
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_PORT: port.default(7233),

  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL identifier')
    .default('slipway'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EMBEDDED_DB_PORT: port.default(5439),

  ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  ARTIFACT_ROOT: z.string().min(1).optional(),
  S3_ENDPOINT: z.url({ message: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'expected an S3 bucket name (3-63 lower-case letters, digits, . and -)',
    )
    .optional(),
  S3_PREFIX: z.string().default(''),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: bool.default(true),

  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: port.default(8080),
  /** Where the CLI finds the control API (the one `npm start` runs, by default). */
  SLIPWAY_API_URL: z
    .url({ message: 'expected a URL such as http://127.0.0.1:8080' })
    .default('http://127.0.0.1:8080'),
  /**
   * Comma-separated `name:role:secret[:model|model]` entries (roles viewer, operator, approver, admin); empty: an
   * open API, which only a loopback API_HOST allows.
   */
  SLIPWAY_API_KEYS: z.string().default(''),
  /** Requests a minute per client address, and failed authentications a minute after which it gets 429. */
  API_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  API_AUTH_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  /** The key the CLI presents to the API. */
  SLIPWAY_API_KEY: z.string().min(16, 'expected an API key of 16+ characters').optional(),

  /** Resource tags this worker serves: `cpu`, `gpu`, `gpu:<class>` (comma-separated). */
  WORKER_TAGS: z
    .string()
    .default('cpu')
    .pipe(
      z
        .string()
        .regex(
          /^(cpu|gpu|gpu:[a-z0-9_-]+)(,(cpu|gpu|gpu:[a-z0-9_-]+))*$/,
          'expected tags like cpu,gpu,gpu:a100',
        ),
    ),
  WORKER_MAX_ACTIVITIES: z.coerce.number().int().min(1).max(1000).optional(),
  /**
   * Comma-separated directories a worker reads datasets from (relative dataset paths are looked up in each);
   * unset: the repository's datasets/ and $SLIPWAY_HOME/data.
   */
  SLIPWAY_DATA_ROOTS: z.string().optional(),
  /** Largest dataset a worker reads, in bytes and in data rows (a spec may only ask for less). */
  SLIPWAY_MAX_DATASET_BYTES: z.coerce.number().int().positive().optional(),
  SLIPWAY_MAX_DATASET_ROWS: z.coerce.number().int().positive().optional(),
  /**
   * The command trainers a worker runs, by name: `name=program[:argument...]` entries separated by commas, e.g.
   * `sklearn-example=python3:examples/python-trainer/train.py`; unset: none.
   */
  SLIPWAY_COMMAND_TRAINERS: z.string().optional(),
  /** The code version recorded in every model version's lineage; default: the git commit of the checkout. */
  SLIPWAY_CODE_VERSION: z.string().min(1).max(200).optional(),
  /** Rollout plan defaults (a plan's own values win): how often a phase is judged, its bake time and maximum wait,
   * the rows per version it needs, and how long the approval gate waits. Durations: 30s, 10m, 1h... */
  ROLLOUT_ANALYSIS_INTERVAL: durationSchema({ min: 100 }).default(builtInRolloutDefaults.analysisIntervalMs),
  ROLLOUT_BAKE_TIME: durationSchema({ min: 100 }).default(builtInRolloutDefaults.bakeTimeMs),
  ROLLOUT_MAX_WAIT: durationSchema({ min: 100 }).default(builtInRolloutDefaults.maxWaitMs),
  ROLLOUT_MIN_SAMPLES: z.coerce.number().int().min(1).default(builtInRolloutDefaults.minSamples),
  ROLLOUT_APPROVAL_TIMEOUT: durationSchema({ min: 100 }).default(builtInRolloutDefaults.approvalTimeoutMs),
  /** Monitor policies that set no interval judge a window this often; no lag: read it this long after it ends (ms). */
  SLIPWAY_MONITOR_INTERVAL: duration.default(60 * 60_000),
  SLIPWAY_MONITOR_LAG: duration.default(60_000),
  /** Where monitor alerts are POSTed (JSON, at least once, with an idempotency key); unset: audit log only. */
  SLIPWAY_ALERT_WEBHOOK: z
    .url({ message: 'expected a URL such as https://hooks.example.com/slipway' })
    .optional(),
  /** When set, alert requests carry `X-Slipway-Signature: sha256=<HMAC of the body>`. */
  SLIPWAY_ALERT_WEBHOOK_SECRET: z.string().min(16, 'expected a secret of 16+ characters').optional(),
  SLIPWAY_ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** A worker serves Prometheus metrics at http://WORKER_METRICS_HOST:WORKER_METRICS_PORT/metrics; unset: none. */
  WORKER_METRICS_PORT: port.optional(),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** `npm start`'s demo lifecycle: its spec (relative to the repository), and the Elec2 replay's pace and label delay. */
  SLIPWAY_DEMO_SPEC: z.string().min(1).default('examples/lifecycle/elec2-demo.yaml'),
  SLIPWAY_DEMO_SPEED: z.coerce.number().positive().max(100_000).default(50),
  SLIPWAY_DEMO_LABEL_DELAY: z.coerce.number().int().min(0).max(1_000_000).default(48),
  /** Task-queue prefix; tests give each suite its own. */
  TASK_QUEUE_PREFIX: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected lower-case letters, digits, _ and -')
    .default('slipway'),
  ...servingSettingsShape,
});

export type Config = z.infer<typeof configSchema>;

/** Thrown when the environment is wrong; its message lists every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: readonly { variable: string; value: string | undefined; expected: string }[],
  ) {
    super(message);
  }
}

function mask(variable: string, value: string | undefined): string {
  if (value === undefined) return '(unset)';
  if (secretNames.has(variable)) {
    // Show a URL's shape without its password, and nothing of other secrets.
    return variable === 'DATABASE_URL' ? value.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@') : '***';
  }
  return JSON.stringify(value);
}

/**
 * Parses the environment once. A wrong value fails with the variable's name, the value (secrets masked) and what is
 * expected, for every bad variable at once.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty strings mean "unset", as shells often export VAR= to clear a value.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(cleaned);
  if (parsed.success) {
    const cfg = parsed.data;
    if (cfg.ARTIFACT_STORE === 's3' && !cfg.S3_BUCKET) {
      throw new ConfigError('Invalid configuration:\n  S3_BUCKET=(unset): required when ARTIFACT_STORE=s3', [
        { variable: 'S3_BUCKET', value: undefined, expected: 'required when ARTIFACT_STORE=s3' },
      ]);
    }
    return cfg;
  }
  const problems = parsed.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(unknown)');
    return { variable, value: cleaned[variable], expected: issue.message };
  });
  const lines = problems.map((p) => `  ${p.variable}=${mask(p.variable, p.value)}: ${p.expected}`);
  throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`, problems);
}

/** The resolved local-state paths under SLIPWAY_HOME. */
export function localPaths(config: Config): {
  home: string;
  temporalDb: string;
  pgData: string;
  artifacts: string;
} {
  const home = config.SLIPWAY_HOME;
  return {
    home,
    temporalDb: `${home}/temporal.db`,
    pgData: `${home}/pgdata`,
    artifacts: config.ARTIFACT_ROOT ?? `${home}/artifacts`,
  };
}

/** A copy of this process's environment, for spawning child processes (servers, trainers) that inherit it. */
export function inheritedEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}

/** The artifact-store settings for `createArtifactStore`, from the parsed config. */
export function artifactStoreSettings(config: Config) {
  if (config.ARTIFACT_STORE === 's3') {
    return {
      kind: 's3' as const,
      bucket: config.S3_BUCKET ?? '',
      region: config.S3_REGION,
      prefix: config.S3_PREFIX,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
      ...(config.S3_ACCESS_KEY_ID ? { accessKeyId: config.S3_ACCESS_KEY_ID } : {}),
      ...(config.S3_SECRET_ACCESS_KEY ? { secretAccessKey: config.S3_SECRET_ACCESS_KEY } : {}),
    };
  }
  return { kind: 'local' as const, root: localPaths(config).artifacts };
}

/** The rollout plan defaults from the ROLLOUT_* settings. */
export function rolloutDefaults(config: Config): RolloutDefaults {
  return {
    analysisIntervalMs: config.ROLLOUT_ANALYSIS_INTERVAL,
    bakeTimeMs: config.ROLLOUT_BAKE_TIME,
    maxWaitMs: Math.max(config.ROLLOUT_MAX_WAIT, config.ROLLOUT_BAKE_TIME),
    minSamples: config.ROLLOUT_MIN_SAMPLES,
    approvalTimeoutMs: config.ROLLOUT_APPROVAL_TIMEOUT,
  };
}
