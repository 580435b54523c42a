import { z } from 'zod';

/** Roles, each allowed what the ones before it are. */
export const roles = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface ApiKey {
  /** Who the key belongs to: recorded as the actor in runs and the audit log. */
  readonly name: string;
  readonly role: Role;
  readonly secret: string;
  /** The models this key may act on; absent: every model. */
  readonly models?: readonly string[];
}

/** Who made a request, as the API and gateway pass it on (never the secret). */
export interface Caller {
  readonly name: string;
  readonly role: Role;
  readonly models?: readonly string[];
}

const entry = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}:(viewer|operator|approver|admin):[A-Za-z0-9._~+/=-]{16,}(:[a-z0-9][a-z0-9_-]{0,62}(\|[a-z0-9][a-z0-9_-]{0,62})*)?$/,
  );
const entryHelp =
  'expected name:role:secret[:model|model...] (role viewer|operator|approver|admin, secret of 16+ characters)';

/**
 * Parses `name:role:secret[:model-a|model-b],...`; a key with a model list acts on those models only. Throws naming
 * the bad entry by position (never echoing a secret).
 */
export function parseApiKeys(list: string): ApiKey[] {
  const keys = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((raw, i): ApiKey => {
      if (!entry.safeParse(raw).success) throw new Error(`SLIPWAY_API_KEYS entry ${i + 1}: ${entryHelp}`);
      const [name, role, secret, scope] = raw.split(':');
      return {
        name: name!,
        role: role as Role,
        secret: secret!,
        ...(scope ? { models: scope.split('|') } : {}),
      };
    });
  const names = new Set(keys.map((k) => k.name));
  if (names.size !== keys.length) throw new Error('SLIPWAY_API_KEYS: key names must be unique');
  return keys;
}

/** Whether `role` may do what `needed` allows. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed);
}

/** Whether `caller` may do what `needed` allows on `model` (or on anything, when no model is named). */
export function callerAllows(caller: Caller, needed: Role, model?: string): boolean {
  if (!roleAllows(caller.role, needed)) return false;
  if (caller.models === undefined) return true;
  return model !== undefined && caller.models.includes(model);
}
