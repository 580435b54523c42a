// The gateway's HTTP surface on node:http: Open Inference Protocol (KServe V2) REST, row JSON, feedback, health
// and metrics. node:http rather than Fastify: on this request Fastify answered at 80 % of a bare node:http server's
// rate (docs/serving.md), and the gateway's goal is 85 % with the scoring and logging included.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseFeedbackBody } from '../domain/feedback.js';
import type { Pool } from '../platform/db.js';
import { recordFeedback } from '../platform/feedback.js';
import { HttpProblem } from '../platform/http-problem.js';
import type { Logger } from '../platform/logger.js';
import type { Access, RateLimiter } from './access.js';
import { invalidRequest } from './feature-batch.js';
import { parseJsonBody, readBody, sendJson, sendProblem } from './http.js';
import { parseInferRequest, type InferOutputName } from './infer-request.js';
import type { GatewayMetrics } from './metrics.js';
import { VersionUnavailableError, type LoadedVersion, type ModelCache } from './model-cache.js';
import { modelMetadata } from './model-metadata.js';
import { parseRowRequest } from './row-request.js';
import type { RoutingTable } from './routing-table.js';
import type { RowAnswer, RowServer } from './serve-rows.js';

export interface GatewayDeps {
  readonly db: Pool;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly table: RoutingTable;
  readonly cache: ModelCache;
  readonly rows: RowServer;
  readonly access: Access;
  readonly limiter: RateLimiter;
  readonly settings: {
    readonly maxBodyBytes: number;
    readonly maxBatchRows: number;
    readonly feedbackPendingSeconds: number;
  };
  /** /metrics: every gateway process's metrics, summed. */
  readonly clusterMetrics: () => Promise<{ contentType: string; text: string }>;
}

type Endpoint = 'infer' | 'predict' | 'feedback' | 'metadata' | 'ready' | 'health' | 'metrics' | 'other';

const notFound = (detail: string) => invalidRequest(detail, [{ field: '(path)', problem: detail }], 404);

function segments(url: string | undefined): string[] | undefined {
  const path = (url ?? '/').split('?', 1)[0]!;
  try {
    return path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

function versionNumber(model: string, raw: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(raw))
    throw notFound(`${model} has no version "${raw}"; versions are numbers`);
  return Number(raw);
}

function methodNotAllowed(allowed: string): HttpProblem {
  const detail = `use ${allowed} here`;
  return new HttpProblem(405, 'Method not allowed', detail, { error: detail, allow: allowed });
}

/** The request handler of one gateway process. */
export function createGatewayHandler(deps: GatewayDeps) {
  const { metrics, table, cache, settings } = deps;

  async function loadVersion(model: string, version: number): Promise<LoadedVersion> {
    try {
      return await cache.get(model, version);
    } catch (error) {
      if (error instanceof VersionUnavailableError && error.reason === 'missing')
        throw notFound(error.message);
      if (error instanceof VersionUnavailableError)
        throw new HttpProblem(503, 'Version unavailable', error.message, { error: error.message });
      throw error;
    }
  }

  /** The version whose interface a request is checked against: the named one, else the champion (or challenger). */
  async function contract(model: string, versionParam: string | undefined) {
    const route = table.get(model);
    if (versionParam !== undefined) {
      const loaded = await loadVersion(model, versionNumber(model, versionParam));
      const d = route?.deployment;
      const role =
        d?.champion === loaded.version
          ? 'champion'
          : d?.challenger === loaded.version
            ? 'challenger'
            : 'direct';
      return { route, loaded, role } as const;
    }
    if (!route || (route.champion === null && route.challenger === null))
      throw notFound(`model "${model}" is not deployed on this gateway`);
    const slot = route.champion ?? route.challenger!;
    if (!slot.loaded) {
      const detail = `${model}:${slot.version} is not served: ${slot.refused.message}`;
      throw new HttpProblem(503, 'Version unavailable', detail, { error: detail });
    }
    return { route, loaded: slot.loaded, role: undefined } as const;
  }

  async function score(
    req: IncomingMessage,
    res: ServerResponse,
    model: string,
    versionParam: string | undefined,
    kind: 'rows' | 'v2',
  ) {
    const caller = deps.access.authorize(req, 'viewer', model);
    deps.limiter.take(deps.access.open ? (req.socket.remoteAddress ?? '?') : caller.name);
    const body = await readBody(req, settings.maxBodyBytes);
    const { route, loaded, role } = await contract(model, versionParam);
    const json = parseJsonBody(req, body);
    const stickyField = versionParam === undefined ? (route?.deployment.stickyKey ?? null) : null;
    const header = stickyField !== null ? req.headers[stickyField.toLowerCase()] : undefined;
    const headerSticky = typeof header === 'string' ? header : undefined;
    const iface = loaded.scorer.iface;
    const at = Date.now();
    if (kind === 'rows') {
      const parsed = parseRowRequest(json, iface, { maxRows: settings.maxBatchRows, stickyField });
      const sticky = Array.from(parsed.sticky, (s) => s ?? headerSticky);
      const answers =
        role !== undefined
          ? await deps.rows.serveVersion(model, loaded, role, parsed.batch, at)
          : await deps.rows.serve(model, route, parsed.batch, { perRow: true, sticky, at });
      sendJson(res, 200, predictionsJson(model, answers));
      return;
    }
    const parsed = parseInferRequest(json, iface, { maxRows: settings.maxBatchRows, stickyField });
    const answers =
      role !== undefined
        ? await deps.rows.serveVersion(model, loaded, role, parsed.batch, at)
        : await deps.rows.serve(model, route, parsed.batch, {
            perRow: false,
            sticky: parsed.sticky ?? headerSticky,
            at,
          });
    sendJson(res, 200, {
      model_name: model,
      model_version: String(answers[0]!.version),
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      outputs: parsed.outputs.map((name) => inferOutput(name, answers)),
    });
  }

  async function feedback(req: IncomingMessage, res: ServerResponse) {
    const caller = deps.access.authorize(req, 'operator');
    deps.limiter.take(deps.access.open ? (req.socket.remoteAddress ?? '?') : caller.name);
    const json = parseJsonBody(req, await readBody(req, settings.maxBodyBytes));
    const parsed = parseFeedbackBody(json, settings.maxBatchRows);
    if ('problems' in parsed) {
      metrics.feedback.labels('rejected').inc();
      const detail = parsed.problems.map((p) => `${p.field}: ${p.problem}`).join('; ');
      throw invalidRequest(detail, parsed.problems);
    }
    try {
      const results = await recordFeedback(deps.db, parsed.items, parsed.paths, caller, {
        pendingSeconds: settings.feedbackPendingSeconds,
      });
      for (const r of results) metrics.feedback.labels(r.outcome).inc();
      sendJson(res, 200, { results });
    } catch (error) {
      metrics.feedback.labels('rejected').inc();
      throw error;
    }
  }

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    path: string[],
  ): Promise<{ endpoint: Endpoint; model?: string }> {
    const method = req.method ?? 'GET';
    const [a, b, c, d, e] = path;
    const get = method === 'GET' || method === 'HEAD';
    if (a === 'v2' && b === 'health' && path.length === 3 && (c === 'live' || c === 'ready')) {
      if (!get) throw methodNotAllowed('GET');
      const ok = c === 'live' || table.ready;
      sendJson(res, ok ? 200 : 503, { [c]: ok });
      return { endpoint: 'health' };
    }
    if (a === 'v2' && path.length === 1) {
      if (!get) throw methodNotAllowed('GET');
      sendJson(res, 200, { name: 'slipway', version: '1', extensions: [] });
      return { endpoint: 'metadata' };
    }
    if (a === 'metrics' && path.length === 1) {
      if (!get) throw methodNotAllowed('GET');
      const { contentType, text } = await deps.clusterMetrics().catch((error: unknown) => {
        const detail = `metrics are unavailable: ${(error as Error).message}`;
        throw new HttpProblem(503, 'Metrics unavailable', detail, { error: detail });
      });
      sendJson(res, 200, text, contentType);
      return { endpoint: 'metrics' };
    }
    if (a === 'v1' && b === 'feedback' && path.length === 2) {
      if (method !== 'POST') throw methodNotAllowed('POST');
      await feedback(req, res);
      return { endpoint: 'feedback' };
    }
    if ((a === 'v1' || a === 'v2') && b === 'models' && c !== undefined) {
      const model = c;
      const versioned = d === 'versions' && e !== undefined;
      const rest = versioned ? path.slice(5) : path.slice(3);
      const versionParam = versioned ? e : undefined;
      const action = rest[0];
      if (rest.length <= 1 && a === 'v1' && action === 'predict') {
        if (method !== 'POST') throw methodNotAllowed('POST');
        await score(req, res, model, versionParam, 'rows');
        return { endpoint: 'predict', model };
      }
      if (rest.length <= 1 && a === 'v2' && action === 'infer') {
        if (method !== 'POST') throw methodNotAllowed('POST');
        await score(req, res, model, versionParam, 'v2');
        return { endpoint: 'infer', model };
      }
      if (a === 'v2' && (rest.length === 0 || (rest.length === 1 && action === 'ready'))) {
        if (!get) throw methodNotAllowed('GET');
        deps.access.authorize(req, 'viewer', model);
        const { route, loaded } = await contract(model, versionParam);
        if (action === 'ready') {
          sendJson(res, 200, { name: model, ready: true });
          return { endpoint: 'ready', model };
        }
        const versions =
          versionParam !== undefined
            ? [loaded.version]
            : [route?.deployment.champion, route?.deployment.challenger].filter(
                (v): v is number => typeof v === 'number',
              );
        sendJson(res, 200, modelMetadata(model, versions, loaded.scorer.iface));
        return { endpoint: 'metadata', model };
      }
    }
    throw notFound(`no route ${method} ${req.url ?? '/'}`);
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    const path = segments(req.url);
    let endpoint: Endpoint = 'other';
    let model: string | undefined;
    const finish = (code: number) => {
      // Only deployed models get their own label, so random paths can't grow the metrics without bound.
      const label = model !== undefined && table.get(model) ? model : '';
      metrics.hot.requests(label, endpoint, String(code)).inc();
      if (endpoint === 'predict' || endpoint === 'infer')
        metrics.hot.requestDuration(label, endpoint).observe((performance.now() - started) / 1000);
    };
    if (path && path.length >= 3 && path[1] === 'models') {
      model = path[2];
      endpoint = path.at(-1) === 'infer' ? 'infer' : path.at(-1) === 'predict' ? 'predict' : 'metadata';
    }
    const run = path
      ? dispatch(req, res, path)
      : Promise.reject(notFound('the path is not valid percent-encoding'));
    run.then(
      (r) => {
        endpoint = r.endpoint;
        model = r.model;
        finish(res.statusCode);
      },
      (error: unknown) => {
        if (error instanceof HttpProblem && error.status === 429) metrics.rateLimited.inc();
        const code = sendProblem(res, error, deps.log, req.url);
        if (code === 503) deps.log.warn({ url: req.url, err: error }, 'request answered 503');
        finish(code);
      },
    );
  };
}

/**
 * `{"model", "predictions": [{requestId, version, probability, label}]}`, written out directly (a 256-row answer
 * would otherwise allocate an object per row just to stringify it).
 */
function predictionsJson(model: string, answers: readonly RowAnswer[]): string {
  let out = `{"model":${JSON.stringify(model)},"predictions":[`;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i]!;
    out += `${i === 0 ? '' : ','}{"requestId":"${a.requestId}","version":${a.version},"probability":${a.p},"label":${JSON.stringify(a.label)}}`;
  }
  return `${out}]}`;
}

function inferOutput(name: InferOutputName, answers: readonly RowAnswer[]) {
  const n = answers.length;
  if (name === 'probabilities') {
    const first = answers[0]!.result;
    const width = first.probabilities.length / first.p.length;
    const data: number[] = [];
    for (const a of answers)
      for (let j = 0; j < width; j++) data.push(a.result.probabilities[a.k * width + j]!);
    const datatype = first.probabilities instanceof Float64Array ? 'FP64' : 'FP32';
    return { name, shape: [n, width], datatype, data };
  }
  if (name === 'label')
    return { name, shape: [n], datatype: 'INT64', data: answers.map((a) => (a.positive ? 1 : 0)) };
  return { name, shape: [n], datatype: 'BYTES', data: answers.map((a) => a.requestId) };
}
