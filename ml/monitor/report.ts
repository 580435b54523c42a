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
import { escapeHtml, formatNumber, htmlPage, lineChart } from '../svg.js';

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

function overTime(report: MonitorReport, source: 'feature' | 'prediction', feature: string): string {
  const points: [number, number][] = [];
  const thresholds: [number, number][] = [];
  const windows = [...report.history];
  const current = (source === 'feature' ? report.drift : report.prediction)?.features.find(
    (f) => f.feature === feature,
  );
  windows.forEach((w, i) => {
    const s = w.stats.find((x) => x.source === source && x.feature === feature);
    if (s?.pValue !== null && s?.pValue !== undefined)
      points.push([i, -Math.log10(Math.max(s.pValue, 1e-300))]);
    if (s?.threshold !== null && s?.threshold !== undefined && s.threshold > 0)
      thresholds.push([i, -Math.log10(s.threshold)]);
  });
  if (current?.pValue !== null && current?.pValue !== undefined)
    points.push([windows.length, -Math.log10(Math.max(current.pValue, 1e-300))]);
  if (current?.threshold) thresholds.push([windows.length, -Math.log10(current.threshold)]);
  if (points.length < 2) return '';
  const ys = [...points, ...thresholds].map(([, y]) => y);
  return lineChart({
    title: `${feature}: −log10 p over the last ${points.length} windows`,
    xLabel: 'window (oldest left, this one right)',
    yLabel: '−log10 p',
    series: [
      { name: '−log10 p', points, markers: true },
      { name: 'drift above', points: thresholds },
    ],
    xDomain: [0, Math.max(1, windows.length)],
    yDomain: [0, Math.max(1, Math.min(20, Math.max(...ys)) * 1.1)],
    width: 420,
    height: 220,
  });
}

function featureRows(report: MonitorReport, drift: DriftReport, source: 'feature' | 'prediction'): string {
  return drift.features
    .map(
      (f) =>
        `<tr><td>${escapeHtml(f.feature)}</td><td>${escapeHtml(f.kind)}</td><td>${escapeHtml(f.test ?? '–')}</td>` +
        `<td class="num">${formatNumber(f.statistic)}</td><td class="num">${formatNumber(f.pValue)}</td>` +
        `<td class="num">${formatNumber(f.threshold)}</td><td>${badge(f.test === null ? null : f.drift, 'drift', 'no drift')}</td>` +
        `<td>${overTime(report, source, f.feature)}</td></tr>`,
    )
    .join('');
}

function renderHtml(r: MonitorReport): string {
  const title = `Monitor: ${r.model} ${r.window.start} – ${r.window.end}`;
  const drift = r.drift;
  const parts: string[] = [];
  parts.push(
    `<h1>${escapeHtml(r.model)}${r.version !== null ? `:${r.version}` : ''}, window ${r.window.index}</h1>`,
    `<p class="muted">[${escapeHtml(r.window.start)}, ${escapeHtml(r.window.end)}): ${formatNumber(r.rows.total)} rows` +
      `${r.rows.read < r.rows.total ? ` (${formatNumber(r.rows.read)} sampled)` : ''}, ${escapeHtml(statusText[r.status])}` +
      `${r.rows.reference !== null ? `; reference: ${formatNumber(r.rows.reference)} training rows` : ''}.</p>`,
  );
  parts.push('<h2>Alerts</h2>');
  parts.push(
    r.alerts.transitions.length > 0
      ? `<ul>${r.alerts.transitions
          .map(
            (t) => `<li>${badge(t.transition === 'fired', 'fired', 'cleared')} ${escapeHtml(t.message)}</li>`,
          )
          .join('')}</ul>`
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
  parts.push(
    '<table><tr><th>figure</th><th>value</th><th>bound</th></tr>' +
      `<tr><td>requests</td><td class="num">${formatNumber(slo.requests)}</td><td>≥ ${formatNumber(r.policy.slo.minRequests)} to judge</td></tr>` +
      `<tr><td>no answer</td><td class="num">${formatNumber(slo.failed)} (${formatNumber(slo.errorRate === null ? null : slo.errorRate * 100, 3)} %)</td><td>≤ ${formatNumber(r.policy.slo.maxErrorRate * 100, 3)} %</td></tr>` +
      `<tr><td>fallbacks</td><td class="num">${formatNumber(slo.fallbacks)}</td><td></td></tr>` +
      `<tr><td>latency p50 / p95 / p99</td><td class="num">${formatNumber(slo.latencyP50Ms, 3)} / ${formatNumber(slo.latencyP95Ms, 3)} / ${formatNumber(slo.latencyP99Ms, 3)} ms</td>` +
      `<td>${r.policy.slo.latencyP99Ms !== null ? `p99 ≤ ${formatNumber(r.policy.slo.latencyP99Ms)} ms` : 'not judged'}</td></tr>` +
      (p
        ? `<tr><td>${escapeHtml(p.metric)} on labelled rows</td><td class="num">${formatNumber(p.value)} (${formatNumber(p.labelled)} labels, ` +
          `${escapeHtml(p.from)} – ${escapeHtml(p.to)})</td><td>${
            r.policy.performance.floor !== null
              ? `≥ ${formatNumber(r.policy.performance.floor)}`
              : r.policy.performance.ceiling !== null
                ? `≤ ${formatNumber(r.policy.performance.ceiling)}`
                : 'tracked'
          }, ≥ ${formatNumber(r.policy.performance.minLabels)} labels to judge</td></tr>` +
          `<tr><td>accuracy / AUC / log loss / Brier</td><td class="num">${formatNumber(p.accuracy)} / ${formatNumber(p.auc)} / ${formatNumber(p.logLoss)} / ${formatNumber(p.brier)}</td><td>threshold ${formatNumber(p.threshold)}</td></tr>`
        : '') +
      '</table>',
  );
  if (drift) {
    parts.push(
      `<h2>Feature drift: ${badge(drift.drift, `${drift.driftedFeatures.length} drifted`, 'none drifted')}</h2>`,
      `<p class="muted">Family-wise level ${formatNumber(drift.alpha)} with ${escapeHtml(drift.correction)} correction; ` +
        `calibration: ${escapeHtml(drift.calibration.description)}.</p>`,
      '<table><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th><th>p</th><th>drift if p ≤</th><th>verdict</th><th>over time</th></tr>' +
        featureRows(r, drift, 'feature') +
        '</table>',
    );
  }
  if (r.prediction) {
    parts.push(
      '<h2>Prediction drift</h2>',
      '<table><tr><th>output</th><th>kind</th><th>test</th><th>statistic</th><th>p</th><th>drift if p ≤</th><th>verdict</th><th>over time</th></tr>' +
        featureRows(r, r.prediction, 'prediction') +
        '</table>',
    );
  }
  return htmlPage(title, parts.join('\n'));
}
