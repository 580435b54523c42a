import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config.js';

function problemOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      TEMPORAL_NAMESPACE: 'default',
      API_PORT: 8080,
      WORKER_TAGS: 'cpu',
      ARTIFACT_STORE: 'local',
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ API_PORT: '' }).API_PORT).toBe(8080);
  });

  const cases: [string, string, RegExp][] = [
    ['API_PORT', 'eighty', /expected number/i],
    ['API_PORT', '70000', /65535/],
    ['LOG_LEVEL', 'loud', /info/],
    ['TEMPORAL_ADDRESS', 'http://x', /host:port/],
    ['DATABASE_URL', 'mysql://u:hunter2@h/db', /postgres:\/\//],
    ['S3_ENDPOINT', 'not a url', /URL/],
    ['S3_BUCKET', 'Bad_Bucket', /bucket name/],
    ['WORKER_TAGS', 'cpu,tpu', /cpu,gpu,gpu:a100/],
    ['ARTIFACT_STORE', 'ftp', /local|s3/],
    ['DATABASE_SCHEMA', 'Robert"); DROP', /identifier/],
    ['TEMPORAL_TLS', 'maybe', /true/],
    ['DATABASE_POOL_MAX', '0', />=\s*1|at least|too small/i],
  ];
  it.each(cases)('names %s when it is %j', (variable, value, expected) => {
    const error = problemOf({ [variable]: value });
    expect(error.message).toContain(variable);
    expect(error.message).toMatch(expected);
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
  });

  it('lists every bad variable at once', () => {
    const error = problemOf({ API_PORT: 'x', LOG_LEVEL: 'y' });
    expect(error.problems.map((p) => p.variable).sort()).toEqual(['API_PORT', 'LOG_LEVEL']);
  });

  it('masks secrets in the message', () => {
    const error = problemOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x' });
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toContain('admin:***@');
  });

  it('requires S3_BUCKET for the S3 artifact store', () => {
    expect(problemOf({ ARTIFACT_STORE: 's3' }).message).toMatch(/S3_BUCKET.*required/);
  });
});
