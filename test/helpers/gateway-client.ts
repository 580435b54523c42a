// Calling a gateway from tests: row JSON, V2, metrics.
import type { DeploymentState } from '../../domain/deployment.js';

export interface Prediction {
  readonly requestId: string;
  readonly version: number;
  readonly probability: number;
  readonly label: string;
}

/** POSTs JSON and returns status, headers and the parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert on untyped JSON bodies
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Row JSON predictions; throws with the problem detail on anything but 200. */
export async function predict(
  gatewayUrl: string,
  model: string,
  rows: readonly Record<string, unknown>[],
  headers: Record<string, string> = {},
): Promise<Prediction[]> {
  const r = await postJson(`${gatewayUrl}/v1/models/${model}/predict`, { rows }, headers);
  if (r.status !== 200) throw new Error(`predict ${model}: ${r.status} ${JSON.stringify(r.body)}`);
  return (r.body as { predictions: Prediction[] }).predictions;
}

/** The gateway's /metrics text (summed over its processes). */
export async function scrape(gatewayUrl: string): Promise<string> {
  const response = await fetch(`${gatewayUrl}/metrics`);
  if (response.status !== 200)
    throw new Error(`/metrics answered ${response.status}: ${await response.text()}`);
  return response.text();
}

/** A sample's value from Prometheus text, matching every given label; 0 when absent. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (matches) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Resolves once every gateway process serves `state`'s revision of its model (the revision gauge's minimum). */
export async function waitForDeployment(
  gatewayUrl: string,
  state: DeploymentState,
  timeoutMs = 10_000,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const text = await scrape(gatewayUrl);
    const revision = metricValue(text, 'slipway_gateway_deployment_revision', { model: state.model });
    const applied = metricValue(text, 'slipway_gateway_deployment_processes', { model: state.model });
    if (revision >= state.revision && applied === metricValue(text, 'slipway_gateway_processes'))
      return Date.now() - started;
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `the gateway did not apply ${state.model} revision ${state.revision} within ${timeoutMs} ms`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `probe` until it returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
