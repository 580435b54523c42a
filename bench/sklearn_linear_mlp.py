"""scikit-learn peer for bench/linear-mlp.ts.

Trains LogisticRegression and MLPClassifier on the same rows (bench/.cache/<name>-split.json, written by
bench/datasets.ts) with the same preprocessing as Slipway's built-in trainers: numeric columns get median
imputation (plus a missing indicator where training had missing values) and standardization, categorical columns
get one-hot encoding learned on the training rows (unseen categories -> all zeros). Prints one JSON object.

Usage: python3 bench/sklearn_linear_mlp.py [--datasets elec2,adult] [--trainers logistic_regression,mlp] [--seed 1]
       [--mlp-json '{"max_iter": 200}']
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

BENCH = Path(__file__).resolve().parent
DATASETS = BENCH.parent / "datasets"
SPECS = {
    "elec2": ("electricity.csv", "class", "1"),
    "adult": ("adult.csv", "income", ">50K"),
}


def load(name: str):
    file, target, positive = SPECS[name]
    # keep_default_na=False: an empty cell is missing, a literal "NA" string is a category (as in bench/datasets.ts).
    frame = pd.read_csv(DATASETS / file, dtype=str, keep_default_na=False, na_values=[""])
    y = (frame[target] == positive).astype(np.int8).to_numpy()
    x = frame.drop(columns=[target])
    numeric, categorical = [], []
    for column in x.columns:
        converted = pd.to_numeric(x[column], errors="coerce")
        if converted.notna().sum() == x[column].notna().sum():
            x[column] = converted.astype(np.float64)
            numeric.append(column)
        else:
            categorical.append(column)
    split = json.loads((BENCH / ".cache" / f"{name}-split.json").read_text())
    train, test = np.array(split["train"]), np.array(split["test"])
    return x.iloc[train], y[train], x.iloc[test], y[test], numeric, categorical


def preprocessor(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )


def run(name: str, seed: int, mlp_params: dict, trainers: list[str]) -> list[dict]:
    x_train, y_train, x_test, y_test, numeric, categorical = load(name)
    results = []
    models = {
        "logistic_regression/newton-cholesky": LogisticRegression(C=1.0, max_iter=100, tol=1e-4, solver="newton-cholesky"),
        "logistic_regression/lbfgs": LogisticRegression(C=1.0, max_iter=100, tol=1e-4, solver="lbfgs"),
        "mlp": MLPClassifier(
            **{
                "hidden_layer_sizes": (100,),
                "activation": "relu",
                "alpha": 1e-4,
                "batch_size": 200,
                "learning_rate_init": 1e-3,
                "max_iter": 200,
                "tol": 1e-4,
                "n_iter_no_change": 10,
                "random_state": seed,
                **mlp_params,
            }
        ),
    }
    for trainer, model in models.items():
        if trainer.split("/")[0] not in trainers:
            continue
        prep = preprocessor(numeric, categorical)
        start, cpu_start = time.perf_counter(), time.process_time()
        features = prep.fit_transform(x_train)
        model.fit(features, y_train)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        proba = model.predict_proba(prep.transform(x_test))[:, 1]
        results.append(
            {
                "dataset": name,
                "trainer": trainer,
                "auc": float(roc_auc_score(y_test, proba)),
                "train_seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "iterations": int(np.max(model.n_iter_)),
                "width": int(features.shape[1]),
            }
        )
    return results


def main() -> None:
    # MLPClassifier warns when it reaches max_iter; the iteration count in the output says so already.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", default="elec2,adult")
    parser.add_argument("--trainers", default="logistic_regression,mlp")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mlp-json", default="{}", help="overrides for MLPClassifier, as JSON")
    args = parser.parse_args()
    mlp_params = json.loads(args.mlp_json)
    if "hidden_layer_sizes" in mlp_params:
        mlp_params["hidden_layer_sizes"] = tuple(mlp_params["hidden_layer_sizes"])
    results = [r for name in args.datasets.split(",") for r in run(name, args.seed, mlp_params, args.trainers.split(","))]
    versions = {"python": sys.version.split()[0], "sklearn": sklearn.__version__, "numpy": np.__version__}
    print(json.dumps({"versions": versions, "results": results}))


if __name__ == "__main__":
    main()
