import { z } from 'zod';

/** A registry model name: 1-63 lower-case letters, digits, `_` and `-`, starting with a letter or digit. */
export const modelNameSchema = z
  .string({ message: 'expected a model name' })
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,62}$/,
    'expected 1-63 lower-case letters, digits, _ and -, starting with a letter or digit',
  );

/** A person or key name, as API keys and approver lists spell it. */
export const actorNameSchema = z
  .string({ message: 'expected a name' })
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected 1-63 lower-case letters, digits, ., _ and -');
