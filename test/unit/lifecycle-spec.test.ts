import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidLifecycleSpecError } from '../../domain/lifecycle-spec.js';
import { lifecycleStartSchema, modelOfLifecycleId } from '../../domain/lifecycle.js';
import { loadLifecycleSpecFile, resolveLifecycleDocument } from '../../platform/lifecycle-spec-file.js';

const examples = join(import.meta.dirname, '..', '..', 'examples');

const inlinePipeline = {
  model: 'elec2-price',
  dataset: { source: '../datasets/electricity.csv' },
  target: 'class',
  positiveClass: '1',
  drop: ['period'],
  split: { kind: 'time' },
  trainer: { kind: 'builtin', name: 'logistic_regression' },
};

async function problems(raw: unknown): Promise<{ path: string; message: string }[]> {
  try {
    await resolveLifecycleDocument(raw, examples);
  } catch (error) {
    if (error instanceof InvalidLifecycleSpecError) return [...error.problems];
    throw error;
  }
  throw new Error('expected the spec to be refused');
}

const paths = (list: { path: string }[]) => list.map((p) => p.path).sort();

describe('lifecycle specs', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('reads the demo spec: pipeline by path, durations in ms, defaults filled', async () => {
    const spec = await loadLifecycleSpecFile(join(examples, 'lifecycle', 'elec2-demo.yaml'));
    expect(spec.model).toBe('elec2-price');
    expect(spec.pipeline.dataset.source).toBe(join(examples, '..', 'datasets', 'elec2-early.csv'));
    expect(spec.retrain.triggers.drift?.features).toContain('vicprice');
    expect(typeof spec.retrain.cooldown).toBe('number');
    expect(spec.rollout.approval?.onTimeout).toBe('promote');
  });

  it('reads the production example: its monitor policy and a schedule the budget and cooldown allow', async () => {
    const spec = await loadLifecycleSpecFile(join(examples, 'lifecycle', 'elec2-production.yaml'));
    expect(spec.monitor).toMatchObject({ interval: 3_600_000, alerts: { k: 3, n: 6, m: 4 } });
    expect(spec.retrain.triggers.schedule?.every).toBe(14 * 86_400_000);
    expect(spec.rollout.approval).toMatchObject({ twoPersonRule: true, onTimeout: 'rollback' });
  });

  it('takes the pipeline inline and resolves its dataset path against the base folder', async () => {
    const spec = await resolveLifecycleDocument(
      {
        pipeline: inlinePipeline,
        retrain: { cooldown: '10s', triggers: { schedule: { every: '1m' } }, budget: { max: 10, per: '5m' } },
      },
      examples,
    );
    expect(spec.pipeline.dataset.source).toBe(join(examples, '..', 'datasets', 'electricity.csv'));
    expect(spec.retrain.cooldown).toBe(10_000);
    expect(spec.retrain.triggers.schedule?.every).toBe(60_000);
    expect(spec.retrain.budget).toEqual({ max: 10, per: 300_000 });
  });

  it('lists every problem by field path, the pipeline and rollout plan included', async () => {
    const found = await problems({
      model: 'Elec2!',
      pipeline: { ...inlinePipeline, trainer: { kind: 'builtin', name: 'svm' } },
      rollout: { steps: [{ weight: 50 }, { weight: 25 }] },
      retrain: {
        cooldown: 'soon',
        budget: { max: -1 },
        triggers: { drift: { features: [] }, performance: { floor: 1.5 } },
        data: { window: { maxRows: 0 } },
      },
      extra: true,
    });
    expect(paths(found)).toEqual([
      '(input)',
      'model',
      'pipeline.trainer.name',
      'retrain.budget.max',
      'retrain.cooldown',
      'retrain.data.window.maxRows',
      'retrain.triggers.drift.features',
      'retrain.triggers.performance.floor',
      'rollout.steps.1.weight',
    ]);
    expect(found.find((p) => p.path === 'retrain.cooldown')?.message).toMatch(/duration/);
    expect(found.find((p) => p.path === '(input)')?.message).toMatch(/extra/);
  });

  it('refuses a policy that contradicts itself, saying why', async () => {
    const found = await problems({
      model: 'adult-income',
      pipeline: inlinePipeline,
      retrain: {
        cooldown: '2h',
        budget: { max: 2, per: '7d' },
        triggers: {
          schedule: { every: '1h' },
          drift: { features: ['class', 'period', 'nswprice'], minFeatures: 4 },
          performance: { floor: 0.6, minLabels: 500, windowRows: 100 },
        },
        data: { window: { maxRows: 100 }, minRows: 1000 },
      },
    });
    const byPath = Object.fromEntries(found.map((p) => [p.path, p.message]));
    expect(byPath.model).toMatch(/disagrees with the pipeline spec's model "elec2-price"/);
    expect(byPath['retrain.cooldown']).toMatch(/cooldown 2h is not shorter than the schedule period 1h/);
    expect(byPath['retrain.triggers.schedule.every']).toMatch(
      /asks for 168 per 7d, more than the budget of 2/,
    );
    expect(byPath['retrain.triggers.drift.features.0']).toMatch(/"class" is the target/);
    expect(byPath['retrain.triggers.drift.features.1']).toMatch(/"period" is dropped/);
    expect(byPath['retrain.triggers.drift.minFeatures']).toMatch(/4 features must drift but only 3/);
    expect(byPath['retrain.triggers.performance.minLabels']).toMatch(/500 labels .* at most 100/);
    expect(byPath['retrain.data.minRows']).toMatch(/1000 rows are needed but the window keeps at most 100/);
  });

  it("checks the monitor policy with the lifecycle: its own rules, and the drift trigger's features", async () => {
    const found = await problems({
      pipeline: inlinePipeline,
      monitor: { interval: '1m', alerts: { k: 6, n: 5 }, features: ['nswprice'] },
      retrain: { triggers: { drift: { features: ['vicprice'] } } },
    });
    const byPath = Object.fromEntries(found.map((p) => [p.path, p.message]));
    expect(Object.keys(byPath).sort()).toEqual(['monitor.alerts.k', 'retrain.triggers.drift.features.0']);
    expect(byPath['retrain.triggers.drift.features.0']).toMatch(/not among the monitor's features/);
    const none = await problems({
      pipeline: inlinePipeline,
      monitor: false,
      retrain: { triggers: { drift: { features: ['vicprice'] } } },
    });
    expect(none).toEqual([{ path: 'retrain.triggers.drift', message: expect.stringMatching(/has none/) }]);
  });

  it('refuses a budget of 0 with triggers, and accepts it without', async () => {
    const found = await problems({
      pipeline: inlinePipeline,
      retrain: { budget: { max: 0 }, triggers: { drift: { features: ['nswprice'] } } },
    });
    expect(found).toEqual([
      {
        path: 'retrain.budget.max',
        message: expect.stringMatching(
          /budget of 0 retrains per 7d means the drift trigger could never fire/,
        ),
      },
    ]);
    await expect(
      resolveLifecycleDocument({ pipeline: inlinePipeline, retrain: { budget: { max: 0 } } }, examples),
    ).resolves.toMatchObject({
      retrain: { budget: { max: 0 } },
    });
  });

  it('names a pipeline file that is missing or broken under pipeline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'slipway-lifecycle-spec-'));
    dirs.push(dir);
    await writeFile(join(dir, 'broken.yaml'), 'model: x\ntarget: [\n');
    await writeFile(join(dir, 'lifecycle.yaml'), 'pipeline: broken.yaml\n');
    await writeFile(join(dir, 'missing.yaml'), 'pipeline: nowhere.yaml\n');
    await expect(loadLifecycleSpecFile(join(dir, 'lifecycle.yaml'))).rejects.toMatchObject({
      problems: [{ path: 'pipeline.(file)', message: expect.stringMatching(/not valid YAML/) }],
    });
    await expect(loadLifecycleSpecFile(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      problems: [{ path: 'pipeline.(file)', message: expect.stringMatching(/cannot read .*nowhere.yaml/) }],
    });
    await expect(loadLifecycleSpecFile(join(dir, 'absent.yaml'))).rejects.toMatchObject({
      problems: [{ path: '(file)', message: expect.stringMatching(/cannot read/) }],
    });
  });

  it('start input: exactly one of spec or specPath; ids name their model', () => {
    expect(lifecycleStartSchema.safeParse({ specPath: 'x.yaml' }).success).toBe(true);
    expect(lifecycleStartSchema.safeParse({ spec: {} }).success).toBe(true);
    expect(lifecycleStartSchema.safeParse({}).success).toBe(false);
    expect(lifecycleStartSchema.safeParse({ spec: {}, specPath: 'x.yaml' }).success).toBe(false);
    expect(lifecycleStartSchema.safeParse({ specPath: 'x.yaml', other: 1 }).success).toBe(false);
    expect(modelOfLifecycleId('lifecycle-elec2-price')).toBe('elec2-price');
    expect(modelOfLifecycleId('rollout-elec2-price')).toBeUndefined();
  });
});
