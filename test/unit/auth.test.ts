import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { assertSafeExposure, isLoopbackHost, registerAuth } from '../../api/auth.js';
import { problemHandler } from '../../api/problem.js';
import { callerAllows, parseApiKeys, roleAllows } from '../../domain/auth.js';
import { createKeyring } from '../../platform/keyring.js';
import { createLogger } from '../../platform/logger.js';

const keys = parseApiKeys('ci-bot:operator:op-secret-0123456789,dash:viewer:view-secret-0123456789');

async function app(withKeys = keys, options: { failures?: number; windowMs?: number; host?: string } = {}) {
  const server = Fastify();
  server.setErrorHandler(problemHandler(createLogger({ level: 'silent' })));
  registerAuth(server, {
    keys: withKeys,
    host: options.host ?? '127.0.0.1',
    authFailuresPerWindow: options.failures ?? 100,
    authFailureWindowMs: options.windowMs ?? 60_000,
  });
  server.get('/health', { config: { role: 'public' } }, (_request, reply) => reply.send({ ok: true }));
  server.get('/v1/models', { config: { role: 'viewer' } }, (request, reply) =>
    reply.send({ actor: request.actor }),
  );
  server.post('/v1/training-runs', { config: { role: 'operator' } }, (request, reply) =>
    reply.send({ actor: request.actor }),
  );
  server.get('/v1/unmarked', (request, reply) => reply.send({ actor: request.actor }));
  await server.ready();
  return server;
}

describe('API keys and roles', () => {
  it('parses keys and names a bad entry without echoing it', () => {
    expect(keys.map((k) => [k.name, k.role])).toEqual([
      ['ci-bot', 'operator'],
      ['dash', 'viewer'],
    ]);
    expect(() => parseApiKeys('ok:viewer:aaaaaaaaaaaaaaaa,bad:root:hunter2hunter2hunter2')).toThrow(
      /entry 2/,
    );
    expect(() => parseApiKeys('bad:root:hunter2hunter2hunter2')).not.toThrow(/hunter2/);
    expect(() => parseApiKeys('a:viewer:short')).toThrow(/16\+ characters/);
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
  });

  it('refuses a missing or wrong key with 401, a weak role with 403, and records the actor', async () => {
    const server = await app();
    expect((await server.inject({ url: '/health' })).statusCode).toBe(200);
    const none = await server.inject({ url: '/v1/models' });
    expect(none.statusCode).toBe(401);
    expect(none.headers['content-type']).toContain('application/problem+json');
    expect(
      (await server.inject({ url: '/v1/models', headers: { authorization: 'Bearer nope-nope-nope-nope' } }))
        .statusCode,
    ).toBe(401);
    const read = await server.inject({
      url: '/v1/models',
      headers: { authorization: 'Bearer view-secret-0123456789' },
    });
    expect(read.json()).toEqual({ actor: 'dash' });
    const write = await server.inject({
      method: 'POST',
      url: '/v1/training-runs',
      headers: { 'x-api-key': 'view-secret-0123456789' },
    });
    expect(write.statusCode).toBe(403);
    expect(write.json().detail).toContain('role viewer');
    const ok = await server.inject({
      method: 'POST',
      url: '/v1/training-runs',
      headers: { authorization: 'Bearer op-secret-0123456789' },
    });
    expect(ok.json()).toEqual({ actor: 'ci-bot' });
    await server.close();
  });

  it('closes a route that names no role to all but admin', async () => {
    const server = await app(
      parseApiKeys('op:operator:op-secret-0123456789,root:admin:root-secret-0123456789'),
    );
    const as = (key: string) =>
      server.inject({ url: '/v1/unmarked', headers: { authorization: `Bearer ${key}` } });
    expect((await as('op-secret-0123456789')).statusCode).toBe(403);
    expect((await as('root-secret-0123456789')).json()).toEqual({ actor: 'root' });
    await server.close();
  });

  it('answers 429 with Retry-After once an address has failed to authenticate too often, even with a good key', async () => {
    const server = await app(keys, { failures: 3, windowMs: 60_000 });
    const bad = { authorization: 'Bearer wrong-wrong-wrong-wrong' };
    for (let i = 0; i < 3; i++)
      expect((await server.inject({ url: '/v1/models', headers: bad })).statusCode).toBe(401);
    const blocked = await server.inject({ url: '/v1/models', headers: bad });
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    const good = await server.inject({
      url: '/v1/models',
      headers: { authorization: 'Bearer view-secret-0123456789' },
    });
    expect(good.statusCode).toBe(429);
    // Another address is not held back, and /health stays open.
    expect(
      (
        await server.inject({
          url: '/v1/models',
          remoteAddress: '127.0.0.2',
          headers: { authorization: 'Bearer view-secret-0123456789' },
        })
      ).statusCode,
    ).toBe(200);
    expect((await server.inject({ url: '/health' })).statusCode).toBe(200);
    await server.close();
  });

  it('lets an address try again once its window has passed', async () => {
    const server = await app(keys, { failures: 1, windowMs: 300 });
    const bad = { authorization: 'Bearer wrong-wrong-wrong-wrong' };
    expect((await server.inject({ url: '/v1/models', headers: bad })).statusCode).toBe(401);
    expect((await server.inject({ url: '/v1/models', headers: bad })).statusCode).toBe(429);
    const good = { authorization: 'Bearer view-secret-0123456789' };
    const deadline = Date.now() + 5000;
    let status = 429;
    while (status === 429 && Date.now() < deadline)
      status = (await server.inject({ url: '/v1/models', headers: good })).statusCode;
    expect(status).toBe(200);
    await server.close();
  });

  it('on loopback answers only to a loopback Host (DNS rebinding)', async () => {
    const server = await app([]);
    const rebinding = await server.inject({ url: '/v1/models', headers: { host: 'evil.example:8080' } });
    expect(rebinding.statusCode).toBe(403);
    expect(rebinding.json().detail).toContain('answers only to Host localhost, 127.0.0.1 or [::1]');
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080'])
      expect((await server.inject({ url: '/v1/models', headers: { host } })).statusCode).toBe(200);
    await server.close();
    // Listening on all interfaces (with keys), any Host is fine: there the keys are the protection.
    const wide = await app(keys, { host: '0.0.0.0' });
    expect(
      (
        await wide.inject({
          url: '/v1/models',
          headers: { host: 'api.example.com', authorization: 'Bearer view-secret-0123456789' },
        })
      ).statusCode,
    ).toBe(200);
    await wide.close();
  });

  it('refuses to start open (no keys) on anything but loopback', () => {
    expect(['127.0.0.1', '127.0.0.53', 'localhost', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.5', 'api.internal', '[::]'].some(isLoopbackHost)).toBe(false);
    expect(() => assertSafeExposure('0.0.0.0', [])).toThrow(
      'refusing to start: API_HOST=0.0.0.0 is not a loopback address and SLIPWAY_API_KEYS is empty',
    );
    expect(() => assertSafeExposure('0.0.0.0', keys)).not.toThrow();
    expect(() => assertSafeExposure('127.0.0.1', [])).not.toThrow();
  });

  it('is open, as `local`, when no keys are configured', async () => {
    const server = await app([]);
    expect((await server.inject({ method: 'POST', url: '/v1/training-runs' })).json()).toEqual({
      actor: 'local',
    });
    await server.close();
  });
});

describe('key scopes and the keyring', () => {
  it('parses a per-model scope and limits the key to those models', () => {
    const [scoped, all] = parseApiKeys(
      'ann:approver:ann-secret-0123456789:elec2-price|adult-income,root:admin:root-secret-0123456789',
    );
    expect(scoped).toMatchObject({ name: 'ann', role: 'approver', models: ['elec2-price', 'adult-income'] });
    expect(all!.models).toBeUndefined();
    expect(callerAllows(scoped!, 'approver', 'elec2-price')).toBe(true);
    expect(callerAllows(scoped!, 'approver', 'other')).toBe(false);
    expect(callerAllows(scoped!, 'approver')).toBe(false);
    expect(callerAllows(scoped!, 'admin', 'elec2-price')).toBe(false);
    expect(callerAllows(all!, 'approver', 'anything')).toBe(true);
    expect(() => parseApiKeys('ann:approver:ann-secret-0123456789:Bad_Model')).toThrow(/entry 1/);
  });

  it('authenticates by digest, never matching a prefix, an empty or an oversized secret', () => {
    const ring = createKeyring(
      parseApiKeys('a:viewer:aaaa-secret-0123456789,b:operator:bbbb-secret-0123456789'),
    );
    expect(ring.open).toBe(false);
    expect(ring.authenticate('bbbb-secret-0123456789')).toEqual({ name: 'b', role: 'operator' });
    expect(ring.authenticate('bbbb-secret-012345678')).toBeUndefined();
    expect(ring.authenticate('')).toBeUndefined();
    expect(ring.authenticate(undefined)).toBeUndefined();
    expect(ring.authenticate('x'.repeat(10_000))).toBeUndefined();
    expect(createKeyring([]).open).toBe(true);
  });
});
