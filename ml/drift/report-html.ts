/**
 * The drift report as one self-contained HTML page (inline CSS and SVG, no script, no external asset), shared by
 * `slipway drift` and the monitor: the verdict, how thresholds were calibrated, per feature the statistics, the
 * test and its threshold with a reference-vs-current histogram, and, given the history of earlier windows, each
 * feature's statistic and significance over time.
 */
import { escapeHtml, formatNumber, htmlPage, lineChart, pairedBarChart, type Series } from '../svg.js';
import type { DriftHistoryEntry, DriftReport, FeatureDrift } from './report.js';

const TEST_NAMES: Record<string, string> = {
  ks: 'Kolmogorov-Smirnov',
  chi2: 'chi-square',
  psi: 'PSI',
  jensenshannon: 'Jensen-Shannon',
  wasserstein: 'Wasserstein',
  linf: 'L-infinity',
};

function badge(kind: 'error' | 'pass' | 'info', text: string): string {
  return `<span class="badge ${kind}">${escapeHtml(text)}</span>`;
}

const percent = (x: number): string => `${formatNumber(100 * x, 3)}%`;

function pValue(p: number | null): string {
  if (p === null) return '\u2013';
  return p < 1e-300 ? '< 1e-300' : formatNumber(p, 3);
}

function statisticsList(f: FeatureDrift): string {
  const rows: [string, string][] = [];
  const add = (name: string, value: number | undefined, digits = 4): void => {
    if (value !== undefined) rows.push([name, formatNumber(value, digits)]);
  };
  if (f.ks !== undefined)
    rows.push(['KS D', `${formatNumber(f.ks)} (${f.ks_method ?? ''}), p ${pValue(f.ks_pvalue ?? null)}`]);
  add('Wasserstein', f.wasserstein);
  add('Wasserstein / std', f.wasserstein_normalized);
  add('Jensen-Shannon', f.jensenshannon);
  add('PSI', f.psi);
  if (f.chi2 !== undefined)
    rows.push([
      'chi-square',
      `${formatNumber(f.chi2)} (${f.chi2_dof ?? 0} dof), p ${pValue(f.chi2_pvalue ?? null)}`,
    ]);
  add('L-infinity', f.linf);
  if (f.missing_pvalue !== undefined) rows.push(['missing share p', pValue(f.missing_pvalue)]);
  return rows.map(([k, v]) => `${escapeHtml(k)}: <b>${escapeHtml(v)}</b>`).join('<br>');
}

function sides(f: FeatureDrift): string {
  const side = (name: string, s: FeatureDrift['reference']): string => {
    const parts = [`${formatNumber(s.rows)} rows`, `${formatNumber(s.missing)} missing`];
    if (s.mean !== undefined && s.mean !== null)
      parts.push(`mean ${formatNumber(s.mean)}`, `range ${formatNumber(s.min)} to ${formatNumber(s.max)}`);
    return `${name}: ${parts.join(', ')}`;
  };
  const unseen =
    f.current.unseen && f.current.unseen > 0
      ? `<br>${formatNumber(f.current.unseen)} values of categories the reference never had` +
        (f.current.unseenCategories
          ? `: ${f.current.unseenCategories.map((u) => `<code>${escapeHtml(u.value)}</code> (${formatNumber(u.count)})`).join(', ')}`
          : '')
      : '';
  return `<span class="muted">${escapeHtml(side('reference', f.reference))}<br>${escapeHtml(side('current', f.current))}</span>${unseen}`;
}

function histogram(f: FeatureDrift): string {
  return pairedBarChart({
    title: f.kind === 'numeric' ? 'share per reference quantile bin' : 'share per category',
    labels: f.histogram.labels,
    series: [
      { name: 'reference', values: f.histogram.reference },
      { name: 'current', values: f.histogram.current },
    ],
    orientation: f.kind === 'numeric' ? 'vertical' : 'horizontal',
    format: percent,
  });
}

function featureRow(f: FeatureDrift): string {
  const verdict =
    f.test === null
      ? badge('info', 'not tested')
      : f.drift
        ? badge('error', 'drift')
        : badge('pass', 'no drift');
  const test = f.test
    ? `<b>${escapeHtml(TEST_NAMES[f.test] ?? f.test)}</b>${f.testChosen === 'override' ? ' (set)' : ''}<br><span class="muted">${escapeHtml(f.testReason)}</span>`
    : `<span class="muted">${escapeHtml(f.testReason)}</span>`;
  const decision =
    f.pValue === null
      ? '\u2013'
      : `p ${pValue(f.pValue)}<br>threshold ${pValue(f.threshold)}` +
        (f.inflation > 1
          ? `<br><span class="muted">test p ${pValue(f.testPValue)}, deflated by inflation ${formatNumber(f.inflation, 3)}</span>`
          : '');
  return (
    `<tr><td><b>${escapeHtml(f.feature)}</b><br><span class="muted">${f.kind}</span><br>${verdict}</td>` +
    `<td>${test}</td><td class="num">${decision}</td><td>${statisticsList(f)}<br>${sides(f)}</td>` +
    `<td>${histogram(f)}</td></tr>`
  );
}

/**
 * How far a feature is past its threshold, in decades: log10(threshold / p-value), above 0 when it drifts. Clipped
 * to [-10, 30] so a p-value of 0 or a threshold that underflowed still plots.
 */
function margin(p: number | null, threshold: number | null): number | null {
  if (p === null || threshold === null) return null;
  const m = Math.log10(Math.max(threshold, 1e-300)) - Math.log10(Math.max(p, 1e-300));
  return Math.min(30, Math.max(-10, m));
}

function overTime(history: readonly DriftHistoryEntry[], report: DriftReport): string {
  const names = report.features.map((f) => f.feature);
  const last = Math.max(1, history.length - 1);
  const series: Series[] = names.map((name) => ({
    name,
    points: history.flatMap((h, i) => {
      const f = h.features.find((x) => x.feature === name);
      const m = f ? margin(f.pValue, f.threshold) : null;
      return m === null ? [] : [[i, m] as const];
    }),
  }));
  const values = series.flatMap((s) => s.points.map(([, y]) => y));
  const bottom = Math.min(-1, ...values);
  const top = Math.max(1, ...values);
  const overview = lineChart({
    title: 'distance to the threshold over time (log10 threshold / p)',
    xLabel: `window (${history[0]?.window ?? ''} to ${history[history.length - 1]?.window ?? ''})`,
    yLabel: 'decades past the threshold',
    series: [
      ...series,
      {
        name: 'threshold',
        points: [
          [0, 0],
          [last, 0],
        ],
        dashed: true,
        color: '#94a3b8',
      },
    ],
    xDomain: [0, last],
    yDomain: [bottom, top + 0.05 * (top - bottom)],
    width: 520,
    height: 300,
  });
  const small = names.map((name) => {
    const points = history.flatMap((h, i) => {
      const f = h.features.find((x) => x.feature === name);
      return f && f.statistic !== null ? [{ i, y: f.statistic, drift: f.drift, test: f.test }] : [];
    });
    const ys = points.map((p) => p.y);
    const lo = Math.min(0, ...ys);
    const hi = Math.max(lo + 1e-12, ...ys) * 1.05;
    const test = points[points.length - 1]?.test ?? null;
    return lineChart({
      title: `${name}: ${test ? (TEST_NAMES[test] ?? test) : 'statistic'}`,
      xLabel: 'window',
      yLabel: 'statistic',
      series: [
        { name: 'statistic', points: points.map((p) => [p.i, p.y] as const) },
        {
          name: 'drift',
          points: points.filter((p) => p.drift).map((p) => [p.i, p.y] as const),
          markers: true,
          line: false,
          color: '#dc2626',
        },
      ],
      xDomain: [0, last],
      yDomain: [lo, hi],
      width: 300,
      height: 200,
    });
  });
  return (
    `<h2>Over time</h2><p class="muted">${history.length} windows, oldest first. Above the dashed line a feature's ` +
    `p-value is below its calibrated, corrected threshold (it drifted); red dots mark those windows on each ` +
    `feature's statistic.</p>` +
    `<div class="charts">${overview}</div><div class="charts">${small.join('')}</div>`
  );
}

/**
 * The HTML page of a drift report. `history` (oldest first, usually ending with this report's window) adds the
 * "over time" charts.
 */
export function renderDriftReportHtml(
  report: DriftReport,
  options: { readonly title?: string; readonly history?: readonly DriftHistoryEntry[] } = {},
): string {
  const title = options.title ?? 'Drift report';
  const tested = report.features.filter((f) => f.test !== null).length;
  const status = report.drift
    ? badge('error', `drift in ${report.driftedFeatures.length} of ${tested} features`)
    : badge('pass', `no drift in ${tested} features`);
  const correction =
    report.correction === 'holm'
      ? `Holm's step-down correction across features, so a window without drift alerts with probability at most ${report.alpha}`
      : `no correction across features: each feature at level ${report.alpha}`;
  const drifted = report.features.filter((f) => f.drift);
  const rest = report.features.filter((f) => !f.drift);
  const body =
    `<h1>${escapeHtml(title)}</h1>` +
    `<p>${status} &nbsp; reference ${formatNumber(report.reference.rows)} rows, current ${formatNumber(report.current.rows)} rows` +
    (drifted.length > 0
      ? `; drifted: ${drifted.map((f) => `<code>${escapeHtml(f.feature)}</code>`).join(' ')}`
      : '') +
    `</p><p class="muted">Calibration: ${escapeHtml(report.calibration.description)}; ${escapeHtml(correction)}. ` +
    `A feature drifts when its calibrated p-value is at or below its threshold.</p>` +
    `<h2>Features</h2><table><thead><tr><th>feature</th><th>test</th><th>calibrated p-value and threshold</th>` +
    `<th>statistics</th><th>reference vs current</th></tr></thead><tbody>` +
    [...drifted, ...rest].map(featureRow).join('') +
    `</tbody></table>` +
    (options.history && options.history.length > 1 ? overTime(options.history, report) : '');
  return htmlPage(title, body);
}
