import type { ArtifactStore } from '../platform/artifact-store.js';

/** Largest JSON of one metadata entry that travels in workflow history and the registry row. */
const maxEntryBytes = 4 * 1024;
/** Largest summary in all. */
const maxSummaryBytes = 16 * 1024;

/**
 * The small part of a trainer's metadata: the entries whose JSON fits in a few KiB (iterations, losses, the
 * importances of a few dozen features), up to 16 KiB in all. Larger entries (a preprocessing plan with 50,000
 * categories, one coefficient per one-hot column) are named in `omittedFromSummary` and live only in the metadata artifact.
 */
export function summarizeMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  const summary: Record<string, unknown> = {};
  const omitted: string[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(metadata)) {
    const size = Buffer.byteLength(JSON.stringify(value) ?? 'null');
    if (size > maxEntryBytes || total + size > maxSummaryBytes) {
      omitted.push(key);
      continue;
    }
    summary[key] = value;
    total += size;
  }
  return omitted.length > 0 ? { ...summary, omittedFromSummary: omitted } : summary;
}

/** Stores a trainer's full metadata as a JSON artifact; returns its uri, sha256 and summary. */
export async function storeMetadata(
  store: ArtifactStore,
  metadata: Record<string, unknown>,
  json: Uint8Array = Buffer.from(JSON.stringify(metadata)),
): Promise<{ metadataUri: string; metadataSha256: string; metadataSummary: Record<string, unknown> }> {
  const stored = await store.putContent(json, {
    prefix: 'trainer-metadata',
    ext: 'json',
    contentType: 'application/json',
  });
  return {
    metadataUri: stored.uri,
    metadataSha256: stored.sha256,
    metadataSummary: summarizeMetadata(metadata),
  };
}
