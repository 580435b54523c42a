import { execFile } from 'node:child_process';
import { chown, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './tool-cache.js';

const run = promisify(execFile);

/** Finds the directory holding initdb/pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<v>/bin. */
export async function findPostgresBinDir(searchPath: string | undefined): Promise<string | undefined> {
  const initdb = await findExecutable('initdb', searchPath);
  if (initdb) return join(initdb, '..');
  try {
    const versions = (await readdir('/usr/lib/postgresql')).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const dir = `/usr/lib/postgresql/${v}/bin`;
      if (await findExecutable('initdb', dir)) return dir;
    }
  } catch {
    // no Debian layout
  }
  return undefined;
}

export interface LocalPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts a real PostgreSQL server on loopback with its data in `dataDir` (initialized on first use).
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user.
 */
export async function startLocalPostgres(options: {
  binDir: string;
  dataDir: string;
  port: number;
  env: Record<string, string | undefined>;
}): Promise<LocalPostgres> {
  const asRoot = process.getuid?.() === 0;
  const wrap = (bin: string, args: string[]): [string, string[]] =>
    asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(options.binDir, bin), ...args]]
      : [join(options.binDir, bin), args];
  await mkdir(options.dataDir, { recursive: true });
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    await chown(options.dataDir, uid, uid);
  }
  const initialized = await stat(join(options.dataDir, 'PG_VERSION')).then(
    () => true,
    () => false,
  );
  if (!initialized) {
    const [cmd, args] = wrap('initdb', [
      '-D',
      options.dataDir,
      '-U',
      'slipway',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    await run(cmd, args, { env: options.env });
  }
  const serverOptions = `-p ${options.port} -k ${options.dataDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const [cmd, args] = wrap('pg_ctl', [
    '-D',
    options.dataDir,
    '-o',
    serverOptions,
    '-l',
    join(options.dataDir, 'server.log'),
    '-w',
    '-t',
    '180',
    'start',
  ]);
  await run(cmd, args, { env: options.env });
  return {
    url: `postgresql://slipway@127.0.0.1:${options.port}/postgres`,
    stop: async () => {
      const [c, a] = wrap('pg_ctl', ['-D', options.dataDir, '-m', 'fast', '-w', 'stop']);
      await run(c, a, { env: options.env });
    },
  };
}
