import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { createWorkerMetrics } from '../../platform/worker-metrics.js';
import { createGatewayMetrics } from '../../serving/metrics.js';
import { promqlReferences, templateQueries } from '../helpers/promql-names.js';
import { promqlProblems } from '../helpers/promql-parse.js';
import {
  alertNames,
  configProblems,
  ruleFileProblems,
  ruleTestFileProblems,
} from '../helpers/prometheus-files.js';
import { installedPromtool, runPromtool } from '../helpers/promtool.js';

const infra = join(import.meta.dirname, '..', '..', 'infra');
const promtool = await installedPromtool();

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

/** Grafana's variables replaced by values PromQL accepts, so a panel's query parses. */
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
    known = new Map([
      ...(await exported(createWorkerMetrics().registry)),
      ...(await exported(createGatewayMetrics().registry)),
    ]);
    // Series Prometheus itself adds to every scrape target.
    known.set('up', new Set(['job', 'instance']));
  });

  /** Every panel query, Grafana's variables replaced, as a recording rule named after its panel. */
  const dashboardQueries = () =>
    dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({
        record: `dashboard:panel_${p.id}_${t.refId}`,
        expr: withoutVariables(t.expr),
      })),
    );

  it('every PromQL expression of the rules, their tests and the dashboard parses; the files have their structure', async () => {
    const prometheus = join(infra, 'prometheus');
    expect(ruleFileProblems(rules)).toEqual([]);
    expect(rules.groups.flatMap((g) => g.rules).length).toBeGreaterThan(10);
    const tests = parseYaml(await readFile(join(prometheus, 'rules.test.yml'), 'utf8')) as unknown;
    expect(ruleTestFileProblems(tests, 'rules.yml', alertNames(rules))).toEqual([]);
    const config = parseYaml(await readFile(join(prometheus, 'prometheus.yml'), 'utf8')) as unknown;
    expect(configProblems(config, ['rules.yml'])).toEqual([]);

    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    for (const q of queries) expect(promqlProblems(q.expr), q.record).toEqual([]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) expect(p.gridPos, p.title).toBeDefined();
  });

  it('the checks fail on a broken expression, a wrong type, a bad duration and an unknown field', () => {
    expect(promqlProblems('sum by (model) (rate(slipway_monitor_windows_total[5m])')).toEqual([
      expect.stringMatching(/^syntax error at offset 55 /),
    ]);
    expect(promqlProblems('max by (model) (slipway_monitor_alert_firing ==')).not.toEqual([]);
    expect(promqlProblems('no_such_function(slipway_monitor_version)')).not.toEqual([]);
    expect(promqlProblems('rate(slipway_monitor_windows_total)')).toEqual([
      expect.stringMatching(/^rate\(\) needs a range vector/),
    ]);
    expect(promqlProblems('sum(slipway_monitor_windows_total[5m])')).toEqual([
      expect.stringMatching(/^range vector where an instant vector belongs/),
    ]);
    expect(promqlProblems('')).toEqual(['empty expression']);

    const broken = structuredClone(rules) as unknown as {
      groups: { name: string; rules: Record<string, unknown>[] }[];
    };
    const first = broken.groups[0]!.rules[0]!;
    first.expr = `${String(first.expr)} and on(model`;
    first.for = '5 minutes';
    first.severity = 'warning';
    broken.groups[0]!.rules.push({ alert: 'Both', record: 'both:ratio', expr: 'up' });
    broken.groups.push({ name: broken.groups[0]!.name, rules: [{ record: 'bad name', expr: 'up' }] });
    const problems = ruleFileProblems(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^groups\[0\]\.rules\[0\]\.expr: syntax error/),
        'groups[0].rules[0].for: "5 minutes" is not a duration like 5m or 1h30m',
        'groups[0].rules[0]: unknown field severity',
        `groups[0].rules[${broken.groups[0]!.rules.length - 1}]: exactly one of alert and record`,
        `groups[${broken.groups.length - 1}].name: ${broken.groups[0]!.name} repeated`,
        `groups[${broken.groups.length - 1}].rules[0].record: "bad name" is not a valid metric name`,
      ]),
    );
    // A template query in an annotation is parsed too.
    const annotated = structuredClone(rules) as unknown as typeof broken;
    annotated.groups[0]!.rules[0]!.annotations = { description: '{{ with query "sum(up" }}{{ . }}{{ end }}' };
    expect(ruleFileProblems(annotated)).toEqual([
      expect.stringMatching(/^groups\[0\]\.rules\[0\]\.annotations\.description \(query\): syntax error/),
    ]);
    expect(
      ruleTestFileProblems(
        { rule_files: ['rules.yml'], tests: [{ alert_rule_test: [{ eval_time: '1m', alertname: 'Nope' }] }] },
        'rules.yml',
        alertNames(rules),
      ),
    ).toEqual(['tests[0].alert_rule_test[0].alertname: "Nope" is no alert of rules.yml']);
    expect(
      configProblems(
        {
          rule_files: ['other.yml'],
          scrape_configs: [{ job_name: 'x', static_configs: [{ targets: ['nohost'] }] }],
        },
        ['rules.yml'],
      ),
    ).toEqual([
      'rule_files: other.yml is not shipped',
      'scrape_configs[0].static_configs[0].targets: nohost is not host:port',
    ]);
  });

  // promtool is an extra check where it is already installed (never built by the tests).
  it.runIf(promtool !== undefined)(
    'promtool, where installed, also passes the rules, their unit tests, the configuration and the dashboard queries',
    async () => {
      const bin = promtool!;
      const prometheus = join(infra, 'prometheus');
      expect(await runPromtool(bin, ['check', 'rules', 'rules.yml'], prometheus)).toMatch(
        /SUCCESS: \d+ rules found/,
      );
      expect(await runPromtool(bin, ['check', 'config', 'prometheus.yml'], prometheus)).toMatch(
        /is valid prometheus config file syntax/,
      );
      expect(await runPromtool(bin, ['test', 'rules', 'rules.test.yml'], prometheus)).toMatch(/SUCCESS/);
      const queries = dashboardQueries();
      const dir = await mkdtemp(join(tmpdir(), 'slipway-dashboard-'));
      try {
        await writeFile(
          join(dir, 'dashboard-queries.yml'),
          stringifyYaml({ groups: [{ name: 'dashboard', rules: queries }] }),
        );
        const out = await runPromtool(bin, ['check', 'rules', 'dashboard-queries.yml'], dir);
        expect(out).toContain(`SUCCESS: ${queries.length} rules found`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );

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

    const found = check(exprs);
    expect(found.metrics).toEqual([]);
    expect(found.labels).toEqual([]);
  });
});
