import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../platform/artifact-store.js';
import { createArtifactStore } from '../../platform/create-artifact-store.js';
import {
  artifactError,
  collect,
  describeArtifactStoreSuite,
  failingStream,
} from '../helpers/artifact-store-suite.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'slipway-artifacts-'));
}

/** Every file under `dir`, dot names included, relative to it. */
async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describeArtifactStoreSuite(
  'local directory',
  async () => {
    const root = await tempRoot();
    return {
      store: createArtifactStore({ kind: 'local', root }),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  { foreignUri: pathToFileURL(join(tmpdir(), 'elsewhere', 'model.onnx')).href },
);

describe('local artifact store on disk', () => {
  it('uses file:// uris under its root and keeps only the object and its sidecar on disk', async () => {
    const root = await tempRoot();
    try {
      const store = createArtifactStore({ kind: 'local', root });
      const put = await store.putContent(Buffer.from('abc'), { prefix: 'datasets', ext: 'csv' });
      expect(put.uri).toBe(pathToFileURL(join(root, 'datasets', 'sha256', `${put.sha256}.csv`)).href);
      await store.put('models/m.onnx', Buffer.from('model'));
      await artifactError(store.put('models/broken.onnx', failingStream(4096)), 'io');
      expect(await allFiles(root)).toEqual([
        `datasets/sha256/.${put.sha256}.csv.sha256`,
        `datasets/sha256/${put.sha256}.csv`,
        'models/.m.onnx.sha256',
        'models/m.onnx',
      ]);
      expect((await collect(store.list(''))).map((l) => l.key)).toEqual([
        `datasets/sha256/${put.sha256}.csv`,
        'models/m.onnx',
      ]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('catches a file changed on disk behind its back against the recorded sha256', async () => {
    const root = await tempRoot();
    try {
      const store = createArtifactStore({ kind: 'local', root });
      const put = await store.put('models/m.onnx', Buffer.from('model bytes'));
      // Same length, different bytes, written in place: the inode and size stay, the content doesn't.
      await writeFile(join(root, 'models', 'm.onnx'), 'MODEL BYTES');
      const error = await artifactError(store.get(put.uri), 'integrity');
      expect(error.expectedSha256).toBe(put.sha256);
      expect(error.actualSha256).toBe(sha256Hex(Buffer.from('MODEL BYTES')));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reports no sha256 for a file it did not write, nor from a sidecar left by an unfinished put', async () => {
    const root = await tempRoot();
    try {
      const store = createArtifactStore({ kind: 'local', root });
      await writeFile(join(root, 'dropped-in.txt'), 'hello');
      expect(await store.head('dropped-in.txt')).toEqual({ size: 5 });
      expect((await store.get('dropped-in.txt')).toString()).toBe('hello');

      await store.put('kept.txt', Buffer.from('first'));
      // What a put that died between writing its sidecar and renaming its temp file leaves: a record for
      // another inode. It must not be taken for the record of the file that is there.
      const sidecar = { sha256: sha256Hex(Buffer.from('newer')), size: 5, ino: '1' };
      await writeFile(join(root, '.kept.txt.sha256'), JSON.stringify(sidecar));
      expect(await store.head('kept.txt')).toEqual({ size: 5 });
      expect((await store.get('kept.txt')).toString()).toBe('first');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses a file uri that points outside the root through ..', async () => {
    const root = await tempRoot();
    try {
      const store = createArtifactStore({ kind: 'local', root });
      await artifactError(store.get(`${pathToFileURL(root).href}/../escape`), 'invalid_key');
      await artifactError(store.get(`${pathToFileURL(root).href}/a/%2e%2e/%2e%2e/escape`), 'invalid_key');
      await artifactError(() => store.parseUri(pathToFileURL(root).href), 'invalid_key');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
