import { confusionChart, escapeHtml, formatNumber, htmlPage, lineChart, type Series } from '../svg.js';
import type { BootstrapComparison } from './bootstrap.js';
import type { BinaryMetrics } from './classification.js';
import type { EvaluationReport } from './evaluate.js';

const METRIC_ROWS: readonly [keyof BinaryMetrics, string][] = [
  ['auc', 'ROC AUC'],
  ['logLoss', 'log loss'],
  ['brier', 'Brier score'],
  ['accuracy', 'accuracy'],
  ['precision', 'precision'],
  ['recall', 'recall'],
  ['f1', 'F1'],
  ['count', 'rows'],
  ['positives', 'positives'],
];

function num(x: number | null | undefined): string {
  return `<td class="num">${formatNumber(x)}</td>`;
}

function metricTable(report: EvaluationReport): string {
  const champion = report.champion;
  const head = `<tr><th>metric</th><th>candidate</th>${champion ? '<th>champion</th>' : ''}</tr>`;
  const rows = METRIC_ROWS.map(([key, label]) => {
    const value = report.metrics[key] as number | null;
    const other = champion ? num(champion.metrics[key] as number | null) : '';
    return `<tr><td>${label}</td>${num(value)}${other}</tr>`;
  });
  return (
    `<table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>` +
    `<p class="muted">Threshold ${formatNumber(report.metrics.threshold)} (predicted positive when score &ge; threshold); ` +
    `log loss clips scores to [1e-15, 1 - 1e-15].</p>`
  );
}

function verdict(c: BootstrapComparison): string {
  if (c.ciLow === null || c.ciHigh === null) return '<span class="badge info">undefined</span>';
  const better = c.higherIsBetter ? c.ciLow > 0 : c.ciHigh < 0;
  const worse = c.higherIsBetter ? c.ciHigh < 0 : c.ciLow > 0;
  if (better) return '<span class="badge pass">candidate better</span>';
  if (worse) return '<span class="badge error">candidate worse</span>';
  return '<span class="badge info">no clear difference</span>';
}

function comparisonTable(comparison: readonly BootstrapComparison[]): string {
  const first = comparison[0];
  const rows = comparison.map(
    (c) =>
      `<tr><td>${escapeHtml(c.metric)}${c.higherIsBetter ? ' &uarr;' : ' &darr;'}</td>${num(c.candidate)}${num(c.champion)}` +
      `${num(c.diff)}${num(c.meanDiff)}<td class="num">[${formatNumber(c.ciLow)}, ${formatNumber(c.ciHigh)}]</td>` +
      `${num(c.candidateBetterShare)}<td>${verdict(c)}</td></tr>`,
  );
  return (
    `<table><thead><tr><th>metric</th><th>candidate</th><th>champion</th><th>difference</th><th>mean resampled</th>` +
    `<th>${first ? Math.round(first.confidence * 100) : 95}% interval</th><th>share candidate better</th><th></th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table>` +
    (first
      ? `<p class="muted">Paired bootstrap on the same rows: ${first.iterations} resamples, seed ${first.seed}; ` +
        'difference = candidate - champion; &uarr; higher is better, &darr; lower is better.</p>'
      : '')
  );
}

function sliceTables(report: EvaluationReport): string {
  return report.slices
    .map((s) => {
      const rows = s.slices.map(
        (m) =>
          `<tr><td>${escapeHtml(m.slice)}</td>${num(m.count)}${num(m.positives)}${num(m.auc)}${num(m.accuracy)}` +
          `${num(m.precision)}${num(m.recall)}${num(m.f1)}${num(m.logLoss)}${num(m.brier)}</tr>`,
      );
      return (
        `<h3>${escapeHtml(s.column)} <span class="muted">(${s.kind})</span></h3>` +
        `<table><thead><tr><th>slice</th><th>rows</th><th>positives</th><th>AUC</th><th>accuracy</th><th>precision</th>` +
        `<th>recall</th><th>F1</th><th>log loss</th><th>Brier</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      );
    })
    .join('');
}

/**
 * A self-contained HTML page (inline CSS and SVG, no script, no external asset) for an evaluation report: metric
 * table, ROC curve, calibration (reliability) plot, confusion matrix, per-slice tables, and when a champion was
 * scored, its curves beside the candidate's and the paired bootstrap comparison.
 */
export function renderEvaluationReportHtml(
  report: EvaluationReport,
  extras: { readonly featureImportances?: Readonly<Record<string, number>> } = {},
): string {
  const rocSeries: Series[] = [
    {
      name: `candidate (AUC ${formatNumber(report.metrics.auc)})`,
      points: report.roc.map((p) => [p.fpr, p.tpr]),
    },
  ];
  const calSeries: Series[] = [
    {
      name: 'candidate',
      markers: true,
      points: report.calibration.bins.flatMap((b) =>
        b.meanPredicted === null || b.observedRate === null
          ? []
          : [[b.meanPredicted, b.observedRate] as const],
      ),
    },
  ];
  if (report.champion) {
    rocSeries.push({
      name: `champion (AUC ${formatNumber(report.champion.metrics.auc)})`,
      points: report.champion.roc.map((p) => [p.fpr, p.tpr]),
    });
    calSeries.push({
      name: 'champion',
      markers: true,
      points: report.champion.calibration.bins.flatMap((b) =>
        b.meanPredicted === null || b.observedRate === null
          ? []
          : [[b.meanPredicted, b.observedRate] as const],
      ),
    });
  }
  const roc = lineChart({
    title: 'ROC curve',
    xLabel: 'false positive rate',
    yLabel: 'true positive rate',
    series: rocSeries,
    diagonal: true,
  });
  const calibration = lineChart({
    title: 'Calibration',
    xLabel: 'mean predicted probability',
    yLabel: 'observed positive rate',
    series: calSeries,
    diagonal: true,
  });
  const calRows = report.calibration.bins
    .map(
      (b) =>
        `<tr><td>(${formatNumber(b.lower)}, ${formatNumber(b.upper)}]</td>${num(b.count)}${num(b.meanPredicted)}${num(b.observedRate)}</tr>`,
    )
    .join('');
  const body =
    `<h1>${escapeHtml(report.title)}</h1>` +
    `<p>${formatNumber(report.metrics.count)} rows, ${formatNumber(report.metrics.positives)} positive.</p>` +
    (report.champion ? `<h2>Candidate vs champion</h2>${comparisonTable(report.champion.comparison)}` : '') +
    `<h2>Metrics</h2>${metricTable(report)}` +
    `<h2>Curves</h2><div class="charts">${roc}${calibration}${confusionChart(report.metrics.confusion)}</div>` +
    `<p class="muted">Calibration: ${report.calibration.strategy} bins, expected calibration error ` +
    `${formatNumber(report.calibration.ece)}, largest gap ${formatNumber(report.calibration.maxGap)}.</p>` +
    `<details><summary>Calibration bins</summary><table><thead><tr><th>scores</th><th>rows</th><th>mean predicted</th>` +
    `<th>observed rate</th></tr></thead><tbody>${calRows}</tbody></table></details>` +
    (report.slices.length > 0 ? `<h2>Slices</h2>${sliceTables(report)}` : '') +
    importanceTable(extras.featureImportances);
  return htmlPage(report.title, body);
}

/** Feature importances (e.g. gain shares of a tree ensemble), largest first. */
function importanceTable(importances: Readonly<Record<string, number>> | undefined): string {
  if (!importances || Object.keys(importances).length === 0) return '';
  const rows = Object.entries(importances)
    .sort(([, a], [, b]) => b - a)
    .map(([name, value]) => `<tr><td>${escapeHtml(name)}</td>${num(value)}</tr>`)
    .join('');
  return `<h2>Feature importance</h2><table><thead><tr><th>feature</th><th>share of gain</th></tr></thead><tbody>${rows}</tbody></table>`;
}
