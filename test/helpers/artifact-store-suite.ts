// The behaviour every ArtifactStore must have, run against each implementation by its own test file.
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactError,
  sha256Hex,
  type ArtifactErrorCode,
  type ArtifactListing,
  type ArtifactStore,
} from '../../platform/artifact-store.js';

export interface ArtifactStoreFixture {
  readonly store: ArtifactStore;
  /** Removes everything the test wrote and closes the store. */
  cleanup(): Promise<void>;
}

export interface ArtifactStoreSuiteOptions {
  /** The store's list page size, if it pages: the suite lists more objects than fit in one page. */
  readonly listPageSize?: number;
  /** A uri that looks like one of this store's kind but belongs to another store. */
  readonly foreignUri: string;
}

/** Deterministic incompressible bytes, so a stream test moves real data. */
export function pseudoRandomBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** A stream of `bytes` in chunks, as a file or socket would deliver it. */
export function chunkedStream(bytes: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < bytes.length; offset += chunkSize)
        yield bytes.subarray(offset, offset + chunkSize);
    })(),
  );
}

/** A stream that delivers `bytesBeforeFailure` bytes and then fails, like a dropped upload. */
export function failingStream(bytesBeforeFailure: number): Readable {
  return Readable.from(
    (async function* () {
      yield pseudoRandomBytes(bytesBeforeFailure, 7);
      await Promise.resolve();
      throw new Error('connection reset by peer');
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export async function collect(listing: AsyncIterable<ArtifactListing>): Promise<ArtifactListing[]> {
  const out: ArtifactListing[] = [];
  for await (const item of listing) out.push(item);
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Awaits a rejection and checks it is an ArtifactError with `code`. */
export async function artifactError(
  work: Promise<unknown> | (() => unknown),
  code: ArtifactErrorCode,
): Promise<ArtifactError> {
  let error: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected an ArtifactError ${code}`).toBeInstanceOf(ArtifactError);
  const artifact = error as ArtifactError;
  expect(artifact.code, artifact.message).toBe(code);
  return artifact;
}

const badKeys = [
  '',
  '/etc/passwd',
  '../escape',
  'a/../../escape',
  'a//b',
  'a/./b',
  'a/',
  '.hidden',
  'a/.sha256',
  'a\\b',
  'a b',
  'a/\0',
];

export function describeArtifactStoreSuite(
  name: string,
  makeStore: () => Promise<ArtifactStoreFixture>,
  options: ArtifactStoreSuiteOptions,
): void {
  describe(`${name}: ArtifactStore contract`, () => {
    let fixture: ArtifactStoreFixture;
    let store: ArtifactStore;

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('round-trips bytes by key and by uri, with size and sha256 in head', async () => {
      const bytes = Buffer.from('{"hello":"world"}');
      const put = await store.put('reports/run-1/summary.json', bytes, { contentType: 'application/json' });
      expect(put).toEqual({
        uri: store.uriFor('reports/run-1/summary.json'),
        key: 'reports/run-1/summary.json',
        sha256: sha256Hex(bytes),
        size: bytes.length,
      });
      expect(store.parseUri(put.uri)).toBe(put.key);
      expect(await store.get(put.key)).toEqual(bytes);
      expect(await store.get(put.uri, { expectSha256: put.sha256.toUpperCase() })).toEqual(bytes);
      expect(await store.head(put.uri)).toEqual({ size: bytes.length, sha256: put.sha256 });
      // Every punctuation mark keys allow, which must survive uris, paths and request signing unescaped.
      const odd = await store.put('odd/run=1/a+b,c@d~e_f-g.txt', Buffer.from('odd'));
      expect(store.parseUri(odd.uri)).toBe('odd/run=1/a+b,c@d~e_f-g.txt');
      expect((await store.get(odd.uri)).toString()).toBe('odd');
      expect(await collect(store.list('odd/run=1/'))).toEqual([{ key: odd.key, size: 3 }]);
      const empty = await store.put('reports/empty', new Uint8Array(0));
      expect(await store.get(empty.uri, { expectSha256: sha256Hex(new Uint8Array(0)) })).toHaveLength(0);
    });

    it('round-trips a multi-megabyte stream, in and out', async () => {
      const bytes = pseudoRandomBytes(6 * 1024 * 1024 + 123, 1);
      const put = await store.put('models/big.onnx', chunkedStream(bytes));
      expect(put.sha256).toBe(sha256Hex(bytes));
      expect(put.size).toBe(bytes.length);
      const out = await readAll(await store.getStream(put.uri, { expectSha256: put.sha256 }));
      expect(out.equals(bytes)).toBe(true);
      expect((await store.get(put.key)).equals(bytes)).toBe(true);

      const content = await store.putContent(chunkedStream(bytes, 1000 * 1000), {
        prefix: 'datasets',
        ext: 'arrow',
      });
      expect(content.key).toBe(`datasets/sha256/${sha256Hex(bytes)}.arrow`);
      expect(content.size).toBe(bytes.length);
      expect((await readAll(await store.getStream(content.key))).equals(bytes)).toBe(true);
    });

    it('puts the same content once, sequentially and 8 at a time, under one content-addressed uri', async () => {
      const bytes = pseudoRandomBytes(300 * 1024, 2);
      const first = await store.putContent(bytes, { prefix: 'cas', ext: '.bin' });
      expect(first.key).toBe(`cas/sha256/${sha256Hex(bytes)}.bin`);
      expect(await store.putContent(bytes, { prefix: 'cas', ext: 'bin' })).toEqual(first);

      const other = pseudoRandomBytes(200 * 1024, 3);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.putContent(i % 2 === 0 ? other : chunkedStream(other, 10_000), { prefix: 'cas2' }),
        ),
      );
      expect(new Set(results.map((r) => r.uri)).size).toBe(1);
      expect(results[0]?.key).toBe(`cas2/sha256/${sha256Hex(other)}`);
      expect(await collect(store.list('cas2/'))).toEqual([
        { key: `cas2/sha256/${sha256Hex(other)}`, size: other.length },
      ]);
      expect(await store.get(results[0]?.uri ?? '', { expectSha256: sha256Hex(other) })).toEqual(other);
      expect(await collect(store.list('cas/'))).toHaveLength(1);
    });

    it('leaves nothing behind when the body fails halfway, and keeps the previous object', async () => {
      const error = await artifactError(store.put('uploads/model.onnx', failingStream(1024 * 1024)), 'io');
      expect(error.uri).toBe(store.uriFor('uploads/model.onnx'));
      expect(error.message).toContain('connection reset by peer');
      expect(await store.head('uploads/model.onnx')).toBeUndefined();
      expect(await collect(store.list('uploads/'))).toEqual([]);

      await artifactError(store.putContent(failingStream(1024 * 1024), { prefix: 'uploads-cas' }), 'io');
      expect(await collect(store.list('uploads-cas'))).toEqual([]);

      const previous = await store.put('uploads/model.onnx', Buffer.from('version 1'));
      await artifactError(store.put('uploads/model.onnx', failingStream(256 * 1024)), 'io');
      expect((await store.get('uploads/model.onnx', { expectSha256: previous.sha256 })).toString()).toBe(
        'version 1',
      );
      expect(await collect(store.list(''))).toEqual([{ key: 'uploads/model.onnx', size: 9 }]);
    });

    it('replaces an object on a second put to the same key', async () => {
      await store.put('aliases/champion', Buffer.from('v1'));
      const second = await store.put('aliases/champion', Buffer.from('version two'));
      expect((await store.get('aliases/champion')).toString()).toBe('version two');
      expect(await store.head('aliases/champion')).toEqual({ size: 11, sha256: second.sha256 });
    });

    it('refuses a read whose sha256 does not match, naming the uri and both hashes', async () => {
      const put = await store.put('models/m.onnx', Buffer.from('the real model'));
      const wrong = sha256Hex(Buffer.from('some other model'));
      const error = await artifactError(store.get(put.key, { expectSha256: wrong }), 'integrity');
      expect(error).toMatchObject({ uri: put.uri, expectedSha256: wrong, actualSha256: put.sha256 });
      expect(error.message).toContain(put.uri);
      expect(error.message).toContain(wrong);
      expect(error.message).toContain(put.sha256);

      const stream = await store.getStream(put.uri, { expectSha256: wrong });
      const streamError = await artifactError(readAll(stream), 'integrity');
      expect(streamError).toMatchObject({ uri: put.uri, expectedSha256: wrong, actualSha256: put.sha256 });

      await artifactError(store.get(put.key, { expectSha256: 'not-a-hash' }), 'invalid_argument');
    });

    it('reports missing objects: head undefined, reads not_found, delete a no-op', async () => {
      expect(await store.head('nothing/here')).toBeUndefined();
      const error = await artifactError(store.get('nothing/here'), 'not_found');
      expect(error.uri).toBe(store.uriFor('nothing/here'));
      await artifactError(store.getStream(store.uriFor('nothing/here')), 'not_found');
      await store.delete('nothing/here');

      await store.put('nothing/here/deeper', Buffer.from('x'));
      expect(await store.head('nothing/here')).toBeUndefined();
      await store.delete('nothing/here/deeper');
      expect(await store.head('nothing/here/deeper')).toBeUndefined();
      await artifactError(store.get('nothing/here/deeper'), 'not_found');
      expect(await collect(store.list('nothing/'))).toEqual([]);
    });

    it('lists by prefix across more than one page', async () => {
      const count = (options.listPageSize ?? 4) * 2 + 1;
      const expected: ArtifactListing[] = [];
      for (let i = 0; i < count; i++) {
        const key = i % 3 === 0 ? `runs/r1/nested/part-${i}` : `runs/r1/part-${i}`;
        await store.put(key, Buffer.alloc(i + 1, i));
        expected.push({ key, size: i + 1 });
      }
      await store.put('runs/r10/other', Buffer.from('a'));
      await store.put('runs-elsewhere', Buffer.from('b'));
      const sorted = [...expected].sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(await collect(store.list('runs/r1/'))).toEqual(sorted);
      expect((await collect(store.list('runs/r1'))).map((l) => l.key)).toContain('runs/r10/other');
      expect(await collect(store.list('runs/r1/nested/part-0'))).toEqual([
        { key: 'runs/r1/nested/part-0', size: 1 },
      ]);
      expect(await collect(store.list(''))).toHaveLength(count + 2);
      expect(await collect(store.list('absent/'))).toEqual([]);
    });

    it('refuses keys that are empty, absolute, climb out or hide, and uris of other stores', async () => {
      for (const key of badKeys) {
        await artifactError(store.put(key, Buffer.from('x')), 'invalid_key');
        await artifactError(store.get(key), 'invalid_key');
        await artifactError(store.head(key), 'invalid_key');
        await artifactError(store.delete(key), 'invalid_key');
        await artifactError(() => store.uriFor(key), 'invalid_key');
        // '' lists everything and 'a/' is a fine prefix; the rest are bad prefixes too.
        if (key !== '' && key !== 'a/') await artifactError(collect(store.list(key)), 'invalid_key');
      }
      await artifactError(store.putContent(Buffer.from('x'), { prefix: '../up' }), 'invalid_key');
      await artifactError(store.putContent(Buffer.from('x'), { prefix: 'ok', ext: '../x' }), 'invalid_key');
      await artifactError(store.get(options.foreignUri), 'invalid_key');
      await artifactError(() => store.parseUri(options.foreignUri), 'invalid_key');
      await artifactError(store.get('ftp://example.com/x'), 'invalid_key');
      expect(await collect(store.list(''))).toEqual([]);
    });
  });
}
