import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Paths in the checkout that git sees as new (untracked or ignored), node_modules aside; undefined outside a git
 * checkout. Taken before and after the integration tests: tests write into temporary folders, never the source tree.
 */
export async function newPaths(root: string): Promise<Set<string> | undefined> {
  try {
    const { stdout } = await run(
      'git',
      ['status', '--porcelain', '--ignored', '--untracked-files=all', '-z', '--', '.', ':!node_modules'],
      { cwd: root, maxBuffer: 1 << 24 },
    );
    return new Set(
      stdout
        .split('\0')
        .filter((entry) => entry.startsWith('?? ') || entry.startsWith('!! '))
        .map((entry) => entry.slice(3)),
    );
  } catch {
    return undefined;
  }
}
