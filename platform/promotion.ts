import type { DeploymentState } from '../domain/deployment.js';
import { withTransaction, type Pool } from './db.js';
import { readDeployment, writeDeployment } from './deployments.js';
import { moveAlias, RegistryNotFoundError } from './registry.js';

/** Thrown when a promotion loses a compare-and-set or the deployment belongs to a running rollout. */
export class PromotionConflictError extends Error {
  override readonly name = 'PromotionConflict';
  constructor(
    message: string,
    readonly champion: number | null,
    readonly owner: string | null,
  ) {
    super(message);
  }
}

const label = (version: number | null) => (version === null ? 'none' : `v${version}`);

export interface PromotionResult {
  /** The champion before; equal to the new one when the alias already pointed there. */
  readonly previousChampion: number | null;
  /** Whether this call moved the alias (a retry of a committed promotion, or a version already champion: no). */
  readonly aliasMoved: boolean;
  readonly deployment: DeploymentState;
}

/**
 * Makes `version` the model's champion and sends it all traffic, in one transaction: the `champion` alias moves by
 * compare-and-set (only if it still points at `expectedChampion`), and the deployment is set to the champion alone
 * (no challenger, no shadow) by compare-and-set on its revision. Both are audited; a lost race changes nothing and
 * throws PromotionConflictError. A deployment owned by a rollout other than `owner` is refused. Idempotent per
 * `requestId`: a retry after a committed promotion succeeds without moving anything again.
 */
export async function promoteVersion(
  pool: Pool,
  promotion: {
    model: string;
    version: number;
    expectedChampion: number | null;
    actor: string;
    source: string;
    reason: string;
    requestId: string;
    /** The rollout workflow allowed to own the deployment while promoting (the one promoting). */
    owner?: string;
  },
): Promise<PromotionResult> {
  const { model, version } = promotion;
  return withTransaction(pool, async (client) => {
    const { rows: found } = await client.query(
      'SELECT 1 FROM model_versions v JOIN models m ON m.id = v.model_id WHERE m.name = $1 AND v.version = $2',
      [model, version],
    );
    if (found.length === 0) throw new RegistryNotFoundError(`${model} has no version ${version}`);
    const deployment = await readDeployment(client, model);
    const { rows } = await client.query<{ version: number }>(
      `SELECT a.version FROM aliases a JOIN models m ON m.id = a.model_id WHERE m.name = $1 AND a.alias = 'champion'`,
      [model],
    );
    const current = rows[0]?.version ?? null;
    const owner = deployment.rolloutWorkflowId;
    if (owner !== null && owner !== promotion.owner) {
      throw new PromotionConflictError(
        `${owner} is rolling out ${model}: approve or abort it rather than promoting around it`,
        current,
        owner,
      );
    }
    let aliasMoved = false;
    if (current !== version) {
      if (current !== promotion.expectedChampion) {
        throw new PromotionConflictError(
          `the champion of ${model} is ${label(current)}, not ${label(promotion.expectedChampion)} as expected`,
          current,
          owner,
        );
      }
      const moved = await moveAlias(client, {
        model,
        alias: 'champion',
        version,
        expected: promotion.expectedChampion,
        actor: promotion.actor,
        source: promotion.source,
        requestId: promotion.requestId,
      });
      if (!moved.moved) {
        throw new PromotionConflictError(
          `the champion of ${model} moved to ${label(moved.current)} meanwhile`,
          moved.current,
          owner,
        );
      }
      aliasMoved = true;
    }
    const settled =
      deployment.champion === version &&
      deployment.challenger === null &&
      !deployment.shadow &&
      deployment.rolloutWorkflowId === null;
    if (settled) return { previousChampion: current, aliasMoved, deployment };
    const written = await writeDeployment(client, {
      model,
      target: {
        champion: version,
        challenger: null,
        challengerWeight: 0,
        shadow: false,
        stickyKey: deployment.stickyKey,
        rolloutWorkflowId: null,
      },
      expectedRevision: deployment.revision,
      actor: promotion.actor,
      reason: promotion.reason,
      requestId: promotion.requestId,
      source: promotion.source,
    });
    if (!written.written) {
      throw new PromotionConflictError(
        `the deployment of ${model} changed meanwhile (revision ${written.state.revision} by ${written.state.updatedBy})`,
        current,
        written.state.rolloutWorkflowId,
      );
    }
    return { previousChampion: current, aliasMoved, deployment: written.state };
  });
}
