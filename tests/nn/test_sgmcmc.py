"""SG-MCMC samplers: the update rules, and the posterior they sample."""

import numpy as np
import pytest
import torch

from skens.nn import PSGLD, SGHMC, polynomial_step_size


def _quadratic_grads(w, target):
    w.grad = None
    (0.5 * (w - target).pow(2)).mean().backward()


def test_psgld_at_zero_temperature_is_rmsprop_preconditioned_descent():
    torch.manual_seed(0)
    target = torch.randn(5)
    w = torch.nn.Parameter(torch.zeros(5))
    sampler = PSGLD([w], lr=1e-2, n_data=40, n_members=2, temperature=0.0, prior_std=2.0,
                    seed=0)
    # The reference: RMSprop's average (started at 1, as jax-sgmc does) preconditions
    # plain gradient descent on U = n_data * n_members * mean loss + |w|^2 / (2 prior_std^2).
    w_ref, v = torch.zeros(5, dtype=torch.float64), torch.ones(5, dtype=torch.float64)
    for _ in range(50):
        _quadratic_grads(w, target)
        sampler.step()
        grad = 80 * (w_ref - target.double()) / 5 + w_ref / 4.0
        v = 0.9 * v + 0.1 * grad**2
        w_ref = w_ref - 1e-2 * grad / (1e-5 + v.sqrt())
    np.testing.assert_allclose(w.detach().numpy(), w_ref.numpy(), rtol=1e-5, atol=1e-6)


def test_sghmc_at_zero_temperature_is_sgd_with_momentum():
    target = torch.randn(4, generator=torch.Generator().manual_seed(1))
    w = torch.nn.Parameter(torch.zeros(4))
    sampler = SGHMC([w], lr=0.1, n_data=30, temperature=0.0, prior_std=None, friction=0.1)
    w_ref = torch.nn.Parameter(torch.zeros(4))
    sgd = torch.optim.SGD([w_ref], lr=0.1, momentum=0.9)
    for _ in range(30):
        _quadratic_grads(w, target)
        sampler.step()
        _quadratic_grads(w_ref, target)
        sgd.step()
    # torch's SGD adds lr * grad to the momentum buffer after its decay: the same update.
    np.testing.assert_allclose(w.detach().numpy(), w_ref.detach().numpy(), rtol=1e-5,
                               atol=1e-7)


def _linear_posterior(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = X @ np.array([1.0, -0.5]) + 0.8 * rng.normal(size=n)
    noise_var, prior_var = 0.8**2, 1.0
    precision = X.T @ X / noise_var + np.eye(2) / prior_var
    cov = np.linalg.inv(precision)
    return X, y, cov @ X.T @ y / noise_var, cov, noise_var


@pytest.mark.parametrize(
    "make_sampler",
    [
        lambda w, n: PSGLD([w], lr=2e-3, n_data=n, prior_std=1.0, seed=0),
        lambda w, n: SGHMC([w], lr=2e-2, n_data=n, prior_std=1.0, friction=0.1, seed=0),
    ],
    ids=["psgld", "sghmc"],
)
def test_bayesian_linear_regression_posterior_is_recovered(make_sampler):
    X, y, mean, cov, noise_var = _linear_posterior()
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    w = torch.nn.Parameter(torch.tensor(mean, dtype=torch.float32))
    sampler = make_sampler(w, len(y))
    batches = torch.Generator().manual_seed(0)
    samples = []
    for step in range(30_000):
        rows = torch.randint(len(y), (10,), generator=batches)  # minibatches of 10
        w.grad = None
        (0.5 * (yt[rows] - Xt[rows] @ w).pow(2) / noise_var).mean().backward()
        sampler.step()
        if step >= 2_000 and step % 5 == 0:
            samples.append(w.detach().numpy().copy())
    samples = np.array(samples)
    sd = np.sqrt(np.diag(cov))
    # The sample mean within a third of a posterior std; the stds within 35%.
    np.testing.assert_array_less(np.abs(samples.mean(axis=0) - mean), sd / 3)
    np.testing.assert_allclose(samples.std(axis=0), sd, rtol=0.35)


def test_cold_posterior_is_narrower():
    X, y, mean, cov, noise_var = _linear_posterior()
    Xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    spreads = []
    for temperature in (1.0, 0.1):
        w = torch.nn.Parameter(torch.tensor(mean, dtype=torch.float32))
        sampler = PSGLD([w], lr=2e-3, n_data=len(y), temperature=temperature, seed=0)
        samples = []
        for step in range(6_000):
            w.grad = None
            (0.5 * (yt - Xt @ w).pow(2) / noise_var).mean().backward()
            sampler.step()
            if step >= 1_000:
                samples.append(w.detach().numpy().copy())
        spreads.append(np.std(samples, axis=0))
    # Temperature 0.1: the std shrinks by about sqrt(10).
    np.testing.assert_array_less(spreads[1], spreads[0] / 2)


def test_noise_is_reproducible_and_seeded():
    def run(seed):
        w = torch.nn.Parameter(torch.zeros(3))
        sampler = PSGLD([w], lr=1e-2, n_data=10, seed=seed)
        for _ in range(3):
            _quadratic_grads(w, torch.ones(3))
            sampler.step()
        return w.detach().clone()

    state = torch.get_rng_state()
    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
    assert torch.equal(state, torch.get_rng_state())  # the global generator is untouched


def test_polynomial_step_size():
    schedule = polynomial_step_size(1e-2, 1e-4, n_steps=1000, gamma=0.33)
    steps = np.array([schedule(t) for t in range(1000)])
    np.testing.assert_allclose(steps[[0, -1]], [1e-2, 1e-4], rtol=1e-9)
    assert np.all(np.diff(steps) < 0)
    assert polynomial_step_size(1e-3, 1e-3, 10)(5) == 1e-3
    with pytest.raises(ValueError, match="first >= last"):
        polynomial_step_size(1e-4, 1e-3, 10)


@pytest.mark.parametrize("Sampler", [PSGLD, SGHMC])
def test_bad_sampler_parameters(Sampler):
    w = torch.nn.Parameter(torch.zeros(1))
    with pytest.raises(ValueError, match="temperature"):
        Sampler([w], temperature=-1.0)
    with pytest.raises(ValueError, match="prior_std"):
        Sampler([w], prior_std=0.0)
    with pytest.raises(ValueError, match="lr"):
        Sampler([w], lr=0.0)
