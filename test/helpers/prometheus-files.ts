// The structure of Prometheus rule files, rule unit-test files and the configuration, checked the way Prometheus
// loads them (unknown keys refused, names and durations in their formats, every expression parsed), without promtool.
// Formats: https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/ and .../unit_testing_rules/
import { templateQueries } from './promql-names.js';
import { promqlProblems } from './promql-parse.js';

const durationPattern = /^(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?$/;
const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

type Problems = string[];

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function duration(v: unknown, path: string, problems: Problems): void {
  if (typeof v !== 'string' || v === '' || !durationPattern.test(v))
    problems.push(`${path}: ${JSON.stringify(v)} is not a duration like 5m or 1h30m`);
}

function keysIn(
  v: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
  problems: Problems,
): void {
  for (const k of Object.keys(v)) if (!allowed.includes(k)) problems.push(`${path}: unknown field ${k}`);
}

function stringMap(v: unknown, path: string, problems: Problems, names: RegExp | undefined): void {
  if (v === undefined) return;
  if (!isRecord(v)) {
    problems.push(`${path}: must be a map of strings`);
    return;
  }
  for (const [k, value] of Object.entries(v)) {
    if (names && !names.test(k)) problems.push(`${path}.${k}: not a valid label name`);
    if (typeof value !== 'string') problems.push(`${path}.${k}: must be a string`);
    else if ((value.match(/\{\{/g) ?? []).length !== (value.match(/\}\}/g) ?? []).length)
      problems.push(`${path}.${k}: unbalanced {{ }} in the template`);
  }
}

function expression(v: unknown, path: string, problems: Problems): void {
  if (typeof v !== 'string' && typeof v !== 'number') {
    problems.push(`${path}: must be a PromQL expression`);
    return;
  }
  for (const p of promqlProblems(String(v))) problems.push(`${path}: ${p}`);
}

/** Every problem of a parsed rule file (its YAML as an object); empty when Prometheus would load it. */
export function ruleFileProblems(doc: unknown): string[] {
  const problems: Problems = [];
  if (!isRecord(doc) || !Array.isArray(doc.groups))
    return ['groups: a rule file is a map with a list of groups'];
  keysIn(doc, ['groups'], '', problems);
  const groupNames = new Set<string>();
  for (const [g, group] of (doc.groups as unknown[]).entries()) {
    const gp = `groups[${g}]`;
    if (!isRecord(group)) {
      problems.push(`${gp}: must be a map`);
      continue;
    }
    keysIn(group, ['name', 'interval', 'query_offset', 'limit', 'labels', 'rules'], gp, problems);
    if (typeof group.name !== 'string' || group.name === '') problems.push(`${gp}.name: required`);
    else if (groupNames.has(group.name)) problems.push(`${gp}.name: ${group.name} repeated`);
    else groupNames.add(group.name);
    if (group.interval !== undefined) duration(group.interval, `${gp}.interval`, problems);
    if (group.query_offset !== undefined) duration(group.query_offset, `${gp}.query_offset`, problems);
    stringMap(group.labels, `${gp}.labels`, problems, labelNamePattern);
    if (!Array.isArray(group.rules) || group.rules.length === 0) {
      problems.push(`${gp}.rules: a non-empty list`);
      continue;
    }
    for (const [r, rule] of (group.rules as unknown[]).entries()) {
      const rp = `${gp}.rules[${r}]`;
      if (!isRecord(rule)) {
        problems.push(`${rp}: must be a map`);
        continue;
      }
      keysIn(
        rule,
        ['record', 'alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'],
        rp,
        problems,
      );
      const isAlert = rule.alert !== undefined;
      if (isAlert === (rule.record !== undefined)) {
        problems.push(`${rp}: exactly one of alert and record`);
        continue;
      }
      if (isAlert) {
        if (typeof rule.alert !== 'string' || rule.alert === '') problems.push(`${rp}.alert: a name`);
        if (rule.for !== undefined) duration(rule.for, `${rp}.for`, problems);
        if (rule.keep_firing_for !== undefined)
          duration(rule.keep_firing_for, `${rp}.keep_firing_for`, problems);
        stringMap(rule.annotations, `${rp}.annotations`, problems, labelNamePattern);
        for (const [k, text] of Object.entries(isRecord(rule.annotations) ? rule.annotations : {}))
          if (typeof text === 'string')
            for (const q of templateQueries(text)) expression(q, `${rp}.annotations.${k} (query)`, problems);
      } else {
        if (typeof rule.record !== 'string' || !metricNamePattern.test(rule.record))
          problems.push(`${rp}.record: ${JSON.stringify(rule.record)} is not a valid metric name`);
        for (const k of ['for', 'keep_firing_for', 'annotations'])
          if (rule[k] !== undefined) problems.push(`${rp}.${k}: only alerting rules have it`);
      }
      stringMap(rule.labels, `${rp}.labels`, problems, labelNamePattern);
      expression(rule.expr, `${rp}.expr`, problems);
    }
  }
  return problems;
}

/** The alert names of a rule file. */
export function alertNames(doc: { groups: { rules: { alert?: string }[] }[] }): Set<string> {
  return new Set(doc.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
}

/**
 * Problems of a rule unit-test file (promtool's format): its structure, every input series a valid selector, every
 * PromQL expression parsed, every alert it tests one the rule file defines.
 */
export function ruleTestFileProblems(doc: unknown, ruleFile: string, alerts: ReadonlySet<string>): string[] {
  const problems: Problems = [];
  if (!isRecord(doc) || !Array.isArray(doc.tests))
    return ['tests: a rule test file is a map with a list of tests'];
  keysIn(
    doc,
    ['rule_files', 'evaluation_interval', 'group_eval_order', 'tests', 'fuzzy_compare'],
    '',
    problems,
  );
  if (!Array.isArray(doc.rule_files) || !doc.rule_files.includes(ruleFile))
    problems.push(`rule_files: must name ${ruleFile}`);
  if (doc.evaluation_interval !== undefined)
    duration(doc.evaluation_interval, 'evaluation_interval', problems);
  for (const [t, test] of (doc.tests as unknown[]).entries()) {
    const tp = `tests[${t}]`;
    if (!isRecord(test)) {
      problems.push(`${tp}: must be a map`);
      continue;
    }
    keysIn(
      test,
      [
        'name',
        'interval',
        'input_series',
        'alert_rule_test',
        'promql_expr_test',
        'external_labels',
        'external_url',
      ],
      tp,
      problems,
    );
    if (test.interval !== undefined) duration(test.interval, `${tp}.interval`, problems);
    for (const [s, series] of ((test.input_series as unknown[] | undefined) ?? []).entries()) {
      const sp = `${tp}.input_series[${s}]`;
      if (!isRecord(series) || typeof series.series !== 'string' || typeof series.values !== 'string') {
        problems.push(`${sp}: needs series and values`);
        continue;
      }
      expression(series.series, `${sp}.series`, problems);
    }
    for (const [a, check] of ((test.alert_rule_test as unknown[] | undefined) ?? []).entries()) {
      const ap = `${tp}.alert_rule_test[${a}]`;
      if (!isRecord(check)) {
        problems.push(`${ap}: must be a map`);
        continue;
      }
      keysIn(check, ['eval_time', 'alertname', 'exp_alerts'], ap, problems);
      duration(check.eval_time, `${ap}.eval_time`, problems);
      if (typeof check.alertname !== 'string' || !alerts.has(check.alertname))
        problems.push(`${ap}.alertname: ${JSON.stringify(check.alertname)} is no alert of ${ruleFile}`);
      for (const [e, exp] of ((check.exp_alerts as unknown[] | undefined) ?? []).entries()) {
        if (!isRecord(exp)) problems.push(`${ap}.exp_alerts[${e}]: must be a map`);
        else keysIn(exp, ['exp_labels', 'exp_annotations'], `${ap}.exp_alerts[${e}]`, problems);
      }
    }
    for (const [q, check] of ((test.promql_expr_test as unknown[] | undefined) ?? []).entries()) {
      const qp = `${tp}.promql_expr_test[${q}]`;
      if (!isRecord(check)) problems.push(`${qp}: must be a map`);
      else expression(check.expr, `${qp}.expr`, problems);
    }
  }
  return problems;
}

/** Problems of a Prometheus configuration's parts Slipway ships: rule files, scrape jobs and their targets. */
export function configProblems(doc: unknown, ruleFiles: readonly string[]): string[] {
  const problems: Problems = [];
  if (!isRecord(doc)) return ['a configuration is a map'];
  keysIn(
    doc,
    [
      'global',
      'rule_files',
      'scrape_configs',
      'alerting',
      'remote_write',
      'remote_read',
      'storage',
      'tracing',
    ],
    '',
    problems,
  );
  if (isRecord(doc.global)) {
    for (const k of ['scrape_interval', 'evaluation_interval', 'scrape_timeout'])
      if (doc.global[k] !== undefined) duration(doc.global[k], `global.${k}`, problems);
  }
  if (!Array.isArray(doc.rule_files)) problems.push('rule_files: a list');
  else
    for (const f of doc.rule_files as unknown[])
      if (typeof f !== 'string' || !ruleFiles.includes(f))
        problems.push(`rule_files: ${String(f)} is not shipped`);
  const jobs = new Set<string>();
  for (const [j, job] of ((doc.scrape_configs as unknown[] | undefined) ?? []).entries()) {
    const jp = `scrape_configs[${j}]`;
    if (!isRecord(job) || typeof job.job_name !== 'string' || job.job_name === '') {
      problems.push(`${jp}.job_name: required`);
      continue;
    }
    if (jobs.has(job.job_name)) problems.push(`${jp}.job_name: ${job.job_name} repeated`);
    jobs.add(job.job_name);
    for (const [s, sc] of ((job.static_configs as unknown[] | undefined) ?? []).entries()) {
      const targets = isRecord(sc) ? sc.targets : undefined;
      if (!Array.isArray(targets) || targets.length === 0)
        problems.push(`${jp}.static_configs[${s}].targets: a non-empty list`);
      else
        for (const t of targets as unknown[])
          if (typeof t !== 'string' || !/^[^\s:/]+:\d{1,5}$/.test(t))
            problems.push(`${jp}.static_configs[${s}].targets: ${String(t)} is not host:port`);
    }
  }
  return problems;
}
