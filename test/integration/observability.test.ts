import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { WindowJudgement } from '../../domain/monitor.js';
import type { Pool } from '../../platform/db.js';
import { alertTopic, recordWindow } from '../../platform/monitor-store.js';
import { createWorkerMetrics, serveMetrics } from '../../platform/worker-metrics.js';
import { repoRoot } from '../helpers/api.js';
import { createTestDb, dropTestSchema } from '../helpers/db.js';
import { promqlReferences, templateQueries } from '../helpers/promql-names.js';
import { runPromtool } from '../helpers/promtool.js';

const infra = join(repoRoot, 'infra');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; refId: string }[];
  gridPos?: { h: number; w: number; x: number; y: number };
}

/** Grafana's variables replaced by values PromQL accepts, so promtool can parse a panel's query. */
function withoutVariables(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '5m')
    .replaceAll('$__range', '1h')
    .replaceAll('$__interval', '1m')
    .replaceAll('$model', '.*');
}

/** The metrics a registry exports: name -> its label names (histograms also as _bucket, _sum, _count). */
async function exported(registry: Registry): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const metric of registry.getMetricsAsArray()) {
    // The registry holds the metric objects themselves: their label names and current values.
    const m = metric as unknown as {
      name: string;
      labelNames?: string[];
      get(): Promise<{ type: string; values: { labels: Record<string, unknown> }[] }>;
    };
    const info = await m.get();
    const labels = new Set<string>([
      ...(m.labelNames ?? []),
      ...info.values.flatMap((v) => Object.keys(v.labels)),
    ]);
    out.set(m.name, labels);
    if (info.type === 'histogram' || info.type === 'summary') {
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
      if (info.type === 'histogram') out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
    }
  }
  return out;
}

describe('Prometheus rules and the Grafana dashboard', () => {
  let rules: { groups: { name: string; rules: Rule[] }[] };
  let dashboard: { panels: Panel[]; templating: { list: { name: string; query: unknown }[] } };
  let known: Map<string, Set<string>>;

  beforeAll(async () => {
    rules = parseYaml(await readFile(join(infra, 'prometheus', 'rules.yml'), 'utf8')) as typeof rules;
    dashboard = JSON.parse(
      await readFile(join(infra, 'grafana', 'slipway-dashboard.json'), 'utf8'),
    ) as typeof dashboard;
    known = await exported(createWorkerMetrics().registry);
    // Series Prometheus itself adds to every scrape target.
    known.set('up', new Set(['job', 'instance']));
  });

  it('promtool parses the rules and the configuration, and the rules pass their unit tests', async () => {
    expect(await runPromtool(['check', 'rules', 'rules.yml'], join(infra, 'prometheus'))).toMatch(
      /SUCCESS: \d+ rules found/,
    );
    expect(await runPromtool(['check', 'config', 'prometheus.yml'], join(infra, 'prometheus'))).toMatch(
      /is valid prometheus config file syntax/,
    );
    expect(await runPromtool(['test', 'rules', 'rules.test.yml'], join(infra, 'prometheus'))).toMatch(
      /SUCCESS/,
    );
  });

  it('promtool parses every query of the dashboard', async () => {
    const queries = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        record: `dashboard:panel_${p.id}_${t.refId}`,
        expr: withoutVariables(t.expr),
      })),
    );
    expect(queries.length).toBeGreaterThan(20);
    const dir = await mkdtemp(join(tmpdir(), 'slipway-dashboard-'));
    try {
      await writeFile(
        join(dir, 'dashboard-queries.yml'),
        stringifyYaml({ groups: [{ name: 'dashboard', rules: queries }] }),
      );
      const out = await runPromtool(['check', 'rules', 'dashboard-queries.yml'], dir);
      expect(out).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos, p.title).toBeDefined();
  });

  it('every metric and label the rules and the dashboard name is one the code exports', () => {
    const exprs = [
      ...rules.groups.flatMap((g) =>
        g.rules.flatMap((r) => [r.expr, ...Object.values(r.annotations ?? {}).flatMap(templateQueries)]),
      ),
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => withoutVariables(t.expr))),
      ...dashboard.templating.list.flatMap((v) => {
        const q = (v.query as { query?: string } | undefined)?.query;
        return q ? [q.replace(/^label_values\((\w+),\s*(\w+)\)$/, '$1{$2=""}')] : [];
      }),
    ];
    const check = (expressions: readonly string[]) => {
      const metrics = new Set<string>();
      const labels: string[] = [];
      for (const expr of expressions) {
        const refs = promqlReferences(expr);
        for (const metric of refs.metrics) if (!known.has(metric)) metrics.add(metric);
        for (const s of refs.selectors) {
          const names = known.get(s.metric);
          for (const l of s.labels) {
            if (names && !names.has(l) && l !== 'job' && l !== 'instance') labels.push(`${s.metric}{${l}}`);
          }
        }
      }
      return { metrics: [...metrics], labels };
    };
    // The check itself notices a misspelt metric and a label the metric does not have.
    expect(
      check([
        'sum by (model) (rate(slipway_monitor_window_total[5m]))',
        'slipway_monitor_alert_firing{feature="x"}',
      ]),
    ).toEqual({
      metrics: ['slipway_monitor_window_total'],
      labels: ['slipway_monitor_alert_firing{feature}'],
    });

    // The gateway's metrics (slipway_gateway_*) are registered by serving/metrics.ts, not part of this checkout yet:
    // their names follow that file on the serving branch and are checked here once it is.
    const found = check(exprs);
    expect(found.metrics.filter((m) => !m.startsWith('slipway_gateway_'))).toEqual([]);
    expect(found.labels).toEqual([]);
  });
});

describe('worker metrics on the real database', () => {
  let db: { pool: Pool; schema: string };
  let server: Awaited<ReturnType<typeof serveMetrics>> | undefined;

  beforeAll(async () => {
    db = await createTestDb('worker_metrics');
  });

  afterAll(async () => {
    await server?.close();
    if (db) await dropTestSchema(db.pool, db.schema);
  });

  it('serves the latest window of every model at /metrics: drift per feature, alerts, performance, SLOs', async () => {
    const judgement = (start: string, end: string, drift: boolean): WindowJudgement => ({
      range: { index: 0, start, end },
      readAt: end,
      status: 'judged',
      version: 2,
      rowCount: 500,
      rowsRead: 500,
      features: [],
      prediction: null,
      slo: {
        requests: 500,
        failed: 5,
        errorRate: 0.01,
        fallbacks: 0,
        latencyP50Ms: 2,
        latencyP95Ms: 4,
        latencyP99Ms: 8,
      },
      performance: {
        metric: 'accuracy',
        labelled: 300,
        value: 0.71,
        accuracy: 0.71,
        auc: 0.8,
        logLoss: 0.5,
        brier: 0.2,
        from: start,
        to: end,
        threshold: 0.5,
      },
      outcomes: { 'drift:price': drift ? 'breach' : 'clean', 'drift:qty': 'clean', latency: 'unjudged' },
      analysisUri: 'file:///unused',
      analysisSha256: '0'.repeat(64),
    });
    const row = (feature: string, statistic: number, drift: boolean) => ({
      source: 'feature' as const,
      feature,
      kind: 'numeric' as const,
      test: 'ks',
      statistic,
      pValue: drift ? 1e-8 : 0.4,
      threshold: 0.025,
      drift,
      currentCount: 500,
      referenceCount: 5000,
      statistics: { ks: statistic },
    });
    for (const [i, drift] of [false, true].entries()) {
      const start = `2026-01-01T00:0${i}:00.000Z`;
      const end = `2026-01-01T00:0${i + 1}:00.000Z`;
      await recordWindow(db.pool, {
        model: 'shop',
        workflowId: 'monitor-shop',
        requestedBy: 'test',
        judgement: judgement(start, end, drift),
        alertState: drift ? { 'drift:price': { firing: true, recent: [], clean: 0 } } : {},
        events: [],
        report: { uri: `file:///r${i}.json`, htmlUri: `file:///r${i}.html`, sha256: '0'.repeat(64) },
        driftRows: [row('price', drift ? 0.31 : 0.02, drift), row('qty', 0.03, false)],
        webhook: false,
      });
    }
    await db.pool.query('INSERT INTO outbox (topic, payload, idempotency_key) VALUES ($1, $2, $3)', [
      alertTopic,
      JSON.stringify({ model: 'shop' }),
      'k1',
    ]);
    const metrics = createWorkerMetrics({ db: db.pool });
    metrics.windows.labels('shop', 'judged').inc(2);
    server = await serveMetrics(metrics.registry, { host: '127.0.0.1', port: 0 });
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('slipway_monitor_drift_statistic{model="shop",feature="price",test="ks"}')).toBe(0.31);
    expect(value('slipway_monitor_drift_detected{model="shop",feature="price"}')).toBe(1);
    expect(value('slipway_monitor_drift_detected{model="shop",feature="qty"}')).toBe(0);
    expect(value('slipway_monitor_alert_firing{model="shop",alert="drift:price"}')).toBe(1);
    expect(value('slipway_monitor_alert_firing{model="shop",alert="drift:qty"}')).toBe(0);
    // Unjudged alerts are not reported as quiet.
    expect(value('slipway_monitor_alert_firing{model="shop",alert="latency"}')).toBeUndefined();
    expect(value('slipway_monitor_performance{model="shop",metric="accuracy"}')).toBe(0.71);
    expect(value('slipway_monitor_error_rate{model="shop"}')).toBe(0.01);
    expect(value('slipway_monitor_latency_p99_seconds{model="shop"}')).toBe(0.008);
    expect(value('slipway_monitor_last_window_end_timestamp_seconds{model="shop"}')).toBe(
      Date.parse('2026-01-01T00:02:00.000Z') / 1000,
    );
    expect(value('slipway_monitor_window_interval_seconds{model="shop"}')).toBe(60);
    expect(value('slipway_monitor_version{model="shop"}')).toBe(2);
    expect(value('slipway_outbox_pending_events{topic="monitor.alert"}')).toBe(1);
    expect(value('slipway_monitor_windows_total{model="shop",status="judged"}')).toBe(2);
    expect(text).toMatch(/^slipway_worker_process_resident_memory_bytes \d+/m);
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
  });
});
