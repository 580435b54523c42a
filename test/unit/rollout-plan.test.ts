import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { parseRolloutRequest, rolloutWorkflowId, stageName } from '../../domain/rollout.js';
import {
  builtInRolloutDefaults,
  InvalidRolloutError,
  parseRolloutPlanSpec,
  resolveRolloutPlan,
  type RolloutDefaults,
} from '../../domain/rollout-plan.js';

const fast: RolloutDefaults = {
  analysisIntervalMs: 500,
  bakeTimeMs: 2000,
  maxWaitMs: 10_000,
  minSamples: 50,
  approvalTimeoutMs: 30_000,
};

function problems(work: () => unknown): { path: string; message: string }[] {
  try {
    work();
  } catch (error) {
    if (error instanceof InvalidRolloutError) return [...error.problems];
    throw error;
  }
  throw new Error('expected InvalidRolloutError');
}

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1.5s', 1500],
    [250, 250],
  ] as const)('reads %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', '10 minutes', '-1s', 'm10', '1h 30m', '1w'])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('formats what it reads back', () => {
    for (const ms of [0, 500, 1000, 90_000, 3_600_000, 86_400_000 + 61_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});

describe('rollout plans', () => {
  it('fills an empty plan from the settings: shadow, 5/25/50 %, roll back on approval timeout', () => {
    const plan = resolveRolloutPlan(parseRolloutPlanSpec({}), fast);
    expect(plan.shadow).toEqual({ bakeTimeMs: 2000, minSamples: 50, maxWaitMs: 10_000 });
    expect(plan.steps.map((s) => s.weight)).toEqual([5, 25, 50]);
    expect(plan.steps[1]).toEqual({ weight: 25, bakeTimeMs: 2000, minSamples: 50, maxWaitMs: 10_000 });
    expect(plan.analysis).toMatchObject({ intervalMs: 500, maxErrorRate: 0.01, labels: 'when-available' });
    expect(plan.approval).toEqual({
      approvers: [],
      twoPersonRule: false,
      timeoutMs: 30_000,
      onTimeout: 'rollback',
    });
    expect(plan.shadowDuringCanary).toBe(true);
    expect(plan.stickyKey).toBeNull();
  });

  it('takes durations as text or milliseconds and overrides per step', () => {
    const plan = resolveRolloutPlan(
      parseRolloutPlanSpec({
        shadow: false,
        steps: [
          { weight: 10, bakeTime: '1m', minSamples: 1000 },
          { weight: 50, bakeTime: '1m', maxWait: 90_000 },
        ],
        analysis: { interval: '15s', maxLatencyRatio: 2, labels: 'required' },
        approval: { approvers: ['alice', 'bob'], twoPersonRule: true, timeout: '4h', onTimeout: 'promote' },
        stickyKey: 'x-customer-id',
      }),
      builtInRolloutDefaults,
    );
    expect(plan.shadow).toBeNull();
    expect(plan.steps).toEqual([
      { weight: 10, bakeTimeMs: 60_000, minSamples: 1000, maxWaitMs: 3_600_000 },
      { weight: 50, bakeTimeMs: 60_000, minSamples: 500, maxWaitMs: 90_000 },
    ]);
    expect(plan.analysis.intervalMs).toBe(15_000);
    expect(plan.approval).toEqual({
      approvers: ['alice', 'bob'],
      twoPersonRule: true,
      timeoutMs: 4 * 3_600_000,
      onTimeout: 'promote',
    });
    expect(plan.stickyKey).toBe('x-customer-id');
  });

  it('an unset maximum wait is never shorter than the bake time', () => {
    const plan = resolveRolloutPlan(parseRolloutPlanSpec({ steps: [{ weight: 5, bakeTime: '2h' }] }), fast);
    expect(plan.steps[0]?.maxWaitMs).toBe(7_200_000);
  });

  it('lists every problem of a bad plan by field path', () => {
    const found = problems(() =>
      parseRolloutPlanSpec(
        {
          shadow: { bakeTime: 'soon' },
          steps: [{ weight: 0 }, { weight: 120 }, { weight: 25, minSamples: -1, color: 'red' }],
          analysis: { maxErrorRate: 2, labels: 'sometimes' },
          approval: { approvers: ['Alice Smith'], onTimeout: 'shrug' },
          extra: true,
        },
        'plan',
      ),
    );
    const paths = found.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'plan.shadow.bakeTime',
        'plan.steps.0.weight',
        'plan.steps.1.weight',
        'plan.steps.2.minSamples',
        'plan.steps.2',
        'plan.analysis.maxErrorRate',
        'plan.analysis.labels',
        'plan.approval.approvers.0',
        'plan.approval.onTimeout',
        'plan',
      ]),
    );
    expect(found.find((p) => p.path === 'plan.shadow.bakeTime')?.message).toMatch(/duration such as/);
    expect(found.find((p) => p.path === 'plan.steps.1.weight')?.message).toMatch(/below 100/);
  });

  it('checks what spans fields: increasing weights, bake time within the wait, two approvers for two people', () => {
    const found = problems(() =>
      resolveRolloutPlan(
        parseRolloutPlanSpec({
          steps: [{ weight: 25 }, { weight: 5 }, { weight: 50, bakeTime: '10m', maxWait: '1m' }],
          approval: { approvers: ['alice'], twoPersonRule: true },
        }),
        fast,
      ),
    );
    expect(found).toEqual([
      { path: 'plan.steps.2.maxWait', message: '1m is shorter than the bake time 10m' },
      { path: 'plan.steps.1.weight', message: 'expected weights in increasing order (5 % follows 25 %)' },
      {
        path: 'plan.approval.approvers',
        message: expect.stringContaining('two-person rule needs at least two approvers'),
      },
    ]);
  });
});

describe('rollout requests', () => {
  it('reads what a person types in the Temporal UI', () => {
    const { request, plan } = parseRolloutRequest(
      { model: 'elec2-price', version: 3, plan: { steps: [{ weight: 10 }] } },
      fast,
    );
    expect(request).toEqual({ model: 'elec2-price', version: 3, plan: { steps: [{ weight: 10 }] } });
    expect(plan.steps).toHaveLength(1);
    expect(rolloutWorkflowId(request.model)).toBe('rollout-elec2-price');
  });

  it('lists every problem of a bad request, plan fields included', () => {
    const found = problems(() =>
      parseRolloutRequest({ model: 'Elec2 Price', version: '3', plan: { steps: [] }, colour: 1 }, fast),
    );
    expect(found.map((p) => p.path).sort()).toEqual(['(input)', 'model', 'plan.steps', 'version']);
    expect(problems(() => parseRolloutRequest(null, fast)).map((p) => p.path)).toEqual(['model', 'version']);
    const both = problems(() =>
      parseRolloutRequest(
        { model: 'm', version: -1, plan: { steps: [{ weight: 50 }, { weight: 5 }] } },
        fast,
      ),
    );
    expect(both.map((p) => p.path)).toEqual(['version', 'plan.steps.1.weight']);
    expect(problems(() => parseRolloutRequest('elec2', fast))[0]?.path).toBe('(input)');
  });

  it('names stages as the search attribute shows them', () => {
    expect(stageName('canary', 25)).toBe('canary-25');
    expect(stageName('awaiting-approval')).toBe('awaiting-approval');
  });
});

describe('the example plan', () => {
  it('examples/rollout-plan.yaml is a valid plan', async () => {
    const { readDocument } = await import('../../platform/spec-file.js');
    const raw = await readDocument(
      join(import.meta.dirname, '..', '..', 'examples', 'rollout-plan.yaml'),
      (m) => new Error(m),
    );
    const plan = resolveRolloutPlan(parseRolloutPlanSpec(raw, 'plan'), builtInRolloutDefaults);
    expect(plan.steps.map((s) => s.weight)).toEqual([5, 25, 50]);
    expect(plan.approval).toMatchObject({
      approvers: ['alice', 'bob'],
      twoPersonRule: true,
      timeoutMs: 86_400_000,
    });
  });
});
