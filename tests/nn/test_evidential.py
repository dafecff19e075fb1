"""Deep evidential regression: the NIG loss, its head, module and task."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skens.nn import (
    EnsembleCriterion,
    EvidentialEnsembleMLP,
    EvidentialHead,
    EvidentialRegressionTask,
    evidential_moments,
    evidential_nll,
    evidential_regularizer,
)


def _random_nig(shape, seed=0, dtype=torch.float64):
    """Random valid NIG parameters and targets, spread over several orders of magnitude."""
    rng = np.random.default_rng(seed)
    gamma = rng.normal(0, 3, shape)
    nu = np.exp(rng.uniform(-4, 4, shape))
    alpha = 1 + np.exp(rng.uniform(-4, 4, shape))
    beta = np.exp(rng.uniform(-4, 4, shape))
    target = gamma + rng.normal(0, 1, shape) * np.exp(rng.uniform(-3, 3, shape))
    return tuple(torch.tensor(a, dtype=dtype) for a in (gamma, nu, alpha, beta, target))


def test_nll_is_the_student_t_negative_log_density():
    gamma, nu, alpha, beta, target = _random_nig((200, 3, 2))
    nll = evidential_nll(gamma, nu, alpha, beta, target)
    assert nll.dtype == torch.float64 and nll.shape == (200, 3, 2)
    scale = np.sqrt((beta * (1 + nu) / (nu * alpha)).numpy())
    expected = -stats.t.logpdf(target.numpy(), df=2 * alpha.numpy(), loc=gamma.numpy(), scale=scale)
    np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_nll_broadcasts_a_shared_target():
    gamma, nu, alpha, beta, _ = _random_nig((5, 3, 2))
    target = torch.randn(5, 1, 2, dtype=torch.float64)
    nll = evidential_nll(gamma, nu, alpha, beta, target)
    expanded = evidential_nll(gamma, nu, alpha, beta, target.expand(-1, 3, -1))
    torch.testing.assert_close(nll, expanded)


def test_moments_are_the_student_t_variance_split():
    gamma, nu, alpha, beta, _ = _random_nig((100,))
    alpha = alpha + 1  # a Student-t variance needs 2 alpha > 2; push alpha away from 1
    mean, aleatoric, epistemic = evidential_moments(gamma, nu, alpha, beta)
    torch.testing.assert_close(mean, gamma)
    torch.testing.assert_close(aleatoric, beta / (alpha - 1))
    torch.testing.assert_close(epistemic, beta / (nu * (alpha - 1)))
    scale = np.sqrt((beta * (1 + nu) / (nu * alpha)).numpy())
    t_var = stats.t.var(df=2 * alpha.numpy(), loc=gamma.numpy(), scale=scale)
    np.testing.assert_allclose((aleatoric + epistemic).numpy(), t_var, rtol=1e-10)


def test_moments_work_on_numpy_arrays():
    mean, aleatoric, epistemic = evidential_moments(
        np.array([1.0]), np.array([2.0]), np.array([3.0]), np.array([4.0])
    )
    np.testing.assert_allclose([mean[0], aleatoric[0], epistemic[0]], [1.0, 2.0, 1.0])


def test_regularizer_by_hand():
    gamma = torch.tensor([1.0, -2.0, 0.5])
    nu = torch.tensor([0.5, 2.0, 1.0])
    alpha = torch.tensor([2.0, 1.5, 3.0])
    beta = torch.tensor([7.0, 8.0, 9.0])  # does not enter
    target = torch.tensor([3.0, -2.0, -1.5])
    reg = evidential_regularizer(gamma, nu, alpha, beta, target)
    # |y - gamma| * (2 nu + alpha): 2 * 3, 0 * 5.5, 2 * 5
    torch.testing.assert_close(reg, torch.tensor([6.0, 0.0, 10.0]))


@pytest.mark.parametrize("raw", [-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4])
def test_head_constraints_hold_on_extreme_inputs(raw):
    head = EvidentialHead(n_outputs=2)
    x = torch.full((3, 2, 8), raw, dtype=torch.float32)
    gamma, nu, alpha, beta = head(x)
    assert all(t.shape == (3, 2, 2) for t in (gamma, nu, alpha, beta))
    torch.testing.assert_close(gamma, x[..., :2])
    assert (nu > 0).all() and (alpha > 1).all() and (beta > 0).all()
    nll = evidential_nll(gamma, nu, alpha, beta, torch.zeros(3, 2, 2))
    assert torch.isfinite(nll).all()
    _, aleatoric, epistemic = evidential_moments(gamma, nu, alpha, beta)
    assert (aleatoric > 0).all() and (epistemic > 0).all()


def test_head_keeps_alpha_above_one_in_half_precision():
    x = torch.full((2, 1, 4), -20.0, dtype=torch.bfloat16)
    gamma, nu, alpha, beta = EvidentialHead(n_outputs=1)(x)
    assert all(t.dtype == torch.float32 for t in (gamma, nu, alpha, beta))
    assert (nu > 0).all() and (alpha > 1).all() and (beta > 0).all()
    module = EvidentialEnsembleMLP(3, 1, n_members=2, hidden_layer_sizes=(8,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, nu, alpha, beta = module(torch.randn(4, 3))
    assert (alpha > 1).all() and torch.isfinite(beta / (nu * (alpha - 1))).all()


def test_head_splits_in_order_and_checks_its_input():
    head = EvidentialHead(n_outputs=1, min_evidence=1e-3)
    gamma, nu, alpha, beta = head(torch.tensor([[0.5, 0.0, 1.0, -1.0]]))
    softplus = torch.nn.functional.softplus
    torch.testing.assert_close(gamma, torch.tensor([[0.5]]))
    torch.testing.assert_close(nu, softplus(torch.tensor([[0.0]])) + 1e-3)
    torch.testing.assert_close(alpha, softplus(torch.tensor([[1.0]])) + 1 + 1e-3)
    torch.testing.assert_close(beta, softplus(torch.tensor([[-1.0]])) + 1e-3)
    with pytest.raises(ValueError, match="expects 4 raw outputs"):
        head(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="min_evidence"):
        EvidentialHead(1, min_evidence=0.0)
    assert "min_evidence=0.001" in repr(head)


def test_module_and_task_shapes():
    task = EvidentialRegressionTask()
    assert task.loss_name == "evidential" and task.score_name == "r2"
    assert task.predicts_variance and task.coeff == 1e-2
    module_class, params = task.module_spec(5, 3, 4, hidden_layer_sizes=(8,))
    assert module_class is EvidentialEnsembleMLP and params["n_outputs"] == 3
    module = task.build_module(5, 3, n_members=4, hidden_layer_sizes=(8,), dropout=0.1)
    y_pred = module(torch.randn(7, 5))
    assert isinstance(y_pred, tuple) and len(y_pred) == 4
    assert all(t.shape == (7, 4, 3) for t in y_pred)
    # Member-specific rows, as in training.
    assert all(t.shape == (7, 4, 3) for t in module(torch.randn(4, 7, 5)))
    torch.testing.assert_close(task.point_prediction(y_pred), y_pred[0].mean(dim=1))
    target = torch.randn(7, 3)
    assert task.member_loss(y_pred, target).shape == ()
    assert task.ensemble_loss(y_pred, target).shape == ()
    with torch.no_grad():
        assert isinstance(task.score(task.point_prediction(y_pred), target), float)
    assert repr(task) == "EvidentialRegressionTask(coeff=0.01)"
    with pytest.raises(ValueError, match="coeff"):
        EvidentialRegressionTask(coeff=-1.0)


def test_member_loss_by_hand():
    gamma, nu, alpha, beta, _ = _random_nig((6, 3, 2))
    target = torch.randn(6, 2, dtype=torch.float64)
    task = EvidentialRegressionTask(coeff=0.3)
    member_target = target.unsqueeze(1)
    expected = (
        evidential_nll(gamma, nu, alpha, beta, member_target)
        + 0.3 * evidential_regularizer(gamma, nu, alpha, beta, member_target)
    ).mean()
    torch.testing.assert_close(task.member_loss((gamma, nu, alpha, beta), target), expected)
    # A member axis on the target gives each member its rows.
    per_member = member_target.expand(-1, 3, -1)
    torch.testing.assert_close(task.member_loss((gamma, nu, alpha, beta), per_member), expected)
    # coeff=0: the NLL alone.
    nll = evidential_nll(gamma, nu, alpha, beta, member_target).mean()
    zero = EvidentialRegressionTask(coeff=0.0)
    torch.testing.assert_close(zero.member_loss((gamma, nu, alpha, beta), target), nll)


def test_weighted_loss_ignores_a_row_of_zero_weight():
    gamma, nu, alpha, beta, target = _random_nig((6, 3, 1))
    target = target[:, 0]  # shared by the members: (batch, n_outputs)
    task = EvidentialRegressionTask(coeff=0.1)
    weight = torch.ones(6, 3, dtype=torch.float64)
    weight[2] = 0.0
    loss = task.member_loss((gamma, nu, alpha, beta), target, weight)
    moved = target.clone()
    moved[2] = 1e3
    torch.testing.assert_close(task.member_loss((gamma, nu, alpha, beta), moved, weight), loss)
    # Weights of mean 1 over the kept rows: their plain mean, scaled by 5 / 6 (the batch mean).
    kept = [0, 1, 3, 4, 5]
    sub = tuple(t[kept] for t in (gamma, nu, alpha, beta))
    torch.testing.assert_close(loss, task.member_loss(sub, target[kept]) * 5 / 6)
    # The ensemble loss too, with (batch,) weights.
    row_weight = weight[:, 0]
    ens = task.ensemble_loss((gamma, nu, alpha, beta), target, row_weight)
    torch.testing.assert_close(task.ensemble_loss((gamma, nu, alpha, beta), moved, row_weight), ens)


def test_ensemble_loss_is_the_student_t_mixture_nll():
    gamma, nu, alpha, beta, target = _random_nig((50, 1, 2))
    task = EvidentialRegressionTask(coeff=1.0)  # the regulariser does not enter
    nll = evidential_nll(gamma, nu, alpha, beta, target).mean()
    torch.testing.assert_close(task.ensemble_loss((gamma, nu, alpha, beta), target[:, 0]), nll)
    # Identical members: the mixture is each member's distribution.
    copies = tuple(t.expand(-1, 4, -1) for t in (gamma, nu, alpha, beta))
    torch.testing.assert_close(task.ensemble_loss(copies, target[:, 0]), nll)
    # Two members: the log of the mean of their densities, joint over the outputs.
    gamma, nu, alpha, beta, target = _random_nig((10, 2, 2), seed=1)
    log_pdf = -evidential_nll(gamma, nu, alpha, beta, target[:, :1]).sum(dim=-1)
    expected = -(torch.logsumexp(log_pdf, dim=1) - math.log(2)).mean() / 2
    torch.testing.assert_close(task.ensemble_loss((gamma, nu, alpha, beta), target[:, 0]), expected)


def test_gradient_flows_to_every_parameter():
    torch.manual_seed(0)
    task = EvidentialRegressionTask(coeff=0.01)
    module = task.build_module(4, 2, n_members=3, hidden_layer_sizes=(8,))
    criterion = EnsembleCriterion(task)
    assert criterion.kind == "evidential"
    X, y = torch.randn(16, 4), torch.randn(16, 2)
    loss = criterion(module(X), y)
    loss.backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.isfinite(criterion.ensemble_loss(module(X), y))


def test_a_few_steps_lower_the_loss():
    torch.manual_seed(0)
    task = EvidentialRegressionTask()
    module = task.build_module(1, 1, n_members=2, hidden_layer_sizes=(16,))
    X = torch.linspace(-2, 2, 64).unsqueeze(1)
    y = X**2 + 0.1 * torch.randn_like(X)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    first = task.member_loss(module(X), y).item()
    for _ in range(100):
        optimizer.zero_grad()
        loss = task.member_loss(module(X), y)
        loss.backward()
        optimizer.step()
    assert loss.item() < first - 0.5
