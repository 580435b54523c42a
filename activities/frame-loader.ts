import type { Frame } from '../ml/frame.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { decodeSplit, type Split } from '../ml/split.js';
import type { ArtifactStore } from '../platform/artifact-store.js';

/** Reads a stored frame (verifying its sha256). */
export async function loadFrame(store: ArtifactStore, uri: string, sha256: string): Promise<Frame> {
  return decodeFrameFromArrow(await store.get(uri, { expectSha256: sha256 }));
}

/** Reads a stored split (verifying its sha256). */
export async function loadSplit(store: ArtifactStore, uri: string, sha256: string): Promise<Split> {
  return decodeSplit(await store.get(uri, { expectSha256: sha256 }));
}
