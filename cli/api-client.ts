/** A small client of the control API for the CLI; errors carry the API's problem detail. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function apiClient(baseUrl: string, apiKey?: string) {
  const call = async <T>(
    method: 'GET' | 'POST' | 'PUT',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    raw?: { stream: ReadableStream<Uint8Array>; size: number },
  ): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          // Recorded as the source of approvals and other decisions in the audit log.
          'x-slipway-client': 'cli',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(raw ? { 'content-type': 'application/octet-stream', 'content-length': String(raw.size) } : {}),
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(raw ? { body: raw.stream, duplex: 'half' } : {}),
      });
    } catch (error) {
      throw new ApiError(
        0,
        `cannot reach ${baseUrl} (is \`npm start\` running, or SLIPWAY_API_URL / SLIPWAY_GATEWAY_URL set?): ${(error as Error).message}`,
        undefined,
      );
    }
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      const detail = (parsed as { detail?: string } | undefined)?.detail ?? text;
      throw new ApiError(response.status, detail, parsed);
    }
    return parsed as T;
  };
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body: unknown, headers?: Record<string, string>) =>
      call<T>('POST', path, body, headers),
    /** Streams bytes (a file) to `path` as application/octet-stream. */
    put: <T>(path: string, stream: ReadableStream<Uint8Array>, size: number) =>
      call<T>('PUT', path, undefined, {}, { stream, size }),
  };
}
