import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineSpec } from '../../domain/pipeline-spec.js';
import { rolloutWorkflowId } from '../../domain/rollout.js';
import { readDeployment } from '../../platform/deployments.js';
import { findVersion } from '../../platform/registry.js';
import { approveUpdate } from '../../workflows/rollout.js';
import { startRolloutTestStack, waitForStatus, type RolloutTestStack } from '../helpers/rollout.js';
import { exampleSpec, runTraining } from '../helpers/training.js';

describe(
  'training hands a registered version straight to a rollout (spec option `rollout:`)',
  { timeout: 300_000 },
  () => {
    let stack: RolloutTestStack;
    beforeAll(async () => {
      stack = await startRolloutTestStack('handoff');
    });
    afterAll(async () => stack?.close());

    it('the first version waits at the approval gate; a second while it runs is registered but not handed over', async () => {
      const base = await exampleSpec('elec2-logistic.yaml');
      // As a user writes it: durations as text, validated with the rest of the spec.
      const spec = parsePipelineSpec({
        ...base,
        rollout: {
          approval: { approvers: ['alice'], timeout: '5m' },
          steps: [{ weight: 10, bakeTime: '2s' }],
        },
      });
      expect(spec.rollout?.approval?.timeout).toBe(300_000);

      const first = await runTraining(stack.client, spec, stack.prefix);
      expect(first).toMatchObject({
        outcome: 'registered',
        version: 1,
        rollout: { workflowId: rolloutWorkflowId(spec.model), started: true },
      });
      const handle = stack.client.workflow.getHandle(rolloutWorkflowId(spec.model));
      const gate = await waitForStatus(handle, (s) => s.phase === 'awaiting-approval');
      expect(gate).toMatchObject({ version: 1, champion: null, requestedBy: 'test' });
      expect(gate.plan?.approval).toMatchObject({ approvers: ['alice'], timeoutMs: 300_000 });

      // The same spec again is a new version only with the step cache off.
      const second = await runTraining(stack.client, spec, stack.prefix, { cache: false });
      expect(second).toMatchObject({
        outcome: 'registered',
        version: 2,
        rollout: {
          started: false,
          reason: `a rollout of ${spec.model} is already running (rollout-${spec.model})`,
        },
      });

      await handle.executeUpdate(approveUpdate, { args: [{ caller: { name: 'alice', role: 'approver' } }] });
      expect(await handle.result()).toMatchObject({ outcome: 'promoted', champion: 1 });
      expect((await findVersion(stack.db.pool, spec.model, { alias: 'champion' }))?.version).toBe(1);
      expect(await readDeployment(stack.db.pool, spec.model)).toMatchObject({
        champion: 1,
        challenger: null,
      });
    });

    it('a bad rollout plan in a pipeline spec is refused with the spec, by field path', () => {
      expect(() =>
        parsePipelineSpec({
          model: 'x',
          dataset: { source: '/data.csv' },
          target: 'y',
          split: { kind: 'random' },
          trainer: { kind: 'builtin', name: 'logistic_regression' },
          rollout: { steps: [{ weight: 0 }], approval: { onTimeout: 'shrug' } },
        }),
      ).toThrow(
        /rollout\.steps\.0\.weight: expected a percentage above 0[\s\S]*rollout\.approval\.onTimeout/,
      );
    });
  },
);
