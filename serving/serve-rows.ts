// Scoring a request's rows: routing by weight or sticky key, the challenger's failures answered by the champion
// (fallback), shadow scoring off the response path, and one log row per version that scored a row.
import { route as routeRow, stickyBucket, type Arm } from '../domain/routing.js';
import { HttpProblem } from '../platform/http-problem.js';
import { newRequestId } from '../platform/request-id.js';
import type { FeatureBatch } from './feature-batch.js';
import type { GatewayMetrics } from './metrics.js';
import type { LoadedVersion } from './model-cache.js';
import type { LogRow, PredictionLog } from './prediction-log.js';
import type { ModelRoute, Slot } from './routing-table.js';
import type { ScoreResult } from './version-scorer.js';

export interface ServeSettings {
  readonly challengerTimeoutMs: number;
  readonly cooldownMs: number;
  readonly shadowQueueRows: number;
}

export interface RowAnswer {
  readonly requestId: string;
  readonly version: number;
  /** P(positive class). */
  readonly p: number;
  readonly positive: boolean;
  readonly label: string;
  /** Where the model's probability row (every class, in its order) is: row `k` of `result.probabilities`. */
  readonly result: ScoreResult;
  readonly k: number;
}

type Role = LogRow['role'];

/** Shared state of one gateway process's scoring: the challenger circuit breakers and the shadow queue. */
export class RowServer {
  /** `model:version` -> until when its rows skip the challenger after a timeout. */
  private readonly breakers = new Map<string, number>();
  private shadowRows = 0;

  constructor(
    private readonly deps: {
      readonly metrics: GatewayMetrics;
      readonly log: PredictionLog;
      readonly settings: ServeSettings;
    },
  ) {}

  /**
   * Routes and scores every row of `batch` through a model's deployment. `perRow`: each row is routed by itself
   * (row JSON); otherwise the whole request goes to one version and falls back whole (V2, one model_version).
   * @throws HttpProblem 503 when a row can be answered by no version (the rows are still logged)
   */
  async serve(
    model: string,
    route: ModelRoute,
    batch: FeatureBatch,
    options: { perRow: boolean; sticky: readonly (string | undefined)[] | string | undefined; at: number },
  ): Promise<RowAnswer[]> {
    const n = batch.rowCount;
    const { deployment } = route;
    const ids = Array.from({ length: n }, () => newRequestId(options.at));
    const stickyOf = (i: number) =>
      typeof options.sticky === 'string' ? options.sticky : options.sticky?.[i];
    const draw = (i: number) => {
      const s = stickyOf(i);
      return s !== undefined && deployment.challenger !== null
        ? stickyBucket(model, deployment.challenger, s)
        : Math.random();
    };
    const arms = new Array<Arm>(n);
    const shadow = new Uint8Array(n);
    const shared = options.perRow ? undefined : routeRow(deployment, draw(0));
    // While a challenger's circuit is open (after a timeout), it is out of this process's deployment: its rows go
    // to the champion as the champion's own, and it shadows nothing. They are counted (circuit_open) but are no
    // evidence against it: the one timeout that opened the circuit is, so a single slow run can't turn into
    // seconds of errors and roll back a healthy challenger.
    const open = route.challenger !== null && this.circuitOpen(model, route.challenger.version);
    let skipped = 0;
    for (let i = 0; i < n; i++) {
      const d = shared ?? routeRow(deployment, draw(i));
      if (open && (d.arm === 'challenger' || d.shadow)) skipped++;
      arms[i] = open ? 'champion' : d.arm;
      shadow[i] = d.shadow && !open ? 1 : 0;
    }
    if (skipped > 0)
      this.deps.metrics.errors
        .labels(model, String(route.challenger!.version), 'challenger', 'circuit_open')
        .inc(skipped);
    const championRows = indices(arms, 'champion');
    const challengerRows = indices(arms, 'challenger');

    const [championFirst, challengerFirst] = await Promise.all([
      championRows.length > 0 ? this.attempt(model, route.champion, batch, championRows, false) : undefined,
      challengerRows.length > 0
        ? this.attempt(model, route.challenger, batch, challengerRows, true)
        : undefined,
    ]);

    // Challenger rows that failed go to the champion; in whole-request mode, all of them do.
    const challengerErrors = challengerFirst ? rowErrors(challengerFirst, challengerRows.length) : [];
    const anyFailed = challengerErrors.some((e) => e !== null);
    const fallbackRows = challengerRows.filter(
      (_, k) => challengerErrors[k] !== null || (!options.perRow && anyFailed),
    );
    const fallbackSet = new Set(fallbackRows);
    const fallback =
      fallbackRows.length > 0 && route.champion !== null
        ? await this.attempt(model, route.champion, batch, Int32Array.from(fallbackRows), false)
        : undefined;

    const answers = new Array<RowAnswer | undefined>(n);
    const logRows: LogRow[] = [];
    const championRole: Role = 'champion';
    const push = (
      i: number,
      version: number,
      role: Role,
      outcome: Outcome,
      k: number,
      served: boolean,
      isFallback: boolean,
      iface?: LoadedVersion,
    ) => {
      const error = outcome.error ?? (Number.isNaN(outcome.result!.p[k]) ? 'nan' : null);
      const p = error === null ? outcome.result!.p[k]! : null;
      const label =
        p !== null && iface ? iface.scorer.iface.classes[outcome.result!.positive[k] ? 1 : 0] : null;
      logRows.push({
        at: options.at,
        requestId: ids[i]!,
        model,
        version,
        role,
        served: served && error === null,
        fallback: isFallback,
        batch,
        row: i,
        score: p,
        label,
        error,
        latencyMs: outcome.result?.latencyMs ?? 0,
        sticky: stickyOf(i) ?? null,
      });
      if (served && error === null && p !== null && label !== null)
        answers[i] = {
          requestId: ids[i]!,
          version,
          p,
          positive: outcome.result!.positive[k] === 1,
          label,
          result: outcome.result!,
          k,
        };
      return error;
    };

    championRows.forEach((i, k) => {
      push(i, route.champion!.version, championRole, championFirst!, k, true, false, route.champion!.loaded);
    });
    challengerRows.forEach((i, k) => {
      const served = !fallbackSet.has(i);
      push(
        i,
        route.challenger!.version,
        'challenger',
        challengerFirst!,
        k,
        served,
        false,
        route.challenger!.loaded,
      );
    });
    fallbackRows.forEach((i, k) => {
      push(
        i,
        route.champion!.version,
        championRole,
        fallback ?? unavailable('no champion to fall back to'),
        k,
        true,
        true,
        route.champion?.loaded,
      );
      this.deps.metrics.fallbacks.labels(model, String(route.challenger!.version)).inc();
    });

    const missing = answers.findIndex((a) => a === undefined);
    if (missing !== -1) {
      // The client gets nothing: no row of this request was served.
      const rows = logRows.map((r) => ({ ...r, served: false }));
      this.record(rows);
      const reasons = [
        ...new Set(
          logRows.filter((r) => r.error).map((r) => `${model}:${r.version} (${r.role}): ${r.error}`),
        ),
      ];
      throw new HttpProblem(
        503,
        'No version could answer',
        `row ${missing} could not be scored: ${reasons.join('; ')}`,
        {
          error: `no version could answer: ${reasons.join('; ')}`,
        },
      );
    }
    this.record(logRows);

    const shadowRows = Array.from(championRows).filter((i) => shadow[i] === 1 && !fallbackSet.has(i));
    if (shadowRows.length > 0 && route.challenger)
      setImmediate(() => this.shadow(model, route.challenger!, batch, shadowRows, ids, options.at, stickyOf));
    return answers as RowAnswer[];
  }

  /**
   * Scores a version asked for by number. `role` is its part in the deployment (champion, challenger), or direct.
   * @throws HttpProblem 503 when it fails on any row
   */
  async serveVersion(
    model: string,
    loaded: LoadedVersion,
    role: Role,
    batch: FeatureBatch,
    at: number,
  ): Promise<RowAnswer[]> {
    const ids = Array.from({ length: batch.rowCount }, () => newRequestId(at));
    const all = Int32Array.from({ length: batch.rowCount }, (_, i) => i);
    const outcome = await this.attempt(model, { version: loaded.version, loaded }, batch, all, false, role);
    const answers: RowAnswer[] = [];
    const logRows: LogRow[] = [];
    let failure: string | null = null;
    for (let i = 0; i < batch.rowCount; i++) {
      const error = outcome.error ?? (Number.isNaN(outcome.result!.p[i]) ? 'nan' : null);
      failure ??= error;
      const p = error === null ? outcome.result!.p[i]! : null;
      const label = p === null ? null : loaded.scorer.iface.classes[outcome.result!.positive[i] ? 1 : 0];
      logRows.push({
        at,
        requestId: ids[i]!,
        model,
        version: loaded.version,
        role,
        served: true,
        fallback: false,
        batch,
        row: i,
        score: p,
        label,
        error,
        latencyMs: outcome.result?.latencyMs ?? 0,
        sticky: null,
      });
      if (p !== null && label !== null)
        answers.push({
          requestId: ids[i]!,
          version: loaded.version,
          p,
          positive: outcome.result!.positive[i] === 1,
          label,
          result: outcome.result!,
          k: i,
        });
    }
    if (failure !== null) {
      this.record(logRows.map((r) => ({ ...r, served: false })));
      throw new HttpProblem(503, 'Version failed', `${model}:${loaded.version} failed: ${failure}`, {
        error: `${model}:${loaded.version} failed: ${failure}`,
      });
    }
    this.record(logRows);
    return answers;
  }

  private circuitOpen(model: string, version: number): boolean {
    return (this.breakers.get(`${model}:${version}`) ?? 0) > Date.now();
  }

  /** One version's go at some rows; never throws: a failure is returned as the error every row gets. */
  private async attempt(
    model: string,
    slot: Slot | null,
    batch: FeatureBatch,
    rows: Int32Array,
    challenger: boolean,
    role: Role = challenger ? 'challenger' : 'champion',
  ): Promise<Outcome> {
    const version = slot ? String(slot.version) : 'none';
    const fail = (reason: string, error: string): Outcome => {
      this.deps.metrics.errors.labels(model, version, role, reason).inc(rows.length);
      return { error };
    };
    if (!slot) return fail('unavailable', 'no such version deployed');
    if (slot.refused)
      return fail(slot.refused.reason === 'integrity' ? 'integrity' : 'unavailable', slot.refused.message);
    const key = `${model}:${slot.version}`;
    if (challenger && this.circuitOpen(model, slot.version))
      return fail('circuit_open', 'circuit open after a timeout');
    let result: ScoreResult;
    try {
      result = await slot.loaded.scorer.score(batch, rows);
    } catch (error) {
      return fail('error', (error as Error).message || String(error));
    }
    this.deps.metrics.hot.predictions(model, version, role).inc(rows.length);
    this.deps.metrics.hot.latency(model, version).observe(result.latencyMs / 1000);
    if (challenger && result.runMs > this.deps.settings.challengerTimeoutMs) {
      if (this.deps.settings.cooldownMs > 0)
        this.breakers.set(key, Date.now() + this.deps.settings.cooldownMs);
      this.deps.metrics.errors.labels(model, version, role, 'timeout').inc(rows.length);
      return {
        error: `timeout (${result.runMs.toFixed(1)} ms > ${this.deps.settings.challengerTimeoutMs} ms)`,
        result,
      };
    }
    let nan = 0;
    for (const p of result.p) if (Number.isNaN(p)) nan++;
    if (nan > 0) this.deps.metrics.errors.labels(model, version, role, 'nan').inc(nan);
    return { result };
  }

  private shadow(
    model: string,
    slot: Slot,
    batch: FeatureBatch,
    rows: number[],
    ids: readonly string[],
    at: number,
    stickyOf: (i: number) => string | undefined,
  ): void {
    if (this.shadowRows + rows.length > this.deps.settings.shadowQueueRows) {
      this.deps.metrics.shadowDropped.labels(model, String(slot.version)).inc(rows.length);
      return;
    }
    this.shadowRows += rows.length;
    void this.attempt(model, slot, batch, Int32Array.from(rows), true, 'shadow').then((outcome) => {
      this.shadowRows -= rows.length;
      this.record(
        rows.map((i, k) => {
          const error = outcome.error ?? (Number.isNaN(outcome.result!.p[k]) ? 'nan' : null);
          const p = error === null ? outcome.result!.p[k]! : null;
          return {
            at,
            requestId: ids[i]!,
            model,
            version: slot.version,
            role: 'shadow' as const,
            served: false,
            fallback: false,
            batch,
            row: i,
            score: p,
            label:
              p === null || !slot.loaded
                ? null
                : slot.loaded.scorer.iface.classes[outcome.result!.positive[k] ? 1 : 0],
            error,
            latencyMs: outcome.result?.latencyMs ?? 0,
            sticky: stickyOf(i) ?? null,
          };
        }),
      );
    });
  }

  private record(rows: readonly LogRow[]): void {
    for (const row of rows) this.deps.log.push(row);
  }
}

interface Outcome {
  readonly result?: ScoreResult;
  /** Set when the version failed on every row (an error, a timeout, a refused or missing version). */
  readonly error?: string;
}

const unavailable = (error: string): Outcome => ({ error });

function indices(arms: readonly Arm[], arm: Arm): Int32Array {
  let count = 0;
  for (const a of arms) if (a === arm) count++;
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < arms.length; i++) if (arms[i] === arm) out[k++] = i;
  return out;
}

/** Per row: null when the row scored, else why not. */
function rowErrors(outcome: Outcome, count: number): (string | null)[] {
  return Array.from(
    { length: count },
    (_, k) => outcome.error ?? (Number.isNaN(outcome.result!.p[k]) ? 'nan' : null),
  );
}
