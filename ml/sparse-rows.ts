// Compressed sparse rows of a design matrix. One-hot columns make most entries zero (Adult: ~14 non-zeros in ~100
// columns), and the linear model and the MLP's first layer cost O(non-zeros) instead of O(rows * width) this way.

export interface SparseRows {
  readonly rowCount: number;
  readonly width: number;
  /** Row i's entries are at rowStart[i] .. rowStart[i+1]-1. */
  readonly rowStart: Int32Array;
  readonly columns: Int32Array;
  readonly values: Float64Array;
}

/** Converts a row-major dense matrix to sparse rows, keeping only non-zero entries. */
export function toSparseRows(matrix: Float64Array, rowCount: number, width: number): SparseRows {
  if (matrix.length !== rowCount * width) {
    throw new Error(`matrix has ${matrix.length} values, expected rowCount * width = ${rowCount * width}`);
  }
  let nonZeros = 0;
  for (let i = 0; i < matrix.length; i++) if (matrix[i] !== 0) nonZeros++;
  const rowStart = new Int32Array(rowCount + 1);
  const columns = new Int32Array(nonZeros);
  const values = new Float64Array(nonZeros);
  let k = 0;
  for (let r = 0; r < rowCount; r++) {
    rowStart[r] = k;
    const base = r * width;
    for (let j = 0; j < width; j++) {
      const v = matrix[base + j]!;
      if (v !== 0) {
        columns[k] = j;
        values[k++] = v;
      }
    }
  }
  rowStart[rowCount] = k;
  return { rowCount, width, rowStart, columns, values };
}
