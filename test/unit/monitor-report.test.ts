import { describe, expect, it } from 'vitest';
import type { MonitorAlertEvent } from '../../domain/monitor.js';
import { parseMonitorRequest } from '../../domain/monitor.js';
import { compareWindow } from '../../ml/drift/compare.js';
import { buildDriftReference } from '../../ml/drift/reference.js';
import {
  renderMonitorReport,
  type MonitorAnalysis,
  type ReportHistoryWindow,
} from '../../ml/monitor/report.js';
import { performanceOf, statRow } from '../../ml/monitor/window-figures.js';
import { recordsToFrame } from '../../ml/records-frame.js';
import { createRng, frameOf, normals, numeric } from './ml-drift-frames.js';
import { expectSelfContained } from './ml-report-assertions.js';

const rng = createRng(11);
const reference = buildDriftReference(frameOf(numeric('price <usd>', normals(rng, 2000, 10, 2))));
const scoreReference = buildDriftReference(frameOf(numeric('score', normals(rng, 2000, 0.4, 0.1))));
const { policy } = parseMonitorRequest(
  { model: 'm', policy: { performance: { floor: 0.7 } } },
  {
    intervalMs: 60_000,
    lagMs: 1000,
  },
);
const window = { index: 7, start: '2026-01-01T00:07:00.000Z', end: '2026-01-01T00:08:00.000Z' };
const slo = {
  requests: 400,
  failed: 2,
  errorRate: 0.005,
  fallbacks: 1,
  latencyP50Ms: 1.2,
  latencyP95Ms: 3.4,
  latencyP99Ms: 5.6,
};

function analysisAt(shift: number): MonitorAnalysis {
  const features = compareWindow(
    reference,
    frameOf(numeric('price <usd>', normals(rng, 400, 10 + shift, 2))),
  );
  const prediction = compareWindow(
    scoreReference,
    frameOf(numeric('score', normals(rng, 400, 0.4 + shift / 20, 0.1))),
  );
  return {
    model: 'm',
    window,
    version: 3,
    status: 'judged',
    rowCount: 400,
    rowsRead: 400,
    referenceRows: 2000,
    features,
    prediction,
    slo,
    performance: performanceOf(
      [
        { score: 0.9, positive: true },
        { score: 0.2, positive: false },
        { score: 0.6, positive: false },
      ],
      'accuracy',
      0.5,
      { from: window.start, to: window.end },
    ),
  };
}

const history: ReportHistoryWindow[] = [0, 0.1, 0.2].map((shift, i) => {
  const a = analysisAt(shift);
  return {
    start: `2026-01-01T00:0${i + 4}:00.000Z`,
    end: `2026-01-01T00:0${i + 5}:00.000Z`,
    version: 3,
    stats: [
      ...a.features!.features.map((f) => ({
        ...statRow('feature', f, 2000),
        adjustedPValue: f.adjustedPValue,
      })),
      ...a.prediction!.features.map((f) => ({
        ...statRow('prediction', f, 2000),
        adjustedPValue: f.adjustedPValue,
      })),
    ],
  };
});

const fired: MonitorAlertEvent = {
  idempotencyKey: 'm:drift:price <usd>:2026-01-01T00:07:00.000Z:fired',
  model: 'm',
  version: 3,
  transition: 'fired',
  key: 'drift:price <usd>',
  kind: 'feature_drift',
  feature: 'price <usd>',
  window,
  message: 'feature "price <usd>" drifted in 3 of the last 5 judged windows',
};

describe('monitor window report', () => {
  const analysis = analysisAt(2);
  const input = {
    analysis,
    history,
    alertState: { 'drift:price <usd>': { firing: true, recent: [], clean: 0 } },
    events: [fired],
    policy,
  };

  it('is the drift report with the window, alerts, SLOs and realised performance, self-contained and escaped', () => {
    const { html } = renderMonitorReport(input);
    expectSelfContained(html);
    expect(html).toContain('price &#60;usd&#62;');
    expect(html).not.toContain('price <usd>');
    // The drift report's parts: verdict, test, histogram, history.
    expect(html).toContain('Kolmogorov-Smirnov');
    expect(html).toContain('Over time');
    // The monitor's parts.
    expect(html).toContain('window 7');
    expect(html).toContain('Alerts');
    expect(html).toContain('fired');
    expect(html).toMatch(/latency p50 \/ p95 \/ p99/);
    expect(html).toContain('Prediction drift');
    expect(html).toMatch(/accuracy on labelled rows/);
  });

  it('the JSON report carries the analysis, the alerts after the window and the history', () => {
    const { json } = renderMonitorReport(input);
    expect(json.drift?.drift).toBe(true);
    expect(json.alerts.firing).toEqual(['drift:price <usd>']);
    expect(json.alerts.transitions).toEqual([
      { key: fired.key, transition: 'fired', message: fired.message },
    ]);
    expect(json.history).toHaveLength(3);
    expect(json.performance?.labelled).toBe(3);
    expect(json.performance?.value).toBeCloseTo(2 / 3, 12);
  });

  it('is deterministic, so a retried window stores the same bytes', () => {
    expect(renderMonitorReport(input).html).toBe(renderMonitorReport(input).html);
    expect(JSON.stringify(renderMonitorReport(input).json)).toBe(
      JSON.stringify(renderMonitorReport(input).json),
    );
  });

  it('a window too small to judge still gets a page with its figures', () => {
    const { html, json } = renderMonitorReport({
      ...input,
      analysis: { ...analysis, status: 'too-few-rows', features: null, prediction: null },
      events: [],
    });
    expectSelfContained(html);
    expect(html).toContain('too few rows to judge drift');
    expect(json.drift).toBeNull();
  });
});

describe('logged rows as a frame', () => {
  it('reads numbers, numeric text and categories; anything else is missing', () => {
    const frame = recordsToFrame(
      [{ x: 1.5, c: 'a' }, { x: '2', c: 3 }, { x: null, c: null }, { x: 'n/a' }, { x: true, c: 'a' }],
      [
        { name: 'x', kind: 'numeric' },
        { name: 'c', kind: 'categorical' },
      ],
    );
    const [x, c] = frame.columns;
    expect(Array.from(x!.kind === 'numeric' ? x!.values : [])).toEqual([1.5, 2, NaN, NaN, NaN]);
    expect(c!.kind === 'categorical' ? [Array.from(c!.codes), c!.categories] : []).toEqual([
      [0, 1, -1, -1, 0],
      ['a', '3'],
    ]);
  });
});
