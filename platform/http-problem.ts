// HTTP errors as application/problem+json (RFC 9457): the one mapping from error types to statuses, shared by the
// control API (Fastify) and the serving gateway (node:http).
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { FeedbackRejected } from './feedback.js';

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

export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly extra?: Record<string, unknown>;
}

/** The one place where error types become HTTP statuses. */
export function toProblem(error: unknown): Problem {
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
  if (error instanceof FeedbackRejected) {
    const title = { 403: 'Forbidden', 409: 'Conflict', 422: 'Labels refused' }[error.status];
    return {
      status: error.status,
      title,
      detail: error.message,
      extra: { errors: error.problems, error: error.message },
    };
  }
  if (error instanceof WorkflowNotFoundError)
    return { status: 404, title: 'Not found', detail: error.message };
  const named = error as { name?: string; message?: string; statusCode?: number; code?: string };
  if (named.name === 'InvalidSpec' || named.name === 'ZodError') {
    return { status: 400, title: 'Invalid request', detail: named.message ?? 'invalid' };
  }
  if (named.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, title: 'Payload too large', detail: named.message ?? 'the body is too large' };
  }
  if (typeof named.statusCode === 'number' && named.statusCode < 500) {
    return { status: named.statusCode, title: named.code ?? 'Request error', detail: named.message ?? '' };
  }
  return { status: 500, title: 'Internal error', detail: 'The server failed; the error has been logged.' };
}

/** The problem+json body of a problem. */
export function problemBody(problem: Problem): Record<string, unknown> {
  return {
    type: 'about:blank',
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    ...problem.extra,
  };
}
