import { z } from 'zod';

/** Roles, each allowed what the ones before it are. */
export const roles = ['viewer', 'operator', 'approver', 'admin'] as const;
export type Role = (typeof roles)[number];

export interface ApiKey {
  /** Who the key belongs to: recorded as the actor in runs and the audit log. */
  readonly name: string;
  readonly role: Role;
  readonly secret: string;
}

const entry = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}:(viewer|operator|approver|admin):[A-Za-z0-9._~+/=-]{16,}$/, 'expected name:role:secret (role viewer|operator|approver|admin, secret of 16+ characters)');

/** Parses `name:role:secret,...`; throws naming the bad entry by position (never echoing a secret). */
export function parseApiKeys(list: string): ApiKey[] {
  const keys = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((raw, i) => {
      if (!entry.safeParse(raw).success) {
        throw new Error(`SLIPWAY_API_KEYS entry ${i + 1}: expected name:role:secret (role viewer|operator|approver|admin, secret of 16+ characters)`);
      }
      const [name, role, ...rest] = raw.split(':');
      return { name: name!, role: role as Role, secret: rest.join(':') };
    });
  const names = new Set(keys.map((k) => k.name));
  if (names.size !== keys.length) throw new Error('SLIPWAY_API_KEYS: key names must be unique');
  return keys;
}

/** Whether `role` may do what `needed` allows. */
export function roleAllows(role: Role, needed: Role): boolean {
  return roles.indexOf(role) >= roles.indexOf(needed);
}
