/**
 * The in-memory columnar table every trainer, profiler and check works on.
 * Missing numeric values are NaN; missing categorical values have code -1.
 */
export interface NumericColumn {
  readonly name: string;
  readonly kind: 'numeric';
  readonly values: Float64Array;
}

export interface CategoricalColumn {
  readonly name: string;
  readonly kind: 'categorical';
  /** Index into `categories`, or -1 when the value is missing. */
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

export interface Frame {
  readonly rowCount: number;
  readonly columns: readonly Column[];
}

/** Returns the column named `name`, or throws naming the columns that do exist. */
export function columnOf(frame: Frame, name: string): Column {
  const column = frame.columns.find((c) => c.name === name);
  if (!column) {
    throw new Error(
      `column "${name}" not found; columns are: ${frame.columns.map((c) => c.name).join(', ')}`,
    );
  }
  return column;
}

/** A new frame holding only the given rows, in the given order. */
export function takeRows(frame: Frame, rows: ArrayLike<number>): Frame {
  const n = rows.length;
  const columns = frame.columns.map((column): Column => {
    if (column.kind === 'numeric') {
      const values = new Float64Array(n);
      for (let i = 0; i < n; i++) values[i] = column.values[rows[i]!]!;
      return { name: column.name, kind: 'numeric', values };
    }
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = column.codes[rows[i]!]!;
    return { name: column.name, kind: 'categorical', codes, categories: column.categories };
  });
  return { rowCount: n, columns };
}
