import { ApplicationFailure, Context } from '@temporalio/activity';
import type { PipelineSpec } from '../domain/pipeline-spec.js';
import { encodeFrameToArrow } from '../ml/ingest/arrow-codec.js';
import { DataError } from '../ml/ingest/data-error.js';
import type { ReadWarning } from '../ml/ingest/read-frame.js';
import { readDataset } from '../ml/ingest/read-frame.js';
import type { ArtifactStore } from '../platform/artifact-store.js';
import type { Pool } from '../platform/db.js';
import type { Logger } from '../platform/logger.js';
import { upsertDataset } from '../platform/registry.js';
import { resolveSource, SourceError } from './dataset-source.js';
import { keepHeartbeating } from './heartbeat.js';

export interface IngestInput {
  readonly runId: string;
  readonly spec: PipelineSpec;
}

export interface IngestOutput {
  /** sha256 of the raw input bytes: the dataset's identity. */
  readonly datasetSha256: string;
  readonly source: string;
  readonly format: 'csv' | 'ndjson';
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

/** Bad data is the user's to fix: fail the run at once, with the message naming the row or column. */
export function dataFailure(error: unknown): unknown {
  if (
    error instanceof DataError ||
    error instanceof SourceError ||
    (error instanceof Error && error.name === 'ModelInputError')
  ) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'DataError',
      nonRetryable: true,
      details: [
        {
          code: (error as DataError).code ?? 'source',
          row: (error as DataError).row,
          column: (error as DataError).column,
        },
      ],
    });
  }
  return error;
}

/** The ingest stage: stream the source twice (infer, build), store the typed columns, record the dataset. */
export function createIngestActivities(deps: {
  store: ArtifactStore;
  db: Pool;
  log: Logger;
  dataRoots?: readonly string[];
}) {
  return {
    async ingestDataset(input: IngestInput): Promise<IngestOutput> {
      const { spec } = input;
      let stage = 'reading';
      const stopHeartbeats = keepHeartbeating(Context.current(), () => ({ stage }));
      try {
        const source = await resolveSource(
          spec.dataset.source,
          spec.dataset.format,
          deps.store,
          deps.dataRoots,
        );
        const result = await readDataset(() => source.open(), {
          format: source.format,
          ...(spec.dataset.delimiter ? { delimiter: spec.dataset.delimiter } : {}),
          ...(spec.dataset.maxLineBytes ? { maxLineBytes: spec.dataset.maxLineBytes } : {}),
          ...(spec.dataset.maxRows ? { maxRows: spec.dataset.maxRows } : {}),
          ...(spec.dataset.missingTokens ? { missingTokens: spec.dataset.missingTokens } : {}),
          ...(spec.dataset.maxTypeErrorRate !== undefined
            ? { maxTypeErrorRate: spec.dataset.maxTypeErrorRate }
            : {}),
          ...(spec.schema ? { schema: spec.schema } : {}),
        });
        const { frame, stats } = result;
        if (!frame.columns.some((c) => c.name === spec.target)) {
          throw new DataError(
            'missing_column',
            `target column "${spec.target}" is not in the data; columns are: ${frame.columns.map((c) => c.name).join(', ')}`,
            { column: spec.target },
          );
        }
        for (const name of spec.drop) {
          if (!frame.columns.some((c) => c.name === name)) {
            throw new DataError('missing_column', `drop: column "${name}" is not in the data`, {
              column: name,
            });
          }
        }
        stage = 'storing';
        const [frameObject, statsObject] = await Promise.all([
          deps.store.putContent(encodeFrameToArrow(frame), { prefix: 'frames', ext: 'arrow' }),
          deps.store.putContent(Buffer.from(JSON.stringify(stats)), { prefix: 'ingest-stats', ext: 'json' }),
        ]);
        await upsertDataset(deps.db, {
          sha256: stats.sha256,
          source: source.describe,
          format: source.format,
          rowCount: frame.rowCount,
          frameUri: frameObject.uri,
          frameSha256: frameObject.sha256,
          schema: result.schema,
        });
        return {
          datasetSha256: stats.sha256,
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
        throw dataFailure(error);
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
