# Python peers of bench/ml-data-pipeline.ts on the same inputs: pandas.read_csv (one pass with type inference),
# scikit-learn's roc_auc_score + log_loss + brier_score_loss, and the resampling loop a Python user would write for
# a paired bootstrap. Run: python3 bench/ml-data-pipeline-peer.py
import os
import statistics
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

DATASETS = os.path.join(os.path.dirname(__file__), '..', 'datasets')


def timed(runs, body):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        body()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def scored(n, seed=12345):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.uint8)
    a = 1 / (1 + np.exp(-(2 * y - 1 + (rng.random(n) - 0.5) * 4)))
    b = 1 / (1 + np.exp(-(1.5 * y - 0.75 + (rng.random(n) - 0.5) * 4)))
    return y, a, b


print(f'pandas {pd.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}')
for name in ['adult.csv', 'electricity.csv']:
    path = os.path.join(DATASETS, name)
    mb = os.path.getsize(path) / 1e6
    ms = timed(3, lambda: pd.read_csv(path))
    print(f'{name}: pandas.read_csv {ms:.0f} ms ({mb / (ms / 1000):.1f} MB/s)')

y, a, _ = scored(1_000_000)
ms = timed(3, lambda: (roc_auc_score(y, a), log_loss(y, a), brier_score_loss(y, a)))
print(f'roc_auc_score + log_loss + brier_score_loss on 1,000,000 rows: {ms:.0f} ms')

y, a, b = scored(13_594)


def bootstrap(metrics):
    rng = np.random.default_rng(42)
    n = len(y)
    for _ in range(1000):
        idx = rng.integers(0, n, n)
        for metric in metrics:
            metric(y[idx], a[idx]) - metric(y[idx], b[idx])


ms = timed(1, lambda: bootstrap([roc_auc_score, log_loss, brier_score_loss]))
print(f'paired bootstrap loop, 13,594 rows, 1000 resamples, AUC + log loss + Brier: {ms:.0f} ms')
ms = timed(1, lambda: bootstrap([roc_auc_score]))
print(f'paired bootstrap loop, 13,594 rows, 1000 resamples, AUC only: {ms:.0f} ms')
