/**
 * Error type names that Temporal must not retry. Activities throw ApplicationFailure with these types (or errors
 * whose `name` is one of them); workflows and retry policies list them once, here.
 */
export const nonRetryableErrorTypes = [
  'InvalidSpec',
  'DataError',
  'ValidationFailed',
  'GateFailed',
  'IntegrityError',
  'ConfigError',
  'InvalidParams',
] as const;

export type NonRetryableErrorType = (typeof nonRetryableErrorTypes)[number];
