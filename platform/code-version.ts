import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The configured code version, else the checkout's git commit (with `-dirty` for local changes), else `unknown`. */
export async function resolveCodeVersion(configured: string | undefined, cwd: string): Promise<string> {
  if (configured) return configured;
  try {
    const { stdout: commit } = await run('git', ['rev-parse', 'HEAD'], { cwd });
    const { stdout: status } = await run('git', ['status', '--porcelain', '--untracked-files=no'], { cwd });
    return `${commit.trim()}${status.trim() ? '-dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}
