// The small HTTP toolkit of the gateway: bodies with a cap, JSON in and out, problem+json errors.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpProblem, problemBody, toProblem } from '../platform/http-problem.js';
import type { Logger } from '../platform/logger.js';

/**
 * Reads a request body of at most `max` bytes.
 * @throws HttpProblem 413 past the cap (the connection is closed after the answer), 400 when the client aborts
 */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.reject(tooLarge(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        req.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(new HttpProblem(400, 'Bad request', `the request body could not be read: ${error.message}`));
    });
  });
}

function tooLarge(max: number): HttpProblem {
  const detail = `the body is over the cap of ${max} bytes (SERVING_MAX_BODY_BYTES)`;
  return new HttpProblem(413, 'Payload too large', detail, {
    errors: [{ field: '(body)', problem: detail }],
    error: detail,
  });
}

/**
 * Parses a JSON body. Content types other than JSON get 415; a body that is not JSON gets 400 with the parser's
 * message (which says where).
 */
export function parseJsonBody(req: IncomingMessage, body: Buffer): unknown {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) {
    const detail = `content-type ${type} is not supported; send application/json`;
    throw new HttpProblem(415, 'Unsupported media type', detail, { error: detail });
  }
  if (body.length === 0) throw invalidJson('the body is empty; expected a JSON document');
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw invalidJson(`the body is not valid JSON: ${(error as Error).message}`);
  }
}

function invalidJson(detail: string): HttpProblem {
  return new HttpProblem(400, 'Invalid JSON', detail, {
    errors: [{ field: '(body)', problem: detail }],
    error: detail,
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers an error as problem+json through the shared mapping; logs 5xx. */
export function sendProblem(
  res: ServerResponse,
  error: unknown,
  log: Logger,
  url: string | undefined,
): number {
  const problem = toProblem(error);
  if (problem.status >= 500 && problem.status !== 503) log.error({ err: error, url }, 'request failed');
  if (res.headersSent) {
    res.destroy();
    return problem.status;
  }
  const headers: Record<string, string> = {};
  const retryAfter = problem.extra?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers['retry-after'] = String(retryAfter);
  if (typeof problem.extra?.allow === 'string') headers.allow = problem.extra.allow;
  // After a body over the cap the rest of it is not read: close the connection rather than parse it.
  if (problem.status === 413) headers.connection = 'close';
  const text = JSON.stringify(problemBody(problem));
  res.writeHead(problem.status, {
    ...headers,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return problem.status;
}
