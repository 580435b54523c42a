import { createServer } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../platform/temporal-dev-server.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Starts one of Slipway's entrypoints (workers/main.ts, api/main.ts) as a child Node process running TypeScript. */
export function spawnEntrypoint(
  entry: string,
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export const terminate = (child: ChildProcess, graceMs = 15_000): Promise<void> => stopChild(child, graceMs);

/** Polls `url` until it answers 200, the child dies, or the deadline passes. */
export async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`process exited with code ${child.exitCode} before ${url} answered`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** `preferred` when nothing listens on it on loopback, else a free port the system picks. */
export async function portOrFree(preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen(port, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
      });
    });
  return (await tryListen(preferred)) ?? (await tryListen(0)) ?? preferred;
}
