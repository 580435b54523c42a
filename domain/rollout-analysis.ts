import type { AnalysisPlan } from './rollout-plan.js';
import { divergenceBins, type StepMetrics } from './rollout-metrics.js';
import {
  aucFromHistograms,
  aucStandardError,
  coarsen,
  jensenShannon,
  wilsonLowerBound,
} from './rollout-statistics.js';

export type CheckName =
  'samples' | 'error-rate' | 'fallback-rate' | 'latency-p99' | 'score-divergence' | 'accuracy' | 'auc';

/**
 * `pass` and `fail` are judgements; `missing`: the metric can't be judged yet (too few rows, no labels); `skipped`:
 * it does not apply to this phase or plan.
 */
export interface Check {
  readonly name: CheckName;
  readonly status: 'pass' | 'fail' | 'missing' | 'skipped';
  readonly value: number | null;
  readonly limit: number | null;
  readonly message: string;
}

export interface StepVerdict {
  /** `pass`: the phase may end; `wait`: analyse again after the next interval; `fail`: roll back. */
  readonly outcome: 'pass' | 'wait' | 'fail';
  readonly reasons: readonly string[];
  readonly checks: readonly Check[];
}

/** Where the phase being judged stands. */
export interface PhaseContext {
  /**
   * `shadow`: the challenger answers nobody; `canary`: it answers a share; `watch`: a passed phase still being
   * watched (at the approval gate), where only a breached threshold counts.
   */
  readonly kind: 'shadow' | 'canary' | 'watch';
  readonly minSamples: number;
  readonly bakeTimeMs: number;
  readonly maxWaitMs: number;
  /** Time in the phase so far, pauses excluded. */
  readonly elapsedMs: number;
}

/** Above the limit beyond floating-point noise: 0.80 - 0.78 is a drop of exactly 0.02, not 0.020000000000000018. */
const exceeds = (value: number, limit: number) => value > limit + 1e-9;

const percent = (x: number) => `${(100 * x).toFixed(x < 0.001 && x > 0 ? 3 : 1)} %`;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const fixed = (x: number) => x.toFixed(3);

/**
 * A rate check. With `judged` (enough rows) the point estimate decides; before that it fails only on clear evidence
 * (the 99.9 % lower bound over the limit: every row a NaN, say), and with `passEarly` a rate within the limit passes.
 */
function rateCheck(
  name: CheckName,
  what: string,
  k: number,
  n: number,
  limit: number,
  judged: boolean,
  passEarly = false,
): Check {
  if (n === 0) return { name, status: 'missing', value: null, limit, message: `${what}: no rows yet` };
  const value = k / n;
  const described = `${what} ${percent(value)} (${k} of ${n})`;
  const fail = (message: string): Check => ({ name, status: 'fail', value, limit, message });
  const pass: Check = {
    name,
    status: 'pass',
    value,
    limit,
    message: `${described} within ${percent(limit)}`,
  };
  if (judged)
    return exceeds(value, limit) ? fail(`${described} is above the ${percent(limit)} allowed`) : pass;
  const lower = wilsonLowerBound(k, n);
  if (lower > limit) {
    return fail(
      `${described} is above the ${percent(limit)} allowed beyond doubt (99.9 % lower bound ${percent(lower)})`,
    );
  }
  if (passEarly && value <= limit) return pass;
  return { name, status: 'missing', value, limit, message: `${described}: too few rows to judge yet` };
}

/**
 * The verdict on one rollout phase from its metrics: pure, so every threshold, boundary and missing metric is unit
 * tested. Fails closed: a breached threshold fails at once (a clearly broken challenger even before `minSamples`);
 * too few rows or a metric that can't be computed fails once `maxWaitMs` has passed; a phase passes only when every
 * check passes (or does not apply) and the bake time is over.
 */
export function decideStep(metrics: StepMetrics, analysis: AnalysisPlan, phase: PhaseContext): StepVerdict {
  const { champion, challenger } = metrics;
  const v = `v${challenger.version}`;
  const c = `v${champion.version}`;
  const checks: Check[] = [];
  const enough = champion.samples >= phase.minSamples && challenger.samples >= phase.minSamples;
  const fewest = Math.min(champion.samples, challenger.samples);
  checks.push({
    name: 'samples',
    status: enough ? 'pass' : 'missing',
    value: fewest,
    limit: phase.minSamples,
    message: `${c} scored ${champion.samples} rows and ${v} ${challenger.samples}; ${phase.minSamples} each needed`,
  });

  checks.push(
    rateCheck(
      'error-rate',
      `error rate of ${v}`,
      challenger.errors,
      challenger.samples,
      analysis.maxErrorRate,
      challenger.samples >= phase.minSamples,
    ),
  );

  if (phase.kind === 'shadow') {
    checks.push({
      name: 'fallback-rate',
      status: 'skipped',
      value: null,
      limit: analysis.maxFallbackRate,
      message: `${v} answers no request while it shadows`,
    });
  } else {
    // A small canary routes few rows to the challenger: its fallback rate is judged on the point estimate once
    // those reach minSamples; before that a clean record passes with the rest and a bad one waits for more rows.
    checks.push(
      rateCheck(
        'fallback-rate',
        `fallback rate of ${v}`,
        champion.fallbacks,
        challenger.routed,
        analysis.maxFallbackRate,
        challenger.routed >= phase.minSamples,
        enough,
      ),
    );
  }

  const p99a = champion.latencyP99Ms;
  const p99b = challenger.latencyP99Ms;
  if (!enough || p99a === null || p99b === null) {
    checks.push({
      name: 'latency-p99',
      status: 'missing',
      value: p99a && p99b !== null ? p99b / p99a : null,
      limit: analysis.maxLatencyRatio,
      message: !enough
        ? 'p99 latency: too few rows to judge yet'
        : 'p99 latency: no successful rows to measure',
    });
  } else {
    const limitMs = p99a * analysis.maxLatencyRatio + analysis.latencyToleranceMs;
    const ratio = p99a > 0 ? p99b / p99a : p99b > 0 ? Infinity : 1;
    const described = `p99 latency of ${v} ${ms(p99b)} against ${c}'s ${ms(p99a)}`;
    checks.push(
      exceeds(p99b, limitMs)
        ? {
            name: 'latency-p99',
            status: 'fail',
            value: ratio,
            limit: analysis.maxLatencyRatio,
            message: `${described} is above the ${ms(limitMs)} allowed (${analysis.maxLatencyRatio}x + ${analysis.latencyToleranceMs} ms)`,
          }
        : {
            name: 'latency-p99',
            status: 'pass',
            value: ratio,
            limit: analysis.maxLatencyRatio,
            message: `${described} within ${ms(limitMs)}`,
          },
    );
  }

  // Paired scores (the same requests) when there are enough; otherwise the two versions' own traffic.
  const paired = metrics.paired.samples >= phase.minSamples;
  const divergence = paired
    ? jensenShannon(
        coarsen(metrics.paired.championHistogram, divergenceBins),
        coarsen(metrics.paired.challengerHistogram, divergenceBins),
      )
    : jensenShannon(
        coarsen(champion.scoreHistogram, divergenceBins),
        coarsen(challenger.scoreHistogram, divergenceBins),
      );
  const basis = paired ? `${metrics.paired.samples} paired requests` : 'each version’s own requests';
  if (!enough || divergence === null) {
    checks.push({
      name: 'score-divergence',
      status: 'missing',
      value: divergence,
      limit: analysis.maxScoreDivergence,
      message: !enough
        ? 'score divergence: too few rows to judge yet'
        : 'score divergence: a version has no successful scores',
    });
  } else {
    const described = `score divergence of ${v} from ${c} ${fixed(divergence)} bits over ${basis}`;
    checks.push(
      exceeds(divergence, analysis.maxScoreDivergence)
        ? {
            name: 'score-divergence',
            status: 'fail',
            value: divergence,
            limit: analysis.maxScoreDivergence,
            message: `${described} is above the ${analysis.maxScoreDivergence} allowed`,
          }
        : {
            name: 'score-divergence',
            status: 'pass',
            value: divergence,
            limit: analysis.maxScoreDivergence,
            message: `${described} within ${analysis.maxScoreDivergence}`,
          },
    );
  }

  checks.push(...labelChecks(metrics, analysis));

  const failed = checks.filter((k) => k.status === 'fail');
  if (failed.length > 0) return { outcome: 'fail', reasons: failed.map((k) => k.message), checks };
  if (phase.kind === 'watch') return { outcome: 'wait', reasons: [], checks };
  const missing = checks.filter((k) => k.status === 'missing');
  if (missing.length > 0) {
    if (phase.elapsedMs >= phase.maxWaitMs) {
      const waited = `after the maximum wait of ${Math.round(phase.maxWaitMs / 1000)} s`;
      const reasons = enough
        ? missing.map((k) => `${k.message} ${waited}`)
        : [`too few samples ${waited}: ${checks[0]!.message}`];
      return { outcome: 'fail', reasons, checks };
    }
    return { outcome: 'wait', reasons: missing.map((k) => k.message), checks };
  }
  if (phase.elapsedMs < phase.bakeTimeMs) {
    return {
      outcome: 'wait',
      reasons: [
        `baking: ${Math.round(phase.elapsedMs / 1000)} s of ${Math.round(phase.bakeTimeMs / 1000)} s`,
      ],
      checks,
    };
  }
  return { outcome: 'pass', reasons: [], checks };
}

/** z of the one-sided 95 % bound that tells a clear accuracy or AUC drop from noise. */
const dropZ = 1.645;

/**
 * A drop judged against its noise: beyond the limit even at the optimistic end of its one-sided 95 % bound: fail;
 * above the limit but within noise: undecided (`missing`: more labels decide it, and `maxWait` fails it closed);
 * within the limit: pass.
 */
function dropCheck(
  name: 'accuracy' | 'auc',
  drop: number,
  se: number,
  limit: number,
  described: string,
): Check {
  const lower = drop - dropZ * se;
  const points = (x: number) => (name === 'accuracy' ? `${(100 * x).toFixed(1)} points` : fixed(x));
  const limitText = name === 'accuracy' ? `${(100 * limit).toFixed(1)} allowed` : `${limit} allowed`;
  if (!exceeds(drop, limit)) {
    return {
      name,
      status: 'pass',
      value: drop,
      limit,
      message: `${described}: ${drop > 0 ? `a drop of ${points(drop)}` : 'no drop'}, ${limitText}`,
    };
  }
  if (exceeds(lower, limit)) {
    return {
      name,
      status: 'fail',
      value: drop,
      limit,
      message: `${described}: a drop of ${points(drop)} (at least ${points(lower)} at 95 %), ${limitText}`,
    };
  }
  return {
    name,
    status: 'missing',
    value: drop,
    limit,
    message: `${described}: a drop of ${points(drop)}, above the ${limitText} but within noise (±${points(dropZ * se)}): waiting for more labels`,
  };
}

/**
 * Online accuracy and AUC against the champion, on the labels that arrived: on requests both versions scored
 * (paired, so only the rows where they disagree add noise) once there are `minLabels` of them, else on each
 * version's own labelled rows.
 */
function labelChecks(metrics: StepMetrics, analysis: AnalysisPlan): Check[] {
  const { champion, challenger, paired } = metrics;
  const v = `v${challenger.version}`;
  const c = `v${champion.version}`;
  const absent = analysis.labels === 'required' ? 'missing' : 'skipped';
  const usePaired = paired.labelled >= analysis.minLabels;
  if (!usePaired && Math.min(champion.labelled, challenger.labelled) < analysis.minLabels) {
    const counts = `${c} has ${champion.labelled} labelled rows and ${v} ${challenger.labelled} (${paired.labelled} on the same requests); ${analysis.minLabels} each needed`;
    return [
      {
        name: 'accuracy',
        status: absent,
        value: null,
        limit: analysis.maxAccuracyDrop,
        message: `online accuracy: ${counts}`,
      },
      {
        name: 'auc',
        status: absent,
        value: null,
        limit: analysis.maxAucDrop,
        message: `online AUC: ${counts}`,
      },
    ];
  }
  let accuracy: Check;
  let auc: Check;
  const basis = usePaired
    ? `on the same ${paired.labelled} labelled requests`
    : `on ${challenger.labelled} and ${champion.labelled} labelled requests`;
  if (usePaired) {
    const n = paired.labelled;
    const accA = paired.championCorrect / n;
    const accB = paired.challengerCorrect / n;
    const drop = accA - accB;
    // Paired proportions: only the requests where exactly one version was right carry the difference.
    const se = Math.sqrt(Math.max(0, paired.championOnly + paired.challengerOnly - n * drop * drop)) / n;
    accuracy = dropCheck(
      'accuracy',
      drop,
      se,
      analysis.maxAccuracyDrop,
      `online accuracy of ${v} ${percent(accB)} against ${c}'s ${percent(accA)} ${basis}`,
    );
  } else {
    const accA = champion.correct / champion.labelled;
    const accB = challenger.correct / challenger.labelled;
    const se = Math.sqrt((accA * (1 - accA)) / champion.labelled + (accB * (1 - accB)) / challenger.labelled);
    accuracy = dropCheck(
      'accuracy',
      accA - accB,
      se,
      analysis.maxAccuracyDrop,
      `online accuracy of ${v} ${percent(accB)} against ${c}'s ${percent(accA)} ${basis}`,
    );
  }
  const [posA, negA, posB, negB] = usePaired
    ? [paired.championPositive, paired.championNegative, paired.challengerPositive, paired.challengerNegative]
    : [
        champion.positiveHistogram,
        champion.negativeHistogram,
        challenger.positiveHistogram,
        challenger.negativeHistogram,
      ];
  const aucA = aucFromHistograms(posA, negA);
  const aucB = aucFromHistograms(posB, negB);
  if (aucA === null || aucB === null) {
    auc = {
      name: 'auc',
      status: absent,
      value: null,
      limit: analysis.maxAucDrop,
      message: 'online AUC: the labels so far are all of one class',
    };
  } else {
    const count = (h: readonly number[]) => h.reduce((sum, x) => sum + x, 0);
    // The two AUCs' errors are taken as independent: on paired requests that overstates the noise, so a drop
    // waits for more labels rather than failing early, and still fails closed at maxWait.
    const se = Math.hypot(
      aucStandardError(aucA, count(posA), count(negA)),
      aucStandardError(aucB, count(posB), count(negB)),
    );
    auc = dropCheck(
      'auc',
      aucA - aucB,
      se,
      analysis.maxAucDrop,
      `online AUC of ${v} ${fixed(aucB)} against ${c}'s ${fixed(aucA)} ${basis}`,
    );
  }
  return [accuracy, auc];
}
