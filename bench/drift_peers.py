"""The peers of bench/drift.ts on the same windows: Evidently, NannyML and SciPy.

Usage (bench/drift.ts runs it): python drift_peers.py <cache dir> <repeats> <exact rows>
Reads drift-{reference,current,sample,current-small}.f64 (raw little-endian float64) and prints JSON:
{"versions": "...", "rows": [{tool, what, rows, wall_min, wall_median, cpu_min, value}]}.
Needs evidently, nannyml, scipy, numpy, pandas (bench/results/drift.md has the versions used).
"""

import json
import os
import statistics
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy
from scipy.stats import ks_2samp, wasserstein_distance

warnings.filterwarnings("ignore")
cache, repeat, exact_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def load(name):
    return np.fromfile(os.path.join(cache, f"drift-{name}.f64"), dtype="<f8")


reference, current = load("reference"), load("current")
sample, small = load("sample"), load("current-small")
rows = []


def timed(tool, what, n, fn):
    value = fn()  # warm-up, as for ours
    wall, cpu = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        value = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    rows.append(
        {
            "tool": tool,
            "what": what,
            "rows": n,
            "wall_min": min(wall),
            "wall_median": statistics.median(wall),
            "cpu_min": min(cpu),
            "value": value,
        }
    )


versions = [f"Python {sys.version.split()[0]}", f"numpy {np.__version__}", f"pandas {pd.__version__}", f"scipy {scipy.__version__}"]

# SciPy on the exact window: the definitions our exact path implements.
timed("SciPy", "ks_2samp (exact p-value)", exact_rows, lambda: f"D {ks_2samp(sample, small).statistic:.6f} p {ks_2samp(sample, small).pvalue:.4e}")
timed("SciPy", "wasserstein_distance", exact_rows, lambda: f"w {wasserstein_distance(sample, small):.6f}")
timed("SciPy", "ks_2samp on the full windows (asymptotic p)", len(current), lambda: f"D {ks_2samp(reference, current).statistic:.6f}")

try:
    import evidently
    from evidently import Report
    from evidently.legacy.calculations.stattests import (
        jensenshannon_stat_test,
        ks_stat_test,
        psi_stat_test,
        wasserstein_stat_test,
    )
    from evidently.legacy.core import ColumnType
    from evidently.metrics import ValueDrift

    versions.append(f"evidently {evidently.__version__}")
    ref_df, cur_df = pd.DataFrame({"x": reference}), pd.DataFrame({"x": current})
    for method in ["psi", "jensenshannon", "wasserstein", "ks"]:

        def report(method=method):
            result = Report([ValueDrift(column="x", method=method)]).run(cur_df, ref_df)
            return f"{method} {float(result.dict()['metrics'][0]['value']):.6g}"

        timed("Evidently", f"Report([ValueDrift(method='{method}')]).run", len(current), report)
    for test in [psi_stat_test, jensenshannon_stat_test, wasserstein_stat_test, ks_stat_test]:

        def stattest(test=test):
            value, _ = test.func(ref_df.x, cur_df.x, ColumnType.Numerical, test.default_threshold)
            return f"{test.name} {float(value):.6g}"

        timed("Evidently", f"stattest function {test.name} (no report)", len(current), stattest)
    sref, ssmall = pd.Series(sample), pd.Series(small)
    for test in [ks_stat_test, wasserstein_stat_test]:

        def exact(test=test):
            value, _ = test.func(sref, ssmall, ColumnType.Numerical, test.default_threshold)
            return f"{test.name} {float(value):.6g}"

        timed("Evidently", f"stattest function {test.name}, exact window", exact_rows, exact)
except ImportError as error:
    print(f"evidently not available: {error}", file=sys.stderr)

try:
    import nannyml as nml

    versions.append(f"nannyml {nml.__version__}")
    methods = ["kolmogorov_smirnov", "jensen_shannon", "wasserstein"]
    ref_df = pd.DataFrame({"x": reference})
    cur_df = pd.DataFrame({"x": current})
    fitted = {}

    def fit():
        fitted["calc"] = nml.UnivariateDriftCalculator(column_names=["x"], continuous_methods=methods, chunk_number=1).fit(ref_df)
        return "fit"

    timed("NannyML", f"UnivariateDriftCalculator.fit, {len(reference):,} rows (its reference build)", len(reference), fit)

    def calculate():
        result = fitted["calc"].calculate(cur_df).to_df()
        ks = result[("x", "kolmogorov_smirnov", "value")].iloc[0]
        return f"ks {float(ks):.6f}"

    timed("NannyML", "calculate: KS (binned) + Jensen-Shannon + Wasserstein", len(current), calculate)
    sref, ssmall = pd.DataFrame({"x": sample}), pd.DataFrame({"x": small})
    exact_calc = nml.UnivariateDriftCalculator(
        column_names=["x"],
        continuous_methods=["kolmogorov_smirnov", "wasserstein"],
        chunk_number=1,
        computation_params={"kolmogorov_smirnov": {"calculation_method": "exact"}, "wasserstein": {"calculation_method": "exact"}},
    ).fit(sref)
    timed(
        "NannyML",
        "calculate: KS + Wasserstein, exact window",
        exact_rows,
        lambda: f"ks {float(exact_calc.calculate(ssmall).to_df()[('x', 'kolmogorov_smirnov', 'value')].iloc[0]):.6f}",
    )
except ImportError as error:
    print(f"nannyml not available: {error}", file=sys.stderr)

print(json.dumps({"versions": ", ".join(versions), "rows": rows}))
