import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LifecycleEvent } from '../domain/lifecycle.js';
import { apiClient } from './api-client.js';

interface StoredEvent extends LifecycleEvent {
  readonly id: number;
}

interface TrafficChange {
  readonly revision: number;
  readonly at: string;
  readonly champion: number | null;
  readonly challenger: number | null;
  readonly challengerWeight: number;
  readonly shadow: boolean;
  readonly reason: string;
}

interface EventsPage {
  readonly events: StoredEvent[];
  readonly traffic: TrafficChange[];
  readonly next: { readonly after: number; readonly afterRevision: number };
}

export interface WatchOptions {
  readonly apiUrl: string;
  readonly apiKey?: string;
  readonly model: string;
  /** The Temporal UI (http://127.0.0.1:8233), for links to the workflows; absent: workflow ids only. */
  readonly uiUrl?: string;
  readonly namespace: string;
  /** Print the history so far first (`all`), its last few events (a number), or only what happens from now. */
  readonly from: 'all' | 'now' | number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal;
  readonly write: (text: string) => void;
}

/** The reports worth a click, by the name the terminal shows. */
const reportNames: Record<string, string> = {
  evaluationHtml: 'evaluation report',
  validationHtml: 'validation report',
  report: 'drift report',
  dataset: 'dataset',
};

/** A report's address for a terminal: a path for local artifacts (relative when under the working directory). */
function place(uri: string): string {
  if (!uri.startsWith('file://')) return uri;
  const path = fileURLToPath(uri);
  const near = relative(process.cwd(), path);
  return near.startsWith('..') ? path : near;
}

const clock = (iso: string) => iso.slice(11, 19);

/** One event as terminal lines: the time, what happened, then its links (Temporal UI, reports). */
export function formatEvent(
  event: LifecycleEvent,
  options: Pick<WatchOptions, 'uiUrl' | 'namespace'>,
): string {
  const lines = [`${clock(event.at)}  ${event.kind.padEnd(17)} ${event.message}`];
  const indent = ' '.repeat(10 + 18);
  if (event.workflowId && options.uiUrl) {
    const run = event.runId ? `/${event.runId}` : '';
    lines.push(
      `${indent}Temporal UI: ${options.uiUrl}/namespaces/${options.namespace}/workflows/${encodeURIComponent(event.workflowId)}${run}/history`,
    );
  } else if (event.workflowId) {
    lines.push(`${indent}workflow: ${event.workflowId}`);
  }
  for (const [name, uri] of Object.entries(event.reports ?? {})) {
    const label = reportNames[name];
    if (label) lines.push(`${indent}${label}: ${place(uri)}`);
  }
  return lines.join('\n');
}

/** A traffic change (a rollout moving the split) as one terminal line. */
export function formatTraffic(change: TrafficChange): string {
  const split =
    change.challenger === null
      ? change.champion === null
        ? 'no version serves yet'
        : `all traffic to v${change.champion}`
      : `v${change.challenger} answers ${Math.round(change.challengerWeight * 100)} %${change.shadow ? ' and shadows the rest' : ''}, v${change.champion ?? '-'} the rest`;
  return `${clock(change.at)}  ${'traffic'.padEnd(17)} ${split} (${change.reason})`;
}

/**
 * Prints a model's lifecycle as it happens (decisions, alerts, versions, and each traffic change of its rollouts)
 * until `signal` aborts. Reads the API's event feed, so it works from any machine that can reach the API.
 */
export async function watchLifecycle(options: WatchOptions): Promise<void> {
  const api = apiClient(options.apiUrl, options.apiKey);
  const base = `/v1/lifecycles/${options.model}/events`;
  let after = 0;
  let afterRevision = 0;
  if (options.from !== 'all') {
    // Skip to the end of the history, keeping its last few events when asked.
    const keep = options.from === 'now' ? 0 : options.from;
    const tail: StoredEvent[] = [];
    for (;;) {
      const page = await api.get<EventsPage>(
        `${base}?after=${after}&afterRevision=${afterRevision}&limit=1000`,
      );
      tail.push(...page.events);
      tail.splice(0, Math.max(0, tail.length - keep));
      after = page.next.after;
      afterRevision = page.next.afterRevision;
      if (page.events.length < 1000 && page.traffic.length < 1000) break;
    }
    for (const event of tail) options.write(`${formatEvent(event, options)}\n`);
  }
  while (!options.signal?.aborted) {
    try {
      const page = await api.get<EventsPage>(`${base}?after=${after}&afterRevision=${afterRevision}`);
      const lines = [
        ...page.events.map((e) => ({ at: e.at, text: formatEvent(e, options) })),
        ...page.traffic.map((t) => ({ at: t.at, text: formatTraffic(t) })),
      ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      for (const line of lines) options.write(`${line.text}\n`);
      after = page.next.after;
      afterRevision = page.next.afterRevision;
    } catch (error) {
      if (options.signal?.aborted) return;
      options.write(`(watch: ${(error as Error).message}; retrying)\n`);
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, options.pollMs ?? 1000);
      options.signal?.addEventListener('abort', done, { once: true });
    });
  }
}
