// What each model serves, as every gateway process sees it: deployments polled from PostgreSQL, with their versions
// loaded before the new state takes over (so a change drops no request and needs no restart).
import type { DeploymentState } from '../domain/deployment.js';
import type { Pool } from '../platform/db.js';
import { deploymentsVersion, listDeployments } from '../platform/deployments.js';
import type { Logger } from '../platform/logger.js';
import type { GatewayMetrics } from './metrics.js';
import { VersionUnavailableError, type LoadedVersion, type ModelCache } from './model-cache.js';

/** A deployed version: loaded, or refused with the reason (a refused challenger's rows count as its errors). */
export type Slot =
  | { readonly version: number; readonly loaded: LoadedVersion; readonly refused?: undefined }
  | { readonly version: number; readonly loaded?: undefined; readonly refused: VersionUnavailableError };

export interface ModelRoute {
  readonly deployment: DeploymentState;
  readonly champion: Slot | null;
  readonly challenger: Slot | null;
}

export class RoutingTable {
  private routes = new Map<string, ModelRoute>();
  private seen: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private retryRefusedAt = Infinity;
  /** Set once the first refresh succeeded. */
  ready = false;

  constructor(
    private readonly deps: {
      readonly db: Pool;
      readonly cache: ModelCache;
      readonly log: Logger;
      readonly metrics: GatewayMetrics;
      readonly pollMs: number;
      /** How soon a refused version is tried again. */
      readonly retryMs: number;
    },
  ) {}

  get(model: string): ModelRoute | undefined {
    return this.routes.get(model);
  }

  get models(): string[] {
    return [...this.routes.keys()];
  }

  /** Loads the deployments once, then polls for changes every `pollMs`. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.deps.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Re-reads the deployments when their revision changed (or a refused version is due for a retry). */
  refresh(): Promise<void> {
    this.refreshing ??= this.doRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    try {
      const version = await deploymentsVersion(this.deps.db);
      if (version === this.seen && Date.now() < this.retryRefusedAt) return;
      const deployments = await listDeployments(this.deps.db);
      const next = new Map<string, ModelRoute>();
      let refused = false;
      await Promise.all(
        deployments.map(async (deployment) => {
          const [champion, challenger] = await Promise.all([
            this.slot(deployment.model, deployment.champion),
            this.slot(deployment.model, deployment.challenger),
          ]);
          if (champion?.refused || challenger?.refused) refused = true;
          next.set(deployment.model, { deployment, champion, challenger });
          this.deps.metrics.deploymentRevision.labels(deployment.model).set(deployment.revision);
          this.deps.metrics.deploymentProcesses.labels(deployment.model).set(1);
        }),
      );
      this.deps.cache.pin(
        deployments.flatMap((d) =>
          [d.champion, d.challenger]
            .filter((v): v is number => v !== null)
            .map((v) => ({ model: d.model, version: v })),
        ),
      );
      const changed = version !== this.seen;
      this.routes = next;
      this.seen = version;
      this.retryRefusedAt = refused ? Date.now() + this.deps.retryMs : Infinity;
      this.ready = true;
      if (changed) this.deps.log.info({ deployments: deployments.length, version }, 'deployments applied');
    } catch (error) {
      this.deps.log.warn({ err: error }, 'reading deployments failed; serving the last known state');
      throw error;
    }
  }

  private async slot(model: string, version: number | null): Promise<Slot | null> {
    if (version === null) return null;
    try {
      return { version, loaded: await this.deps.cache.get(model, version) };
    } catch (error) {
      const refused =
        error instanceof VersionUnavailableError
          ? error
          : new VersionUnavailableError('unusable', `${model}:${version}: ${(error as Error).message}`);
      this.deps.log.error(
        { modelName: model, version, reason: refused.reason, err: refused },
        'deployed version not served',
      );
      return { version, refused };
    }
  }
}
