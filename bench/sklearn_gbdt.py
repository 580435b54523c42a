"""scikit-learn and LightGBM peers for bench/gbdt.ts.

Trains HistGradientBoostingClassifier on the same rows as Slipway's GBDT (bench/.cache/<name>-split.json, written
by bench/datasets.ts) with matched settings: learning_rate, max_leaf_nodes, max_iter, max_bins=255,
l2_regularization, min_samples_leaf, early stopping off, and the categorical columns declared categorical (native
category splits). Prints one JSON object: test AUC, fit time (median and minimum of --repeat runs, wall and process CPU) and
ru_maxrss after loading and after fitting.

Usage: python3 bench/sklearn_gbdt.py --datasets elec2,adult,scale [--repeat 5] [--library sklearn|lightgbm]
Thread count: OpenMP's default (all cores) unless OMP_NUM_THREADS is set (LightGBM: num_threads from it too).
LightGBM gets the same settings under its names: num_leaves, n_estimators, max_bin, min_child_samples,
reg_lambda, min_child_weight (= min_hessian_to_split), no bagging or feature sampling, pandas categories as its
categorical features. "scale" is bench/.cache/scale-1000000.csv (bench/scale-data.ts).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

BENCH = Path(__file__).resolve().parent
DATASETS = BENCH.parent / "datasets"
SPECS = {
    "elec2": (DATASETS / "electricity.csv", "class", "1"),
    "adult": (DATASETS / "adult.csv", "income", ">50K"),
    "scale": (BENCH / ".cache" / "scale-1000000.csv", "label", "1"),
}


def max_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(name: str):
    file, target, positive = SPECS[name]
    # keep_default_na=False: an empty cell is missing, a literal "NA" string is a category (as in bench/datasets.ts).
    frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
    y = (frame[target] == positive).astype(np.int8).to_numpy()
    x = frame.drop(columns=[target])
    categorical = []
    for column in x.columns:
        converted = pd.to_numeric(x[column], errors="coerce")
        if converted.notna().sum() == x[column].notna().sum():
            x[column] = converted.astype(np.float64)
        else:
            # Sorted categories, as bench/datasets.ts codes them; HistGradientBoosting bins categories by code.
            x[column] = pd.Categorical(x[column], categories=sorted(x[column].dropna().unique()))
            categorical.append(column)
    split = json.loads((BENCH / ".cache" / f"{name}-split.json").read_text())
    train, test = np.array(split["train"]), np.array(split["test"])
    return x.iloc[train], y[train], x.iloc[test], y[test], categorical


def make_model(library: str, params: dict):
    if library == "lightgbm":
        import lightgbm

        threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        return lightgbm.LGBMClassifier(
            objective="binary",
            learning_rate=params["learning_rate"],
            n_estimators=params["max_iter"],
            num_leaves=params["max_leaf_nodes"],
            max_bin=params["max_bins"],
            min_child_samples=params["min_samples_leaf"],
            reg_lambda=params["l2_regularization"],
            min_child_weight=1e-3,
            subsample=1.0,
            colsample_bytree=1.0,
            n_jobs=threads if threads > 0 else None,
            random_state=0,
            verbose=-1,
        )
    return HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0, **params)


def run(name: str, repeat: int, params: dict, library: str) -> dict:
    x_train, y_train, x_test, y_test, categorical = load(name)
    rss_loaded = max_rss_mib()
    walls, cpus, model = [], [], None
    # The 1M-row set is fitted once (as bench/gbdt.ts fits ours once on it).
    for _ in range(1 if len(y_train) > 200_000 else repeat):
        model = make_model(library, params)
        wall, cpu = time.perf_counter(), time.process_time()
        model.fit(x_train, y_train)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    auc = roc_auc_score(y_test, model.predict_proba(x_test)[:, 1])
    return {
        "dataset": name,
        "rows": {"train": len(y_train), "test": len(y_test)},
        "categorical": categorical,
        "auc": auc,
        "iterations": int(model.n_iter_) if hasattr(model, "n_iter_") else int(model.n_estimators_),
        "fit_wall_s": statistics.median(walls),
        "fit_cpu_s": statistics.median(cpus),
        "fit_wall_min_s": min(walls),
        "fit_cpu_min_s": min(cpus),
        "max_rss_loaded_mib": rss_loaded,
        "max_rss_mib": max_rss_mib(),
    }


def version(library: str) -> str:
    if library == "lightgbm":
        import lightgbm

        return lightgbm.__version__
    return sklearn.__version__


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="elec2,adult")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--library", default="sklearn", choices=["sklearn", "lightgbm"])
    args = parser.parse_args()
    params = {
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "max_bins": 255,
        "l2_regularization": 0.0,
        "min_samples_leaf": 20,
        "early_stopping": False,
        **json.loads(args.params),
    }
    results = [run(name, args.repeat, params, args.library) for name in args.datasets.split(",")]
    print(
        json.dumps(
            {
                "library": args.library,
                "version": version(args.library),
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "default"),
                "params": params,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
