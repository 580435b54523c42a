import { describe, expect, it } from 'vitest';
import type { Frame } from '../../ml/frame.js';
import { evaluateBinary } from '../../ml/metrics/evaluate.js';
import { renderEvaluationReportHtml } from '../../ml/metrics/report-html.js';
import { expectSelfContained } from './ml-report-assertions.js';

const n = 200;
const labels = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
const candidate = Float64Array.from(labels, (y, i) =>
  Math.min(0.99, Math.max(0.01, 0.3 + 0.4 * y + ((i * 37) % 11) / 40 - 0.12)),
);
const champion = Float64Array.from(labels, (y, i) =>
  Math.min(0.99, Math.max(0.01, 0.4 + 0.1 * y + ((i * 53) % 13) / 30 - 0.2)),
);
const frame: Frame = {
  rowCount: n,
  columns: [
    {
      name: 'segment <b>',
      kind: 'categorical',
      categories: ['retail', 'b2b & co'],
      codes: Int32Array.from({ length: n }, (_, i) => i % 2),
    },
  ],
};

describe('renderEvaluationReportHtml', () => {
  const report = evaluateBinary(labels, candidate, {
    title: 'churn v7 <holdout>',
    frame,
    sliceColumns: ['segment <b>'],
    championScores: champion,
    bootstrap: { iterations: 100, seed: 1 },
  });
  const html = renderEvaluationReportHtml(report);

  it('is self-contained and escapes text from the data', () => {
    expectSelfContained(html);
    expect(html).toContain('churn v7 &#60;holdout&#62;');
    expect(html).toContain('segment &#60;b&#62;');
    expect(html).toContain('b2b &#38; co');
  });

  it('has the ROC curve, calibration plot and confusion matrix as inline SVG', () => {
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toContain('aria-label="ROC curve"');
    expect(html).toContain('aria-label="Calibration"');
    expect(html).toContain('aria-label="confusion matrix"');
    // One path per model on each of the two line charts.
    expect(html.match(/<path d="M/g)?.length).toBe(4);
  });

  it('has the metric table, slice table and champion comparison', () => {
    expect(html).toContain('ROC AUC');
    expect(html).toContain('Candidate vs champion');
    expect(html).toContain('100 resamples, seed 1');
    expect(html).toMatch(/candidate (better|worse)|no clear difference/);
    expect(html).toContain('<h2>Slices</h2>');
  });

  it('leaves the champion section out when there is none', () => {
    const alone = renderEvaluationReportHtml(evaluateBinary(labels, candidate));
    expectSelfContained(alone);
    expect(alone).not.toContain('Candidate vs champion');
    expect(alone.match(/<path d="M/g)?.length).toBe(2);
  });
});
