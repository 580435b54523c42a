// A bounded cache of onnxruntime sessions, loaded from the registry and verified against their sha256.
import { hostname } from 'node:os';
import * as ort from 'onnxruntime-node';
import { servingInterfaceOf, ServingInterfaceError } from '../domain/serving-interface.js';
import { ArtifactError, type ArtifactStore } from '../platform/artifact-store.js';
import { audit } from '../platform/audit.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { findVersion } from '../platform/registry.js';
import type { GatewayMetrics } from './metrics.js';
import { VersionScorer } from './version-scorer.js';

/** A version ready to score. */
export interface LoadedVersion {
  readonly model: string;
  readonly version: number;
  readonly sha256: string;
  readonly scorer: VersionScorer;
}

/** Why a version is not served: `integrity` (sha256 mismatch), `missing` (no such version), `unusable` (the rest). */
export class VersionUnavailableError extends Error {
  override readonly name = 'VersionUnavailableError';
  constructor(
    readonly reason: 'integrity' | 'missing' | 'unusable',
    message: string,
  ) {
    super(message);
  }
}

interface Entry {
  loaded: LoadedVersion;
  lastUsed: number;
}

const keyOf = (model: string, version: number) => `${model}:${version}`;

export class ModelCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<LoadedVersion>>();
  /** Versions that failed to load, and until when they are not tried again. */
  private readonly refused = new Map<string, { error: VersionUnavailableError; until: number }>();
  private readonly audited = new Set<string>();
  private pinned = new Set<string>();
  private readonly source = `gateway:${hostname()}:${process.pid}`;

  constructor(
    private readonly deps: {
      readonly db: Pool;
      readonly store: ArtifactStore;
      readonly log: Logger;
      readonly metrics: GatewayMetrics;
      readonly maxSessions: number;
      readonly ortThreads: number;
      /** How long a refused version is not retried (a fixed artifact is picked up after this). */
      readonly retryMs: number;
    },
  ) {}

  /** Deployed versions: never evicted while pinned. */
  pin(versions: readonly { model: string; version: number }[]): void {
    this.pinned = new Set(versions.map((v) => keyOf(v.model, v.version)));
    this.evict();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The version's session, loading it when needed: the registry row, the artifact verified against the registered
   * sha256 (a mismatch is refused: a metric, a log line and an audit entry, and never served), the session.
   * @throws VersionUnavailableError
   */
  async get(model: string, version: number): Promise<LoadedVersion> {
    const key = keyOf(model, version);
    const hit = this.entries.get(key);
    if (hit) {
      hit.lastUsed = performance.now();
      return hit.loaded;
    }
    const refusal = this.refused.get(key);
    if (refusal && refusal.until > Date.now()) throw refusal.error;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.load(model, version).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async load(model: string, version: number): Promise<LoadedVersion> {
    const key = keyOf(model, version);
    try {
      const row = await findVersion(this.deps.db, model, version);
      if (!row) throw new VersionUnavailableError('missing', `${model} has no version ${version}`);
      let iface;
      try {
        iface = servingInterfaceOf(row);
      } catch (error) {
        if (error instanceof ServingInterfaceError)
          throw new VersionUnavailableError(
            'unusable',
            `${model}:${version} can't be served: ${error.message}`,
          );
        throw error;
      }
      let bytes: Buffer;
      try {
        bytes = await this.deps.store.get(row.artifactUri, { expectSha256: row.artifactSha256 });
      } catch (error) {
        if (error instanceof ArtifactError && error.code === 'integrity') {
          await this.refuseIntegrity(model, version, row.artifactUri, row.artifactSha256, error.actualSha256);
          throw new VersionUnavailableError(
            'integrity',
            `${model}:${version} refused: its artifact's sha256 is ${error.actualSha256 ?? 'different'}, the registry says ${row.artifactSha256}`,
          );
        }
        throw new VersionUnavailableError(
          'unusable',
          `${model}:${version}: its artifact could not be read: ${(error as Error).message}`,
        );
      }
      let session: ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(bytes, {
          executionProviders: ['cpu'],
          intraOpNumThreads: this.deps.ortThreads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        });
      } catch (error) {
        throw new VersionUnavailableError(
          'unusable',
          `${model}:${version}: onnxruntime can't load it: ${(error as Error).message}`,
        );
      }
      const missing = iface.inputs.filter((i) => !session.inputNames.includes(i.name)).map((i) => i.name);
      if (missing.length > 0 || !session.outputNames.includes(iface.probabilities.output)) {
        await session.release();
        throw new VersionUnavailableError(
          'unusable',
          `${model}:${version}: the ONNX file doesn't match its registered signature (inputs ${missing.join(', ') || 'ok'}, output ${iface.probabilities.output})`,
        );
      }
      const versionLabel = String(version);
      const scorer = new VersionScorer(session, iface, (rows, ms) =>
        this.deps.metrics.observeBatch(model, versionLabel, rows, ms),
      );
      await scorer
        .warmUp()
        .catch((error: unknown) =>
          this.deps.log.warn({ err: error, modelName: model, version }, 'warm-up run failed'),
        );
      const loaded: LoadedVersion = { model, version, sha256: row.artifactSha256, scorer };
      this.entries.set(key, { loaded, lastUsed: performance.now() });
      this.refused.delete(key);
      this.deps.metrics.sessions.set(this.entries.size);
      this.deps.log.info({ modelName: model, version, sha256: row.artifactSha256 }, 'model loaded');
      this.evict();
      return loaded;
    } catch (error) {
      const refusal =
        error instanceof VersionUnavailableError
          ? error
          : new VersionUnavailableError('unusable', `${model}:${version}: ${(error as Error).message}`);
      this.refused.set(key, { error: refusal, until: Date.now() + this.deps.retryMs });
      throw refusal;
    }
  }

  private async refuseIntegrity(
    model: string,
    version: number,
    uri: string,
    expected: string,
    actual: string | undefined,
  ): Promise<void> {
    this.deps.metrics.integrityFailures.labels(model, String(version)).inc();
    this.deps.log.error(
      { modelName: model, version, artifactUri: uri, expectedSha256: expected, actualSha256: actual },
      'model artifact failed its sha256 check; refusing to serve it',
    );
    const once = `${model}:${version}:${actual ?? ''}`;
    if (this.audited.has(once)) return;
    this.audited.add(once);
    await audit(this.deps.db, {
      actor: 'gateway',
      action: 'model.integrity_refused',
      subject: `${model}:${version}`,
      source: this.source,
      details: { artifactUri: uri, expectedSha256: expected, actualSha256: actual ?? null },
    }).catch((error: unknown) => this.deps.log.error({ err: error }, 'audit write failed'));
  }

  /** Drops least recently used sessions past the bound, never a pinned or busy one. */
  private evict(): void {
    if (this.entries.size <= this.deps.maxSessions) return;
    const candidates = [...this.entries.entries()]
      .filter(([key, e]) => !this.pinned.has(key) && e.loaded.scorer.idle)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key, entry] of candidates) {
      if (this.entries.size <= this.deps.maxSessions) break;
      this.entries.delete(key);
      // A request that took this version a moment ago may still be about to queue on it: release it later.
      setTimeout(() => void entry.loaded.scorer.session.release().catch(() => undefined), 30_000).unref();
    }
    this.deps.metrics.sessions.set(this.entries.size);
  }

  async close(): Promise<void> {
    for (const entry of this.entries.values())
      await entry.loaded.scorer.session.release().catch(() => undefined);
    this.entries.clear();
  }
}
