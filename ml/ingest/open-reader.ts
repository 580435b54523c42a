import type { ByteSource } from './byte-source.js';
import { openCsv } from './csv-reader.js';
import { openNdjson, type NdjsonReaderOptions } from './ndjson-reader.js';
import type { ResolvedReadOptions } from '../../domain/dataset-schema.js';
import type { TabularReader } from './tabular.js';

/** Opens `source` with the reader of `options.format`. */
export function openReader(
  source: ByteSource,
  options: ResolvedReadOptions,
  ndjson: Pick<NdjsonReaderOptions, 'columns' | 'unknownKeys'> = {},
): Promise<TabularReader> {
  const limits = { maxLineBytes: options.maxLineBytes, maxRows: options.maxRows };
  return options.format === 'csv'
    ? openCsv(source, { ...limits, delimiter: options.delimiter })
    : openNdjson(source, { ...limits, ...ndjson });
}
