"""Trains a scikit-learn pipeline on Adult and converts it to ONNX with skl2onnx, as a model trained elsewhere.

    python3 examples/onnx-import/make_sklearn_model.py [out_dir]

Writes, in out_dir (default test/fixtures/models):
  adult-sklearn.onnx           the pipeline: one [N, 1] input per column (float for numbers, string for categories),
                               missing numbers imputed and unknown categories ignored inside the graph, and a plain
                               probability tensor (zipmap off), which is what `slipway models import` takes;
  adult-sklearn-expected.csv   scikit-learn's predict_proba on the first rows of datasets/adult.csv, so tests can
                               check that the gateway serves the same numbers without Python;
  adult-sklearn-zipmap.onnx    the same pipeline converted with skl2onnx's defaults (probabilities as a ZipMap), which
                               the import refuses with a message saying how to convert it.

Import it with:
  npx slipway models import test/fixtures/models/adult-sklearn.onnx --name adult-sklearn \\
      --reference datasets/adult.csv --target income --positive-class '>50K'
"""

import os
import sys

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NUMERIC = ["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hr_per_week"]
CATEGORICAL = ["type_employer", "education", "marital", "occupation", "relationship", "race", "sex", "country"]
EXPECTED_ROWS = 200


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "models")
    os.makedirs(out, exist_ok=True)
    # The same reading of the file Slipway does: '?' is a missing value; a missing category is the empty string.
    data = pd.read_csv(os.path.join(ROOT, "datasets", "adult.csv"), na_values=["?"], skipinitialspace=True)
    features = data[NUMERIC + CATEGORICAL].copy()
    for c in NUMERIC:
        features[c] = features[c].astype(np.float32)
    for c in CATEGORICAL:
        features[c] = features[c].fillna("").astype(str)
    labels = data["income"].astype(str)

    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("numbers", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), NUMERIC),
                        ("categories", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
                    ]
                ),
            ),
            ("classify", LogisticRegression(max_iter=2000, C=1.0)),
        ]
    )
    pipeline.fit(features, labels)

    inputs = [(c, FloatTensorType([None, 1])) for c in NUMERIC] + [(c, StringTensorType([None, 1])) for c in CATEGORICAL]
    onnx_model = to_onnx(
        pipeline,
        initial_types=inputs,
        options={id(pipeline): {"zipmap": False}},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    with open(os.path.join(out, "adult-sklearn.onnx"), "wb") as f:
        f.write(onnx_model.SerializeToString())

    zipmap = to_onnx(pipeline, initial_types=inputs, target_opset={"": 17, "ai.onnx.ml": 3})
    with open(os.path.join(out, "adult-sklearn-zipmap.onnx"), "wb") as f:
        f.write(zipmap.SerializeToString())

    head = features.head(EXPECTED_ROWS)
    probabilities = pipeline.predict_proba(head)
    positive = list(pipeline.classes_).index(">50K")
    pd.DataFrame({"row": range(len(head)), "p_positive": probabilities[:, positive]}).to_csv(
        os.path.join(out, "adult-sklearn-expected.csv"), index=False, float_format="%.9g"
    )
    print(f"classes {list(pipeline.classes_)}; wrote {out}/adult-sklearn.onnx and the expected probabilities")


if __name__ == "__main__":
    main()
