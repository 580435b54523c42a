import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerAuth } from '../../api/auth.js';
import { problemHandler } from '../../api/problem.js';
import { callerAllows, parseApiKeys, roleAllows } from '../../domain/auth.js';
import { createKeyring } from '../../platform/keyring.js';
import { createLogger } from '../../platform/logger.js';

const keys = parseApiKeys('ci-bot:operator:op-secret-0123456789,dash:viewer:view-secret-0123456789');

async function app(withKeys = keys) {
  const server = Fastify();
  server.setErrorHandler(problemHandler(createLogger({ level: 'silent' })));
  registerAuth(server, withKeys);
  server.get('/health', (_request, reply) => reply.send({ ok: true }));
  server.get('/v1/models', (request, reply) => reply.send({ actor: request.actor }));
  server.post('/v1/training-runs', (request, reply) => reply.send({ actor: request.actor }));
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
