// Same-tick micro-batching: rows that arrive for one version while the event loop is busy with one round of I/O
// are scored together, in one session.run.
import type * as ort from 'onnxruntime-node';
import type { ServingInterface } from '../domain/serving-interface.js';
import { buildFeeds, type FeatureBatch } from '../platform/serving-feeds.js';

/** What one request's rows got from a version. */
export interface ScoreResult {
  /** P(positive class) per requested row; NaN where the model gave no usable probability. */
  readonly p: Float64Array;
  /** 1 where the arg-max class is the positive one (ties go to the first column, as ArgMax and predict do). */
  readonly positive: Uint8Array;
  /** The model's probability rows for the requested rows ([count, width], row-major), as onnxruntime gave them. */
  readonly probabilities: Float32Array | Float64Array;
  /** Wall time of the session.run this request shared, in ms. */
  readonly runMs: number;
  /** From the request's arrival at the batcher to its result, in ms. */
  readonly latencyMs: number;
  /** Rows in the session.run this request shared. */
  readonly batchRows: number;
}

/** Thrown when a version can't be fed this request's rows (a feature it needs is not in the request). */
export class FeedError extends Error {
  override readonly name = 'FeedError';
}

interface Job {
  readonly batch: FeatureBatch;
  /** Rows of `batch` to score, in order; null: all of them. */
  readonly rows: Int32Array | null;
  readonly count: number;
  readonly queuedAt: number;
  resolve(result: ScoreResult): void;
  reject(error: unknown): void;
}

export interface BatchObserver {
  (rows: number, runMs: number): void;
}

/** One version's session with its batching queue. */
export class VersionScorer {
  private pending: Job[] = [];
  private scheduled = false;
  private inFlight = 0;

  constructor(
    readonly session: ort.InferenceSession,
    readonly iface: ServingInterface,
    private readonly onBatch: BatchObserver,
    /** Most rows in one session.run; more pending rows are split over several runs. */
    private readonly maxRunRows = 8192,
  ) {}

  /** Whether nothing is queued or running: the session may be released. */
  get idle(): boolean {
    return this.pending.length === 0 && this.inFlight === 0;
  }

  /** Scores `rows` of `batch` (all rows when null) together with whatever else arrives in this tick. */
  score(batch: FeatureBatch, rows: Int32Array | null): Promise<ScoreResult> {
    // A request this version can't take fails alone, before it joins a batch.
    for (const f of this.iface.features) {
      const column = batch.columns.get(f.name);
      if (!column) return Promise.reject(new FeedError(`the request has no feature "${f.name}"`));
      if (column.kind !== f.kind)
        return Promise.reject(
          new FeedError(`feature "${f.name}" is ${column.kind}; this version takes it ${f.kind}`),
        );
    }
    return new Promise<ScoreResult>((resolve, reject) => {
      this.pending.push({
        batch,
        rows,
        count: rows ? rows.length : batch.rowCount,
        queuedAt: performance.now(),
        resolve,
        reject,
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const jobs = this.pending;
    this.pending = [];
    let start = 0;
    while (start < jobs.length) {
      let rows = 0;
      let end = start;
      while (end < jobs.length && (end === start || rows + jobs[end]!.count <= this.maxRunRows))
        rows += jobs[end++]!.count;
      void this.run(jobs.slice(start, end), rows);
      start = end;
    }
  }

  private async run(jobs: Job[], total: number): Promise<void> {
    this.inFlight++;
    try {
      const feeds = this.feeds(jobs, total);
      const output = await this.timedRun(feeds);
      const done = performance.now();
      const runMs = done - output.started;
      this.onBatch(total, runMs);
      const tensor = output[this.iface.probabilities.output];
      const width = this.iface.probabilities.width;
      if (
        !tensor ||
        tensor.dims.length !== 2 ||
        Number(tensor.dims[0]) !== total ||
        Number(tensor.dims[1]) !== width
      )
        throw new Error(
          `output "${this.iface.probabilities.output}" has shape [${tensor?.dims.join(', ') ?? ''}]; expected [${total}, ${width}]`,
        );
      const data = tensor.data as Float32Array | Float64Array;
      const positiveIndex = this.iface.probabilities.positiveIndex;
      let offset = 0;
      for (const job of jobs) {
        const p = new Float64Array(job.count);
        const positive = new Uint8Array(job.count);
        for (let i = 0; i < job.count; i++) {
          const base = (offset + i) * width;
          let best = 0;
          let bad = false;
          for (let j = 0; j < width; j++) {
            const x = data[base + j]!;
            if (!(x >= 0 && x <= 1)) bad = true;
            if (x > data[base + best]!) best = j;
          }
          p[i] = bad ? NaN : data[base + positiveIndex]!;
          positive[i] = best === positiveIndex ? 1 : 0;
        }
        const probabilities = data.slice(offset * width, (offset + job.count) * width);
        offset += job.count;
        job.resolve({ p, positive, probabilities, runMs, latencyMs: done - job.queuedAt, batchRows: total });
      }
    } catch (error) {
      for (const job of jobs) job.reject(error);
    } finally {
      this.inFlight--;
    }
  }

  /**
   * session.run, timed from the moment the run itself starts: onnxruntime-node runs the graph inside a setImmediate
   * callback, so a mark taken in the callback queued just before it excludes time spent waiting behind other
   * versions' runs in the same turn of the event loop.
   */
  private async timedRun(feeds: Record<string, ort.Tensor>) {
    let started = performance.now();
    setImmediate(() => (started = performance.now()));
    const output = await this.session.run(feeds, [this.iface.probabilities.output]);
    return Object.assign(output, { started });
  }

  /** One run on a row of zeros and empty strings, so the first real request doesn't pay the session's first run. */
  async warmUp(): Promise<void> {
    const columns = new Map(
      this.iface.features.map((f) => [
        f.name,
        f.kind === 'numeric'
          ? { kind: 'numeric' as const, values: new Float64Array(1) }
          : { kind: 'categorical' as const, values: [''] },
      ]),
    );
    const job: Job = {
      batch: { rowCount: 1, columns },
      rows: null,
      count: 1,
      queuedAt: 0,
      resolve: () => undefined,
      reject: () => undefined,
    };
    await this.session.run(this.feeds([job], 1), [this.iface.probabilities.output]);
  }

  private feeds(jobs: readonly Job[], total: number): Record<string, ort.Tensor> {
    return buildFeeds(this.iface, jobs, total);
  }
}
