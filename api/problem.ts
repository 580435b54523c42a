import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../platform/logger.js';

/** An HTTP error with a status, rendered as application/problem+json (RFC 9457). */
export class HttpProblem extends Error {
  override readonly name = 'HttpProblem';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}

interface Problem {
  status: number;
  title: string;
  detail: string;
  extra?: Record<string, unknown>;
}

/** The one place where error types become HTTP statuses. */
function toProblem(error: unknown): Problem {
  if (error instanceof HttpProblem) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const errors = error.validation.map((v) => ({
      field: v.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(body)',
      problem: v.message ?? 'invalid',
    }));
    return {
      status: 400,
      title: 'Invalid request',
      detail: errors.map((e) => `${e.field}: ${e.problem}`).join('; '),
      extra: { errors },
    };
  }
  if (error instanceof WorkflowNotFoundError)
    return { status: 404, title: 'Not found', detail: error.message };
  const named = error as Partial<FastifyError> & { name?: string };
  if (named.name === 'InvalidSpec' || named.name === 'ZodError') {
    return { status: 400, title: 'Invalid request', detail: named.message ?? 'invalid' };
  }
  if (typeof named.statusCode === 'number' && named.statusCode < 500) {
    return { status: named.statusCode, title: named.code ?? 'Request error', detail: named.message ?? '' };
  }
  return { status: 500, title: 'Internal error', detail: 'The server failed; the error has been logged.' };
}

export function problemHandler(log: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) log.error({ err: error, url: request.url }, 'request failed');
    return reply
      .status(problem.status)
      .type('application/problem+json')
      .send({
        type: 'about:blank',
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        ...problem.extra,
      });
  };
}
