"""The peers of bench/drift.ts on the same windows: Evidently, NannyML and SciPy.

Usage (bench/drift.ts runs it):
    python drift_peers.py <cache dir> <repeats> <exact window sizes> <binned window sizes> (sizes comma-separated)
Reads drift-{reference,current,sample}.f64 (raw little-endian float64) and prints JSON:
{"versions": "...", "rows": [{tool, kind, what, rows, wall, cpu, value}]}, times being the minimum over the repeats after
a warm-up, wall clock and process CPU time. Needs evidently, nannyml, scipy, numpy, pandas.
"""

import json
import os
import sys
import time
import warnings

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML would post usage statistics otherwise
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
from scipy.stats import ks_2samp, wasserstein_distance  # noqa: E402

cache, repeat = sys.argv[1], int(sys.argv[2])
exact_sizes = [int(s) for s in sys.argv[3].split(",")]
sizes = [int(s) for s in sys.argv[4].split(",")]


def load(name):
    return np.fromfile(os.path.join(cache, f"drift-{name}.f64"), dtype="<f8")


reference, current_all, sample = load("reference"), load("current"), load("sample")
rows = []


def timed(tool, kind, what, n, fn):
    value = fn()  # warm-up, as for ours
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        value = fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    rows.append({"tool": tool, "kind": kind, "what": what, "rows": n, "wall": wall, "cpu": cpu, "value": value})


versions = [f"Python {sys.version.split()[0]}", f"numpy {np.__version__}", f"pandas {pd.__version__}", f"scipy {scipy.__version__}"]

for n in exact_sizes:
    small = current_all[:n]
    timed("SciPy", "exact", "ks_2samp, exact p-value", n, lambda: "ks {:.6f} p {:.6f}".format(*ks_2samp(sample, small)[:2]))
    timed("SciPy", "exact", "wasserstein_distance", n, lambda: f"w {wasserstein_distance(sample, small):.6f}")
for n in sizes:
    if n > max(exact_sizes):
        current = current_all[:n]
        timed("SciPy", "binned", "ks_2samp against the whole reference, asymptotic p", n, lambda: f"ks {ks_2samp(reference, current).statistic:.6f}")

try:
    import evidently
    from evidently import Report
    from evidently.legacy.calculations.stattests import ks_stat_test, psi_stat_test, wasserstein_stat_test
    from evidently.legacy.core import ColumnType
    from evidently.metrics import ValueDrift

    versions.append(f"evidently {evidently.__version__}")
    ref_df = pd.DataFrame({"x": reference})
    for n in sizes:
        cur_df = pd.DataFrame({"x": current_all[:n]})
        for method in ["psi", "wasserstein", "jensenshannon", "ks"]:

            def report(method=method, cur_df=cur_df):
                result = Report([ValueDrift(column="x", method=method)]).run(cur_df, ref_df)
                return f"{method} {float(result.dict()['metrics'][0]['value']):.6g}"

            timed("Evidently", "binned", f"Report([ValueDrift(method='{method}')]).run", n, report)
        for test in [psi_stat_test, wasserstein_stat_test]:

            def stattest(test=test, cur_df=cur_df):
                value, _ = test.func(ref_df.x, cur_df.x, ColumnType.Numerical, test.default_threshold)
                return f"{test.name} {float(value):.6g}"

            timed("Evidently", "binned", f"stattest function {test.name} alone (no report)", n, stattest)
    sref = pd.Series(sample)
    for n in exact_sizes:
        ssmall = pd.Series(current_all[:n])
        for test in [ks_stat_test, wasserstein_stat_test]:

            def exact(test=test, ssmall=ssmall):
                value, _ = test.func(sref, ssmall, ColumnType.Numerical, test.default_threshold)
                return f"{test.name} {float(value):.6g}"

            timed("Evidently", "exact", f"stattest function {test.name} (SciPy inside)", n, exact)
except ImportError as error:
    print(f"evidently not available: {error}", file=sys.stderr)

try:
    import nannyml as nml

    versions.append(f"nannyml {nml.__version__}")
    methods = ["kolmogorov_smirnov", "jensen_shannon", "wasserstein"]
    ref_df = pd.DataFrame({"x": reference})
    fitted = {}

    def fit():
        fitted["calc"] = nml.UnivariateDriftCalculator(column_names=["x"], continuous_methods=methods, chunk_number=1).fit(ref_df)
        return "fit"

    timed("NannyML", "build", "UnivariateDriftCalculator.fit (its reference build)", len(reference), fit)
    for n in sizes:
        cur_df = pd.DataFrame({"x": current_all[:n]})

        def calculate(cur_df=cur_df):
            result = fitted["calc"].calculate(cur_df).to_df()  # first row: the reference, last: the window
            return f"ks {float(result[('x', 'kolmogorov_smirnov', 'value')].iloc[-1]):.6f}"

        timed("NannyML", "binned", "calculate: KS (binned) + Jensen-Shannon + Wasserstein", n, calculate)
    exact_calc = nml.UnivariateDriftCalculator(
        column_names=["x"],
        continuous_methods=["kolmogorov_smirnov", "wasserstein"],
        chunk_number=1,
        computation_params={"kolmogorov_smirnov": {"calculation_method": "exact"}, "wasserstein": {"calculation_method": "exact"}},
    ).fit(pd.DataFrame({"x": sample}))
    for n in exact_sizes:
        ssmall = pd.DataFrame({"x": current_all[:n]})
        timed(
            "NannyML",
            "exact",
            "calculate: KS + Wasserstein, exact",
            n,
            lambda ssmall=ssmall: f"ks {float(exact_calc.calculate(ssmall).to_df()[('x', 'kolmogorov_smirnov', 'value')].iloc[-1]):.6f}",
        )
except ImportError as error:
    print(f"nannyml not available: {error}", file=sys.stderr)

print(json.dumps({"versions": ", ".join(versions), "rows": rows}))
