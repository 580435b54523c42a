import * as ort from 'onnxruntime-node';
import type { ServingInterface } from '../domain/serving-interface.js';
import type { Frame } from '../ml/frame.js';

/** A column of request features: numbers (NaN: missing) or categories (null: missing). */
export type FeatureColumn =
  | { readonly kind: 'numeric'; readonly values: Float64Array }
  | { readonly kind: 'categorical'; readonly values: (string | null)[] };

/** Validated rows, column by column, whatever shape they arrived in. */
export interface FeatureBatch {
  readonly rowCount: number;
  readonly columns: ReadonlyMap<string, FeatureColumn>;
}

/** Some rows of a batch: `rows` lists them in order (null: all `count` of them). */
export interface BatchPart {
  readonly batch: FeatureBatch;
  readonly rows: Int32Array | null;
  readonly count: number;
}

/** A frame's columns as a feature batch (categories as their strings). */
export function frameToBatch(frame: Frame): FeatureBatch {
  const columns = new Map<string, FeatureColumn>();
  for (const c of frame.columns) {
    if (c.kind === 'numeric') columns.set(c.name, { kind: 'numeric', values: c.values });
    else
      columns.set(c.name, {
        kind: 'categorical',
        values: Array.from(c.codes, (code) => (code < 0 ? null : (c.categories[code] ?? null))),
      });
  }
  return { rowCount: frame.rowCount, columns };
}

/**
 * One tensor per model input for the parts' rows, one part after another: numbers as the input's element type
 * (missing as NaN), categories as strings (missing as ""), a width-F input packed from its F features.
 */
export function buildFeeds(
  iface: ServingInterface,
  parts: readonly BatchPart[],
  total: number,
): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const input of iface.inputs) {
    const features = iface.features.filter((f) => f.input === input.name);
    const width = input.width;
    const dims = input.rank === 2 ? [total, width] : [total];
    if (input.type === 'string') {
      const values = new Array<string>(total * width).fill('');
      for (const f of features) {
        let offset = 0;
        for (const part of parts) {
          const column = part.batch.columns.get(f.name)!.values as (string | null)[];
          for (let i = 0; i < part.count; i++)
            values[(offset + i) * width + f.index] = column[part.rows ? part.rows[i]! : i] ?? '';
          offset += part.count;
        }
      }
      feeds[input.name] = new ort.Tensor('string', values, dims);
      continue;
    }
    const values =
      input.type === 'float32'
        ? new Float32Array(total * width)
        : input.type === 'float64'
          ? new Float64Array(total * width)
          : new BigInt64Array(total * width);
    for (const f of features) {
      let offset = 0;
      for (const part of parts) {
        const column = part.batch.columns.get(f.name)!.values as Float64Array;
        for (let i = 0; i < part.count; i++) {
          const v = column[part.rows ? part.rows[i]! : i]!;
          const at = (offset + i) * width + f.index;
          if (values instanceof BigInt64Array) values[at] = BigInt(Math.trunc(v));
          else values[at] = v;
        }
        offset += part.count;
      }
    }
    feeds[input.name] = new ort.Tensor(input.type, values, dims);
  }
  return feeds;
}
