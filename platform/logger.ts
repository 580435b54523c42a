import { pino, type Logger } from 'pino';

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

/** The one root logger of a process; modules take `.child({ component })` of it. */
export function createLogger(options: { level: string; destination?: NodeJS.WritableStream }): Logger {
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
    options.destination as pino.DestinationStream | undefined,
  );
}

/** Replaces the password of any `scheme://user:password@` in a string. */
export function scrubUrlPasswords(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:***@');
}
