import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKey, Caller } from '../domain/auth.js';

/** Checks presented secrets against the configured API keys. */
export interface Keyring {
  /** No keys configured: the server is open (loopback development only). */
  readonly open: boolean;
  /** The key a presented secret belongs to, or undefined. */
  authenticate(presented: string | undefined): Caller | undefined;
}

const digest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

/**
 * Compares the digest of a presented secret with every key's digest in constant time: the comparison's length is
 * fixed (32 bytes) whatever was presented, and every key is compared, so timing reveals neither a key's length nor
 * which key came close.
 */
export function createKeyring(keys: readonly ApiKey[]): Keyring {
  const entries = keys.map((key) => ({
    digest: digest(key.secret),
    caller: {
      name: key.name,
      role: key.role,
      ...(key.models ? { models: key.models } : {}),
    } satisfies Caller,
  }));
  return {
    open: entries.length === 0,
    authenticate(presented) {
      if (presented === undefined || presented.length === 0 || presented.length > 4096) return undefined;
      const candidate = digest(presented);
      let found: Caller | undefined;
      for (const entry of entries) {
        if (timingSafeEqual(entry.digest, candidate)) found = entry.caller;
      }
      return found;
    },
  };
}
