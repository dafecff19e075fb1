"""
=====================================================
Uncertainty methods side by side on a 1-D toy problem
=====================================================

skens has several ways of getting many predictions out of neural networks:
independent networks (a deep ensemble), dropout samples, snapshots along a
learning-rate schedule, samples of a posterior over the weights (SG-MCMC and
SWAG), a network predicting a distribution over Gaussians (evidential
regression) and heads on a shared trunk. Every one of them predicts a mean and
a standard deviation with ``predict(X, return_std=True)`` and splits the
variance into an aleatoric and an epistemic part with ``predict_uncertainty``.

A 1-D toy problem shows what each method does where it has no data: the
training inputs lie in ``[-3, -1]`` and ``[1, 3]``, and the predictions are
drawn on ``[-5, 5]``, across the gap and beyond both ends. The printed table
gives the held-out Gaussian NLL and 90% interval coverage, on fresh points from
the training range, and the fit time of each method.
"""

# %%
# The data
# --------
# ``y = x sin(x)`` plus Gaussian noise whose standard deviation grows with
# ``|x|`` (from 0.15 to 0.45), so there is aleatoric uncertainty to learn
# too. The default input scaling of skens is a quantile transform, which maps
# every input beyond the training range onto its edge; a standard scaling
# without periodic embedding lets the networks extrapolate instead, which is
# what this picture is about.
import time

import matplotlib.pyplot as plt
import numpy as np

from skens import (
    DeepEnsembleRegressor,
    EvidentialRegressor,
    MCDropoutRegressor,
    MultiHeadRegressor,
    SGMCMCRegressor,
    SnapshotEnsembleRegressor,
    SWAGRegressor,
)
from skens.metrics import gaussian_nll_loss, interval_coverage_score

rng = np.random.default_rng(0)


def sample(n):
    x = rng.uniform(1, 3, n) * rng.choice([-1, 1], n)
    noise = 0.15 * np.abs(x)
    return x.reshape(-1, 1), x * np.sin(x) + noise * rng.standard_normal(n)


X_train, y_train = sample(256)
X_test, y_test = sample(1000)
X_grid = np.linspace(-5, 5, 401).reshape(-1, 1)

# %%
# The methods
# -----------
# All use the same small network (two hidden layers of 64 units) and seed.
# What their members are:
#
# - single network: ``DeepEnsembleRegressor(n_members=1)``, one Gaussian; it
#   has no epistemic part at all.
# - deep ensemble: 8 networks trained side by side, each from its own
#   initialisation and mini-batches (by default BatchEnsemble members: one
#   shared weight matrix per layer, each member with its own rank-1 scaling
#   and biases).
# - MC dropout: 30 fixed dropout masks of one network trained with dropout.
# - snapshot ensemble: one network at the end of each of 5 cycles of a cosine
#   learning rate.
# - SG-MCMC: 4 Langevin chains (pSGLD), 10 weight samples kept from each.
# - SWAG: 30 weight samples from a Gaussian fitted to the weights visited by
#   one network trained on at a constant learning rate.
# - evidential: one network predicting a Normal-Inverse-Gamma per point; its
#   "epistemic" variance is a predicted quantity, not a spread of members.
# - multi-head: 8 output layers on one shared trunk, each trained on its own
#   bootstrap resample.
network = dict(
    hidden_layer_sizes=(64, 64),
    numeric_scaling="standard",
    numeric_embedding=None,
    batch_size=32,
    random_state=0,
)
fitted = dict(max_epochs=100, **network)
methods = {
    "single network": DeepEnsembleRegressor(n_members=1, **fitted),
    "deep ensemble (8)": DeepEnsembleRegressor(n_members=8, **fitted),
    "MC dropout": MCDropoutRegressor(n_samples=30, dropout=0.1, **fitted),
    "snapshot ensemble": SnapshotEnsembleRegressor(n_snapshots=5, cycle_epochs=10, **network),
    "SG-MCMC": SGMCMCRegressor(n_chains=4, n_samples=10, burn_in=50, thinning=5, **network),
    "SWAG": SWAGRegressor(n_samples=30, swa_epochs=20, **fitted),
    "evidential": EvidentialRegressor(**fitted),
    "multi-head (8)": MultiHeadRegressor(n_heads=8, **fitted),
}

# %%
# Fit, and score on held-out points
# ---------------------------------
# The held-out points come from the training range only: NLL and coverage
# say nothing about the gap or the far ends, where only the figure below
# shows the differences.
print(f"{'method':>18}  {'NLL':>6}  {'90% cov.':>8}  {'fit s':>6}")
for name, model in methods.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    mean, std = model.predict(X_test, return_std=True)
    nll = gaussian_nll_loss(y_test, mean, std)
    coverage = interval_coverage_score(y_test, mean - 1.645 * std, mean + 1.645 * std)
    print(f"{name:>18}  {nll:6.3f}  {coverage:8.1%}  {seconds:6.1f}")

# %%
# Predictions inside and outside the training range
# -------------------------------------------------
# Light band: mean ± 2 standard deviations of the whole predictive
# distribution. Dark band: ± 2 epistemic standard deviations alone (the
# members' disagreement, or the evidential network's own estimate). Dashed:
# the noise-free function. Grey: the training range.
fig, axes = plt.subplots(2, 4, figsize=(13, 6), sharex=True, sharey=True)
for ax, (name, model) in zip(axes.ravel(), methods.items()):
    mean, std = model.predict(X_grid, return_std=True)
    epistemic = np.sqrt(model.predict_uncertainty(X_grid).epistemic)
    x = X_grid.ravel()
    for low, high in [(-3, -1), (1, 3)]:
        ax.axvspan(low, high, color="0.93", zorder=0)
    ax.fill_between(x, mean - 2 * std, mean + 2 * std, color="C0", alpha=0.25, lw=0)
    ax.fill_between(x, mean - 2 * epistemic, mean + 2 * epistemic, color="C0", alpha=0.5, lw=0)
    ax.plot(x, x * np.sin(x), "k--", lw=1)
    ax.plot(x, mean, color="C0", lw=1.5)
    ax.scatter(X_train.ravel(), y_train, s=3, color="k", alpha=0.4)
    inside = (np.abs(x) >= 1) & (np.abs(x) <= 3)
    ax.set_title(
        f"{name}\nepistemic std in/out {epistemic[inside].mean():.2f}/"
        f"{epistemic[~inside].mean():.2f}",
        fontsize=9,
    )
axes[0, 0].set_ylim(-8, 8)
fig.tight_layout()
plt.show()

# %%
# What to expect
# --------------
# This is one toy problem, one seed and small networks trained briefly; change
# ``random_state`` and the numbers move. In the table, the single network is
# as good as any method inside the training range: the methods differ in what
# they say where there is no data, which held-out points from that range do
# not test. The snapshot ensemble and SG-MCMC train for a fixed number of
# epochs (50 and 100 here, without early stopping) and fit the peaks less
# closely, which shows in their NLL.
#
# In the figure, the single network has no epistemic part: its band is the
# noise it learned, extrapolated. The members of the deep ensemble, the
# dropout samples, the snapshots and the SG-MCMC chains disagree more in the
# gap and beyond the ends than on the data (the "in/out" numbers: mean
# epistemic std on the training range and off it). The heads on a shared
# trunk disagree less, as expected of members that share all hidden layers;
# the SWAG samples, drawn from 20 epochs at a tenth of the training learning
# rate, hardly differ at all (``swa_lr`` and ``swa_epochs`` set their spread). The
# evidential network's epistemic variance is not a spread of members but an
# output of the network; here it grows off the data, but nothing in its
# training guarantees that.
#
# Which method to use on real tables is a question for the benchmark
# (``benchmarks/bench_uncertainty_methods.py``, results in
# ``doc/benchmarks.md``: 24 tables, two seeds); the user guide
# ``doc/user_guide/uncertainty_methods.md`` describes the methods and sums the
# benchmark up.
