// A team of threads that grows trees together: the training thread plus `threads - 1` helpers, started once per
// thread count and reused by every fit (a thread costs tens of milliseconds to start). The training thread stays
// synchronous: it hands a task to the helpers through shared memory, does its own share, and waits on an Atomics
// counter until theirs are done (see team-protocol.ts for what a share is and why results do not depend on the
// thread count).
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { FEATURE_SPAN } from './histogram.js';
import type { SplitInfo } from './split.js';
import {
  CTRL_FAILED,
  CTRL_GENERATION,
  CTRL_PENDING,
  CTRL_READY,
  CTRL_SIZE,
  OP_NEW_FIT,
  OP_WORK,
  readResult,
  RESULT_WORDS,
  runShare,
  T_OP,
  TASK_WORDS,
  type FitBuffers,
} from './team-protocol.js';

const boot = new URL('../thread-boot.mjs', import.meta.url);
const entry = new URL(
  import.meta.url.endsWith('.ts') ? './team-thread.ts' : './team-thread.js',
  import.meta.url,
).href;
/** How long helpers may take to start before the fit gives up on them. */
const START_TIMEOUT_MS = 60_000;

export interface Team {
  readonly threads: number;
  readonly task: Float64Array;
  /** Hands `buffers` to the helpers; every later `run` works on them. */
  startFit(buffers: FitBuffers): void;
  /** Runs the task written in `task` on every thread and waits for all of them. */
  run(): void;
  /** The best split of search `k` of the last run over all threads (ties to the earlier feature), or null. */
  bestSplit(k: number): SplitInfo | null;
}

const teams = new Map<number, Team>();

function createTeam(threads: number): Team {
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SIZE * 4));
  const task = new Float64Array(new SharedArrayBuffer(TASK_WORDS * 8));
  const results = new Float64Array(new SharedArrayBuffer(threads * 2 * RESULT_WORDS * 8));
  const ports: MessagePort[] = [];
  for (let index = 1; index < threads; index++) {
    const channel = new MessageChannel();
    const worker = new Worker(boot, {
      workerData: { entry, ctrl, task, results, port: channel.port2, index, threads },
      transferList: [channel.port2],
    });
    // Helpers block in Atomics.wait between fits; they must not keep the process alive.
    worker.unref();
    ports.push(channel.port1);
  }
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const ready = Atomics.load(ctrl, CTRL_READY);
    if (ready === threads - 1) break;
    if (Date.now() > deadline)
      throw new Error(`gbdt: ${threads - 1} helper threads did not start within a minute`);
    Atomics.wait(ctrl, CTRL_READY, ready, 100);
  }
  let buffers: FitBuffers | undefined;

  const dispatch = (): void => {
    Atomics.store(ctrl, CTRL_PENDING, threads - 1);
    Atomics.add(ctrl, CTRL_GENERATION, 1);
    Atomics.notify(ctrl, CTRL_GENERATION);
  };
  const join = (): void => {
    for (;;) {
      const pending = Atomics.load(ctrl, CTRL_PENDING);
      if (pending === 0) break;
      Atomics.wait(ctrl, CTRL_PENDING, pending);
    }
    if (Atomics.exchange(ctrl, CTRL_FAILED, 0) === 1) throw new Error('gbdt: a helper thread failed');
  };

  return {
    threads,
    task,
    startFit(next) {
      buffers = next;
      for (const port of ports) port.postMessage(next);
      task[T_OP] = OP_NEW_FIT;
      dispatch();
      join();
      task[T_OP] = OP_WORK;
    },
    run() {
      dispatch();
      try {
        runShare(buffers!, task, results, 0, threads);
      } finally {
        join();
      }
    },
    bestSplit(k) {
      let best: SplitInfo | null = null;
      for (let t = 0; t < threads; t++) {
        const s = readResult(results, (t * 2 + k) * RESULT_WORDS);
        if (s && (!best || s.gain > best.gain)) best = s;
      }
      return best;
    },
  };
}

/** The team of `threads` threads (the calling one included), started on first use. */
export function gbdtTeam(threads: number): Team {
  let team = teams.get(threads);
  if (!team) {
    team = createTeam(threads);
    teams.set(threads, team);
  }
  return team;
}

/** Shared buffers for a fit of `rows` rows and `features` features with `slots` histograms. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** Doubles one histogram slot holds for `features` features. */
export function histogramDoubles(features: number): number {
  return FEATURE_SPAN * features;
}
