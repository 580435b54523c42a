import { barChart, escapeHtml, formatNumber, htmlPage } from '../svg.js';
import type { FeatureProfile, ReferenceProfile } from './profile.js';
import type { CheckResult, Severity, ValidationReport } from '../../domain/validation-rules.js';

const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

function badge(kind: Severity | 'pass', text: string): string {
  return `<span class="badge ${kind}">${escapeHtml(text)}</span>`;
}

function resultRow(r: CheckResult): string {
  const measured =
    r.value === undefined
      ? ''
      : `${formatNumber(r.value)}${r.threshold === undefined ? '' : ` (limit ${formatNumber(r.threshold)})`}`;
  const examples = (r.examples ?? []).map((e) => `<code>${escapeHtml(String(e))}</code>`).join(' ');
  return (
    `<tr><td>${badge(r.severity, r.severity)}</td><td>${escapeHtml(r.check)}</td><td>${escapeHtml(r.column ?? '')}</td>` +
    `<td>${escapeHtml(r.message)}</td><td class="num">${escapeHtml(measured)}</td><td>${examples}</td></tr>`
  );
}

function featureChart(f: FeatureProfile): string {
  if (f.kind === 'numeric') {
    const { cuts, counts } = f.bins;
    const bars = counts.map((count, i) => ({
      label: `(${i === 0 ? '-inf' : formatNumber(cuts[i - 1])}, ${i === cuts.length ? 'inf' : formatNumber(cuts[i])}]`,
      value: count,
    }));
    return barChart({ title: 'quantile bins (hover for edges)', bars });
  }
  const bars = f.top.slice(0, 12).map((t) => ({ label: t.value, value: t.count }));
  if (f.otherCount > 0) bars.push({ label: `other (${f.otherDistinct})`, value: f.otherCount });
  return barChart({ title: 'most frequent categories', bars });
}

function featureSummary(f: FeatureProfile): string {
  if (f.kind === 'numeric') {
    const q = f.quantiles;
    return (
      `mean ${formatNumber(f.mean)}, std ${formatNumber(f.std)}<br>min ${formatNumber(f.min)}, median ${formatNumber(q?.p50)}, ` +
      `max ${formatNumber(f.max)}<br>${f.bins.counts.length} bins` +
      (f.nonFiniteCount > 0 ? `, ${formatNumber(f.nonFiniteCount)} infinite` : '')
    );
  }
  const top = f.top
    .slice(0, 3)
    .map((t) => `${escapeHtml(t.value)} (${formatNumber(t.count)})`)
    .join(', ');
  return `${formatNumber(f.distinct)} distinct<br>top: ${top}`;
}

function profileTable(profile: ReferenceProfile, report: ValidationReport): string {
  const worst = new Map<string, Severity>();
  for (const r of report.results) {
    if (r.column === undefined) continue;
    const prev = worst.get(r.column);
    if (prev === undefined || SEVERITIES.indexOf(r.severity) < SEVERITIES.indexOf(prev))
      worst.set(r.column, r.severity);
  }
  const rows = [...profile.features, ...(profile.target ? [profile.target] : [])].map((f) => {
    const status = worst.get(f.name);
    const isTarget = profile.target?.name === f.name;
    return (
      `<tr><td><b>${escapeHtml(f.name)}</b>${isTarget ? ' <span class="muted">(target)</span>' : ''}<br>` +
      `${status ? badge(status, status) : badge('pass', 'ok')}</td><td>${f.kind}</td>` +
      `<td class="num">${(100 * f.missingRate).toFixed(2)}%</td><td>${featureSummary(f)}</td><td>${featureChart(f)}</td></tr>`
    );
  });
  return (
    `<table><thead><tr><th>column</th><th>type</th><th>missing</th><th>summary</th><th>distribution</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/**
 * A self-contained HTML page (inline CSS and SVG, no script, no external asset) for a validation report and,
 * when given, the reference profile: status, findings by severity, the checks that passed, per-column summaries
 * with distribution charts, and the thresholds used.
 */
export function renderValidationReportHtml(
  report: ValidationReport,
  profile?: ReferenceProfile,
  options: { readonly title?: string } = {},
): string {
  const title = options.title ?? 'Data validation report';
  const status = report.ok
    ? badge('pass', 'passed')
    : badge('error', `failed: ${report.counts.error} error${report.counts.error === 1 ? '' : 's'}`);
  // Each check is colored by its worst finding; info findings leave it green.
  const worst = new Map<string, Severity>();
  for (const r of report.results) {
    if (r.severity !== 'info' && worst.get(r.check) !== 'error') worst.set(r.check, r.severity);
  }
  const checks = report.checksRun.map((c) => badge(worst.get(c) ?? 'pass', c)).join(' ');
  const findings =
    report.results.length === 0
      ? '<p>No findings.</p>'
      : `<table><thead><tr><th>severity</th><th>check</th><th>column</th><th>finding</th><th>measured</th><th>examples</th></tr></thead>` +
        `<tbody>${report.results.map(resultRow).join('')}</tbody></table>`;
  const rules = Object.entries(report.rules)
    .map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td class="num">${escapeHtml(String(v))}</td></tr>`)
    .join('');
  const body =
    `<h1>${escapeHtml(title)}</h1>` +
    `<p>${status} &nbsp; ${formatNumber(report.rowCount)} rows, ${formatNumber(report.columnCount)} columns` +
    `${report.target === null ? '' : `, target <code>${escapeHtml(report.target)}</code>`}. ` +
    `${SEVERITIES.map((s) => `${report.counts[s]} ${s}`).join(', ')}.</p>` +
    `<h2>Findings</h2>${findings}` +
    `<h2>Checks run</h2><p>${checks}</p><p class="muted">Green: no warning or error from this check; amber: warnings; red: errors.</p>` +
    (profile ? `<h2>Columns</h2>${profileTable(profile, report)}` : '') +
    `<h2>Thresholds</h2><table><tbody>${rules}</tbody></table>`;
  return htmlPage(title, body);
}
