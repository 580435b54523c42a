import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  resolveDataRoots,
  resolveSource,
  storedSource,
  type DataRoot,
} from '../../activities/dataset-source.js';
import type { ByteSource } from '../../ml/ingest/byte-source.js';
import type { ArtifactStore } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import { createLocalArtifactStore } from '../../platform/local-artifact-store.js';

// Local files never touch the artifact store; only s3:// sources do.
const noStore = {} as ArtifactStore;
const limits = { maxBytes: 1 << 20, maxRows: 1000 };

async function text(source: ByteSource): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

describe('local dataset sources: data roots, one open descriptor, caps', () => {
  let dir: string;
  let roots: DataRoot[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-source-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'b', 'data.csv'), 'x,y\n1,2\n');
    await writeFile(join(dir, 'outside.csv'), 'secret,values\n');
    roots = await resolveDataRoots([join(dir, 'a'), join(dir, 'b'), join(dir, 'missing')]);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps only roots that exist, and looks a relative path up in each', async () => {
    expect(roots.map((r) => r.given)).toEqual([join(dir, 'a'), join(dir, 'b')]);
    const source = await resolveSource('data.csv', undefined, noStore, { dataRoots: roots, limits });
    try {
      expect(source.describe).toBe(join(dir, 'b', 'data.csv'));
      expect(await text(source.open())).toBe('x,y\n1,2\n');
      // Every pass reads the same bytes from the start.
      expect(await text(source.open())).toBe('x,y\n1,2\n');
    } finally {
      await source.close();
    }
  });

  it('reads the file that was checked, even when its name is swapped for a symlink afterwards', async () => {
    const path = join(dir, 'a', 'swap.csv');
    await writeFile(path, 'checked,file\n1,2\n');
    const source = await resolveSource(path, undefined, noStore, { dataRoots: roots, limits });
    try {
      await rename(path, join(dir, 'a', 'moved.csv'));
      await symlink(join(dir, 'outside.csv'), path);
      expect(await text(source.open())).toBe('checked,file\n1,2\n');
    } finally {
      await source.close();
    }
    // Opened now, the same name leads outside the roots, and is refused by what the descriptor is.
    await expect(resolveSource(path, undefined, noStore, { dataRoots: roots, limits })).rejects.toThrow(
      `dataset.source ${path}: leads outside this worker's data roots (a symbolic link?)`,
    );
  });

  it('refuses paths outside the roots before opening them, and anything but a regular file', async () => {
    await expect(
      resolveSource(join(dir, 'outside.csv'), undefined, noStore, { dataRoots: roots, limits }),
    ).rejects.toThrow("outside this worker's data roots");
    await expect(
      resolveSource('../outside.csv', undefined, noStore, { dataRoots: roots, limits }),
    ).rejects.toThrow("outside this worker's data roots");
    await promisify(execFile)('mkfifo', [join(dir, 'a', 'fifo.csv')]);
    await expect(
      resolveSource(join(dir, 'a', 'fifo.csv'), undefined, noStore, { dataRoots: roots, limits }),
    ).rejects.toThrow('not a regular file');
    await expect(
      resolveSource(join(dir, 'a'), undefined, noStore, { dataRoots: roots, limits }),
    ).rejects.toThrow('not a regular file');
    await expect(resolveSource('/etc/passwd', undefined, noStore, { dataRoots: [], limits })).rejects.toThrow(
      'this worker has no data roots',
    );
  });

  it('refuses a file over the byte cap from its size, and stops reading one that grows past it', async () => {
    const path = join(dir, 'a', 'grows.csv');
    await writeFile(path, 'x\n1\n');
    const small = { maxBytes: 9, maxRows: 1000 };
    await appendFile(path, '2\n3\n4\n');
    await expect(
      resolveSource(path, undefined, noStore, { dataRoots: roots, limits: small }),
    ).rejects.toThrow(
      `dataset.source ${path}: larger than this worker's limit of 9 bytes (SLIPWAY_MAX_DATASET_BYTES)`,
    );
    const roomy = { maxBytes: 12, maxRows: 1000 };
    const source = await resolveSource(path, undefined, noStore, { dataRoots: roots, limits: roomy });
    try {
      await appendFile(path, '5\n6\n7\n');
      await expect(text(source.open())).rejects.toThrow("larger than this worker's limit of 12 bytes");
    } finally {
      await source.close();
    }
  });
});

describe('stored sources (uploads in the artifact store): the same caps, and the sha256 checked', () => {
  let dir: string;
  let store: ArtifactStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-stored-'));
    store = createLocalArtifactStore({ root: dir });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads an upload by uri, with its format from the file name it came with', async () => {
    const stored = await store.putContent(Buffer.from('x,y\n1,2\n'), { prefix: 'uploads', ext: 'csv' });
    const source = await storedSource(stored.uri, store, {
      describe: 'reference.csv',
      limits,
      expectSha256: stored.sha256,
    });
    expect(source.format).toBe('csv');
    expect(source.size).toBe(8);
    expect(await text(source.open())).toBe('x,y\n1,2\n');
    const parquet = await storedSource(stored.uri, store, { describe: 'reference.parquet', limits });
    expect(parquet.format).toBe('parquet');
  });

  it('refuses an upload over the byte cap, a missing one, and bytes that do not match their sha256', async () => {
    const stored = await store.putContent(Buffer.from('x\n1\n2\n3\n'), { prefix: 'uploads', ext: 'csv' });
    await expect(
      storedSource(stored.uri, store, { describe: 'big.csv', limits: { maxBytes: 4, maxRows: 10 } }),
    ).rejects.toThrow("big.csv: larger than this worker's limit of 4 bytes (SLIPWAY_MAX_DATASET_BYTES)");
    await expect(
      storedSource(store.uriFor('uploads/none.csv'), store, { describe: 'none.csv', limits }),
    ).rejects.toThrow('none.csv: no such object in the artifact store');
    const wrong = await storedSource(stored.uri, store, {
      describe: 'x.csv',
      limits,
      expectSha256: 'f'.repeat(64),
    });
    await expect(text(wrong.open())).rejects.toThrow('failed its integrity check');
  });
});

describe("the artifact store's own objects as dataset sources", () => {
  let dir: string;
  let store: ArtifactStore;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slipway-store-source-'));
    await mkdir(join(dir, 'roots'));
    await writeFile(join(dir, 'elsewhere.csv'), 'secret,values\n');
    store = createArtifactStore({ kind: 'local', root: join(dir, 'artifacts') });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a file:// URI of the local store (an exported dataset) outside the data roots, through the store', async () => {
    const stored = await store.putContent(Buffer.from('a,label\n1,yes\n'), {
      prefix: 'datasets/traffic',
      ext: 'csv',
    });
    const roots = await resolveDataRoots([join(dir, 'roots')]);
    const source = await resolveSource(stored.uri, undefined, store, { dataRoots: roots, limits });
    expect(source.describe).toBe(stored.uri);
    expect(await text(source.open())).toBe('a,label\n1,yes\n');
    // Any other file:// path outside the roots stays refused.
    await expect(
      resolveSource(`file://${join(dir, 'elsewhere.csv')}`, undefined, store, { dataRoots: roots, limits }),
    ).rejects.toThrow(/not under|data root/);
  });
});
