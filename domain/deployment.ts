import { z } from 'zod';

/**
 * What a model serves right now: the champion, an optional challenger with its share of live traffic, shadowing,
 * and the sticky key. Stored in PostgreSQL (`deployments`), written by the rollout workflow and `models promote`
 * by compare-and-set on `revision`, read by every gateway.
 */
export const deploymentStateSchema = z
  .object({
    model: z.string().min(1),
    champion: z.number().int().positive().nullable(),
    challenger: z.number().int().positive().nullable(),
    /** Share of live requests the challenger answers, 0..1. */
    challengerWeight: z.number().min(0).max(1),
    /** The challenger scores champion-answered requests off the response path. */
    shadow: z.boolean(),
    /** Header or row field whose value pins a caller to one version; null: random per request. */
    stickyKey: z.string().min(1).max(100).nullable(),
    rolloutWorkflowId: z.string().nullable(),
    revision: z.number().int().nonnegative(),
    updatedBy: z.string(),
    updatedAt: z.string(),
  })
  .strict()
  .refine((s) => s.challenger !== null || (s.challengerWeight === 0 && !s.shadow), {
    message: 'a challenger weight or shadowing needs a challenger version',
  });

export type DeploymentState = z.infer<typeof deploymentStateSchema>;

/** The part of a deployment a writer sets; the rest (revision, who, when) the store fills in. */
export type DeploymentTarget = Pick<
  DeploymentState,
  'champion' | 'challenger' | 'challengerWeight' | 'shadow' | 'stickyKey' | 'rolloutWorkflowId'
>;

/** A model with no deployment row serves nothing. */
export function emptyDeployment(model: string): DeploymentState {
  return {
    model,
    champion: null,
    challenger: null,
    challengerWeight: 0,
    shadow: false,
    stickyKey: null,
    rolloutWorkflowId: null,
    revision: 0,
    updatedBy: '',
    updatedAt: new Date(0).toISOString(),
  };
}
