import { histogramBins, type StepMetrics, type VersionStepMetrics } from '../domain/rollout-metrics.js';
import type { Pool } from './db.js';

/** A row the version scored successfully: no error and a probability in [0, 1] (NaN compares above 1). */
const valid = (p: string) => `(${p}.error IS NULL AND ${p}.score >= 0 AND ${p}.score <= 1)`;
const bucket = (score: string) =>
  `LEAST(GREATEST(width_bucket(${score}, 0, 1, ${histogramBins}), 1), ${histogramBins})`;

/** The rows of the two versions in their rollout roles: the champion answering, the challenger answering or shadowing. */
const rolesOf = `((p.version = $4 AND p.role = 'champion') OR (p.version = $5 AND p.role IN ('challenger', 'shadow')))`;

interface AggregateRow {
  version: number;
  n: number;
  routed: number;
  shadowed: number;
  served: number;
  errors: number;
  fallbacks: number;
  p50: number | null;
  p99: number | null;
  labelled: number;
  correct: number;
}

interface PairRow {
  side: 'champion' | 'challenger' | 'summary';
  bucket: number;
  positive: boolean | null;
  n: number;
}

interface PairSummary {
  d: number | null;
  labelled: number;
  champion_correct: number;
  challenger_correct: number;
  champion_only: number;
  challenger_only: number;
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

  const [aggregates, histograms, pairs, pairSummary] = await Promise.all([
    pool.query<AggregateRow>(
      `SELECT p.version,
         count(*)::int AS n,
         count(*) FILTER (WHERE p.role <> 'shadow')::int AS routed,
         count(*) FILTER (WHERE p.role = 'shadow')::int AS shadowed,
         count(*) FILTER (WHERE p.served)::int AS served,
         count(*) FILTER (WHERE NOT COALESCE(${valid('p')}, false))::int AS errors,
         count(*) FILTER (WHERE p.fallback)::int AS fallbacks,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY p.latency_ms) AS p50,
         percentile_cont(0.99) WITHIN GROUP (ORDER BY p.latency_ms) AS p99,
         count(*) FILTER (WHERE f.request_id IS NOT NULL AND ${valid('p')})::int AS labelled,
         count(*) FILTER (WHERE f.request_id IS NOT NULL AND ${valid('p')} AND (p.score >= $6) = f.label_positive)::int AS correct
       FROM predictions p ${labels}
       WHERE ${window}
       GROUP BY p.version`,
      [...params, query.threshold],
    ),
    pool.query<{ version: number; bucket: number; positive: boolean | null; n: number }>(
      `SELECT p.version, ${bucket('p.score')} AS bucket, f.label_positive AS positive, count(*)::int AS n
       FROM predictions p ${labels}
       WHERE ${window} AND ${valid('p')}
       GROUP BY 1, 2, 3`,
      params,
    ),
    // Paired scores: requests the champion answered and the challenger shadowed, both successfully, with their
    // labels when they arrived.
    pool.query<PairRow>(
      `WITH pairs AS (
         SELECT p.score AS a, s.score AS b, f.label_positive AS y
         FROM predictions p
         JOIN predictions s ON s.request_id = p.request_id AND s.model_name = p.model_name AND s.role = 'shadow'
           AND s.version = $5 AND s.at >= $2::timestamptz - interval '5 minutes' AND s.at <= $3::timestamptz + interval '5 minutes'
         ${labels}
         WHERE ${window} AND p.role = 'champion' AND ${valid('p')} AND ${valid('s')}
       )
       SELECT 'champion' AS side, ${bucket('a')} AS bucket, y AS positive, count(*)::int AS n FROM pairs GROUP BY 2, 3
       UNION ALL SELECT 'challenger', ${bucket('b')}, y, count(*)::int FROM pairs GROUP BY 2, 3
       UNION ALL SELECT 'summary', 0, NULL, count(*)::int FROM pairs`,
      params,
    ),
    pool.query<PairSummary>(
      `WITH pairs AS (
         SELECT p.score >= $6 AS a, s.score >= $6 AS b, f.label_positive AS y, abs(p.score - s.score) AS d
         FROM predictions p
         JOIN predictions s ON s.request_id = p.request_id AND s.model_name = p.model_name AND s.role = 'shadow'
           AND s.version = $5 AND s.at >= $2::timestamptz - interval '5 minutes' AND s.at <= $3::timestamptz + interval '5 minutes'
         ${labels}
         WHERE ${window} AND p.role = 'champion' AND ${valid('p')} AND ${valid('s')}
       )
       SELECT avg(d) AS d,
         count(y)::int AS labelled,
         count(*) FILTER (WHERE a = y)::int AS champion_correct,
         count(*) FILTER (WHERE b = y)::int AS challenger_correct,
         count(*) FILTER (WHERE a = y AND b <> y)::int AS champion_only,
         count(*) FILTER (WHERE b = y AND a <> y)::int AS challenger_only
       FROM pairs`,
      [...params, query.threshold],
    ),
  ]);

  const build = (version: number, isChampion: boolean): VersionStepMetrics => {
    const row = aggregates.rows.find((r) => r.version === version);
    const metrics = emptyVersion(version);
    if (!row) return metrics;
    const score = [...metrics.scoreHistogram];
    const positive = [...metrics.positiveHistogram];
    const negative = [...metrics.negativeHistogram];
    for (const h of histograms.rows.filter((r) => r.version === version)) {
      const i = h.bucket - 1;
      score[i]! += h.n;
      if (h.positive === true) positive[i]! += h.n;
      if (h.positive === false) negative[i]! += h.n;
    }
    return {
      version,
      samples: row.n,
      served: row.served,
      routed: row.routed,
      shadowed: row.shadowed,
      errors: row.errors,
      fallbacks: isChampion ? row.fallbacks : 0,
      latencyP50Ms: row.p50 === null ? null : Number(row.p50),
      latencyP99Ms: row.p99 === null ? null : Number(row.p99),
      labelled: row.labelled,
      correct: row.correct,
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
  let paired = 0;
  for (const row of pairs.rows) {
    if (row.side === 'summary') {
      paired = row.n;
      continue;
    }
    const h = side[row.side];
    h.all[row.bucket - 1]! += row.n;
    if (row.positive === true) h.positive[row.bucket - 1]! += row.n;
    if (row.positive === false) h.negative[row.bucket - 1]! += row.n;
  }
  const summary = pairSummary.rows[0];
  return {
    from: new Date(query.from).toISOString(),
    to,
    champion: build(query.champion, true),
    challenger: build(query.challenger, false),
    paired: {
      samples: paired,
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
