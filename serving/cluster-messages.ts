// The messages between the gateway's primary process and its workers (node:cluster IPC).
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';

const metricsRequest = 'slipway:metrics-request';
const metricsResponse = 'slipway:metrics-response';
const drainRequest = 'slipway:drain';

interface Message {
  readonly type?: string;
  readonly id?: number;
  readonly text?: string;
  readonly contentType?: string;
  readonly error?: string;
}

let nextId = 0;
const waiting = new Map<
  number,
  { resolve: (r: { contentType: string; text: string }) => void; reject: (e: Error) => void }
>();

/** In a worker: asks the primary for every process's metrics, summed (prom-client's AggregatorRegistry). */
export function metricsFromPrimary(): Promise<{ contentType: string; text: string }> {
  if (!process.send) return Promise.reject(new Error('not a gateway worker'));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the gateway primary did not answer for metrics within 10 s'));
    }, 10_000);
    waiting.set(id, {
      resolve: (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    process.send!({ type: metricsRequest, id });
  });
}

/** In a worker: handles the primary's messages (metric answers, drain). */
export function workerMessages(handlers: { onDrain: () => void }): void {
  process.on('message', (message: Message) => {
    if (message.type === metricsResponse && message.id !== undefined) {
      const w = waiting.get(message.id);
      waiting.delete(message.id);
      if (!w) return;
      if (message.error !== undefined) w.reject(new Error(message.error));
      else w.resolve({ contentType: message.contentType ?? 'text/plain', text: message.text ?? '' });
    } else if (message.type === drainRequest) handlers.onDrain();
  });
}

/** In the primary: answers workers' metric requests with the cluster-wide sums. */
export function primaryMessages(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, message: Message) => {
    if (message.type !== metricsRequest || message.id === undefined) return;
    aggregator.clusterMetrics().then(
      (text) =>
        worker.send({ type: metricsResponse, id: message.id, text, contentType: aggregator.contentType }),
      (error: unknown) =>
        worker.send({ type: metricsResponse, id: message.id, error: (error as Error).message }),
    );
  });
}

/** In the primary: asks a worker to stop accepting, finish what it has, and exit. */
export function askToDrain(worker: Worker): void {
  if (worker.isConnected()) worker.send({ type: drainRequest });
}
