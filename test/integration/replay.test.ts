import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { installTemporalRuntime } from '../../platform/temporal.js';
import { testBundle, testLog } from '../helpers/workers.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'histories');

/**
 * Workflow code must keep replaying the histories of runs started by earlier code: a change that would break a
 * running workflow fails here (then guard it with patched()). Record new fixtures with
 * infra/scripts/record-history.ts.
 */
describe('recorded workflow histories replay on the current code', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();

  it('has fixtures to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  it.each(files)('%s replays without nondeterminism', async (file) => {
    installTemporalRuntime(testLog);
    const history: unknown = JSON.parse(await readFile(join(dir, file), 'utf8'));
    const workflowId = file.replace(/\.json$/, '');
    await expect(
      Worker.runReplayHistory({ workflowBundle: await testBundle() }, history as never, workflowId),
    ).resolves.toBeUndefined();
  });
});
