import { describe, expect, it } from 'vitest';
import { decideStep, type PhaseContext } from '../../domain/rollout-analysis.js';
import {
  histogramBins,
  latencyBin,
  latencyBins,
  latencyQuantile,
  type StepMetrics,
  type VersionStepMetrics,
} from '../../domain/rollout-metrics.js';
import {
  aucFromHistograms,
  aucStandardError,
  coarsen,
  jensenShannon,
  wilsonLowerBound,
} from '../../domain/rollout-statistics.js';
import { defaultAnalysis, type AnalysisPlan } from '../../domain/rollout-plan.js';
import { createRng } from '../../ml/rng.js';

const analysis: AnalysisPlan = { ...defaultAnalysis, intervalMs: 1000, minLabels: 100 };

function histogram(scores: readonly number[]): number[] {
  const bins = new Array<number>(histogramBins).fill(0);
  for (const s of scores) bins[Math.min(histogramBins - 1, Math.floor(s * histogramBins))]! += 1;
  return bins;
}

/** Scores of a reasonable classifier: labels 50/50, positives centred at 0.7, negatives at 0.3. */
function population(n: number, seed: number, shift = 0) {
  const rng = createRng(seed);
  const rows = Array.from({ length: n }, () => {
    const positive = rng.nextFloat() < 0.5;
    const noise = (rng.nextFloat() + rng.nextFloat() + rng.nextFloat() - 1.5) * 0.35;
    const score = Math.min(0.999, Math.max(0, (positive ? 0.7 : 0.3) + noise + shift));
    return { positive, score };
  });
  return rows;
}

function version(
  v: number,
  rows: { positive: boolean; score: number }[],
  overrides: Partial<VersionStepMetrics> = {},
  labelled = rows.length,
): VersionStepMetrics {
  const labelledRows = rows.slice(0, labelled);
  return {
    version: v,
    samples: rows.length,
    served: rows.length,
    routed: rows.length,
    shadowed: 0,
    errors: 0,
    fallbacks: 0,
    latencyP50Ms: 2,
    latencyP99Ms: 6,
    latencyHistogram: [],
    labelled: labelledRows.length,
    correct: labelledRows.filter((r) => r.score >= 0.5 === r.positive).length,
    scoreHistogram: histogram(rows.map((r) => r.score)),
    positiveHistogram: histogram(labelledRows.filter((r) => r.positive).map((r) => r.score)),
    negativeHistogram: histogram(labelledRows.filter((r) => !r.positive).map((r) => r.score)),
    ...overrides,
  };
}

type Row = { positive: boolean; score: number };

/** Paired metrics of the same requests scored by both versions (`a[i]` and `b[i]`), the first `labelled` labelled. */
function pairedOf(a: readonly Row[], b: readonly Row[], labelled = a.length): StepMetrics['paired'] {
  const n = Math.min(a.length, b.length);
  let championCorrect = 0;
  let challengerCorrect = 0;
  let championOnly = 0;
  let challengerOnly = 0;
  const hist = { ap: [] as number[], an: [] as number[], bp: [] as number[], bn: [] as number[] };
  for (let i = 0; i < Math.min(n, labelled); i++) {
    const y = a[i]!.positive;
    const ra = a[i]!.score >= 0.5 === y;
    const rb = b[i]!.score >= 0.5 === y;
    championCorrect += ra ? 1 : 0;
    challengerCorrect += rb ? 1 : 0;
    championOnly += ra && !rb ? 1 : 0;
    challengerOnly += rb && !ra ? 1 : 0;
    (y ? hist.ap : hist.an).push(a[i]!.score);
    (y ? hist.bp : hist.bn).push(b[i]!.score);
  }
  return {
    samples: n,
    championHistogram: histogram(a.slice(0, n).map((r) => r.score)),
    challengerHistogram: histogram(b.slice(0, n).map((r) => r.score)),
    meanAbsDifference: null,
    labelled: Math.min(n, labelled),
    championCorrect,
    challengerCorrect,
    championOnly,
    challengerOnly,
    championPositive: histogram(hist.ap),
    championNegative: histogram(hist.an),
    challengerPositive: histogram(hist.bp),
    challengerNegative: histogram(hist.bn),
  };
}

const noPairs = pairedOf([], []);

function step(
  champion: VersionStepMetrics,
  challenger: VersionStepMetrics,
  paired: StepMetrics['paired'] = noPairs,
): StepMetrics {
  return { from: '2024-01-01T00:00:00.000Z', to: '2024-01-01T00:01:00.000Z', champion, challenger, paired };
}

const canary: PhaseContext = {
  kind: 'canary',
  minSamples: 500,
  bakeTimeMs: 10_000,
  maxWaitMs: 60_000,
  elapsedMs: 12_000,
};

/** The same population scored twice: a challenger as good as the champion. */
function healthy(n = 1000) {
  const rows: Row[] = population(n, 1);
  return { rows, champion: version(1, rows), challenger: version(2, rows) };
}

const checkOf = (verdict: ReturnType<typeof decideStep>, name: string) =>
  verdict.checks.find((c) => c.name === name)!;

describe('decideStep: a healthy challenger', () => {
  it('passes once every check passes and the bake time is over', () => {
    const { rows, champion, challenger } = healthy();
    const verdict = decideStep(step(champion, challenger, pairedOf(rows, rows)), analysis, canary);
    expect(verdict.outcome).toBe('pass');
    expect(verdict.checks.map((c) => [c.name, c.status])).toEqual([
      ['samples', 'pass'],
      ['error-rate', 'pass'],
      ['fallback-rate', 'pass'],
      ['latency-p99', 'pass'],
      ['score-divergence', 'pass'],
      ['accuracy', 'pass'],
      ['auc', 'pass'],
    ]);
  });

  it('waits while the step bakes, naming how long', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(step(champion, challenger), analysis, { ...canary, elapsedMs: 4000 });
    expect(verdict.outcome).toBe('wait');
    expect(verdict.reasons).toEqual(['baking: 4 s of 10 s']);
  });

  it('skips the fallback rate while shadowing (the challenger answers nobody)', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(
      step(champion, { ...challenger, routed: 0, served: 0, shadowed: 1000 }),
      analysis,
      {
        ...canary,
        kind: 'shadow',
      },
    );
    expect(verdict.outcome).toBe('pass');
    expect(checkOf(verdict, 'fallback-rate').status).toBe('skipped');
  });
});

describe('decideStep: each metric fails the step', () => {
  it('NaN outputs: the error rate', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(step(champion, { ...challenger, errors: 1000 }), analysis, canary);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toBe('error rate of v2 100.0 % (1000 of 1000) is above the 1.0 % allowed');
  });

  it('failed-over requests: the fallback rate', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(
      step({ ...champion, fallbacks: 30 }, { ...challenger, routed: 600 }),
      analysis,
      canary,
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual(['fallback rate of v2 5.0 % (30 of 600) is above the 1.0 % allowed']);
  });

  it('10x latency: p99 against the champion', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(
      step(champion, { ...challenger, latencyP50Ms: 20, latencyP99Ms: 60 }),
      analysis,
      canary,
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toMatch(
      /^p99 latency of v2 60 ms against v1's 6\.00 ms is above the 14 ms allowed \(1\.5x \+ 5 ms\)$/,
    );
    expect(checkOf(verdict, 'latency-p99').value).toBeCloseTo(10);
  });

  it('a shifted score distribution: the divergence', () => {
    const rows = population(1000, 1);
    const shifted = rows.map((r) => ({ ...r, score: Math.min(0.999, r.score * 0.4) }));
    const verdict = decideStep(step(version(1, rows), version(2, shifted, {}, 0)), analysis, canary);
    expect(verdict.outcome).toBe('fail');
    expect(checkOf(verdict, 'score-divergence').status).toBe('fail');
    expect(verdict.reasons[0]).toMatch(
      /^score divergence of v2 from v1 0\.\d+ bits over each version’s own requests/,
    );
  });

  /** The champion's rows, and the same rows with the scores of correct rows flipped until accuracy is 5 points lower. */
  function accuracyDrop(n: number, seed: number) {
    const rows: Row[] = population(n, seed);
    let flips = Math.round(0.05 * rows.length);
    const worse = rows.map((r) => {
      if (flips > 0 && r.score >= 0.5 === r.positive && Math.abs(r.score - 0.5) < 0.2) {
        flips--;
        return { ...r, score: 1 - r.score };
      }
      return r;
    });
    return { rows, worse };
  }

  it('a 5-point accuracy drop on labelled rows: the accuracy, on the same requests', () => {
    const { rows, worse } = accuracyDrop(2000, 3);
    const verdict = decideStep(
      step(version(1, rows), version(2, worse), pairedOf(rows, worse)),
      analysis,
      canary,
    );
    expect(verdict.outcome).toBe('fail');
    expect(checkOf(verdict, 'accuracy').value).toBeCloseTo(0.05, 3);
    expect(verdict.reasons).toContainEqual(
      expect.stringMatching(
        /^online accuracy of v2 \d+\.\d % against v1's \d+\.\d % on the same 2000 labelled requests: a drop of 5\.0 points \(at least 4\.\d points at 95 %\), 2\.0 allowed$/,
      ),
    );
    expect(checkOf(verdict, 'score-divergence').status).toBe('pass');
  });

  it('paired labels find the drop with 300 labels, where the versions’ own labels leave it within noise', () => {
    const { rows, worse } = accuracyDrop(300, 8);
    const pairedVerdict = decideStep(
      step(version(1, rows), version(2, worse), pairedOf(rows, worse)),
      analysis,
      {
        ...canary,
        minSamples: 300,
      },
    );
    expect(checkOf(pairedVerdict, 'accuracy').status).toBe('fail');
    const unpaired = decideStep(step(version(1, rows), version(2, worse)), analysis, {
      ...canary,
      minSamples: 300,
    });
    expect(checkOf(unpaired, 'accuracy').status).toBe('missing');
    expect(checkOf(unpaired, 'accuracy').message).toMatch(
      /above the 2\.0 allowed but within noise \(±\d\.\d points\): waiting for more labels$/,
    );
    expect(unpaired.outcome).toBe('wait');
  });

  it('a lower AUC: the AUC', () => {
    const rows = population(1000, 4);
    const noisy = rows.map((r, i) => (i % 3 === 0 ? { ...r, score: ((i * 7919) % 1000) / 1000 } : r));
    const verdict = decideStep(
      step(version(1, rows), version(2, noisy)),
      { ...analysis, maxScoreDivergence: 1, maxAccuracyDrop: 1 },
      canary,
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual([
      expect.stringMatching(
        /^online AUC of v2 0\.\d{3} against v1's 0\.\d{3} on 1000 and 1000 labelled requests: a drop of 0\.\d{3} \(at least/,
      ),
    ]);
  });

  it('reports every failing check at once', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(
      step({ ...champion, fallbacks: 100 }, { ...challenger, errors: 100, latencyP99Ms: 600 }),
      analysis,
      canary,
    );
    expect(verdict.checks.filter((c) => c.status === 'fail').map((c) => c.name)).toEqual([
      'error-rate',
      'fallback-rate',
      'latency-p99',
    ]);
    expect(verdict.reasons).toHaveLength(3);
  });
});

describe('decideStep: boundaries', () => {
  const { champion, challenger } = healthy();
  it('an error rate at the limit passes; one row more fails', () => {
    expect(decideStep(step(champion, { ...challenger, errors: 10 }), analysis, canary).outcome).toBe('pass');
    expect(decideStep(step(champion, { ...challenger, errors: 11 }), analysis, canary).outcome).toBe('fail');
  });

  it('p99 exactly at ratio x champion + tolerance passes; above fails', () => {
    expect(decideStep(step(champion, { ...challenger, latencyP99Ms: 14 }), analysis, canary).outcome).toBe(
      'pass',
    );
    expect(decideStep(step(champion, { ...challenger, latencyP99Ms: 14.01 }), analysis, canary).outcome).toBe(
      'fail',
    );
  });

  it('an accuracy drop at the limit passes, just above it waits for more labels, far above it fails', () => {
    const labelled = { labelled: 1000, correct: 800 };
    const judge = (correct: number) =>
      checkOf(
        decideStep(
          step({ ...champion, ...labelled }, { ...challenger, ...labelled, correct }),
          { ...analysis, maxAucDrop: 1 },
          canary,
        ),
        'accuracy',
      ).status;
    expect(judge(780)).toBe('pass');
    expect(judge(779)).toBe('missing');
    expect(judge(700)).toBe('fail');
    // Undecided evidence fails closed once the phase's maximum wait has passed.
    const late = decideStep(
      step({ ...champion, ...labelled }, { ...challenger, ...labelled, correct: 770 }),
      { ...analysis, maxAucDrop: 1 },
      { ...canary, elapsedMs: 60_000 },
    );
    expect(late.outcome).toBe('fail');
    expect(late.reasons[0]).toMatch(/within noise .*after the maximum wait of 60 s$/);
  });

  it('the bake time is inclusive and so is the maximum wait', () => {
    expect(decideStep(step(champion, challenger), analysis, { ...canary, elapsedMs: 10_000 }).outcome).toBe(
      'pass',
    );
    const few = step({ ...champion, samples: 499 }, challenger);
    expect(decideStep(few, analysis, { ...canary, elapsedMs: 59_999 }).outcome).toBe('wait');
    expect(decideStep(few, analysis, { ...canary, elapsedMs: 60_000 }).outcome).toBe('fail');
  });
});

describe('decideStep: fails closed', () => {
  it('too few samples waits, then fails after the maximum wait with the counts', () => {
    const { champion, challenger } = healthy(120);
    const early = decideStep(step(champion, challenger), analysis, { ...canary, elapsedMs: 30_000 });
    expect(early.outcome).toBe('wait');
    const late = decideStep(step(champion, challenger), analysis, { ...canary, elapsedMs: 61_000 });
    expect(late.outcome).toBe('fail');
    expect(late.reasons).toEqual([
      'too few samples after the maximum wait of 60 s: v1 scored 120 rows and v2 120; 500 each needed',
    ]);
  });

  it('a clearly broken challenger fails before minSamples; a little noise does not', () => {
    const { champion, challenger } = healthy(20);
    const broken = decideStep(step(champion, { ...challenger, errors: 20 }), analysis, canary);
    expect(broken.outcome).toBe('fail');
    expect(broken.reasons[0]).toMatch(/beyond doubt \(99\.9 % lower bound \d+\.\d %\)/);
    expect(decideStep(step(champion, { ...challenger, errors: 1 }), analysis, canary).outcome).toBe('wait');
  });

  it('a metric that cannot be computed waits, then fails after the maximum wait naming it', () => {
    const { champion, challenger } = healthy();
    const noLatency = step({ ...champion, latencyP99Ms: null }, challenger);
    expect(decideStep(noLatency, analysis, canary).outcome).toBe('wait');
    const verdict = decideStep(noLatency, analysis, { ...canary, elapsedMs: 60_000 });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual([
      'p99 latency: no successful rows to measure after the maximum wait of 60 s',
    ]);
    const noScores = step(champion, { ...challenger, scoreHistogram: new Array<number>(100).fill(0) });
    expect(decideStep(noScores, analysis, { ...canary, elapsedMs: 60_000 }).reasons).toEqual([
      'score divergence: a version has no successful scores after the maximum wait of 60 s',
    ]);
  });

  it('a canary whose challenger answered nobody cannot pass', () => {
    const { champion, challenger } = healthy();
    const verdict = decideStep(step(champion, { ...challenger, routed: 0 }), analysis, {
      ...canary,
      elapsedMs: 60_000,
    });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual(['fallback rate of v2: no rows yet after the maximum wait of 60 s']);
  });

  it('a small canary waits for more routed rows before a single fallback can fail it', () => {
    const { champion, challenger } = healthy();
    const one = step({ ...champion, fallbacks: 1 }, { ...challenger, routed: 25 });
    expect(checkOf(decideStep(one, analysis, canary), 'fallback-rate').status).toBe('missing');
    const clean = step(champion, { ...challenger, routed: 25 });
    expect(decideStep(clean, analysis, canary).outcome).toBe('pass');
  });

  it('labels: skipped when too few arrived, unless the plan requires them', () => {
    const rows = population(1000, 5);
    const metrics = step(version(1, rows, {}, 50), version(2, rows, {}, 50));
    const verdict = decideStep(metrics, analysis, canary);
    expect(verdict.outcome).toBe('pass');
    expect(checkOf(verdict, 'accuracy')).toMatchObject({ status: 'skipped' });
    const required = { ...analysis, labels: 'required' as const };
    expect(decideStep(metrics, required, canary).outcome).toBe('wait');
    const late = decideStep(metrics, required, { ...canary, elapsedMs: 60_000 });
    expect(late.outcome).toBe('fail');
    expect(late.reasons[0]).toMatch(
      /^online accuracy: v1 has 50 labelled rows and v2 50 \(0 on the same requests\); 100 each needed after/,
    );
  });

  it('labels all of one class leave AUC missing when required', () => {
    const rows = population(1000, 6).map((r) => ({ ...r, positive: true }));
    const verdict = decideStep(
      step(version(1, rows), version(2, rows)),
      { ...analysis, labels: 'required' },
      canary,
    );
    expect(checkOf(verdict, 'auc')).toMatchObject({ status: 'missing' });
    expect(verdict.outcome).toBe('wait');
  });

  it('watching at the approval gate: a breach fails, missing metrics and the clock never do', () => {
    const { champion, challenger } = healthy();
    const watch: PhaseContext = { ...canary, kind: 'watch', elapsedMs: 10 * 60_000 };
    expect(decideStep(step(champion, challenger), analysis, watch).outcome).toBe('wait');
    expect(decideStep(step({ ...champion, samples: 3 }, challenger), analysis, watch).outcome).toBe('wait');
    expect(decideStep(step(champion, { ...challenger, errors: 500 }), analysis, watch).outcome).toBe('fail');
  });
});

describe('statistics', () => {
  it('Jensen-Shannon: 0 for the same histogram, 1 for disjoint ones, null for an empty one', () => {
    expect(jensenShannon([1, 2, 3], [2, 4, 6])).toBeCloseTo(0);
    expect(jensenShannon([1, 0], [0, 1])).toBeCloseTo(1);
    expect(jensenShannon([0, 0], [0, 1])).toBeNull();
  });

  it('Jensen-Shannon of two samples of one distribution stays near its chance level, below the default limit', () => {
    const values: number[] = [];
    for (let seed = 0; seed < 50; seed++) {
      const a = population(500, 100 + seed).map((r) => r.score);
      const b = population(500, 200 + seed).map((r) => r.score);
      values.push(jensenShannon(coarsen(histogram(a), 20), coarsen(histogram(b), 20))!);
    }
    const mean = values.reduce((s, x) => s + x, 0) / values.length;
    // (k - 1) / (8 ln 2) * (1/n1 + 1/n2) = 0.0137 for k = 20, n = 500.
    expect(mean).toBeGreaterThan(0.008);
    expect(mean).toBeLessThan(0.02);
    expect(Math.max(...values)).toBeLessThan(defaultAnalysis.maxScoreDivergence);
  });

  it('AUC from histograms: 1 for separated classes, 0.5 for ties, the exact value for interleaved bins', () => {
    expect(aucFromHistograms([0, 0, 3], [2, 0, 0])).toBe(1);
    expect(aucFromHistograms([0, 4, 0], [0, 2, 0])).toBe(0.5);
    // positives in bins 1 and 2, negatives in 0 and 2: (1*1 + 1*(1 + 0.5)) / (2*2)
    expect(aucFromHistograms([0, 1, 1], [1, 0, 1])).toBeCloseTo(0.625);
    expect(aucFromHistograms([1, 1], [0, 0])).toBeNull();
  });

  it('latency quantiles from log-spaced bins are within 5 % of the exact ones', () => {
    const rng = createRng(3);
    // Lognormal-ish latencies around 2 ms with a tail, and a few very slow rows.
    const values = Array.from(
      { length: 20_000 },
      () => 2 * Math.exp((rng.nextFloat() - 0.5) * 2) + (rng.nextFloat() < 0.02 ? 40 : 0),
    );
    const histogram = new Array<number>(latencyBins).fill(0);
    for (const v of values) histogram[latencyBin(v)]! += 1;
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      expect(Math.abs(latencyQuantile(histogram, q)! / exact - 1)).toBeLessThan(0.05);
    }
    expect(latencyQuantile(new Array<number>(latencyBins).fill(0), 0.99)).toBeNull();
    expect(latencyBin(0)).toBe(0);
    expect(latencyBin(1e9)).toBe(latencyBins - 1);
  });

  it('Hanley-McNeil standard error of an AUC', () => {
    // A = 0.8 with 50 positives and 50 negatives: Q1 = 0.667, Q2 = 0.711, SE = sqrt(4.951 / 2500) = 0.0445.
    expect(aucStandardError(0.8, 50, 50)).toBeCloseTo(0.0445, 3);
    expect(aucStandardError(0.8, 5000, 5000)).toBeLessThan(0.005);
  });

  it('Wilson lower bound', () => {
    expect(wilsonLowerBound(0, 0)).toBe(0);
    expect(wilsonLowerBound(0, 100)).toBe(0);
    // z = 1.96, 50 of 100: 0.404 (textbook value).
    expect(wilsonLowerBound(50, 100, 1.96)).toBeCloseTo(0.4038, 3);
    expect(wilsonLowerBound(20, 20)).toBeGreaterThan(0.6);
  });

  it('coarsen merges equal groups of bins', () => {
    expect(coarsen([1, 2, 3, 4, 5, 6], 3)).toEqual([3, 7, 11]);
  });
});
