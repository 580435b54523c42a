/** A small client of the serving gateway (docs/serving.md) for the replayer: readiness, inputs, rows, labels. */

export interface GatewayInput {
  readonly name: string;
  readonly datatype: string;
}

export interface RowAnswer {
  readonly requestId: string;
  readonly version: number;
}

/** An answer other than 2xx: `retry` when trying the same request again later may work. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: number,
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
  }
}

export function gatewayClient(baseUrl: string, apiKey?: string) {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new GatewayError(0, `cannot reach the gateway at ${baseUrl}: ${(error as Error).message}`, true);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const detail = (parsed as { detail?: string; error?: string } | undefined)?.detail ?? text;
      // 404 while a model has no champion yet, 429 and 5xx: worth another try; other 4xx: the request is wrong.
      const retry = response.status === 404 || response.status === 429 || response.status >= 500;
      throw new GatewayError(response.status, `${method} ${path}: ${response.status} ${detail}`, retry);
    }
    return parsed;
  };
  const model = (name: string) => `/v2/models/${encodeURIComponent(name)}`;
  return {
    /** Whether the model has a version that can answer. */
    async ready(name: string): Promise<boolean> {
      try {
        await call('GET', `${model(name)}/ready`);
        return true;
      } catch (error) {
        if (error instanceof GatewayError && error.retry) return false;
        throw error;
      }
    },
    /** The model's inputs, from its ONNX signature (Open Inference Protocol metadata). */
    async inputs(name: string): Promise<GatewayInput[]> {
      const metadata = (await call('GET', model(name))) as { inputs?: GatewayInput[] };
      return metadata.inputs ?? [];
    },
    /** Scores rows of raw features; per row the request id and the version that answered. */
    async predict(name: string, rows: readonly Record<string, unknown>[]): Promise<RowAnswer[]> {
      const answer = (await call('POST', `/v1/models/${encodeURIComponent(name)}/predict`, { rows })) as {
        predictions?: RowAnswer[];
      };
      const predictions = answer.predictions ?? [];
      if (predictions.length !== rows.length) {
        throw new GatewayError(200, `expected ${rows.length} predictions, got ${predictions.length}`, false);
      }
      return predictions;
    },
    /** Posts labels for logged predictions. */
    async feedback(items: readonly { requestId: string; label: unknown }[]): Promise<void> {
      await call('POST', '/v1/feedback', items.length === 1 ? items[0] : items);
    },
  };
}

export type GatewayClient = ReturnType<typeof gatewayClient>;
