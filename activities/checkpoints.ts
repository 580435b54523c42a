// Training checkpoints in the artifact store, kept only while a run may resume. Each checkpoint is the trainer's
// bytes under a key that names its step, its attempt and, for incremental chains (GBDT), the checkpoint it
// extends: `checkpoints/<run>/0000000012-a2-after-0000000008-a2.ckpt`. So one listing shows every resume point
// and its chain: a retry resumes from the newest complete one, storing a complete checkpoint deletes what the last
// few resume points don't need, and the finished run deletes them all.
import { Context } from '@temporalio/activity';
import { ArtifactError, type ArtifactStore } from '../platform/artifact-store.js';
import { keepHeartbeating } from './heartbeat.js';

/** How many resume points a run keeps while it trains: the newest, and one more in case the newest is unreadable. */
export const checkpointsKept = 2;

/** Where a checkpoint sits in its run's history. */
export interface CheckpointRef {
  readonly step: number;
  readonly attempt: number;
}

interface Listed extends CheckpointRef {
  readonly key: string;
  readonly previous?: CheckpointRef;
}

/** A run id as one artifact-key segment (run ids carry `:`, which keys don't allow). */
export function checkpointSegment(runId: string): string {
  return runId.replace(/[^A-Za-z0-9_\-=+,@~.]/g, '_');
}

/** The key prefix under which a run's checkpoints live. */
export function checkpointPrefix(runId: string): string {
  return `checkpoints/${checkpointSegment(runId)}/`;
}

const name = (ref: CheckpointRef) => `${String(ref.step).padStart(10, '0')}-a${ref.attempt}`;

/** The key of a checkpoint; `previous` is the one an incremental checkpoint extends. */
export function checkpointKey(runId: string, ref: CheckpointRef, previous?: CheckpointRef): string {
  return `${checkpointPrefix(runId)}${name(ref)}${previous ? `-after-${name(previous)}` : ''}.ckpt`;
}

const keyPattern = /\/(\d{10})-a(\d+)(?:-after-(\d{10})-a(\d+))?\.ckpt$/;

function parseKey(key: string): Listed | undefined {
  const m = keyPattern.exec(key);
  if (!m) return undefined;
  return {
    key,
    step: Number(m[1]),
    attempt: Number(m[2]),
    ...(m[3] !== undefined ? { previous: { step: Number(m[3]), attempt: Number(m[4]) } } : {}),
  };
}

/** The run's checkpoints, newest first (by step, then attempt), and a lookup by step and attempt. */
async function listCheckpoints(store: ArtifactStore, runId: string) {
  const all: Listed[] = [];
  for await (const item of store.list(checkpointPrefix(runId))) {
    const parsed = parseKey(item.key);
    if (parsed) all.push(parsed);
  }
  all.sort((a, b) => b.step - a.step || b.attempt - a.attempt);
  const byRef = new Map(all.map((c) => [name(c), c]));
  /** The chain of `point`, oldest first; undefined when a link is missing. */
  const chainOf = (point: Listed): Listed[] | undefined => {
    const chain: Listed[] = [];
    for (let link: Listed | undefined = point; link;) {
      chain.unshift(link);
      if (!link.previous) return chain;
      link = byRef.get(name(link.previous));
    }
    return undefined;
  };
  return { all, chainOf };
}

/**
 * Stores a checkpoint of the current attempt (an incremental one names the checkpoint it extends) and returns the
 * heartbeat fields that point a retry at it. Storing a complete checkpoint then deletes every checkpoint of the run
 * that the newest {@link checkpointsKept} resume points don't need: only after the newer one is stored, so the
 * newest complete checkpoint always exists, whatever the last heartbeat that reached the server names.
 */
export async function storeCheckpoint(
  store: ArtifactStore,
  runId: string,
  bytes: Uint8Array,
  step: number,
  previous?: CheckpointRef,
): Promise<{ checkpointUri: string; checkpointSha256: string; checkpointStep: number }> {
  const attempt = Context.current().info.attempt;
  const put = await store.put(checkpointKey(runId, { step, attempt }, previous), bytes);
  if (!previous) {
    const { all, chainOf } = await listCheckpoints(store, runId);
    const needed = new Set<string>();
    for (const point of all.slice(0, checkpointsKept))
      for (const l of chainOf(point) ?? []) needed.add(l.key);
    await Promise.all(all.filter((c) => !needed.has(c.key)).map((c) => store.delete(c.key)));
  }
  return { checkpointUri: put.uri, checkpointSha256: put.sha256, checkpointStep: step };
}

/** What a retry resumes from: the trainer's bytes oldest first, and where the newest of them sits. */
export interface ResumePoint {
  readonly chain: Buffer[];
  readonly newest: CheckpointRef & { readonly uri: string; readonly sha256: string };
}

/**
 * The newest complete resume point of a run: checkpoints are tried newest first, and the first whose chain is all
 * there wins. Undefined when there is nothing to resume from.
 */
export async function findResumePoint(store: ArtifactStore, runId: string): Promise<ResumePoint | undefined> {
  const { all, chainOf } = await listCheckpoints(store, runId);
  for (const point of all) {
    const chain = chainOf(point);
    if (!chain) continue;
    try {
      const bytes = await Promise.all(chain.map((link) => store.get(link.key)));
      const head = await store.head(point.key);
      return {
        chain: bytes,
        newest: {
          step: point.step,
          attempt: point.attempt,
          uri: store.uriFor(point.key),
          sha256: head?.sha256 ?? '',
        },
      };
    } catch (error) {
      // Deleted since the listing (another attempt pruned it): an older resume point may still be whole.
      if (error instanceof ArtifactError && error.code === 'not_found') continue;
      throw error;
    }
  }
  return undefined;
}

/** Deletes every checkpoint of a run (its whole prefix, including checkpoints written by earlier code). */
export async function deleteRunCheckpoints(store: ArtifactStore, runId: string): Promise<number> {
  const keys: string[] = [];
  for await (const item of store.list(checkpointPrefix(runId))) keys.push(item.key);
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(keys.slice(i, i + 32).map((key) => store.delete(key)));
  }
  return keys.length;
}

/** The activity the training workflow runs once a run is registered, rejected or cancelled. */
export function createCheckpointActivities(deps: { store: ArtifactStore }) {
  return {
    async deleteCheckpoints(input: { runId: string }): Promise<{ deleted: number }> {
      const stop = keepHeartbeating(Context.current(), () => ({ stage: 'deleting checkpoints' }));
      try {
        return { deleted: await deleteRunCheckpoints(deps.store, input.runId) };
      } finally {
        stop();
      }
    },
  };
}

export type CheckpointActivities = ReturnType<typeof createCheckpointActivities>;
