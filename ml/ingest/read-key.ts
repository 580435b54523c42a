// The identity of a read: the same file read with other options (delimiter, missing tokens, a declared schema...)
// is another dataset, because it gives another frame.
import { createHash } from 'node:crypto';
import {
  resolveReadOptions,
  type DatasetFormat,
  type DatasetSchema,
  type ReadOptions,
} from '../../domain/dataset-schema.js';

/** The read options that shape the frame, with defaults filled in: what `readKey` hashes. JSON-safe. */
export function frameReadOptions(
  options: ReadOptions & { readonly format: DatasetFormat },
  schema: DatasetSchema | undefined,
): Record<string, unknown> {
  const resolved = resolveReadOptions(options, schema?.missingTokens);
  return {
    format: options.format,
    ...(options.format === 'csv' ? { delimiter: resolved.delimiter, trim: resolved.trim } : {}),
    missingTokens: [...resolved.missingTokens].sort(),
    maxTypeErrorRate: resolved.maxTypeErrorRate,
    numericShare: resolved.numericShare,
    maxCategories: resolved.maxCategories,
    schema: schema ?? null,
  };
}

/** sha256 of the canonical JSON of `frameReadOptions` (keys sorted at every level). */
export function readKeyOf(readOptions: Record<string, unknown>): string {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
          )
        : value;
  return createHash('sha256')
    .update(JSON.stringify(canonical(readOptions)))
    .digest('hex');
}
