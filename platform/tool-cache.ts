import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from './logger.js';

/** Where provisioning caches the server binaries it builds (temporal, minio). */
export function toolCacheDir(): string {
  return join(homedir(), '.cache', 'slipway', 'bin');
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Finds `name` on `searchPath` (a PATH-style list) or in the tool cache. */
export async function findExecutable(
  name: string,
  searchPath: string | undefined,
): Promise<string | undefined> {
  const dirs = [...(searchPath ?? '').split(delimiter).filter(Boolean), toolCacheDir()];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Builds a Go program into the tool cache with `go install` (minutes on a small machine, once).
 * Returns the binary's path, or undefined when no Go toolchain is on the path.
 */
export async function goInstall(
  pkg: string,
  binary: string,
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<string | undefined> {
  const go = await findExecutable('go', env.PATH);
  if (!go) return undefined;
  const dir = toolCacheDir();
  await mkdir(dir, { recursive: true });
  log?.info({ pkg }, 'building with go install (first time only; this can take several minutes)');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(go, ['install', pkg], {
      env: { ...env, GOBIN: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go install ${pkg} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
  const built = join(dir, binary);
  return (await isExecutable(built)) ? built : undefined;
}
