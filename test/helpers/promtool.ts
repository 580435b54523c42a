import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inheritedEnvironment } from '../../platform/config.js';
import { findExecutable } from '../../platform/tool-cache.js';

const run = promisify(execFile);

/**
 * promtool when it is already installed (on PATH, or in the tool cache ~/.cache/slipway/bin, where
 * `infra/scripts/provision.sh promtool` builds it); never built here: a cold `go install` of Prometheus takes tens of
 * minutes on a small machine. Tests check the rules without it (promql-parse.ts, prometheus-files.ts) and run
 * promtool as an extra check only where it exists.
 */
export function installedPromtool(): Promise<string | undefined> {
  return findExecutable('promtool', inheritedEnvironment().PATH);
}

/** Runs promtool; resolves with its output, or rejects with it when the exit status is not 0. */
export async function runPromtool(promtool: string, args: string[], cwd?: string): Promise<string> {
  const { stdout, stderr } = await run(promtool, args, { cwd, maxBuffer: 1 << 22 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `promtool ${args.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`,
      );
    },
  );
  return `${stdout}${stderr}`;
}
