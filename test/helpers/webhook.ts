import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedHook {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly raw: string;
  /** The status the receiver answered with. */
  readonly status: number;
}

/**
 * A webhook receiver on a loopback port. `failFirst` answers the first N requests with 500 (to prove redelivery).
 * Keeps every request it got, in order.
 */
export async function startWebhookReceiver(options: { failFirst?: number } = {}) {
  const received: ReceivedHook[] = [];
  let failures = options.failFirst ?? 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const status = failures > 0 ? 500 : 204;
      if (failures > 0) failures--;
      received.push({ headers: req.headers, body: JSON.parse(raw) as Record<string, unknown>, raw, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hooks/slipway`,
    received,
    /** Requests answered 2xx, by idempotency key. */
    delivered(): Map<string, ReceivedHook[]> {
      const byKey = new Map<string, ReceivedHook[]>();
      for (const r of received.filter((x) => x.status < 300)) {
        const key = String(r.body.idempotencyKey);
        byKey.set(key, [...(byKey.get(key) ?? []), r]);
      }
      return byKey;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
