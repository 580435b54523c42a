// The messages between the gateway's primary process and its workers (node:cluster IPC): a worker asks the primary
// for the cluster's metrics, the primary collects every worker's and sums them, and the primary asks a worker to
// drain.
import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

const metricsRequest = 'slipway:metrics-request';
const metricsResponse = 'slipway:metrics-response';
const collectRequest = 'slipway:metrics-collect';
const collectResponse = 'slipway:metrics-collected';
const drainRequest = 'slipway:drain';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

interface Message {
  readonly type?: string;
  readonly id?: number;
  readonly text?: string;
  readonly contentType?: string;
  readonly error?: string;
  readonly metrics?: MetricsJson;
}

let nextId = 0;
const waiting = new Map<number, (message: Message) => void>();

/** In a worker: asks the primary for every process's metrics, summed. */
export function metricsFromPrimary(): Promise<{ contentType: string; text: string }> {
  if (!process.send) return Promise.reject(new Error('not a gateway worker'));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error('the gateway primary did not answer within 10 s'));
    }, 10_000);
    waiting.set(id, (message) => {
      clearTimeout(timer);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve({ contentType: message.contentType ?? 'text/plain', text: message.text ?? '' });
    });
    process.send!({ type: metricsRequest, id });
  });
}

/** In a worker: answers the primary's collection requests with `registry`, and handles drain requests. */
export function workerMessages(registry: Registry, handlers: { onDrain: () => void }): void {
  process.on('message', (message: Message) => {
    if (message.type === metricsResponse && message.id !== undefined) {
      const done = waiting.get(message.id);
      waiting.delete(message.id);
      done?.(message);
    } else if (message.type === collectRequest && message.id !== undefined) {
      void registry
        .getMetricsAsJSON()
        .then((metrics) => process.send?.({ type: collectResponse, id: message.id, metrics }));
    } else if (message.type === drainRequest) handlers.onDrain();
  });
}

/**
 * In the primary: answers workers' metric requests with the sums over every worker that answers within `timeoutMs`.
 * A worker that dies or stalls meanwhile is left out of that answer (its counts leave the sums with it), rather than
 * failing the scrape.
 */
export function primaryMessages(timeoutMs = 2000): void {
  let nextCollect = 0;
  const collecting = new Map<number, (metrics: MetricsJson | undefined) => void>();
  const collect = (worker: Worker): Promise<MetricsJson | undefined> =>
    new Promise((resolve) => {
      const id = nextCollect++;
      const finish = (metrics: MetricsJson | undefined) => {
        clearTimeout(timer);
        worker.off('exit', gone);
        collecting.delete(id);
        resolve(metrics);
      };
      const gone = () => finish(undefined);
      const timer = setTimeout(gone, timeoutMs);
      worker.once('exit', gone);
      collecting.set(id, finish);
      worker.send({ type: collectRequest, id }, (error: Error | null) => error && gone());
    });
  cluster.on('message', (worker: Worker, message: Message) => {
    if (message.type === collectResponse && message.id !== undefined) {
      collecting.get(message.id)?.(message.metrics);
      return;
    }
    if (message.type !== metricsRequest || message.id === undefined) return;
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w?.isConnected() === true,
    );
    void Promise.all(workers.map(collect))
      .then(async (all) => {
        const registry = AggregatorRegistry.aggregate(all.filter((m): m is MetricsJson => m !== undefined));
        return { text: await registry.metrics(), contentType: registry.contentType };
      })
      .then(
        (answer) => worker.isConnected() && worker.send({ type: metricsResponse, id: message.id, ...answer }),
        (error: unknown) =>
          worker.isConnected() &&
          worker.send({ type: metricsResponse, id: message.id, error: (error as Error).message }),
      );
  });
}

/** In the primary: asks a worker to stop accepting, finish what it has, and exit. */
export function askToDrain(worker: Worker): void {
  if (worker.isConnected()) worker.send({ type: drainRequest });
}
