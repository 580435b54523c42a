import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repositoryRoot = fileURLToPath(new URL('..', import.meta.url));

/** The example Python trainer's entry point, relative to the repository. */
export const exampleTrainerScript = 'examples/python-trainer/train.py';

/**
 * The python of a virtual environment holding the example trainer's requirements, made under the tool cache by
 * `infra/scripts/provision.sh python` (keyed by the interpreter's version and the requirements' sha256, so it is
 * built once and rebuilt only when requirements.txt changes). Needs python3 and, the first time, PyPI.
 */
export async function exampleTrainerPython(env: Record<string, string | undefined>): Promise<string> {
  const { stdout } = await run('bash', ['infra/scripts/provision.sh', 'python'], {
    cwd: repositoryRoot,
    env,
    maxBuffer: 1 << 22,
    timeout: 15 * 60_000,
  });
  const python = stdout.trim().split('\n').at(-1);
  if (!python) throw new Error('provision.sh python printed no interpreter path');
  return python;
}

/** The SLIPWAY_COMMAND_TRAINERS entry that registers the example trainer under `sklearn-example`. */
export function exampleTrainerEntry(python: string): string {
  return `sklearn-example=${python}:${join(repositoryRoot, exampleTrainerScript)}`;
}
