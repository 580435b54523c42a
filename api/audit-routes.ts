import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Pool } from '../platform/db.js';

/** The audit log (admin): who did what to which subject, when and from where; newest first. */
export function registerAuditRoutes(app: FastifyInstance, deps: { db: Pool }): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/v1/audit',
    {
      config: { role: 'admin' },
      schema: {
        querystring: z
          .object({
            /** Entries about this subject only, e.g. `elec2-price@champion`. */
            subject: z.string().min(1).max(200).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          })
          .strict(),
      },
    },
    async (request) => {
      const { subject, limit } = request.query;
      const { rows } = await deps.db.query<{
        id: string;
        at: Date;
        actor: string;
        action: string;
        subject: string;
        source: string | null;
        details: unknown;
      }>(
        `SELECT id, at, actor, action, subject, source, details FROM audit_log
          WHERE ($1::text IS NULL OR subject = $1) ORDER BY id DESC LIMIT $2`,
        [subject ?? null, limit],
      );
      return {
        entries: rows.map((r) => ({
          id: Number(r.id),
          at: r.at.toISOString(),
          actor: r.actor,
          action: r.action,
          subject: r.subject,
          ...(r.source ? { source: r.source } : {}),
          details: r.details,
        })),
      };
    },
  );
}
