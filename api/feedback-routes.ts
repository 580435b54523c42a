import type { FastifyInstance } from 'fastify';
import { parseFeedbackBody } from '../domain/feedback.js';
import type { Pool } from '../platform/db.js';
import { recordFeedback } from '../platform/feedback.js';
import { HttpProblem } from './problem.js';

/** `POST /v1/feedback`: the gateway's late-label endpoint, served by the control API with the same function. */
export function registerFeedbackRoutes(
  app: FastifyInstance,
  deps: { db: Pool; feedbackPendingSeconds?: number; maxFeedbackItems?: number },
): void {
  app.post('/v1/feedback', { config: { role: 'operator' } }, async (request) => {
    const parsed = parseFeedbackBody(request.body, deps.maxFeedbackItems ?? 1000);
    if ('problems' in parsed) {
      const detail = parsed.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      throw new HttpProblem(400, 'Invalid request', detail, { errors: parsed.problems, error: detail });
    }
    const results = await recordFeedback(deps.db, parsed.items, parsed.paths, request.caller, {
      pendingSeconds: deps.feedbackPendingSeconds ?? 600,
    });
    return { results };
  });
}
