"""Python peers of bench/ingest.ts: pandas.read_csv (C engine), pyarrow.csv.read_csv, pandas.read_parquet and
pyarrow.parquet.read_table on the same files. Prints one JSON object: per file and reader, wall seconds of each
repeat and the process's peak RSS after all of them.

Usage: python3 bench/ingest_peer.py --repeat 5 FILE [FILE...]   (.csv or .parquet)
"""

import argparse
import json
import resource
import time

import pandas as pd
import pyarrow
import pyarrow.csv as pacsv
import pyarrow.parquet as pq


def timed(repeat, body):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    out = {"pandas": pd.__version__, "pyarrow": pyarrow.__version__, "cpu_count": pyarrow.cpu_count(), "results": []}
    for path in args.files:
        if path.endswith(".parquet"):
            readers = {
                "pandas.read_parquet": lambda: pd.read_parquet(path),
                "pyarrow.parquet.read_table": lambda: pq.read_table(path),
            }
        else:
            readers = {
                "pandas.read_csv (C engine)": lambda: pd.read_csv(path, engine="c"),
                "pyarrow.csv.read_csv": lambda: pacsv.read_csv(path),
            }
        for name, body in readers.items():
            out["results"].append({"file": path, "reader": name, "seconds": timed(args.repeat, body)})
    out["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


if __name__ == "__main__":
    main()
