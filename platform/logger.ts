import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Paths pino blanks wherever they appear in a log record. */
const redactPaths = [
  'password',
  'secret',
  'token',
  'apiKey',
  'authorization',
  'databaseUrl',
  '*.password',
  '*.secret',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.secretAccessKey',
  '*.databaseUrl',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
];

/** How records are written: JSON lines (for log collectors), or readable lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/** LOG_FORMAT=auto means pretty when stdout is a terminal and JSON otherwise (piped, redirected, collected). */
export function resolveLogFormat(setting: 'auto' | LogFormat, stdoutIsTty: boolean): LogFormat {
  return setting === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : setting;
}

/** The one root logger of a process; modules take `.child({ component })` of it. */
export function createLogger(options: {
  level: string;
  format?: LogFormat;
  destination?: NodeJS.WritableStream;
}): Logger {
  // pino-pretty as a stream in this thread (not a transport worker): lines appear in order with the rest of stdout,
  // and redaction has happened before a record reaches it.
  const destination =
    options.format === 'pretty'
      ? pretty({
          colorize: options.destination === undefined,
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname,service',
          destination: options.destination ?? 1,
          sync: true,
        })
      : options.destination;
  return pino(
    {
      level: options.level,
      base: { service: 'slipway' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      // Credentials embedded in connection URLs must not reach logs either.
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubUrlPasswords(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
    },
    destination as pino.DestinationStream | undefined,
  );
}

/** Replaces the password of any `scheme://user:password@` in a string. */
export function scrubUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@');
}
