"""Writes the scale CSV (bench/scale-data.ts) as Parquet with pyarrow, for bench/ingest.ts:

    python3 bench/scale_parquet.py [bench/.cache/scale-1000000.csv]

Row groups of 100,000 rows, snappy compression, the categorical columns dictionary-encoded (pyarrow's defaults).
"""

import sys
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

source = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / ".cache" / "scale-1000000.csv")
table = pacsv.read_csv(source)
target = source.with_suffix(".parquet")
pq.write_table(table, target, row_group_size=100_000)
print(f"wrote {target}: {table.num_rows} rows, {table.num_columns} columns, {target.stat().st_size} bytes")
