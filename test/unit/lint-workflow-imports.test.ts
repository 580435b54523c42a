import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { afterEach, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const probes: string[] = [];

/** Lints a real file under workflows/ (type-aware rules need it on disk) and returns the restricted-import hits. */
async function lintWorkflowSource(source: string): Promise<string[]> {
  const file = join(root, 'workflows', `lint-probe-${randomBytes(4).toString('hex')}.ts`);
  probes.push(file);
  await writeFile(file, source);
  const eslint = new ESLint({ cwd: root });
  const [result] = await eslint.lintFiles([file]);
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

afterEach(async () => {
  await Promise.all(probes.splice(0).map((f) => rm(f, { force: true })));
});

describe('the workflow import boundary', () => {
  it('rejects node:fs in a workflow file', async () => {
    const hits = await lintWorkflowSource(
      `import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n`,
    );
    expect(hits.join('\n')).toMatch(/deterministic/);
  });

  it('rejects pg in a workflow file', async () => {
    const hits = await lintWorkflowSource(`import pg from 'pg';\nexport const x = pg;\n`);
    expect(hits.join('\n')).toMatch(/database/);
  });

  it('rejects platform/ and value imports of activities', async () => {
    const hits = await lintWorkflowSource(
      `import { createPool } from '../platform/db.js';\nimport { createSkeletonActivities } from '../activities/skeleton.js';\nexport const x = [createPool, createSkeletonActivities];\n`,
    );
    expect(hits).toHaveLength(2);
  });

  it('accepts @temporalio/workflow, domain/ and activity types', async () => {
    const hits = await lintWorkflowSource(
      `import { sleep } from '@temporalio/workflow';\nimport type { SkeletonActivities } from '../activities/skeleton.js';\nimport { taskQueueFor } from '../domain/task-queues.js';\nexport type A = SkeletonActivities;\nexport const x = [sleep, taskQueueFor];\n`,
    );
    expect(hits).toEqual([]);
  });
});
