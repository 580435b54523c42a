import { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { decodeFrameFromArrow } from '../ml/ingest/arrow-codec.js';
import { labelledExportCsv } from '../ml/labelled-export.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import {
  findDatasetFrame,
  findTrafficExport,
  recordTrafficExport,
  selectLabelledTraffic,
} from '../platform/labelled-traffic.js';
import { specHash } from '../platform/spec-file.js';
import { keepHeartbeating } from './heartbeat.js';

export interface ExportTrafficInput {
  readonly model: string;
  /** Idempotency key (the lifecycle event that asked): a retry returns the first export. */
  readonly requestId: string;
  /** Predictions logged at or after this (the last training's start). */
  readonly since: string;
  readonly maxRows: number;
  /** Only predictions younger than this, in ms. */
  readonly maxAgeMs?: number;
  readonly minRows: number;
  /** Also train on the original dataset (by its sha256): all of it, or its latest `maxRows`. */
  readonly original: false | { readonly datasetSha256: string; readonly maxRows?: number };
  /** The pipeline spec the retrain runs, with the export as its dataset. */
  readonly pipeline: PipelineSpec;
}

export type ExportTrafficResult =
  | {
      readonly ok: true;
      readonly uri: string;
      readonly sha256: string;
      readonly trafficRows: number;
      readonly originalRows: number;
      readonly firstPredictionAt: string | null;
      readonly lastPredictionAt: string | null;
      /** The retrain's pipeline spec (its dataset is the export) and its hash. */
      readonly spec: PipelineSpec;
      readonly specHash: string;
    }
  | { readonly ok: false; readonly reason: string; readonly trafficRows: number };

/** The retrain's pipeline spec: the original one, reading the exported CSV. */
function retrainSpec(pipeline: PipelineSpec, uri: string): PipelineSpec {
  const { delimiter: _delimiter, format: _format, maxRows: _maxRows, ...dataset } = pipeline.dataset;
  return { ...pipeline, dataset: { ...dataset, source: uri, format: 'csv' } };
}

/**
 * The labelled traffic since the last training, exported as a dataset for a retrain: served predictions joined
 * with their labels (the latest `maxRows`, no older than `maxAgeMs`), optionally after the original dataset's rows,
 * written as content-addressed CSV in the artifact store. The retrain's ingest reads it like any dataset, so the
 * version's lineage names it by sha256, and `traffic_exports` says which traffic went into it.
 */
export async function exportLabelledTraffic(
  deps: { db: Pool; store: ArtifactStore },
  input: ExportTrafficInput,
  onProgress: (details: () => unknown) => () => void = () => () => undefined,
): Promise<ExportTrafficResult> {
  const previous = await findTrafficExport(deps.db, input.requestId);
  if (previous) {
    return {
      ok: true,
      uri: previous.uri,
      sha256: previous.datasetSha256,
      trafficRows: previous.trafficRows,
      originalRows: previous.originalRows,
      firstPredictionAt: previous.firstPredictionAt,
      lastPredictionAt: previous.lastPredictionAt,
      spec: retrainSpec(input.pipeline, previous.uri),
      specHash: specHash(retrainSpec(input.pipeline, previous.uri)),
    };
  }
  let stage = 'querying';
  const stop = onProgress(() => ({ stage }));
  try {
    const ageFloor =
      input.maxAgeMs !== undefined ? new Date(Date.now() - input.maxAgeMs).toISOString() : input.since;
    const since = ageFloor > input.since ? ageFloor : input.since;
    const traffic = await selectLabelledTraffic(deps.db, {
      model: input.model,
      since,
      maxRows: input.maxRows,
    });
    if (traffic.length < input.minRows) {
      return {
        ok: false,
        trafficRows: traffic.length,
        reason: `${traffic.length} labelled predictions since ${since}, fewer than the ${input.minRows} a retrain needs (retrain.data.minRows)`,
      };
    }
    stage = 'reading the original dataset';
    const target = input.pipeline.target;
    let columns: string[];
    let original: { frame: ReturnType<typeof decodeFrameFromArrow>; from: number } | undefined;
    let originalSource: string | null = null;
    const sha = input.original === false ? undefined : input.original.datasetSha256;
    const dataset = sha ? await findDatasetFrame(deps.db, sha, input.model) : undefined;
    if (input.original !== false && !dataset) {
      throw new Error(`the original dataset ${input.original.datasetSha256} is not in the datasets table`);
    }
    if (dataset && input.original !== false) {
      const frame = decodeFrameFromArrow(
        await deps.store.get(dataset.frameUri, { expectSha256: dataset.frameSha256 }),
      );
      const keep = Math.min(frame.rowCount, input.original.maxRows ?? frame.rowCount);
      original = { frame, from: frame.rowCount - keep };
      originalSource = dataset.source;
      columns = frame.columns.map((c) => c.name);
    } else {
      // Without the original rows, the columns are the logged features, the columns the spec names (sorted:
      // stable bytes), and the target last.
      const names = new Set<string>(input.pipeline.drop);
      for (const column of input.pipeline.schema?.columns ?? []) names.add(column.name);
      for (const row of traffic) for (const key of Object.keys(row.inputs)) names.add(key);
      names.delete(target);
      columns = [...[...names].sort(), target];
    }
    stage = 'writing';
    const chunks = [...labelledExportCsv({ columns, target, traffic, ...(original ? { original } : {}) })];
    const stored = await deps.store.putContent(Readable.from(chunks.map((c) => Buffer.from(c))), {
      prefix: 'datasets/traffic',
      ext: 'csv',
      contentType: 'text/csv',
    });
    const originalRows = original ? original.frame.rowCount - original.from : 0;
    const record = await recordTrafficExport(deps.db, {
      datasetSha256: stored.sha256,
      uri: stored.uri,
      model: input.model,
      since,
      firstPredictionAt: traffic[0]?.at ?? null,
      lastPredictionAt: traffic.at(-1)?.at ?? null,
      trafficRows: traffic.length,
      originalRows,
      originalSource,
      settings: {
        maxRows: input.maxRows,
        ...(input.maxAgeMs !== undefined ? { maxAgeMs: input.maxAgeMs } : {}),
        minRows: input.minRows,
        original: input.original,
      },
      requestId: input.requestId,
    });
    const spec = retrainSpec(input.pipeline, record.uri);
    return {
      ok: true,
      uri: record.uri,
      sha256: record.datasetSha256,
      trafficRows: record.trafficRows,
      originalRows: record.originalRows,
      firstPredictionAt: record.firstPredictionAt,
      lastPredictionAt: record.lastPredictionAt,
      spec,
      specHash: specHash(spec),
    };
  } finally {
    stop();
  }
}

/** The export as an activity: heartbeats its stage while it queries, reads and writes. */
export function createExportTrafficActivities(deps: { db: Pool; store: ArtifactStore }) {
  return {
    async exportLabelledTraffic(input: ExportTrafficInput): Promise<ExportTrafficResult> {
      return exportLabelledTraffic(deps, input, (details) => keepHeartbeating(Context.current(), details));
    },
  };
}

export type ExportTrafficActivities = ReturnType<typeof createExportTrafficActivities>;
