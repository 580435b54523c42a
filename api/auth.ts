import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { callerAllows, roleAllows, type ApiKey, type Caller, type Role } from '../domain/auth.js';
import { createKeyring } from '../platform/keyring.js';
import { HttpProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: the API key's owner, role and model scope; the local admin when the API runs without keys. */
    caller: Caller;
    /** The caller's name, recorded as who started a run. */
    actor: string;
  }
  interface FastifyContextConfig {
    /** The least role a route needs; absent: `admin` (a route nobody marked is closed, not open). */
    role?: Role | 'public';
  }
}

/** Whether `host` (an API_HOST) is a loopback address or name, so only this machine can connect. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (bare === 'localhost') return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || bare === '0:0:0:0:0:0:0:1';
  return false;
}

/** Thrown at start when the API would listen beyond this machine without keys. */
export class ExposedApiError extends Error {
  override readonly name = 'ExposedApiError';
}

/**
 * Refuses an open API (no keys) on anything but loopback: with no keys, whoever reaches the port may start runs.
 * Call before listening.
 */
export function assertSafeExposure(host: string, keys: readonly ApiKey[]): void {
  if (keys.length === 0 && !isLoopbackHost(host)) {
    throw new ExposedApiError(
      `refusing to start: API_HOST=${host} is not a loopback address and SLIPWAY_API_KEYS is empty, so anyone who can reach the port could use the API; set SLIPWAY_API_KEYS (name:role:secret,...) or listen on 127.0.0.1`,
    );
  }
}

export interface AuthOptions {
  readonly keys: readonly ApiKey[];
  /** The address the API listens on: on loopback, the Host header must name loopback too (DNS rebinding). */
  readonly host: string;
  /** Failed authentications from one client address within `authFailureWindowMs` before it gets 429. */
  readonly authFailuresPerWindow: number;
  readonly authFailureWindowMs: number;
}

const localCaller: Caller = { name: 'local', role: 'admin' };

function presented(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const key = request.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

/**
 * Counts failed authentications per client address in fixed windows. Past the limit the address gets 429 until its
 * window ends, even with a good key: guessing keys must stay slow.
 */
function failureLimiter(limit: number, windowMs: number) {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (address: string, now: number) => {
    const entry = windows.get(address);
    if (entry && now - entry.start < windowMs) return entry;
    // Forget stale windows now and then so the map cannot grow without bound.
    if (windows.size > 10_000) for (const [k, v] of windows) if (now - v.start >= windowMs) windows.delete(k);
    const fresh = { start: now, count: 0 };
    windows.set(address, fresh);
    return fresh;
  };
  return {
    /** Seconds until the address may try again, or 0 when it may now. */
    blockedFor(address: string, now = Date.now()): number {
      const entry = current(address, now);
      return entry.count >= limit ? Math.ceil((entry.start + windowMs - now) / 1000) : 0;
    },
    fail(address: string, now = Date.now()): void {
      current(address, now).count++;
    },
  };
}

/** The Host header values a loopback API answers to: the loopback names with the port it listens on. */
function allowedHosts(port: number | undefined): (host: string) => boolean {
  const names = ['localhost', '127.0.0.1', '[::1]'];
  return (host) => {
    const match = /^(.*?)(?::(\d+))?$/.exec(host.toLowerCase());
    if (!match || !names.includes(match[1] ?? '')) return false;
    return port === undefined || match[2] === String(port);
  };
}

/**
 * Authentication and roles. Each route says the least role it needs in its config (`role`: viewer < operator <
 * approver < admin, or `public`); a route that says nothing needs admin. Keys are checked by digest in constant
 * time (platform/keyring.ts), the caller is put on the request, and failed authentications are counted per client
 * address (429 past the limit). With no keys configured (loopback only, see assertSafeExposure) every request acts as
 * the local admin. On loopback the Host header must be a loopback name with the API's port, so a web page whose
 * domain was re-pointed at 127.0.0.1 (DNS rebinding) cannot use the API from a browser.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const keyring = createKeyring(options.keys);
  const limiter = failureLimiter(options.authFailuresPerWindow, options.authFailureWindowMs);
  const loopback = isLoopbackHost(options.host);
  const listeningPort = (): number | undefined => {
    const address = app.server.address();
    return address && typeof address === 'object' ? address.port : undefined;
  };
  app.decorateRequest('caller', null as unknown as Caller);
  app.decorateRequest('actor', '');
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done) => {
    if (loopback && !allowedHosts(listeningPort())(request.headers.host ?? '')) {
      return done(
        new HttpProblem(
          403,
          'Forbidden',
          'this API listens on loopback and answers only to Host localhost, 127.0.0.1 or [::1] with its port',
        ),
      );
    }
    // An unknown path is a 404 for anyone with a key; a route that names no role needs admin.
    const needed = request.is404 ? 'viewer' : (request.routeOptions.config.role ?? 'admin');
    if (keyring.open) {
      request.caller = localCaller;
      request.actor = localCaller.name;
      return done();
    }
    if (needed === 'public') {
      const caller = keyring.authenticate(presented(request));
      request.caller = caller ?? { name: 'anonymous', role: 'viewer', models: [] };
      request.actor = request.caller.name;
      return done();
    }
    const wait = limiter.blockedFor(request.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      return done(
        new HttpProblem(429, 'Too many requests', `too many failed authentications; retry in ${wait} s`),
      );
    }
    const caller = keyring.authenticate(presented(request));
    if (!caller) {
      limiter.fail(request.ip);
      return done(
        new HttpProblem(401, 'Unauthorized', 'a valid API key is required (Authorization: Bearer <key>)'),
      );
    }
    request.caller = caller;
    request.actor = caller.name;
    if (!roleAllows(caller.role, needed)) {
      return done(
        new HttpProblem(
          403,
          'Forbidden',
          `API key "${caller.name}" has role ${caller.role}; this needs ${needed}`,
        ),
      );
    }
    done();
  });
}

/**
 * Refuses with 403 unless the caller may act with `needed` on `model`: the role check was done by the hook, this
 * adds the key's model scope. Routes call it once they know the model.
 */
export function requireModel(request: FastifyRequest, needed: Role, model: string): void {
  if (!callerAllows(request.caller, needed, model)) {
    throw new HttpProblem(
      403,
      'Forbidden',
      `API key "${request.caller.name}" may not act on model "${model}"`,
    );
  }
}
