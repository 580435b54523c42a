import {
  type Data,
  DataType,
  Dictionary,
  Field,
  Float64,
  Int32,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromIPC,
  tableToIPC,
  Type,
  Utf8,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import type { Column, Frame } from '../frame.js';
import { DataError } from './data-error.js';

/** Arrow validity bitmap (LSB first, 1 = valid) of the rows where `isMissing` is false, and the null count. */
function validity(n: number, isMissing: (i: number) => boolean): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array(Math.ceil(n / 8));
  let nulls = 0;
  for (let i = 0; i < n; i++) {
    if (isMissing(i)) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nulls };
}

function columnData(column: Column, n: number): { field: Field; data: Data } {
  if (column.kind === 'numeric') {
    const { values } = column;
    const { bitmap, nulls } = validity(n, (i) => Number.isNaN(values[i]));
    const type = new Float64();
    const data = makeData({
      type,
      length: n,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: values,
    });
    return { field: new Field(column.name, type, true), data };
  }
  const { codes } = column;
  const { bitmap, nulls } = validity(n, (i) => (codes[i] ?? -1) < 0);
  // Index slots under a null are undefined in Arrow; 0 keeps them inside the dictionary for strict readers.
  const indices = nulls > 0 ? codes.map((c) => (c < 0 ? 0 : c)) : codes;
  const type = new Dictionary(new Utf8(), new Int32());
  const dictionary = vectorFromArray([...column.categories], new Utf8());
  const data = makeData({
    type,
    length: n,
    nullCount: nulls,
    nullBitmap: nulls > 0 ? bitmap : null,
    data: indices,
    dictionary,
  });
  return { field: new Field(column.name, type, true), data };
}

/**
 * Encodes a frame as Arrow IPC file bytes (the `.arrow` / Feather v2 format pandas, polars and DuckDB read):
 * numeric columns as Float64, categorical as Dictionary<Utf8, Int32>, missing values as Arrow nulls (so polars
 * sees null rather than NaN). Column order and names are kept as they are.
 */
export function encodeFrameToArrow(frame: Frame): Uint8Array {
  const parts = frame.columns.map((c) => columnData(c, frame.rowCount));
  const fields = parts.map((p) => p.field);
  const schema = new Schema(fields);
  const struct = makeData({
    type: new Struct(fields),
    length: frame.rowCount,
    nullCount: 0,
    children: parts.map((p) => p.data),
  });
  return tableToIPC(new Table(schema, new RecordBatch(schema, struct)), 'file');
}

function toNumeric(name: string, vector: Vector, n: number): Column {
  const values = new Float64Array(n);
  let at = 0;
  for (const chunk of vector.data) {
    for (let i = 0; i < chunk.length; i++) {
      const v: unknown = chunk.getValid(i) ? (chunk.values as ArrayLike<unknown>)[chunk.offset + i] : NaN;
      values[at++] = typeof v === 'bigint' ? Number(v) : (v as number);
    }
  }
  return { name, kind: 'numeric', values };
}

function toCategorical(name: string, vector: Vector, n: number): Column {
  const categories: string[] = [];
  const codeOf = new Map<string, number>();
  const codes = new Int32Array(n);
  const intern = (label: string): number => {
    let code = codeOf.get(label);
    if (code === undefined) {
      code = categories.length;
      categories.push(label);
      codeOf.set(label, code);
    }
    return code;
  };
  let at = 0;
  for (const chunk of vector.data) {
    const type = chunk.type as DataType;
    if (DataType.isDictionary(type)) {
      // Each batch may carry its own dictionary; map its entries onto one category list.
      const dictionary = chunk.dictionary?.toArray() as (string | null)[] | undefined;
      const local = (dictionary ?? []).map((label) => (label === null ? -1 : intern(label)));
      const indices = chunk.values as ArrayLike<number | bigint>;
      for (let i = 0; i < chunk.length; i++) {
        codes[at++] = chunk.getValid(i) ? (local[Number(indices[chunk.offset + i])] ?? -1) : -1;
      }
    } else {
      const strings = makeVector(chunk).toArray() as (string | boolean | null)[];
      for (const s of strings) codes[at++] = s === null ? -1 : intern(String(s));
    }
  }
  return { name, kind: 'categorical', codes, categories };
}

/**
 * Decodes Arrow IPC bytes (file or stream format) into a frame: floats and integers become numeric columns (nulls
 * -> NaN), Dictionary<Utf8>, Utf8 and Bool become categorical ('true'/'false' for Bool; nulls -> -1). Categories
 * keep the dictionary's order. Other Arrow types are refused with `bad_arrow` naming the column.
 */
export function decodeFrameFromArrow(bytes: Uint8Array): Frame {
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (error) {
    throw new DataError('bad_arrow', `the bytes are not Arrow IPC data: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const n = table.numRows;
  const columns = table.schema.fields.map((field, i): Column => {
    const vector = table.getChildAt(i);
    if (!vector)
      throw new DataError('bad_arrow', `column "${field.name}" has no data`, { column: field.name });
    const type = field.type as DataType;
    if (DataType.isFloat(type) || DataType.isInt(type)) return toNumeric(field.name, vector, n);
    if (
      DataType.isDictionary(type) ||
      DataType.isUtf8(type) ||
      DataType.isLargeUtf8(type) ||
      DataType.isBool(type)
    ) {
      return toCategorical(field.name, vector, n);
    }
    throw new DataError(
      'bad_arrow',
      `column "${field.name}" has Arrow type ${Type[type.typeId]}; expected a float, an integer, a string, a dictionary of strings or a boolean`,
      { column: field.name },
    );
  });
  return { rowCount: n, columns };
}
