#!/usr/bin/env python3
"""A Slipway `command` trainer in Python with scikit-learn (see docs/trainer-contract.md).

Reads the job file named by $SLIPWAY_JOB, trains a linear model (SGDClassifier, log loss) or a small MLP one epoch
at a time with `partial_fit`, prints a `SLIPWAY_PROGRESS {json}` line and writes a checkpoint after each epoch, and
exports the fitted preprocessing + model to out/model.onnx under the Slipway ONNX contract. A retry continues from
the checkpoint the job names in `resumeFrom`.

Exit codes: 0 done, 64 bad input (params or data; Slipway does not retry), anything else a failure worth retrying.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any, NoReturn

USAGE_EXIT = 64
PROGRESS_PREFIX = "SLIPWAY_PROGRESS "
CHECKPOINT_FORMAT = 1
# Raw categorical values that mean "missing" arrive as "" (the contract); they become a category of their own.
MISSING_CATEGORY = "(missing)"


def refuse(message: str) -> NoReturn:
    """Bad input: one clear line on stderr and exit 64, so the run fails at once instead of retrying."""
    print(f"train.py: {message}", file=sys.stderr, flush=True)
    sys.exit(USAGE_EXIT)


# ---------------------------------------------------------------------------------------------------------------
# The job and its params
# ---------------------------------------------------------------------------------------------------------------

PARAM_DEFAULTS: dict[str, Any] = {
    "model": "sgd",
    "epochs": 20,
    "alpha": 1e-4,
    "learningRate": None,
    "hiddenLayerSizes": [32],
    "batchSize": 256,
}


def _int(params: dict[str, Any], key: str, low: int, high: int) -> int:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        refuse(f"params.{key}: expected an integer from {low} to {high}, got {json.dumps(value)}")
    return value


def _positive(params: dict[str, Any], key: str) -> float:
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        refuse(f"params.{key}: expected a number > 0, got {json.dumps(value)}")
    return float(value)


def parse_params(raw: Any) -> dict[str, Any]:
    """Validates the spec's `trainer.params` and fills defaults; refuses (exit 64) naming the bad field."""
    if not isinstance(raw, dict):
        refuse(f"params: expected an object, got {json.dumps(raw)}")
    unknown = sorted(set(raw) - set(PARAM_DEFAULTS))
    if unknown:
        refuse(f"params.{unknown[0]}: unknown parameter (expected one of {', '.join(sorted(PARAM_DEFAULTS))})")
    params = {**PARAM_DEFAULTS, **raw}
    if params["model"] not in ("sgd", "mlp"):
        refuse(f'params.model: expected "sgd" or "mlp", got {json.dumps(params["model"])}')
    for key in ("hiddenLayerSizes", "batchSize"):
        if key in raw and params["model"] != "mlp":
            refuse(f'params.{key}: applies to model "mlp" only (model is {json.dumps(params["model"])})')
    params["epochs"] = _int(params, "epochs", 1, 10_000)
    params["alpha"] = _positive(params, "alpha")
    if params["learningRate"] is not None:
        params["learningRate"] = _positive(params, "learningRate")
    params["batchSize"] = _int(params, "batchSize", 1, 1_000_000)
    layers = params["hiddenLayerSizes"]
    if (
        not isinstance(layers, list)
        or not layers
        or any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 4096 for n in layers)
    ):
        refuse(f"params.hiddenLayerSizes: expected a non-empty list of integers from 1 to 4096, got {json.dumps(layers)}")
    return params


def load_job() -> dict[str, Any]:
    path = os.environ.get("SLIPWAY_JOB")
    if not path:
        refuse("SLIPWAY_JOB is not set: run me through Slipway's command trainer (see docs/trainer-contract.md)")
    try:
        job = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        refuse(f"cannot read the job file {path}: {error}")
    for key in ("target", "features", "train", "test", "outputDir"):
        if key not in job:
            refuse(f"job file {path}: missing field {key}")
    if not job["features"]:
        refuse("the dataset has no feature columns")
    for feature in job["features"]:
        if feature.get("kind") not in ("numeric", "categorical"):
            refuse(f'feature {feature.get("name")}: kind must be numeric or categorical, got {feature.get("kind")}')
    return job


# ---------------------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------------------


def read_split(path: str, job: dict[str, Any]):
    """Reads train.csv / test.csv: numeric columns as float64 (empty = NaN), categorical as str (empty = "")."""
    import numpy as np
    import pandas as pd

    # No NA guessing: "NA" or "null" may be real categories; only an empty field is missing.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    names = [f["name"] for f in job["features"]]
    missing = [n for n in [*names, job["target"]] if n not in frame.columns]
    if missing:
        refuse(f"{os.path.basename(path)} has no column {missing[0]}")
    columns: dict[str, Any] = {}
    for feature in job["features"]:
        values = frame[feature["name"]]
        if feature["kind"] == "numeric":
            columns[feature["name"]] = pd.to_numeric(values.replace("", None), errors="coerce").astype("float64")
        else:
            # object dtype: what scikit-learn's encoders and skl2onnx's string converters expect.
            columns[feature["name"]] = values.astype(object)
    X = pd.DataFrame(columns, columns=names)
    y = pd.to_numeric(frame[job["target"]], errors="coerce").to_numpy()
    if not np.isin(y, (0, 1)).all():
        refuse(f"{os.path.basename(path)}: the label column {job['target']} must hold 0/1 only")
    return X, y.astype(np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------


def build_preprocessor(job: dict[str, Any]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [f["name"] for f in job["features"] if f["kind"] == "numeric"]
    categorical = [f["name"] for f in job["features"] if f["kind"] == "categorical"]
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric))
    if categorical:
        # Missing is its own category; a category never seen in training (or "" when training had none) one-hot
        # encodes as all zeros instead of failing.
        parts.append((
            "categorical",
            Pipeline([
                ("impute", SimpleImputer(missing_values="", strategy="constant", fill_value=MISSING_CATEGORY)),
                ("onehot", OneHotEncoder(handle_unknown="ignore")),
            ]),
            categorical,
        ))
    return ColumnTransformer(parts, remainder="drop")


def build_classifier(params: dict[str, Any], seed: int):
    from sklearn.linear_model import SGDClassifier
    from sklearn.neural_network import MLPClassifier

    if params["model"] == "sgd":
        rate = params["learningRate"]
        schedule = {"learning_rate": "optimal"} if rate is None else {"learning_rate": "adaptive", "eta0": rate}
        return SGDClassifier(loss="log_loss", alpha=params["alpha"], random_state=seed, shuffle=False, **schedule)
    return MLPClassifier(
        hidden_layer_sizes=tuple(params["hiddenLayerSizes"]),
        alpha=params["alpha"],
        batch_size=params["batchSize"],
        learning_rate_init=params["learningRate"] or 1e-3,
        random_state=seed,
        shuffle=False,
    )


def fingerprint(job: dict[str, Any], params: dict[str, Any]) -> str:
    """What a checkpoint must match to be resumed: the same features, params and seed."""
    return json.dumps({"features": job["features"], "params": params, "seed": job.get("seed", 0)}, sort_keys=True)


def load_checkpoint(path: str | None, expected: str) -> dict[str, Any] | None:
    """The state to resume from, or None to start over (no checkpoint, unreadable, or from another job)."""
    if not path:
        return None
    try:
        # The file is one this program wrote for this run; Slipway checks its sha256 before handing it back.
        with open(path, "rb") as handle:
            state = pickle.load(handle)
    except Exception as error:  # noqa: BLE001 - any unreadable checkpoint means a fresh start
        print(f"train.py: ignoring unreadable checkpoint {path}: {error}", file=sys.stderr, flush=True)
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or state.get("fingerprint") != expected:
        print(f"train.py: ignoring checkpoint {path}: it belongs to another job", file=sys.stderr, flush=True)
        return None
    return state


def write_atomically(path: Path, data: bytes) -> None:
    """Temp file then rename: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_onnx(preprocessor, classifier, job: dict[str, Any]) -> bytes:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    from sklearn.pipeline import Pipeline

    pipeline = Pipeline([("preprocess", preprocessor), ("classifier", classifier)])
    inputs = [
        (f["name"], FloatTensorType([None, 1]) if f["kind"] == "numeric" else StringTensorType([None, 1]))
        for f in job["features"]
    ]
    model = convert_sklearn(
        pipeline,
        initial_types=inputs,
        final_types=[("label", Int64TensorType([None])), ("probabilities", FloatTensorType([None, 2]))],
        options={id(classifier): {"zipmap": False}},
        target_opset={"": 18, "ai.onnx.ml": 3},
        name="slipway_sklearn",
    )
    # A fixed graph name (above) and opset order make the bytes, hence the artifact's sha256, depend on the
    # training alone: the same job exports the same file.
    imports = sorted(((o.domain, o.version) for o in model.opset_import))
    del model.opset_import[:]
    for domain, version in imports:
        model.opset_import.add(domain=domain, version=version)
    return model.SerializeToString()


def onnx_parity(onnx_bytes: bytes, X, expected) -> float | None:
    """Largest |ONNX - scikit-learn| P(class 1) on `X`, when onnxruntime is installed (else None)."""
    try:
        import numpy as np
        import onnxruntime
    except ImportError:
        return None
    session = onnxruntime.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    feeds = {}
    for item in session.get_inputs():
        column = X[item.name]
        if item.type == "tensor(string)":
            feeds[item.name] = column.to_numpy(dtype=object).reshape(-1, 1)
        else:
            feeds[item.name] = column.to_numpy(dtype=np.float32).reshape(-1, 1)
    probabilities = session.run(["probabilities"], feeds)[0]
    return float(np.max(np.abs(probabilities[:, 1] - expected)))


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def main() -> None:
    job = load_job()
    params = parse_params(job.get("params", {}))
    seed = int(job.get("seed", 0))
    every = max(1, int(job.get("checkpointEvery", 1)))
    epochs = params["epochs"]

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    # One pass per partial_fit call is the point; scikit-learn's "not converged yet" warnings would only be noise.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X_train, y_train = read_split(job["train"], job)
    X_test, y_test = read_split(job["test"], job)
    if len(np.unique(y_train)) < 2:
        refuse("the training split holds a single class: nothing to learn")

    out = Path(job["outputDir"])
    checkpoints = out / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)

    expected = fingerprint(job, params)
    state = load_checkpoint(job.get("resumeFrom"), expected)
    if state is None:
        preprocessor = build_preprocessor(job).fit(X_train)
        classifier = build_classifier(params, seed)
        done = 0
        losses: list[float] = []
    else:
        preprocessor, classifier, done, losses = state["preprocessor"], state["classifier"], state["epoch"], state["losses"]
        print(f"train.py: resuming after epoch {done} of {epochs}", file=sys.stderr, flush=True)

    resumed_after = done
    features = preprocessor.transform(X_train)
    classes = np.array([0, 1])
    for epoch in range(done + 1, epochs + 1):
        # The order of each epoch depends on the seed and the epoch alone, so a resumed run trains as a fresh one.
        order = np.random.default_rng([seed, epoch]).permutation(len(y_train))
        classifier.partial_fit(features[order], y_train[order], classes=classes)
        loss = float(log_loss(y_train, classifier.predict_proba(features), labels=classes))
        if not math.isfinite(loss):
            refuse(f"training diverged at epoch {epoch} (train loss {loss}); lower params.learningRate or raise params.alpha")
        losses.append(loss)
        progress: dict[str, Any] = {"step": epoch, "totalSteps": epochs, "trainLoss": loss}
        if epoch % every == 0 or epoch == epochs:
            path = checkpoints / f"epoch-{epoch}.pkl"
            snapshot = {
                "format": CHECKPOINT_FORMAT,
                "fingerprint": expected,
                "epoch": epoch,
                "losses": losses,
                "preprocessor": preprocessor,
                "classifier": classifier,
            }
            write_atomically(path, pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL))
            progress["checkpoint"] = f"out/checkpoints/{path.name}"
        print(PROGRESS_PREFIX + json.dumps(progress), flush=True)

    onnx_bytes = export_onnx(preprocessor, classifier, job)
    test_scores = classifier.predict_proba(preprocessor.transform(X_test))[:, 1]
    metrics: dict[str, Any] = {
        "model": params["model"],
        "epochs": epochs,
        "resumedAfterEpoch": resumed_after,
        "trainLoss": losses[-1] if losses else None,
        "testLogLoss": float(log_loss(y_test, test_scores, labels=classes)) if len(y_test) else None,
        "testAuc": float(roc_auc_score(y_test, test_scores)) if len(np.unique(y_test)) == 2 else None,
        "testAccuracy": float(accuracy_score(y_test, (test_scores >= 0.5).astype(np.int64))) if len(y_test) else None,
        "onnxParityMaxAbsDiff": onnx_parity(onnx_bytes, X_test, test_scores) if len(y_test) else None,
        # The GPU Slipway gave this job ("" on a CPU worker); a GPU framework sees only that device.
        "cudaVisibleDevices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    write_atomically(out / "model.onnx", onnx_bytes)
    write_atomically(out / "metrics.json", json.dumps(metrics, indent=2).encode("utf-8"))


if __name__ == "__main__":
    main()
