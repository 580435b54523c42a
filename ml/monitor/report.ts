import type { AlertState } from '../../domain/alert-hysteresis.js';
import type {
  MonitorAlertEvent,
  MonitorWindowRange,
  PerformanceFigures,
  SloFigures,
  WindowJudgement,
} from '../../domain/monitor.js';
import type { MonitorPolicy } from '../../domain/monitor-policy.js';
import type { DriftReport } from '../drift/report.js';
import type { DriftTest } from '../../domain/drift.js';
import { renderDriftReportHtml } from '../drift/report-html.js';
import type { DriftHistoryEntry } from '../drift/report.js';
import { escapeHtml, formatNumber, htmlPage, lineChart, pairedBarChart } from '../svg.js';

/** Everything judging a window found, stored as an artifact between judging and recording. JSON-safe. */
export interface MonitorAnalysis {
  readonly model: string;
  readonly window: MonitorWindowRange;
  readonly version: number | null;
  readonly status: WindowJudgement['status'];
  readonly rowCount: number;
  readonly rowsRead: number;
  readonly referenceRows: number | null;
  readonly features: DriftReport | null;
  readonly prediction: DriftReport | null;
  readonly slo: SloFigures;
  readonly performance: PerformanceFigures | null;
}

/** An earlier window's statistics (from drift_stats), oldest first. */
export interface ReportHistoryWindow {
  readonly start: string;
  readonly end: string;
  readonly version: number | null;
  readonly stats: readonly {
    readonly source: 'feature' | 'prediction';
    readonly feature: string;
    readonly test: string;
    readonly statistic: number | null;
    readonly pValue: number | null;
    readonly adjustedPValue: number | null;
    readonly threshold: number | null;
    readonly drift: boolean;
  }[];
}

export interface MonitorReportInput {
  readonly analysis: MonitorAnalysis;
  readonly history: readonly ReportHistoryWindow[];
  readonly alertState: Readonly<Record<string, AlertState>>;
  readonly events: readonly MonitorAlertEvent[];
  readonly policy: MonitorPolicy;
}

/** The JSON report of a window: the analysis, the alerts after it, and the statistics of the windows before it. */
export interface MonitorReport {
  readonly format: 1;
  readonly model: string;
  readonly window: MonitorWindowRange;
  readonly version: number | null;
  readonly status: WindowJudgement['status'];
  readonly rows: { readonly total: number; readonly read: number; readonly reference: number | null };
  readonly drift: DriftReport | null;
  readonly prediction: DriftReport | null;
  readonly slo: SloFigures;
  readonly performance: PerformanceFigures | null;
  readonly alerts: {
    readonly firing: readonly string[];
    readonly transitions: readonly {
      readonly key: string;
      readonly transition: string;
      readonly message: string;
    }[];
    readonly hysteresis: MonitorPolicy['alerts'];
  };
  readonly policy: MonitorPolicy;
  readonly history: readonly ReportHistoryWindow[];
}

/**
 * The window's report as JSON and as one self-contained HTML page: the verdict, the alerts, the SLO and performance
 * figures, and per feature the statistic over the recent windows and its reference-versus-window histogram.
 * Deterministic (no clock), so a retried window writes the same bytes.
 */
export function renderMonitorReport(input: MonitorReportInput): { json: MonitorReport; html: string } {
  const a = input.analysis;
  const json: MonitorReport = {
    format: 1,
    model: a.model,
    window: a.window,
    version: a.version,
    status: a.status,
    rows: { total: a.rowCount, read: a.rowsRead, reference: a.referenceRows },
    drift: a.features,
    prediction: a.prediction,
    slo: a.slo,
    performance: a.performance,
    alerts: {
      firing: Object.entries(input.alertState)
        .filter(([, s]) => s.firing)
        .map(([k]) => k),
      transitions: input.events.map((e) => ({ key: e.key, transition: e.transition, message: e.message })),
      hysteresis: input.policy.alerts,
    },
    policy: input.policy,
    history: input.history,
  };
  return { json, html: renderHtml(json) };
}

const statusText: Record<WindowJudgement['status'], string> = {
  judged: 'judged',
  'too-few-rows': 'too few rows to judge drift',
  'no-version': 'no version has answered yet',
};

function badge(ok: boolean | null, yes: string, no: string): string {
  if (ok === null) return '<span class="badge info">not judged</span>';
  return ok
    ? `<span class="badge error">${escapeHtml(yes)}</span>`
    : `<span class="badge pass">${escapeHtml(no)}</span>`;
}

/** The earlier windows and this one, as the drift report's over-time charts take them. */
function driftHistory(r: MonitorReport, source: 'feature' | 'prediction'): DriftHistoryEntry[] {
  const current = source === 'feature' ? r.drift : r.prediction;
  return [
    ...r.history.map((w) => ({
      window: w.end,
      features: w.stats
        .filter((s) => s.source === source)
        .map((s) => ({
          feature: s.feature,
          test: s.test as DriftTest,
          statistic: s.statistic,
          pValue: s.pValue,
          adjustedPValue: s.adjustedPValue,
          threshold: s.threshold,
          drift: s.drift,
        })),
    })),
    ...(current ? [{ window: r.window.end, features: current.features }] : []),
  ];
}

function monitorSections(r: MonitorReport): string {
  const parts: string[] = [];
  parts.push(
    `<p class="muted">Model <code>${escapeHtml(r.model)}</code>${r.version !== null ? ` version ${r.version}` : ''}, ` +
      `window ${r.window.index}: [${escapeHtml(r.window.start)}, ${escapeHtml(r.window.end)}), ${formatNumber(r.rows.total)} rows` +
      `${r.rows.read < r.rows.total ? ` (${formatNumber(r.rows.read)} sampled)` : ''}, ${escapeHtml(statusText[r.status])}` +
      `${r.rows.reference !== null ? `; reference: ${formatNumber(r.rows.reference)} training rows` : ''}.</p>`,
  );
  parts.push('<h2>Alerts</h2>');
  parts.push(
    r.alerts.transitions.length > 0
      ? `<table><tr><th>alert</th><th>transition</th><th>why</th></tr>${r.alerts.transitions
          .map(
            (t) =>
              `<tr><td><code>${escapeHtml(t.key)}</code></td><td>${badge(t.transition === 'fired', 'fired', 'cleared')}</td>` +
              `<td>${escapeHtml(t.message)}</td></tr>`,
          )
          .join('')}</table>`
      : '<p class="muted">No alert fired or cleared in this window.</p>',
  );
  parts.push(
    `<p>Firing: ${r.alerts.firing.length > 0 ? r.alerts.firing.map((k) => `<code>${escapeHtml(k)}</code>`).join(' ') : 'none'}` +
      ` <span class="muted">(an alert fires after ${r.alerts.hysteresis.k} breaching windows of the last ` +
      `${r.alerts.hysteresis.n}, and clears after ${r.alerts.hysteresis.m} clean ones)</span></p>`,
  );
  parts.push('<h2>Service levels and realised performance</h2>');
  const slo = r.slo;
  const p = r.performance;
  const bound =
    r.policy.performance.floor !== null
      ? `≥ ${formatNumber(r.policy.performance.floor)}`
      : r.policy.performance.ceiling !== null
        ? `≤ ${formatNumber(r.policy.performance.ceiling)}`
        : 'tracked';
  parts.push(
    '<table><tr><th>figure</th><th>value</th><th>bound</th></tr>' +
      `<tr><td>requests</td><td class="num">${formatNumber(slo.requests)}</td><td>≥ ${formatNumber(r.policy.slo.minRequests)} to judge</td></tr>` +
      `<tr><td>no answer</td><td class="num">${formatNumber(slo.failed)} (${formatNumber(slo.errorRate === null ? null : slo.errorRate * 100, 3)} %)</td><td>≤ ${formatNumber(r.policy.slo.maxErrorRate * 100, 3)} %</td></tr>` +
      `<tr><td>fallbacks</td><td class="num">${formatNumber(slo.fallbacks)}</td><td></td></tr>` +
      `<tr><td>latency p50 / p95 / p99</td><td class="num">${formatNumber(slo.latencyP50Ms, 3)} / ${formatNumber(slo.latencyP95Ms, 3)} / ${formatNumber(slo.latencyP99Ms, 3)} ms</td>` +
      `<td>${r.policy.slo.latencyP99Ms !== null ? `p99 ≤ ${formatNumber(r.policy.slo.latencyP99Ms)} ms` : 'not judged'}</td></tr>` +
      (p
        ? `<tr><td>${escapeHtml(p.metric)} on labelled rows</td><td class="num">${formatNumber(p.value)} (${formatNumber(p.labelled)} labels, ` +
          `${escapeHtml(p.from)} to ${escapeHtml(p.to)})</td><td>${bound}, ≥ ${formatNumber(r.policy.performance.minLabels)} labels to judge</td></tr>` +
          `<tr><td>accuracy / AUC / log loss / Brier</td><td class="num">${formatNumber(p.accuracy)} / ${formatNumber(p.auc)} / ${formatNumber(p.logLoss)} / ${formatNumber(p.brier)}</td><td>threshold ${formatNumber(p.threshold)}</td></tr>`
        : '') +
      '</table>',
  );
  return parts.join('\n');
}

function predictionSection(r: MonitorReport): string {
  const f = r.prediction?.features[0];
  if (!r.prediction || !f) return '';
  const history = driftHistory(r, 'prediction');
  const points = history.flatMap((h, i) => {
    const s = h.features[0];
    return s && s.statistic !== null ? [[i, s.statistic] as const] : [];
  });
  const chart =
    points.length > 1
      ? lineChart({
          title: `score: ${f.test ?? 'statistic'} over ${points.length} windows`,
          xLabel: 'window (oldest left)',
          yLabel: 'statistic',
          series: [{ name: 'statistic', points }],
          xDomain: [0, Math.max(1, points.length - 1)],
          yDomain: [0, Math.max(1e-12, ...points.map(([, y]) => y)) * 1.05],
          width: 360,
          height: 220,
        })
      : '';
  const histogram = pairedBarChart({
    title: 'share of scores per reference quantile bin',
    labels: f.histogram.labels,
    series: [
      { name: 'reference', values: f.histogram.reference },
      { name: 'current', values: f.histogram.current },
    ],
    orientation: 'vertical',
    format: (x) => `${formatNumber(100 * x, 3)}%`,
  });
  return (
    `<h2>Prediction drift: ${badge(f.test === null ? null : f.drift, 'drift', 'no drift')}</h2>` +
    `<p class="muted">The deployed version's scores in this window against its scores on its own training rows: ` +
    `${escapeHtml(f.test ?? 'not tested')} ${formatNumber(f.statistic)}, p ${formatNumber(f.pValue, 3)}, ` +
    `drift if p ≤ ${formatNumber(f.threshold, 3)}.</p><div class="charts">${histogram}${chart}</div>`
  );
}

function renderHtml(r: MonitorReport): string {
  const title = `Monitor ${r.model}${r.version !== null ? `:${r.version}` : ''}, window ${r.window.index} (${r.window.start})`;
  const mine = monitorSections(r);
  const prediction = predictionSection(r);
  if (!r.drift) return htmlPage(title, `<h1>${escapeHtml(title)}</h1>${mine}${prediction}`);
  // The drift report's page, with the monitor's figures under its title and the scores' drift at the end.
  const page = renderDriftReportHtml(r.drift, { title, history: driftHistory(r, 'feature') });
  const heading = page.indexOf('</h1>');
  const withMine = heading >= 0 ? `${page.slice(0, heading + 5)}${mine}${page.slice(heading + 5)}` : page;
  return withMine.replace('</body>', `${prediction}</body>`);
}
