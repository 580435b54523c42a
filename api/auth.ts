import type { FastifyInstance, FastifyRequest } from 'fastify';
import { roleAllows, type ApiKey, type Caller, type Role } from '../domain/auth.js';
import { createKeyring } from '../platform/keyring.js';
import { HttpProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: the API key's name, or `local` when the API runs without keys. */
    actor: string;
    /** The authenticated caller with role and model scope (`local`, admin, when the API runs without keys). */
    caller: Caller;
  }
}

function presented(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  const key = request.headers['x-api-key'];
  return typeof key === 'string' ? key : undefined;
}

/**
 * API-key authentication with roles: reads need `viewer`, writes need `operator`. With no keys configured the API is
 * open (local development: `npm start`), and says so at start. /health is always open.
 */
export function registerAuth(app: FastifyInstance, keys: readonly ApiKey[]): void {
  const keyring = createKeyring(keys);
  app.decorateRequest('actor', '');
  // Set for every request by the hook below (a reference-type default would be shared between requests).
  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.url === '/health') {
      request.actor = 'health';
      request.caller = { name: 'health', role: 'viewer' };
      return done();
    }
    if (keyring.open) {
      request.actor = 'local';
      request.caller = { name: 'local', role: 'admin' };
      return done();
    }
    const key = keyring.authenticate(presented(request));
    if (!key)
      return done(
        new HttpProblem(401, 'Unauthorized', 'a valid API key is required (Authorization: Bearer <key>)'),
      );
    const needed: Role = request.method === 'GET' || request.method === 'HEAD' ? 'viewer' : 'operator';
    if (!roleAllows(key.role, needed)) {
      return done(
        new HttpProblem(403, 'Forbidden', `API key "${key.name}" has role ${key.role}; this needs ${needed}`),
      );
    }
    request.actor = key.name;
    request.caller = key;
    done();
  });
}
