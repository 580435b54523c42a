import { describe, expect, it } from 'vitest';
import { retrainPolicySchema, type LifecycleSpec } from '../../domain/lifecycle-spec.js';
import {
  appendEvent,
  lifecycleStatus,
  newLifecycleState,
  recentEventsKept,
  stageOf,
  upsertVersion,
  versionsKept,
} from '../../domain/lifecycle-state.js';
import { parsePipelineSpec } from '../../domain/pipeline-spec.js';

const spec: LifecycleSpec = {
  model: 'elec2-price',
  pipeline: parsePipelineSpec({
    model: 'elec2-price',
    dataset: { source: '/data/elec2.csv' },
    target: 'class',
    split: { kind: 'time' },
    trainer: { kind: 'builtin', name: 'logistic_regression' },
  }),
  rollout: {},
  monitor: {},
  retrain: retrainPolicySchema.parse({
    cooldown: '10m',
    budget: { max: 2, per: '1h' },
    triggers: { schedule: { every: '30m' } },
  }),
};
const t0 = '2026-01-01T00:00:00.000Z';

describe('lifecycle state', () => {
  it('numbers events across the lifecycle and keeps only the latest in the workflow', () => {
    const state = newLifecycleState(spec, 'hash', 'alice', t0);
    for (let i = 0; i < recentEventsKept + 5; i++)
      appendEvent(state, { at: t0, kind: 'alert', message: `alert ${i}` });
    expect(state.seq).toBe(recentEventsKept + 6);
    expect(state.totals).toEqual({ events: recentEventsKept + 5, alerts: recentEventsKept + 5, retrains: 0 });
    expect(state.recentEvents).toHaveLength(recentEventsKept);
    expect(state.recentEvents[0]?.seq).toBe(6);
    expect(state.recentEvents.at(-1)?.message).toBe(`alert ${recentEventsKept + 4}`);
  });

  it('keeps one record per version, in order, at most versionsKept of them', () => {
    const state = newLifecycleState(spec, 'hash', 'alice', t0);
    for (let v = versionsKept + 3; v >= 1; v--) {
      upsertVersion(state, {
        version: v,
        trainedAt: t0,
        trainingWorkflowId: `t-${v}`,
        cause: 'x',
        state: 'candidate',
      });
    }
    upsertVersion(state, {
      version: versionsKept + 3,
      trainedAt: t0,
      trainingWorkflowId: 't',
      cause: 'y',
      state: 'champion',
    });
    expect(state.versions).toHaveLength(versionsKept);
    expect(state.versions[0]?.version).toBe(4);
    expect(state.versions.at(-1)).toMatchObject({ version: versionsKept + 3, state: 'champion', cause: 'y' });
  });

  it('reports the stage, and the retrain ledger: budget left, cooldown, next scheduled retrain', () => {
    const state = newLifecycleState(spec, 'hash', 'alice', t0);
    expect(stageOf(state)).toBe('training');
    state.training = { kind: 'retrain' };
    expect(stageOf(state)).toBe('retraining');
    state.phase = 'monitoring';
    state.paused = true;
    expect(stageOf(state)).toBe('paused');
    state.paused = false;
    state.ledger = {
      lastTrainingAt: '2026-01-01T01:00:00.000Z',
      automaticRetrains: ['2026-01-01T00:10:00.000Z', '2026-01-01T01:00:00.000Z'],
    };
    const status = lifecycleStatus(
      state,
      'lifecycle-elec2-price',
      null,
      Date.parse('2026-01-01T01:20:00.000Z'),
    );
    expect(status.stage).toBe('monitoring');
    expect(status.retrain).toEqual({
      lastTrainingAt: '2026-01-01T01:00:00.000Z',
      automaticRetrainsInPeriod: ['2026-01-01T01:00:00.000Z'],
      budgetLeft: 1,
      cooldownUntil: '2026-01-01T01:10:00.000Z',
      nextScheduledAt: '2026-01-01T01:30:00.000Z',
      deferred: null,
    });
  });
});
