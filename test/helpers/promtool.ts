import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inheritedEnvironment } from '../../platform/config.js';
import { findExecutable, goInstall } from '../../platform/tool-cache.js';

const run = promisify(execFile);

/** The promtool infra/scripts/provision.sh installs: Prometheus 3.16.0 (its Go module version). */
export const promtoolPackage = 'github.com/prometheus/prometheus/cmd/promtool@v0.316.0';

let found: Promise<string> | undefined;

/** promtool from PATH or the tool cache, else built there with `go install` (minutes, once). */
export function promtool(): Promise<string> {
  found ??= (async () => {
    const env = inheritedEnvironment();
    const path =
      (await findExecutable('promtool', env.PATH)) ?? (await goInstall(promtoolPackage, 'promtool', env));
    if (!path)
      throw new Error(`promtool not found and not buildable: go install ${promtoolPackage} needs Go`);
    return path;
  })();
  return found;
}

/** Runs promtool; resolves with its output, or rejects with it when the exit status is not 0. */
export async function runPromtool(args: string[], cwd?: string): Promise<string> {
  const { stdout, stderr } = await run(await promtool(), args, { cwd, maxBuffer: 1 << 22 }).catch(
    (error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(
        `promtool ${args.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? error.message}`,
      );
    },
  );
  return `${stdout}${stderr}`;
}
