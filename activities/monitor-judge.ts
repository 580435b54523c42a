import type { MonitorWindowRange, PerformanceFigures, WindowJudgement } from '../domain/monitor.js';
import { windowOutcomes } from '../domain/monitor-judgement.js';
import type { MonitorPolicy } from '../domain/monitor-policy.js';
import { compareWindow } from '../ml/drift/compare.js';
import type { DriftReport } from '../ml/drift/report.js';
import type { MonitorAnalysis } from '../ml/monitor/report.js';
import { performanceOf, verdictOf } from '../ml/monitor/window-figures.js';
import { recordsToFrame } from '../ml/records-frame.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import {
  championAt,
  countWindowRows,
  databaseNow,
  readLabelledScores,
  readSloFigures,
  readWindowRows,
  servedByVersion,
  type WindowSnapshot,
} from '../platform/prediction-window.js';
import { createReferenceCache, scoreColumn, type VersionReference } from './monitor-reference.js';

export interface JudgeWindowInput {
  readonly model: string;
  readonly range: MonitorWindowRange;
  readonly policy: MonitorPolicy;
}

/**
 * Judging a window, for the monitor stage (activities/monitor.ts): reads the window of the prediction log as of one
 * moment, compares it with the judged version's drift reference, pools the labels of the recent windows, and stores
 * the full analysis as an artifact (by content). Writes nothing else.
 */
export function createWindowJudge(deps: {
  readonly db: Pool;
  readonly store: ArtifactStore;
  readonly log: Logger;
  readonly onReferenceBuilt?: (model: string) => void;
}) {
  const references = createReferenceCache({
    db: deps.db,
    store: deps.store,
    log: deps.log,
    ...(deps.onReferenceBuilt ? { onBuild: deps.onReferenceBuilt } : {}),
  });

  /** The version a window is judged against: the deployment's champion, unless others answered all its rows. */
  async function monitoredVersion(q: WindowSnapshot): Promise<number | null> {
    const [served, champion] = await Promise.all([
      servedByVersion(deps.db, q),
      championAt(deps.db, q.model, q.end),
    ]);
    if (champion !== null && (served.length === 0 || served.some((s) => s.version === champion)))
      return champion;
    return served[0]?.version ?? null;
  }

  return async function judgeWindow(input: JudgeWindowInput): Promise<WindowJudgement> {
    const { model, range, policy } = input;
    const q = { model, start: range.start, end: range.end, readAt: await databaseNow(deps.db) };
    const [rowCount, slo, version] = await Promise.all([
      countWindowRows(deps.db, q),
      readSloFigures(deps.db, q),
      monitoredVersion(q),
    ]);
    let reference: VersionReference | undefined;
    let performance: PerformanceFigures | null = null;
    let featureReport: DriftReport | null = null;
    let predictionReport: DriftReport | null = null;
    let rowsRead = 0;
    let status: WindowJudgement['status'] = 'no-version';
    if (version !== null) {
      reference = await references.forVersion(model, version);
      const threshold = policy.performance.threshold ?? reference.threshold;
      const from = new Date(
        Date.parse(range.end) - policy.performance.lookback * policy.intervalMs,
      ).toISOString();
      const labelled = await readLabelledScores(deps.db, { model, version, start: from, end: range.end });
      performance = performanceOf(labelled, policy.performance.metric, threshold, {
        from,
        to: range.end,
      });
      status = rowCount < policy.minRows ? 'too-few-rows' : 'judged';
      if (status === 'judged') {
        const rows = await readWindowRows(deps.db, { ...q, maxRows: policy.maxRows, total: rowCount });
        rowsRead = rows.length;
        const judged = policy.features ? new Set(policy.features) : undefined;
        const featureRef = judged
          ? {
              ...reference.features,
              features: reference.features.features.filter((f) => judged.has(f.name)),
            }
          : reference.features;
        const inputs = reference.inputs.filter((c) => !judged || judged.has(c.name));
        featureReport = compareWindow(
          featureRef,
          recordsToFrame(
            rows.map((r) => r.inputs),
            inputs,
          ),
          policy.drift,
        );
        if (policy.predictionDrift) {
          const scores = rows.filter((r) => r.served && r.version === version && r.score !== null);
          if (scores.length > 0) {
            predictionReport = compareWindow(
              reference.prediction,
              {
                rowCount: scores.length,
                columns: [
                  {
                    name: scoreColumn,
                    kind: 'numeric',
                    values: Float64Array.from(scores, (r) => r.score!),
                  },
                ],
              },
              { ...policy.drift, tests: {} },
            );
          }
        }
      }
    }
    const features = featureReport ? featureReport.features.map(verdictOf) : [];
    const predictionFeature = predictionReport?.features[0];
    const prediction = predictionFeature ? verdictOf(predictionFeature) : null;
    const analysis: MonitorAnalysis = {
      model,
      window: range,
      version,
      status,
      rowCount,
      rowsRead,
      referenceRows: reference?.rows ?? null,
      features: featureReport,
      prediction: predictionReport,
      slo,
      performance,
    };
    const stored = await deps.store.putContent(Buffer.from(JSON.stringify(analysis)), {
      prefix: 'monitor/analyses',
      ext: 'json',
      contentType: 'application/json',
    });
    const judgement: WindowJudgement = {
      range,
      readAt: q.readAt,
      status,
      version,
      rowCount,
      rowsRead,
      features,
      prediction,
      slo,
      performance,
      outcomes: {},
      analysisUri: stored.uri,
      analysisSha256: stored.sha256,
    };
    return { ...judgement, outcomes: windowOutcomes(judgement, policy) };
  };
}
