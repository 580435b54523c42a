import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat, scrubUrlPasswords } from '../../platform/logger.js';
import { temporalLogger } from '../../platform/temporal.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ level: 'debug', destination }) };
}

describe('logger', () => {
  it('redacts secrets by key and passwords inside URLs', () => {
    const { lines, log } = capture();
    log.info(
      { apiKey: 'k-123', s3: { secretAccessKey: 'abc' }, databaseUrl: 'postgres://u:pw@h/db' },
      'connecting to postgres://alice:hunter2@db:5432/x',
    );
    const text = JSON.stringify(lines);
    expect(text).not.toContain('k-123');
    expect(text).not.toContain('abc');
    expect(text).not.toContain('hunter2');
    expect(lines[0]?.msg).toBe('connecting to postgres://alice:***@db:5432/x');
  });

  it('forwards Temporal SDK logs with their level and a component', () => {
    const { lines, log } = capture();
    temporalLogger(log).warn('Activity failed', { activityType: 'train' });
    expect(lines[0]).toMatchObject({
      level: 40,
      component: 'temporal',
      activityType: 'train',
      msg: 'Activity failed',
    });
  });

  it('scrubs only the password part', () => {
    expect(scrubUrlPasswords('s3://key:secret@host/b and http://plain/x')).toBe(
      's3://key:***@host/b and http://plain/x',
    );
  });

  it('writes readable lines on a terminal and JSON otherwise, redacting both', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    let text = '';
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const log = createLogger({ level: 'info', format: 'pretty', destination });
    log.info({ modelName: 'elec2-price', apiKey: 'k-123' }, 'promoted');
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: promoted\n/);
    expect(text).toContain('modelName: "elec2-price"');
    expect(text).toContain('apiKey: "[redacted]"');
    expect(text).not.toContain('k-123');
    expect(() => JSON.parse(text) as unknown).toThrow();
  });
});
