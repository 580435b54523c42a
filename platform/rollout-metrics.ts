import {
  histogramBins,
  latencyBins,
  latencyQuantile,
  latencyRangeMs,
  type StepMetrics,
  type VersionStepMetrics,
} from '../domain/rollout-metrics.js';
import type { Pool } from './db.js';

/** A row the version scored successfully: no error and a probability in [0, 1] (NaN compares above 1). */
const valid = (p: string) => `(${p}.error IS NULL AND ${p}.score >= 0 AND ${p}.score <= 1)`;
const bucket = (score: string) =>
  `LEAST(GREATEST(width_bucket(${score}, 0, 1, ${histogramBins}), 1), ${histogramBins})`;

/** The same bins as domain's `latencyBin`, 0-based. */
const latencyBucket = (ms: string) => {
  const [low, high] = latencyRangeMs;
  return `LEAST(GREATEST(floor(ln(GREATEST(${ms}, ${low}) / ${low}) / ln(${high / low}) * ${latencyBins}), 0), ${latencyBins - 1})::int`;
};

/** The rows of the two versions in their rollout roles: the champion answering, the challenger answering or shadowing. */
const rolesOf = `((p.version = $4 AND p.role = 'champion') OR (p.version = $5 AND p.role IN ('challenger', 'shadow')))`;

/** One score bin (`sb`, null for failed rows) by label (`y`) of a version: additive counts. */
interface ScoreGroup {
  version: number;
  sb: number | null;
  y: boolean | null;
  n: number;
  routed: number;
  shadowed: number;
  served: number;
  errors: number;
  fallbacks: number;
  labelled: number;
  correct: number;
}

/** A histogram bin of one side of the pairs, or (side `summary`) the counts over all pairs. */
interface PairRow {
  side: 'champion' | 'challenger' | 'summary';
  bucket: number;
  positive: boolean | null;
  n: number;
  d: number | null;
  labelled: number | null;
  champion_correct: number | null;
  challenger_correct: number | null;
  champion_only: number | null;
  challenger_only: number | null;
}

function emptyVersion(version: number): VersionStepMetrics {
  return {
    version,
    samples: 0,
    served: 0,
    routed: 0,
    shadowed: 0,
    errors: 0,
    fallbacks: 0,
    latencyP50Ms: null,
    latencyP99Ms: null,
    latencyHistogram: new Array<number>(latencyBins).fill(0),
    labelled: 0,
    correct: 0,
    scoreHistogram: new Array<number>(histogramBins).fill(0),
    positiveHistogram: new Array<number>(histogramBins).fill(0),
    negativeHistogram: new Array<number>(histogramBins).fill(0),
  };
}

/**
 * A rollout phase's metrics per version, from the prediction log and the labels joined to it by request id, over
 * [from, to] (to: the database's now). Everything is aggregated in SQL, so the result is a few hundred numbers
 * whatever the traffic: counts, latency percentiles, and score histograms in `histogramBins` bins.
 */
export async function readStepMetrics(
  pool: Pool,
  query: { model: string; champion: number; challenger: number; from: string; threshold: number },
): Promise<StepMetrics> {
  const { rows: nowRows } = await pool.query<{ now: Date }>('SELECT now() AS now');
  const to = nowRows[0]!.now.toISOString();
  const params = [query.model, query.from, to, query.champion, query.challenger];
  const window = `p.model_name = $1 AND p.at >= $2::timestamptz AND p.at <= $3::timestamptz AND ${rolesOf}`;
  const labels = 'LEFT JOIN feedback f ON f.request_id = p.request_id AND f.model_name = p.model_name';

  const [groups, latencies, pairs] = await Promise.all([
    // Counts by version, score bin and label: every count adds up, so the totals are the sums (hash aggregates, no
    // sort, whatever the traffic).
    pool.query<ScoreGroup>(
      `SELECT p.version, CASE WHEN ${valid('p')} THEN ${bucket('p.score')} END AS sb, f.label_positive AS y,
         count(*)::int AS n,
         count(*) FILTER (WHERE p.role <> 'shadow')::int AS routed,
         count(*) FILTER (WHERE p.role = 'shadow')::int AS shadowed,
         count(*) FILTER (WHERE p.served)::int AS served,
         count(*) FILTER (WHERE NOT COALESCE(${valid('p')}, false))::int AS errors,
         count(*) FILTER (WHERE p.fallback)::int AS fallbacks,
         count(*) FILTER (WHERE ${valid('p')} AND f.label_positive IS NOT NULL)::int AS labelled,
         count(*) FILTER (WHERE ${valid('p')} AND (p.score >= $6) = f.label_positive)::int AS correct
       FROM predictions p ${labels}
       WHERE ${window}
       GROUP BY 1, 2, 3`,
      [...params, query.threshold],
    ),
    pool.query<{ version: number; lb: number; n: number }>(
      `SELECT p.version, ${latencyBucket('p.latency_ms')} AS lb, count(*)::int AS n
       FROM predictions p WHERE ${window} GROUP BY 1, 2`,
      params,
    ),
    // Paired scores: requests the champion answered and the challenger shadowed, both successfully, with their
    // labels when they arrived. One join, aggregated three ways: each side's histogram by label, and a summary.
    pool.query<PairRow>(
      `WITH pairs AS MATERIALIZED (
         SELECT p.score AS a, s.score AS b, f.label_positive AS y
         FROM predictions p
         JOIN predictions s ON s.request_id = p.request_id AND s.model_name = p.model_name AND s.role = 'shadow'
           AND s.version = $5 AND s.at >= $2::timestamptz - interval '5 minutes' AND s.at <= $3::timestamptz + interval '5 minutes'
         ${labels}
         WHERE ${window} AND p.role = 'champion' AND ${valid('p')} AND ${valid('s')}
       )
       SELECT 'champion' AS side, ${bucket('a')} AS bucket, y AS positive, count(*)::int AS n,
              NULL::float8 AS d, NULL::int AS labelled, NULL::int AS champion_correct, NULL::int AS challenger_correct,
              NULL::int AS champion_only, NULL::int AS challenger_only
         FROM pairs GROUP BY 2, 3
       UNION ALL SELECT 'challenger', ${bucket('b')}, y, count(*)::int, NULL, NULL, NULL, NULL, NULL, NULL
         FROM pairs GROUP BY 2, 3
       UNION ALL SELECT 'summary', 0, NULL, count(*)::int, avg(abs(a - b)), count(y)::int,
         count(*) FILTER (WHERE (a >= $6) = y)::int,
         count(*) FILTER (WHERE (b >= $6) = y)::int,
         count(*) FILTER (WHERE (a >= $6) = y AND (b >= $6) <> y)::int,
         count(*) FILTER (WHERE (b >= $6) = y AND (a >= $6) <> y)::int
         FROM pairs`,
      [...params, query.threshold],
    ),
  ]);

  const build = (version: number, isChampion: boolean): VersionStepMetrics => {
    const mine = groups.rows.filter((r) => r.version === version);
    const metrics = emptyVersion(version);
    if (mine.length === 0) return metrics;
    const sum = (pick: (r: ScoreGroup) => number) => mine.reduce((total, r) => total + pick(r), 0);
    const score = [...metrics.scoreHistogram];
    const positive = [...metrics.positiveHistogram];
    const negative = [...metrics.negativeHistogram];
    for (const h of mine) {
      if (h.sb === null) continue;
      score[h.sb - 1]! += h.n;
      if (h.y === true) positive[h.sb - 1]! += h.n;
      if (h.y === false) negative[h.sb - 1]! += h.n;
    }
    const latency = [...metrics.latencyHistogram];
    for (const l of latencies.rows) if (l.version === version) latency[l.lb]! += l.n;
    return {
      version,
      samples: sum((r) => r.n),
      served: sum((r) => r.served),
      routed: sum((r) => r.routed),
      shadowed: sum((r) => r.shadowed),
      errors: sum((r) => r.errors),
      fallbacks: isChampion ? sum((r) => r.fallbacks) : 0,
      latencyP50Ms: latencyQuantile(latency, 0.5),
      latencyP99Ms: latencyQuantile(latency, 0.99),
      latencyHistogram: latency,
      labelled: sum((r) => r.labelled),
      correct: sum((r) => r.correct),
      scoreHistogram: score,
      positiveHistogram: positive,
      negativeHistogram: negative,
    };
  };

  const bins = () => new Array<number>(histogramBins).fill(0);
  const side = {
    champion: { all: bins(), positive: bins(), negative: bins() },
    challenger: { all: bins(), positive: bins(), negative: bins() },
  };
  let summary: PairRow | undefined;
  for (const row of pairs.rows) {
    if (row.side === 'summary') {
      summary = row;
      continue;
    }
    const h = side[row.side];
    h.all[row.bucket - 1]! += row.n;
    if (row.positive === true) h.positive[row.bucket - 1]! += row.n;
    if (row.positive === false) h.negative[row.bucket - 1]! += row.n;
  }
  return {
    from: new Date(query.from).toISOString(),
    to,
    champion: build(query.champion, true),
    challenger: build(query.challenger, false),
    paired: {
      samples: summary?.n ?? 0,
      championHistogram: side.champion.all,
      challengerHistogram: side.challenger.all,
      meanAbsDifference: summary?.d === null || summary?.d === undefined ? null : Number(summary.d),
      labelled: summary?.labelled ?? 0,
      championCorrect: summary?.champion_correct ?? 0,
      challengerCorrect: summary?.challenger_correct ?? 0,
      championOnly: summary?.champion_only ?? 0,
      challengerOnly: summary?.challenger_only ?? 0,
      championPositive: side.champion.positive,
      championNegative: side.champion.negative,
      challengerPositive: side.challenger.positive,
      challengerNegative: side.challenger.negative,
    },
  };
}
