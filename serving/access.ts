// Who may call the gateway, and how often: API keys (any role predicts, operator labels) and a per-client rate limit.
import type { IncomingMessage } from 'node:http';
import { callerAllows, type ApiKey, type Caller, type Role } from '../domain/auth.js';
import { HttpProblem } from '../platform/http-problem.js';
import { createKeyring } from '../platform/keyring.js';

const openCaller: Caller = { name: 'local', role: 'admin' };

function presented(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const key = req.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

export interface Access {
  readonly open: boolean;
  /**
   * The caller, when it may do what `needed` allows on `model` (or on some model, when none is named yet).
   * @throws HttpProblem 401 without a valid key, 403 for a weak role or a model outside the key's scope
   */
  authorize(req: IncomingMessage, needed: Role, model?: string): Caller;
}

/** API-key checks as the control API makes them; with no keys configured everything is allowed (local use). */
export function createAccess(keys: readonly ApiKey[]): Access {
  const keyring = createKeyring(keys);
  return {
    open: keyring.open,
    authorize(req, needed, model) {
      if (keyring.open) return openCaller;
      const caller = keyring.authenticate(presented(req));
      if (!caller) {
        const detail = 'a valid API key is required (Authorization: Bearer <key>)';
        throw new HttpProblem(401, 'Unauthorized', detail, { error: detail });
      }
      if (!callerAllows(caller, needed, model)) {
        const detail =
          model !== undefined && caller.models !== undefined && !caller.models.includes(model)
            ? `API key "${caller.name}" may not act on model ${model}`
            : `API key "${caller.name}" has role ${caller.role}; this needs ${needed}`;
        throw new HttpProblem(403, 'Forbidden', detail, { error: detail });
      }
      return caller;
    },
  };
}

/**
 * A token bucket per client (key name, else address): `perMinute` requests a minute across the gateway, with
 * bursts up to the same number. Each of the gateway's `processes` enforces its share (the cluster spreads
 * connections evenly), so no request waits on another process. 0 turns it off.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(
    private readonly perMinute: number,
    processes = 1,
  ) {
    this.capacity = Math.max(1, perMinute / processes);
    this.perMs = this.capacity / 60_000;
    if (perMinute > 0) setInterval(() => this.sweep(), 60_000).unref();
  }

  /** @throws HttpProblem 429 with Retry-After when the client is over its rate */
  take(client: string): void {
    if (this.perMinute === 0) return;
    const now = Date.now();
    const bucket = this.buckets.get(client) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
    this.buckets.set(client, bucket);
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000));
      const detail = `over the rate limit of ${this.perMinute} requests a minute (SERVING_RATE_LIMIT_PER_MINUTE); retry in ${retryAfterSeconds} s`;
      throw new HttpProblem(429, 'Too many requests', detail, { error: detail, retryAfterSeconds });
    }
    bucket.tokens -= 1;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [client, bucket] of this.buckets)
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.capacity) this.buckets.delete(client);
  }
}
