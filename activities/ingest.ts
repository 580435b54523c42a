import { fileURLToPath } from 'node:url';
import { Context } from '@temporalio/activity';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { encodeFrameToArrow } from '../ml/ingest/arrow-codec.js';
import { resolveReadOptions } from '../domain/dataset-schema.js';
import { DataError } from '../ml/ingest/data-error.js';
import type { ReadDatasetResult, ReadWarning } from '../ml/ingest/read-frame.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import { frameReadOptions, readKeyOf } from '../ml/ingest/read-key.js';
import type { DatasetFormat, DatasetSchema, ReadOptions } from '../domain/dataset-schema.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { upsertDataset } from '../platform/registry.js';
import {
  defaultDatasetLimits,
  resolveDataRoots,
  resolveSource,
  type DataRoot,
  type DatasetLimits,
  type ResolvedSource,
} from './dataset-source.js';
import { dataFailureWithReport } from './data-rejection.js';
import { keepHeartbeating } from './heartbeat.js';

export interface IngestInput {
  readonly runId: string;
  readonly spec: PipelineSpec;
}

export interface IngestOutput {
  /** sha256 of the raw input bytes: the dataset's identity. */
  readonly datasetSha256: string;
  /** Which read of those bytes (the read options' key): with the sha256, the datasets entry. */
  readonly readKey: string;
  readonly source: string;
  readonly format: DatasetFormat;
  readonly rowCount: number;
  readonly bytes: number;
  /** The typed columns (Arrow IPC), as an artifact. */
  readonly frameUri: string;
  readonly frameSha256: string;
  readonly columns: readonly { name: string; type: string }[];
  /** Read statistics (parse errors per column...) for the validation report. */
  readonly statsUri: string;
  readonly warnings: readonly ReadWarning[];
}

// validate and evaluate turn bad data into a failure the same way.
export { dataFailure } from './data-rejection.js';

/** What `ingestSource` stored and read. */
export interface IngestedSource {
  readonly result: ReadDatasetResult;
  readonly frameObject: { uri: string; sha256: string };
  readonly statsObject: { uri: string; sha256: string };
  readonly readKey: string;
  readonly readOptions: Record<string, unknown>;
}

/**
 * Reads a resolved source into a typed frame (one pass; types inferred unless `schema` is given), checks that the
 * `mustHave` columns exist, stores the frame (Arrow IPC) and the read statistics, and records the datasets entry
 * (file sha256 + read key). Used by the ingest activity and by `slipway ingest`.
 */
export async function ingestSource(
  deps: { store: ArtifactStore; db?: Pool },
  source: ResolvedSource,
  request: {
    readOptions: ReadOptions;
    schema?: DatasetSchema;
    mustHave?: readonly string[];
    onStage?: (stage: string) => void;
  },
): Promise<IngestedSource> {
  const readOptions = frameReadOptions({ ...request.readOptions, format: source.format }, request.schema);
  const readKey = readKeyOf(readOptions);
  const result = await readDataset(() => source.open(), {
    ...request.readOptions,
    format: source.format,
    ...(request.schema ? { schema: request.schema } : {}),
  });
  const { frame, stats } = result;
  const [first, ...rest] = request.mustHave ?? [];
  for (const [name, what] of [
    ...(first === undefined ? [] : [[first, 'target'] as const]),
    ...rest.map((n) => [n, 'drop'] as const),
  ]) {
    if (frame.columns.some((c) => c.name === name)) continue;
    throw what === 'target'
      ? new DataError(
          'missing_column',
          `target column "${name}" is not in the data; columns are: ${frame.columns.map((c) => c.name).join(', ')}`,
          { column: name },
        )
      : new DataError('missing_column', `drop: column "${name}" is not in the data`, { column: name });
  }
  request.onStage?.('storing');
  const [frameObject, statsObject] = await Promise.all([
    deps.store.putContent(encodeFrameToArrow(frame), { prefix: 'frames', ext: 'arrow' }),
    deps.store.putContent(Buffer.from(JSON.stringify(stats)), { prefix: 'ingest-stats', ext: 'json' }),
  ]);
  if (deps.db) {
    await upsertDataset(deps.db, {
      sha256: stats.sha256,
      readKey,
      readOptions,
      source: source.describe,
      format: source.format,
      rowCount: frame.rowCount,
      frameUri: frameObject.uri,
      frameSha256: frameObject.sha256,
      schema: result.schema,
    });
  }
  return { result, frameObject, statsObject, readKey, readOptions };
}

/** The ingest stage: read the source in one pass, store the typed columns, record the dataset. */
export function createIngestActivities(deps: {
  store: ArtifactStore;
  db: Pool;
  log: Logger;
  dataRoots?: readonly DataRoot[];
  datasetLimits?: DatasetLimits;
}) {
  const limits = deps.datasetLimits ?? defaultDatasetLimits;
  let repositoryRoots: Promise<DataRoot[]> | undefined;
  const dataRoots = async () =>
    deps.dataRoots ??
    (repositoryRoots ??= resolveDataRoots([fileURLToPath(new URL('../datasets', import.meta.url))]));
  return {
    async ingestDataset(input: IngestInput): Promise<IngestOutput> {
      const { spec } = input;
      let stage = 'reading';
      const stopHeartbeats = keepHeartbeating(Context.current(), () => ({ stage }));
      // The operator's row cap holds whatever the spec asks; a spec may only ask for less.
      const readOptions = {
        ...(spec.dataset.delimiter ? { delimiter: spec.dataset.delimiter } : {}),
        ...(spec.dataset.maxLineBytes ? { maxLineBytes: spec.dataset.maxLineBytes } : {}),
        maxRows: Math.min(spec.dataset.maxRows ?? limits.maxRows, limits.maxRows),
        ...(spec.dataset.missingTokens ? { missingTokens: spec.dataset.missingTokens } : {}),
        ...(spec.dataset.maxTypeErrorRate !== undefined
          ? { maxTypeErrorRate: spec.dataset.maxTypeErrorRate }
          : {}),
      };
      try {
        const source = await resolveSource(spec.dataset.source, spec.dataset.format, deps.store, {
          dataRoots: await dataRoots(),
          limits,
        });
        const { result, frameObject, statsObject, readKey } = await ingestSource(deps, source, {
          readOptions,
          ...(spec.schema ? { schema: spec.schema } : {}),
          mustHave: [spec.target, ...spec.drop],
          onStage: (next) => (stage = next),
        }).finally(() => source.close());
        const { frame, stats } = result;
        return {
          datasetSha256: stats.sha256,
          readKey,
          source: source.describe,
          format: source.format,
          rowCount: frame.rowCount,
          bytes: stats.bytes,
          frameUri: frameObject.uri,
          frameSha256: frameObject.sha256,
          columns: result.schema.columns.map((c) => ({ name: c.name, type: c.type })),
          statsUri: statsObject.uri,
          warnings: stats.warnings,
        };
      } catch (error) {
        throw await dataFailureWithReport(error, {
          store: deps.store,
          model: spec.model,
          limits: resolveReadOptions(readOptions),
        });
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
