import { describe, expect, it } from 'vitest';
import { compareWindow } from '../../ml/drift/compare.js';
import { buildDriftReference } from '../../ml/drift/reference.js';
import { renderDriftReportHtml } from '../../ml/drift/report-html.js';
import { categorical, createRng, frameOf, normals, numeric } from './ml-drift-frames.js';
import { expectSelfContained } from './ml-report-assertions.js';

const rng = createRng(9);
const labels = (n: number, unseen = 0): string[] =>
  Array.from({ length: n }, (_, i) => (i < unseen ? 'new <b>' : ['a & b', 'c'][rng.nextInt(2)]!));
const reference = buildDriftReference(
  frameOf(numeric('price <usd>', normals(rng, 3000, 10, 2)), categorical('segment', labels(3000))),
);
const windows = Array.from({ length: 6 }, (_, k) =>
  compareWindow(
    reference,
    frameOf(
      numeric('price <usd>', normals(rng, 400, 10 + k * 0.3, 2)),
      categorical('segment', labels(400, k * 10)),
    ),
  ),
);
const last = windows[windows.length - 1]!;

describe('renderDriftReportHtml', () => {
  it('is self-contained and escapes text from the data', () => {
    const html = renderDriftReportHtml(last, { title: 'churn <v3>' });
    expectSelfContained(html);
    expect(html).toContain('churn &#60;v3&#62;');
    expect(html).toContain('price &#60;usd&#62;');
    expect(html).toContain('new &#60;b&#62;');
    expect(html).not.toContain('<b>>');
  });

  it('shows the verdict, each test with its p-value and threshold, and how thresholds were calibrated', () => {
    const html = renderDriftReportHtml(last);
    expect(html).toContain(`drift in ${last.driftedFeatures.length} of 2 features`);
    expect(html).toContain('Kolmogorov-Smirnov');
    expect(html).toContain('chi-square');
    expect(html).toMatch(/threshold [0-9.e-]+/);
    expect(html).toContain('chunks of the reference against the rest');
    expect(html).toContain('Holm');
  });

  it('draws a reference-vs-current histogram per feature, and the statistic over time given a history', () => {
    const alone = renderDriftReportHtml(last);
    expect(alone.match(/<svg /g)).toHaveLength(2);
    expect(alone).not.toContain('Over time');
    const history = windows.map((w, i) => ({ window: `w${i}`, features: w.features }));
    const html = renderDriftReportHtml(last, { history });
    expect(html).toContain('Over time');
    // Two histograms, one overview and one small chart per feature.
    expect(html.match(/<svg /g)).toHaveLength(5);
    expect(html).toContain('aria-label="distance to the threshold over time (log10 threshold / p)"');
    expect(html).toContain('w0 to w5');
    // Drifted windows are marked with dots.
    const drifted = windows.filter((w) => w.drift).length;
    expect(drifted).toBeGreaterThan(0);
    expect(html.match(/<circle /g)?.length).toBeGreaterThanOrEqual(drifted);
  });
});
