"""
================================================
Small tables: HyperTab and EnsLoss next to trees
================================================

With a hundred training rows, a network can overfit, stop before it has
learned anything, or be beaten by a linear model. HyperTab
(``HyperTabClassifier``) trains many small networks on random feature subsets
through one hypernetwork; EnsLoss (``EnsLossClassifier``) trains each member
on a new random margin loss at every step. Here both, the default deep
ensemble, logistic regression and a random forest learn the breast-cancer
table from 100 rows (three draws of the rows), and we compare their log loss
on the rest. One table and three draws: an illustration, not a verdict (the
benchmark is ``benchmarks/bench_small_data.py``).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skens import DeepEnsembleClassifier, EnsLossClassifier, HyperTabClassifier

X, y = load_breast_cancer(return_X_y=True)


def models(seed):
    """The contenders, each seeded by ``seed``."""
    return {
        "logistic regression": make_pipeline(StandardScaler(), LogisticRegression()),
        "random forest": RandomForestClassifier(n_estimators=200, random_state=seed),
        "deep ensemble": DeepEnsembleClassifier(random_state=seed),
        # Its default, vectorised training: every mask in one step per batch (the
        # paper's procedure, training='sequential', takes 100x the steps).
        "HyperTab": HyperTabClassifier(random_state=seed),
        "EnsLoss": EnsLossClassifier(random_state=seed),
    }


# %%
# Three draws of 100 training rows
# --------------------------------
losses = {name: [] for name in models(0)}
seconds = {name: 0.0 for name in models(0)}
for seed in range(3):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, train_size=100, stratify=y, random_state=seed
    )
    for name, model in models(seed).items():
        start = time.perf_counter()
        proba = model.fit(X_train, y_train).predict_proba(X_test)
        seconds[name] += time.perf_counter() - start
        losses[name].append(log_loss(y_test, proba))

for name, values in losses.items():
    print(f"{name:20s} log loss {np.mean(values):.3f} ± {np.std(values):.3f}  "
          f"({seconds[name] / 3:.1f} s per fit)")

# %%
# Log loss per draw
# -----------------
# Each line is one model; each point one draw of the 100 training rows.
# Whether HyperTab or EnsLoss beat the trees on small tables in general is a
# question for the benchmark (``doc/benchmarks.md``) and the user guide
# (``doc/user_guide/small_data.md``).
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, values in losses.items():
    ax.plot(range(3), values, marker="o", label=name)
ax.set_xticks(range(3))
ax.set_xlabel("draw of the 100 training rows (seed)")
ax.set_ylabel("test log loss")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
