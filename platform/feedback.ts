// Late labels: joined to logged predictions by request id, idempotent per request id. Served by the gateway and the
// control API alike (`POST /v1/feedback`).
import { callerAllows, type Caller } from '../domain/auth.js';
import { labelClass, type FeedbackItem, type FeedbackProblem } from '../domain/feedback.js';
import { servingInterfaceOf } from '../domain/serving-interface.js';
import { withTransaction, type Pool, type PoolClient } from './db.js';
import { requestIdTime } from './request-id.js';

export type FeedbackOutcome = 'recorded' | 'unchanged' | 'pending';

export interface FeedbackResult {
  readonly requestId: string;
  readonly outcome: FeedbackOutcome;
  /** The model the prediction came from; absent while the label is pending. */
  readonly model?: string;
}

/** A feedback body refused whole, with every problem by field path; nothing was written. */
export class FeedbackRejected extends Error {
  override readonly name = 'FeedbackRejected';
  constructor(
    readonly status: 403 | 409 | 422,
    readonly problems: readonly FeedbackProblem[],
  ) {
    super(problems.map((p) => `${p.field}: ${p.problem}`).join('; '));
  }
}

/** Predictions may be logged a little after the id's time; the window keeps the lookup to a few partitions. */
const logLagMs = 3_600_000;
const clockSkewMs = 60_000;

async function predictionsOf(
  db: Pool | PoolClient,
  ids: readonly string[],
  times: readonly number[],
): Promise<Map<string, { model: string; version: number }>> {
  const found = new Map<string, { model: string; version: number }>();
  if (ids.length === 0) return found;
  const { rows } = await db.query<{ request_id: string; model_name: string; version: number }>(
    `SELECT DISTINCT ON (request_id) request_id, model_name, version FROM predictions
     WHERE request_id = ANY($1::text[]) AND at >= $2 AND at < $3 ORDER BY request_id, served DESC`,
    [ids, new Date(Math.min(...times) - clockSkewMs), new Date(Math.max(...times) + logLagMs)],
  );
  for (const r of rows) found.set(r.request_id, { model: r.model_name, version: r.version });
  return found;
}

/** [negative, positive] class labels of each version named. */
async function classesOf(
  db: Pool | PoolClient,
  versions: readonly { model: string; version: number }[],
): Promise<Map<string, readonly [string, string]>> {
  const out = new Map<string, readonly [string, string]>();
  if (versions.length === 0) return out;
  const { rows } = await db.query<{
    name: string;
    version: number;
    onnx_signature: Record<string, unknown>;
    metadata: Record<string, unknown>;
  }>(
    `SELECT m.name, v.version, v.onnx_signature, v.metadata FROM model_versions v JOIN models m ON m.id = v.model_id
     WHERE (m.name, v.version) IN (SELECT * FROM unnest($1::text[], $2::int[]))`,
    [versions.map((v) => v.model), versions.map((v) => v.version)],
  );
  for (const r of rows) {
    let classes: readonly [string, string] = ['0', '1'];
    try {
      classes = servingInterfaceOf({ onnxSignature: r.onnx_signature, metadata: r.metadata }).classes;
    } catch {
      // An unservable version keeps the contract's 0/1.
    }
    out.set(`${r.name}:${r.version}`, classes);
  }
  return out;
}

/**
 * Records labels, all or none: a label for a logged prediction is joined to it (`recorded`; the same label again is
 * `unchanged`); a label for a request id issued within the last `pendingSeconds` but not logged yet waits for its row
 * (`pending`). Refused whole, with every problem by field path: an unknown request id, a label that is not one of the
 * model's classes, a different label for an already labelled request (409), a model the caller's key may not label
 * (403).
 * @throws FeedbackRejected
 */
export async function recordFeedback(
  pool: Pool,
  items: readonly FeedbackItem[],
  paths: readonly string[],
  caller: Caller,
  options: { pendingSeconds: number; now?: number },
): Promise<FeedbackResult[]> {
  const now = options.now ?? Date.now();
  const field = (i: number, name: string) => (paths[i] ? `${paths[i]}.${name}` : name);
  const problems: FeedbackProblem[] = [];
  let forbidden = false;
  const times = items.map((item) => requestIdTime(item.requestId));
  const issued = items.map((item, i) => ({ item, i, time: times[i] })).filter((x) => x.time !== undefined);
  return withTransaction(pool, async (client) => {
    const logged = await predictionsOf(
      client,
      issued.map((x) => x.item.requestId),
      issued.map((x) => x.time!),
    );
    const classes = await classesOf(client, [
      ...new Map([...logged.values()].map((v) => [`${v.model}:${v.version}`, v])).values(),
    ]);
    const plans: { i: number; kind: 'join'; model: string; positive: boolean }[] = [];
    const pendingPlans: { i: number }[] = [];
    const firstLabel = new Map<string, string>();
    items.forEach((item, i) => {
      const sent = String(item.label);
      const earlier = firstLabel.get(item.requestId);
      if (earlier !== undefined) {
        if (earlier !== sent)
          problems.push({
            field: field(i, 'label'),
            problem: `this request id is labelled "${earlier}" earlier in the same body`,
          });
        return;
      }
      firstLabel.set(item.requestId, sent);
      const time = times[i];
      const prediction = logged.get(item.requestId);
      if (prediction) {
        if (!callerAllows(caller, 'operator', prediction.model)) {
          forbidden = true;
          problems.push({
            field: field(i, 'requestId'),
            problem: `key "${caller.name}" may not label predictions of model ${prediction.model}`,
          });
          return;
        }
        const c = classes.get(`${prediction.model}:${prediction.version}`) ?? ['0', '1'];
        const which = labelClass(item.label, c);
        if (!which) {
          problems.push({
            field: field(i, 'label'),
            problem: `${JSON.stringify(item.label)} is not a class of model ${prediction.model}; expected "${c[0]}" or "${c[1]}"`,
          });
          return;
        }
        plans.push({ i, kind: 'join', model: prediction.model, positive: which === 'positive' });
      } else if (
        time !== undefined &&
        time >= now - options.pendingSeconds * 1000 &&
        time <= now + clockSkewMs
      ) {
        pendingPlans.push({ i });
      } else {
        problems.push({
          field: field(i, 'requestId'),
          problem:
            time === undefined
              ? `unknown request id "${item.requestId}": the gateway never issued it`
              : `unknown request id "${item.requestId}": no prediction with this id was logged`,
        });
      }
    });
    if (problems.length > 0) throw new FeedbackRejected(forbidden ? 403 : 422, problems);

    const results: FeedbackResult[] = [];
    const conflicts: FeedbackProblem[] = [];
    for (const plan of plans) {
      const item = items[plan.i]!;
      const label = String(item.label);
      const inserted = await client.query(
        `INSERT INTO feedback (request_id, model_name, label, label_positive, actor) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (request_id) DO NOTHING`,
        [item.requestId, plan.model, label, plan.positive, caller.name],
      );
      if (inserted.rowCount === 1) {
        results.push({ requestId: item.requestId, outcome: 'recorded', model: plan.model });
        continue;
      }
      const { rows } = await client.query<{ label: string }>(
        'SELECT label FROM feedback WHERE request_id = $1',
        [item.requestId],
      );
      if (rows[0]?.label === label)
        results.push({ requestId: item.requestId, outcome: 'unchanged', model: plan.model });
      else
        conflicts.push({
          field: field(plan.i, 'label'),
          problem: `this request is already labelled "${rows[0]?.label}"`,
        });
    }
    for (const plan of pendingPlans) {
      const item = items[plan.i]!;
      const label = String(item.label);
      const inserted = await client.query(
        `INSERT INTO feedback_pending (request_id, label, expires_at, actor, allowed_models)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING`,
        [
          item.requestId,
          label,
          new Date(times[plan.i]! + options.pendingSeconds * 1000),
          caller.name,
          caller.models ?? null,
        ],
      );
      if (inserted.rowCount === 1) {
        results.push({ requestId: item.requestId, outcome: 'pending' });
        continue;
      }
      const { rows } = await client.query<{ label: string }>(
        'SELECT label FROM feedback_pending WHERE request_id = $1',
        [item.requestId],
      );
      if (rows[0]?.label === label) results.push({ requestId: item.requestId, outcome: 'pending' });
      else
        conflicts.push({
          field: field(plan.i, 'label'),
          problem: `this request is already labelled "${rows[0]?.label}"`,
        });
    }
    if (conflicts.length > 0) throw new FeedbackRejected(409, conflicts);
    return results;
  });
}

/**
 * Moves pending labels whose prediction has been logged since into `feedback`, and drops those that waited past
 * their expiry (their request was never logged). Safe to run from every gateway process at once.
 */
export async function resolvePendingFeedback(
  pool: Pool,
  now: number = Date.now(),
): Promise<{ resolved: number; expired: number; rejected: number }> {
  return withTransaction(pool, async (client) => {
    const { rows: pending } = await client.query<{
      request_id: string;
      label: string;
      actor: string;
      allowed_models: string[] | null;
      expires_at: Date;
      received_at: Date;
    }>(
      `SELECT request_id, label, actor, allowed_models, expires_at, received_at FROM feedback_pending
       ORDER BY expires_at LIMIT 1000 FOR UPDATE SKIP LOCKED`,
    );
    if (pending.length === 0) return { resolved: 0, expired: 0, rejected: 0 };
    const times = pending.map((p) => requestIdTime(p.request_id) ?? now);
    const logged = await predictionsOf(
      client,
      pending.map((p) => p.request_id),
      times,
    );
    const classes = await classesOf(client, [...logged.values()]);
    let resolved = 0;
    let expired = 0;
    let rejected = 0;
    const done: string[] = [];
    for (const p of pending) {
      const prediction = logged.get(p.request_id);
      if (!prediction) {
        if (p.expires_at.getTime() < now) {
          expired++;
          done.push(p.request_id);
        }
        continue;
      }
      done.push(p.request_id);
      const which = labelClass(
        p.label,
        classes.get(`${prediction.model}:${prediction.version}`) ?? ['0', '1'],
      );
      if (!which || (p.allowed_models !== null && !p.allowed_models.includes(prediction.model))) {
        rejected++;
        continue;
      }
      await client.query(
        `INSERT INTO feedback (request_id, model_name, label, label_positive, actor, received_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (request_id) DO NOTHING`,
        [p.request_id, prediction.model, p.label, which === 'positive', p.actor, p.received_at],
      );
      resolved++;
    }
    if (done.length > 0)
      await client.query('DELETE FROM feedback_pending WHERE request_id = ANY($1::text[])', [done]);
    return { resolved, expired, rejected };
  });
}
