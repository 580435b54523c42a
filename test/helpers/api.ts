import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/server.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import type { Pool } from '../../platform/db.js';
import { inheritedEnvironment } from '../../platform/config.js';
import { testLog } from './workers.js';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** The control API listening on a free loopback port. */
export async function startTestApi(deps: {
  client: Client;
  db: Pool;
  store: ArtifactStore;
  queuePrefix: string;
}): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApi({ ...deps, log: testLog });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: address };
}

/** Runs the `slipway` CLI as a user would, and collects its exit code and output. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...inheritedEnvironment(), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}
