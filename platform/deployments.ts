import { emptyDeployment, type DeploymentState, type DeploymentTarget } from '../domain/deployment.js';
import { audit } from './audit.js';
import { inTransaction, type Pool, type PoolClient } from './db.js';

interface DeploymentRow {
  model_name: string;
  champion_version: number | null;
  challenger_version: number | null;
  challenger_weight: number;
  shadow: boolean;
  sticky_key: string | null;
  rollout_workflow_id: string | null;
  revision: string;
  updated_by: string;
  updated_at: Date;
  request_id: string | null;
}

const columns =
  'model_name, champion_version, challenger_version, challenger_weight, shadow, sticky_key, rollout_workflow_id, revision, updated_by, updated_at, request_id';

function toState(row: DeploymentRow): DeploymentState {
  return {
    model: row.model_name,
    champion: row.champion_version,
    challenger: row.challenger_version,
    challengerWeight: Number(row.challenger_weight),
    shadow: row.shadow,
    stickyKey: row.sticky_key,
    rolloutWorkflowId: row.rollout_workflow_id,
    revision: Number(row.revision),
    updatedBy: row.updated_by,
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The model's deployment; a model never deployed serves nothing (revision 0). */
export async function readDeployment(pool: Pool | PoolClient, model: string): Promise<DeploymentState> {
  const { rows } = await pool.query<DeploymentRow>(
    `SELECT ${columns} FROM deployments WHERE model_name = $1`,
    [model],
  );
  return rows[0] ? toState(rows[0]) : emptyDeployment(model);
}

/** Every deployment, for a gateway's routing table. */
export async function listDeployments(pool: Pool): Promise<DeploymentState[]> {
  const { rows } = await pool.query<DeploymentRow>(`SELECT ${columns} FROM deployments ORDER BY model_name`);
  return rows.map(toState);
}

/** A change of `revision` anywhere: gateways poll this one cheap number to know when to reload their routing. */
export async function deploymentsVersion(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ v: string | null }>(
    "SELECT sum(revision)::text || ':' || count(*) AS v FROM deployments",
  );
  return rows[0]?.v ?? '0:0';
}

/** Thrown when a deployment names a version the registry doesn't have. */
export class DeploymentVersionError extends Error {
  override readonly name = 'DeploymentVersionError';
}

/**
 * Sets a model's deployment if its revision is still `expectedRevision` (0: never deployed), recording the new
 * state in deployment_history and the audit log. A lost race writes nothing and returns the winner's state. A retry
 * with the same `requestId` after the first attempt committed reports success. Given a client, it runs inside the
 * caller's transaction.
 */
export async function writeDeployment(
  db: Pool | PoolClient,
  write: {
    model: string;
    target: DeploymentTarget;
    expectedRevision: number;
    actor: string;
    reason: string;
    requestId?: string;
    source?: string;
  },
): Promise<{ written: boolean; state: DeploymentState }> {
  const { model, target } = write;
  if (target.challenger === null && (target.challengerWeight !== 0 || target.shadow)) {
    throw new DeploymentVersionError(`${model}: a challenger weight or shadowing needs a challenger version`);
  }
  return inTransaction(db, async (client) => {
    const wanted = [target.champion, target.challenger].filter((v): v is number => v !== null);
    if (wanted.length > 0) {
      const { rows } = await client.query<{ version: number }>(
        'SELECT v.version FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1 AND v.version = ANY($2::int[])',
        [model, wanted],
      );
      const missing = wanted.filter((v) => !rows.some((r) => r.version === v));
      if (missing.length > 0)
        throw new DeploymentVersionError(`${model}: no registered version ${missing.join(', ')}`);
    }
    // The row lock serialises writers; a writer that read an older revision loses.
    await client.query(
      `INSERT INTO deployments (model_name, revision, updated_by) VALUES ($1, 0, $2) ON CONFLICT (model_name) DO NOTHING`,
      [model, write.actor],
    );
    const { rows } = await client.query<DeploymentRow>(
      `SELECT ${columns} FROM deployments WHERE model_name = $1 FOR UPDATE`,
      [model],
    );
    const current = toState(rows[0]!);
    if (write.requestId !== undefined && rows[0]!.request_id === write.requestId)
      return { written: true, state: current };
    if (current.revision !== write.expectedRevision) return { written: false, state: current };
    const updated = await client.query<DeploymentRow>(
      `UPDATE deployments SET champion_version = $2, challenger_version = $3, challenger_weight = $4, shadow = $5,
         sticky_key = $6, rollout_workflow_id = $7, revision = revision + 1, updated_by = $8, updated_at = now(), request_id = $9
       WHERE model_name = $1 RETURNING ${columns}`,
      [
        model,
        target.champion,
        target.challenger,
        target.challengerWeight,
        target.shadow,
        target.stickyKey,
        target.rolloutWorkflowId,
        write.actor,
        write.requestId ?? null,
      ],
    );
    const state = toState(updated.rows[0]!);
    await client.query(
      `INSERT INTO deployment_history (model_name, revision, champion_version, challenger_version, challenger_weight, shadow,
         sticky_key, rollout_workflow_id, reason, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        model,
        state.revision,
        state.champion,
        state.challenger,
        state.challengerWeight,
        state.shadow,
        state.stickyKey,
        state.rolloutWorkflowId,
        write.reason,
        write.actor,
      ],
    );
    await audit(client, {
      actor: write.actor,
      action: 'deployment.set',
      subject: model,
      details: { from: current, to: target, reason: write.reason },
      ...(write.source ? { source: write.source } : {}),
    });
    return { written: true, state };
  });
}
