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
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, baseUrl), {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new ApiError(
        0,
        `cannot reach the Slipway API at ${baseUrl} (is \`npm start\` running, or SLIPWAY_API_URL set?): ${(error as Error).message}`,
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
  };
}
