// Writes prediction and feedback rows the way a gateway does, following the model's deployment row: the challenger
// answers its weight's share of requests, shadows the champion's when the deployment says so, and a failed
// challenger row falls back to the champion. Each version behaves as told: healthy, NaN outputs, slow, or with a
// given accuracy drop on labelled Elec2 rows. Scores come from a logistic regression fitted here on Elec2.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from '../../platform/db.js';
import { readDeployment } from '../../platform/deployments.js';
import { createRng } from '../../ml/rng.js';

export type Behaviour =
  | { kind: 'healthy' }
  /** Every score is NaN (logged as an error; the champion answers instead). */
  | { kind: 'nan' }
  /** Latency multiplied by `factor`. */
  | { kind: 'slow'; factor: number }
  /** Accuracy `points` lower on the same rows (scores flipped on rows the champion gets right). */
  | { kind: 'accuracy-drop'; points: number };

interface Elec2Row {
  readonly features: Record<string, number>;
  readonly positive: boolean;
}

const featureNames = ['period', 'nswprice', 'nswdemand', 'vicprice', 'vicdemand', 'transfer'] as const;

function loadElec2(limit: number): Elec2Row[] {
  const text = readFileSync(join(import.meta.dirname, '..', '..', 'datasets', 'electricity.csv'), 'utf8');
  const [header, ...lines] = text.trim().split(/\r?\n/);
  const names = header!.split(',');
  return lines.slice(0, limit).map((line) => {
    const cells = line.split(',').map(Number);
    const row = Object.fromEntries(names.map((n, i) => [n, cells[i]!]));
    return {
      features: Object.fromEntries(featureNames.map((n) => [n, row[n]!])),
      positive: row.class === 1,
    };
  });
}

/** Gradient descent on standardised features: a plain, honest Elec2 classifier (about 0.75 accuracy). */
function fitScorer(rows: readonly Elec2Row[]): (row: Elec2Row) => number {
  const d = featureNames.length;
  const mean = featureNames.map((n) => rows.reduce((s, r) => s + r.features[n]!, 0) / rows.length);
  const sd = featureNames.map(
    (n, j) => Math.sqrt(rows.reduce((s, r) => s + (r.features[n]! - mean[j]!) ** 2, 0) / rows.length) || 1,
  );
  const x = rows.map((r) => featureNames.map((n, j) => (r.features[n]! - mean[j]!) / sd[j]!));
  const w = new Array<number>(d + 1).fill(0);
  for (let iteration = 0; iteration < 300; iteration++) {
    const grad = new Array<number>(d + 1).fill(0);
    rows.forEach((r, i) => {
      const z = w[d]! + x[i]!.reduce((s, v, j) => s + v * w[j]!, 0);
      const error = 1 / (1 + Math.exp(-z)) - (r.positive ? 1 : 0);
      x[i]!.forEach((v, j) => (grad[j]! += error * v));
      grad[d]! += error;
    });
    grad.forEach((g, j) => (w[j]! -= (0.5 * g) / rows.length));
  }
  return (row) => {
    const z =
      w[d]! + featureNames.reduce((s, n, j) => s + ((row.features[n]! - mean[j]!) / sd[j]!) * w[j]!, 0);
    return 1 / (1 + Math.exp(-z));
  };
}

export interface TrafficStats {
  requests: number;
  /** Requests whose answer failed for the client (both versions failed): the writer never produces one. */
  failed: number;
  rows: Record<string, number>;
  labels: number;
}

export interface TrafficWriter {
  readonly stats: TrafficStats;
  /** Changes how a version behaves from now on. */
  behave(version: number, behaviour: Behaviour): void;
  setRate(requestsPerSecond: number): void;
  stop(): Promise<TrafficStats>;
}

/**
 * Starts writing traffic for `model` every `tickMs`: `requestsPerSecond` requests, each a labelled Elec2 row, with
 * `labelShare` of them getting a feedback row.
 */
export function startTrafficWriter(options: {
  pool: Pool;
  model: string;
  requestsPerSecond: number;
  behaviours?: Record<number, Behaviour>;
  labelShare?: number;
  tickMs?: number;
  seed?: number;
}): TrafficWriter {
  const rows = loadElec2(6000);
  const score = fitScorer(rows.slice(0, 4000));
  const traffic = rows.slice(4000);
  const rng = createRng(options.seed ?? 11);
  const behaviours = new Map<number, Behaviour>(
    Object.entries(options.behaviours ?? {}).map(([v, b]) => [Number(v), b]),
  );
  let rate = options.requestsPerSecond;
  const tickMs = options.tickMs ?? 100;
  const labelShare = options.labelShare ?? 0.5;
  const accuracy = traffic.filter((r) => score(r) >= 0.5 === r.positive).length / traffic.length;
  const stats: TrafficStats = { requests: 0, failed: 0, rows: {}, labels: 0 };
  let next = 0;
  let partitionDay = '';
  let stopped = false;
  let carry = 0;

  const scoreAs = (version: number, row: Elec2Row, index: number) => {
    const behaviour = behaviours.get(version) ?? { kind: 'healthy' };
    const base = score(row);
    const latency = (1.5 + rng.nextFloat() * 1.5) * (behaviour.kind === 'slow' ? behaviour.factor : 1);
    if (behaviour.kind === 'nan') return { score: null, error: 'nan', latency };
    let value = Math.min(1, Math.max(0, base + (rng.nextFloat() - 0.5) * 0.01));
    if (behaviour.kind === 'accuracy-drop') {
      // Flip rows the base model gets right, on a fixed share of rows: accuracy drops by `points` in expectation.
      const right = base >= 0.5 === row.positive;
      const flip = ((index * 2654435761) >>> 0) / 2 ** 32 < behaviour.points / accuracy;
      if (right && flip) value = 1 - value;
    }
    return { score: value, error: null, latency };
  };

  const tick = async () => {
    const deployment = await readDeployment(options.pool, options.model);
    if (deployment.champion === null) return;
    const day = new Date().toISOString().slice(0, 10);
    if (day !== partitionDay) {
      await options.pool.query('SELECT ensure_predictions_partition($1::date)', [day]);
      partitionDay = day;
    }
    carry += (rate * tickMs) / 1000;
    const count = Math.floor(carry);
    carry -= count;
    const records: unknown[][] = [];
    const labels: unknown[][] = [];
    const at = new Date().toISOString();
    for (let i = 0; i < count; i++) {
      const index = next++;
      const row = traffic[index % traffic.length]!;
      const requestId = randomUUID();
      const add = (
        version: number,
        role: string,
        served: boolean,
        fallback: boolean,
        s: ReturnType<typeof scoreAs>,
      ) => {
        records.push([
          at,
          requestId,
          options.model,
          version,
          role,
          served,
          fallback,
          JSON.stringify(row.features),
          s.score,
          s.score === null ? null : s.score >= 0.5 ? '1' : '0',
          s.error,
          s.latency,
        ]);
        stats.rows[`${version}:${role}`] = (stats.rows[`${version}:${role}`] ?? 0) + 1;
      };
      const { champion, challenger } = deployment;
      const toChallenger = challenger !== null && rng.nextFloat() < deployment.challengerWeight;
      if (toChallenger) {
        const answer = scoreAs(challenger, row, index);
        add(challenger, 'challenger', answer.error === null, false, answer);
        if (answer.error !== null) add(champion, 'champion', true, true, scoreAs(champion, row, index));
      } else {
        add(champion, 'champion', true, false, scoreAs(champion, row, index));
        if (challenger !== null && deployment.shadow)
          add(challenger, 'shadow', false, false, scoreAs(challenger, row, index));
      }
      stats.requests++;
      if (rng.nextFloat() < labelShare)
        labels.push([requestId, options.model, row.positive ? '1' : '0', row.positive]);
    }
    if (records.length > 0) {
      const columns = 12;
      await options.pool.query(
        `INSERT INTO predictions (at, request_id, model_name, version, role, served, fallback, inputs, score, predicted_label, error, latency_ms)
         VALUES ${records.map((_, r) => `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`).join(', ')}`,
        records.flat(),
      );
    }
    if (labels.length > 0) {
      await options.pool.query(
        `INSERT INTO feedback (request_id, model_name, label, label_positive, actor)
         VALUES ${labels.map((_, r) => `($${r * 4 + 1}, $${r * 4 + 2}, $${r * 4 + 3}, $${r * 4 + 4}, 'traffic')`).join(', ')}
         ON CONFLICT (request_id) DO NOTHING`,
        labels.flat(),
      );
      stats.labels += labels.length;
    }
  };

  const loop = (async () => {
    while (!stopped) {
      const started = Date.now();
      await tick();
      await new Promise((r) => setTimeout(r, Math.max(0, tickMs - (Date.now() - started))));
    }
  })();

  return {
    stats,
    behave: (version, behaviour) => behaviours.set(version, behaviour),
    setRate: (requestsPerSecond) => (rate = requestsPerSecond),
    stop: async () => {
      stopped = true;
      await loop;
      return stats;
    },
  };
}
