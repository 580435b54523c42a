import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/**
 * Lints source as if it were a file under workflows/ (the config's per-folder rules apply by path) and returns the
 * restricted-import hits. Nothing is written: the text is linted in memory, with only the import rule and no type
 * information (the type-aware rules would need the file on disk).
 */
async function lintWorkflowSource(source: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: root,
    ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
    overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  });
  const [result] = await eslint.lintText(source, { filePath: join(root, 'workflows', 'lint-probe.ts') });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

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
