import { describe, expect, it } from 'vitest';
import type { Frame } from '../../ml/frame.js';
import { validateFrame } from '../../ml/validation/checks.js';
import { buildReferenceProfile } from '../../ml/validation/profile.js';
import { renderValidationReportHtml } from '../../ml/validation/report-html.js';
import { expectSelfContained } from './ml-report-assertions.js';

const evil = '<script>alert("x")</script>';

const frame: Frame = {
  rowCount: 6,
  columns: [
    { name: 'age', kind: 'numeric', values: Float64Array.from([20, 30, NaN, 40, 50, 60]) },
    {
      name: evil,
      kind: 'categorical',
      categories: ['a', `<img src=x onerror=alert(1)>`],
      codes: Int32Array.from([0, 1, 0, 1, 0, 1]),
    },
    { name: 'label', kind: 'numeric', values: Float64Array.from([0, 1, 0, 1, 1, NaN]) },
  ],
};

describe('renderValidationReportHtml', () => {
  const report = validateFrame(frame, { target: 'label', rules: { minRows: 10 } });
  const profile = buildReferenceProfile(frame, { target: 'label' });
  const html = renderValidationReportHtml(report, profile, { title: 'Adult, 2024-06' });

  it('is a self-contained page with no script, escaping every name and value from the data', () => {
    expectSelfContained(html);
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
  });

  it('shows the status, the findings with their messages, and the thresholds', () => {
    expect(html).toContain('failed: 2 errors');
    expect(html).toContain('6 rows; at least 10 are required');
    expect(html).toContain('label(s) are missing, NaN or infinite');
    expect(html).toContain('maxMissingRate');
    expect(html).toContain('<title>Adult, 2024-06</title>');
  });

  it('draws a distribution chart per column from the profile', () => {
    expect(html.match(/<svg /g)?.length).toBe(3);
    expect(html).toContain('(target)');
  });

  it('renders without a profile', () => {
    const bare = renderValidationReportHtml(report);
    expectSelfContained(bare);
    expect(bare).not.toContain('<svg');
  });
});
