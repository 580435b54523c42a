import { describe, expect, it } from 'vitest';
import { labelClass, parseFeedbackBody } from '../../domain/feedback.js';
import { newRequestId, requestIdTime } from '../../platform/request-id.js';
import { RateLimiter } from '../../serving/access.js';
import { HttpProblem } from '../../platform/http-problem.js';

describe('feedback bodies', () => {
  it('takes one label, an array, or {items}', () => {
    expect(parseFeedbackBody({ requestId: 'a', label: '1' }, 10)).toEqual({
      items: [{ requestId: 'a', label: '1' }],
      paths: [''],
    });
    expect(parseFeedbackBody([{ requestId: 'a', label: 0 }], 10)).toEqual({
      items: [{ requestId: 'a', label: 0 }],
      paths: ['0'],
    });
    expect(parseFeedbackBody({ items: [{ requestId: 'a', label: true }] }, 10)).toEqual({
      items: [{ requestId: 'a', label: true }],
      paths: ['items.0'],
    });
  });

  it('lists every shape problem by path', () => {
    expect(
      parseFeedbackBody(
        {
          items: [
            { requestId: 1, label: null },
            { requestId: 'b', label: '1', note: 'x' },
          ],
        },
        10,
      ),
    ).toEqual({
      problems: [
        { field: 'items.0.requestId', problem: 'expected the request id the gateway answered with' },
        { field: 'items.0.label', problem: 'expected a class label (a string, number or boolean), got null' },
        { field: 'items.1.note', problem: 'unknown field' },
      ],
    });
    expect(parseFeedbackBody('x', 10)).toMatchObject({ problems: [{ field: '(body)' }] });
    expect(parseFeedbackBody([], 10)).toMatchObject({ problems: [{ problem: 'no labels' }] });
    expect(parseFeedbackBody(new Array(11).fill({ requestId: 'a', label: 1 }), 10)).toMatchObject({
      problems: [{ field: 'items', problem: '11 labels is over the cap of 10 a request' }],
    });
  });

  it('matches a label to a class however it was typed', () => {
    expect(labelClass('1', ['0', '1'])).toBe('positive');
    expect(labelClass(1, ['0', '1'])).toBe('positive');
    expect(labelClass(0, ['0.0', '1.0'])).toBe('negative');
    expect(labelClass(true, ['false', 'true'])).toBe('positive');
    expect(labelClass(true, ['0', '1'])).toBeUndefined();
    expect(labelClass('>50K', ['<=50K', '>50K'])).toBe('positive');
    expect(labelClass(' ', ['0', '1'])).toBeUndefined();
  });
});

describe('request ids', () => {
  it('are UUIDv7 carrying their time, unique', () => {
    const now = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
    const ids = Array.from({ length: 1000 }, () => newRequestId(now));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 20)) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(requestIdTime(id)).toBe(now);
    }
    expect(requestIdTime('3f2a9c1e-1c2b-4d5e-8f90-123456789abc')).toBeUndefined();
    expect(requestIdTime('nope')).toBeUndefined();
  });
});

describe('the rate limiter', () => {
  it('lets a burst of the limit through, then refuses with a retry time, per client', () => {
    const limiter = new RateLimiter(60, 2);
    for (let i = 0; i < 30; i++) limiter.take('a');
    let refused: unknown;
    try {
      limiter.take('a');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpProblem);
    expect((refused as HttpProblem).status).toBe(429);
    expect((refused as HttpProblem).extra.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(() => limiter.take('b')).not.toThrow();
    const off = new RateLimiter(0);
    for (let i = 0; i < 10_000; i++) off.take('a');
  });
});
