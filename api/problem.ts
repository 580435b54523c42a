import type { FastifyReply, FastifyRequest } from 'fastify';
import { problemBody, toProblem } from '../platform/http-problem.js';
import type { Logger } from '../platform/logger.js';

export { HttpProblem } from '../platform/http-problem.js';

export function problemHandler(log: Logger) {
  return (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const problem = toProblem(error);
    if (problem.status >= 500) log.error({ err: error, url: request.url }, 'request failed');
    return reply.status(problem.status).type('application/problem+json').send(problemBody(problem));
  };
}
