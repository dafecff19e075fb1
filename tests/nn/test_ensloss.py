"""EnsLoss' derivative draws, criterion and ensemble task (skens.nn._ensloss)."""

import pickle

import numpy as np
import pytest
import torch

from skens.nn import EnsembleCriterion, EnsLoss, EnsLossTask, ensloss_derivatives, platt_slope
from tests.conftest import requires_cuda

SHIFT = 1e-6  # the official code's calibration shift, subtracted after the clip at -1


def _margins(n=500, seed=0, dtype=torch.float64):
    return 3 * torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _gen(seed=0, device="cpu"):
    return torch.Generator(device=device).manual_seed(seed)


def _check_rule(z, g):
    """Every property of the official rule, for 1-D margins and their derivatives."""
    assert g.shape == z.shape and not g.requires_grad
    assert (g < 0).all()  # calibrated: phi'(z) < 0 everywhere, phi'(0) included
    assert (g.abs() <= 1 + SHIFT).all()  # clipped at -1, then shifted
    big = z > 1
    assert (g[big].abs() <= 1 / z[big] + SHIFT + 1e-12).all()
    order = torch.argsort(z)
    assert (g[order].diff() >= 0).all()  # non-decreasing in z: a convex loss


@pytest.mark.parametrize("lam", [0.0, 0.5, -0.5])
def test_derivatives_follow_the_rule(lam):
    z = _margins()
    _check_rule(z, ensloss_derivatives(z, _gen(), lam=lam))


def test_derivatives_match_a_direct_transcription_of_the_official_code():
    z = _margins(64)
    u = torch.randn(64, generator=_gen(3), dtype=z.dtype)
    expected = torch.sort(-torch.exp(u)).values.clamp_min(-1.0)
    g_official = torch.zeros_like(z)
    g_official[torch.argsort(z)] = expected
    g_official[z > 1] *= 1 / z[z > 1]
    g_official = g_official - 1e-6
    torch.testing.assert_close(ensloss_derivatives(z, _gen(3)), g_official)


def test_derivatives_are_seeded_and_ignore_the_global_generator():
    z = _margins()
    torch.manual_seed(1)
    first = ensloss_derivatives(z, _gen(5))
    torch.manual_seed(2)
    state = torch.get_rng_state()
    second = ensloss_derivatives(z, _gen(5))
    torch.testing.assert_close(first, second)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator did not move
    assert not torch.equal(first, ensloss_derivatives(z, _gen(6)))


def test_derivatives_along_a_dim_are_independent_per_slice():
    z = _margins(300).reshape(100, 3)
    g = ensloss_derivatives(z, _gen(), dim=0)
    assert g.shape == z.shape
    for k in range(3):
        _check_rule(z[:, k], g[:, k])
    # The same margins in two columns get different draws.
    same = z[:, :1].expand(100, 2).contiguous()
    g = ensloss_derivatives(same, _gen(), dim=0)
    assert not torch.equal(g[:, 0], g[:, 1])


def test_derivatives_keep_shape_and_dtype():
    z = _margins(24, dtype=torch.float32).reshape(2, 3, 4)
    g = ensloss_derivatives(z, _gen())
    assert g.shape == z.shape and g.dtype == torch.float32
    _check_rule(z.reshape(-1), g.reshape(-1))


def test_loss_gradient_is_g_times_the_sign():
    scores = _margins(200).requires_grad_(True)
    target = (torch.arange(200) % 3 == 0).double()
    sign = 2 * target - 1
    loss = EnsLoss(seed=7)(scores, target)
    loss.backward()
    g = ensloss_derivatives(scores.detach() * sign, _gen(7))
    torch.testing.assert_close(scores.grad * len(scores), g * sign)
    torch.testing.assert_close(loss.detach(), (g * scores.detach() * sign).mean())


def test_targets_as_float_long_bool_or_column_give_the_same_loss():
    scores = _margins(50)
    t = torch.arange(50) % 2
    losses = [
        EnsLoss(seed=0)(scores, target)
        for target in (t.double(), t, t.bool(), t.reshape(-1, 1), 2 * t - 1)
    ]
    losses.append(EnsLoss(seed=0)(scores.reshape(-1, 1), t))
    for loss in losses[1:]:
        torch.testing.assert_close(loss, losses[0])


def test_weights():
    scores = _margins(40).requires_grad_(True)
    target = torch.arange(40) % 2
    weight = torch.rand(40, generator=_gen(1), dtype=torch.float64)
    loss = EnsLoss(seed=0)(scores, target, weight)
    sign = 2 * target.double() - 1
    g = ensloss_derivatives(scores.detach() * sign, _gen(0))
    z = scores.detach() * sign
    torch.testing.assert_close(loss.detach(), (weight * g * z).sum() / weight.sum())
    loss.backward()
    torch.testing.assert_close(scores.grad, weight * g * sign / weight.sum())
    # Unit weights: the plain mean.
    torch.testing.assert_close(
        EnsLoss(seed=0)(scores, target, torch.ones(40)), EnsLoss(seed=0)(scores, target)
    )


def test_criterion_is_reproducible_and_draws_anew_each_call():
    scores, target = _margins(), torch.arange(500) % 2
    a, b = EnsLoss(seed=3), EnsLoss(seed=3)
    first = [a(scores, target) for _ in range(3)]
    second = [b(scores, target) for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not torch.equal(first[0], first[1])


def test_criterion_ignores_the_global_generator():
    scores, target = _margins(), torch.arange(500) % 2
    torch.manual_seed(0)
    first = EnsLoss(seed=3)(scores, target)
    state = torch.get_rng_state()
    torch.manual_seed(123)
    second = EnsLoss(seed=3)(scores, target)
    assert torch.equal(first, second)
    torch.set_rng_state(state)
    EnsLoss(seed=None)(scores, target)  # unseeded: fresh entropy, not the global state
    assert torch.equal(torch.get_rng_state(), state)


def test_pickle_drops_the_generator_and_restarts_from_the_seed():
    scores, target = _margins(), torch.arange(500) % 2
    criterion = EnsLoss(seed=4)
    first = criterion(scores, target)
    restored = pickle.loads(pickle.dumps(criterion))
    assert "_generator" not in restored.__dict__ and restored.seed == 4
    assert torch.equal(restored(scores, target), first)
    task = EnsLossTask(seed=4)
    task.member_loss(torch.zeros(5, 2, 1), torch.tensor([0, 1, 0, 1, 1]))
    assert "_generator" in task.__dict__
    restored = pickle.loads(pickle.dumps(task))
    assert "_generator" not in restored.__dict__ and restored.seed == 4


def test_task_module_and_losses():
    task = EnsLossTask(seed=0)
    module = task.build_module(5, 2, n_members=4, hidden_layer_sizes=(8,),
                               generator=torch.Generator().manual_seed(0))
    y_pred = module(torch.randn(16, 5, generator=_gen()))
    assert y_pred.shape == (16, 4, 1)
    target = torch.arange(16) % 2
    criterion = EnsembleCriterion(task)
    assert criterion.kind == "ensloss"
    loss = criterion(y_pred, target)
    assert loss.shape == () and loss.requires_grad
    mean = y_pred[..., 0].mean(dim=1).detach()
    slope = platt_slope(mean, target)
    expected = torch.nn.functional.softplus(-(2 * target - 1) * slope * mean).mean()
    torch.testing.assert_close(criterion.ensemble_loss(y_pred.detach(), target), expected)
    # The validation loss does not depend on the scale of the scores.
    torch.testing.assert_close(
        criterion.ensemble_loss(50 * y_pred.detach(), target),
        criterion.ensemble_loss(y_pred.detach(), target), rtol=1e-4, atol=1e-6,
    )
    prediction = task.point_prediction(y_pred.detach())
    assert torch.equal(prediction, (mean > 0).long())
    assert task.score(prediction, target) == float((prediction == target).float().mean())
    with pytest.raises(ValueError, match="binary"):
        task.module_spec(5, 3, 2)


def test_task_draws_independently_per_member_with_member_targets_and_weights():
    task = EnsLossTask(seed=1)
    scores = _margins(60).reshape(20, 3, 1).requires_grad_(True)
    target = (torch.arange(60).reshape(20, 3) % 2)  # (batch, n_members): own rows
    weight = torch.rand(20, 3, generator=_gen(2), dtype=torch.float64)
    loss = task.member_loss(scores, target, weight)
    loss.backward()
    sign = 2 * target.double() - 1
    z = scores.detach()[..., 0] * sign
    g = ensloss_derivatives(z, _gen(1), dim=0)
    torch.testing.assert_close(loss.detach(), (weight * g * z).mean())
    torch.testing.assert_close(scores.grad[..., 0], weight * g * sign / z.numel())
    for k in range(3):
        _check_rule(z[:, k], g[:, k])


def test_task_shared_targets_broadcast_over_members():
    task_a, task_b = EnsLossTask(seed=0), EnsLossTask(seed=0)
    scores = _margins(30).reshape(10, 3, 1)
    target = torch.arange(10) % 2
    torch.testing.assert_close(
        task_a.member_loss(scores, target),
        task_b.member_loss(scores, target.unsqueeze(1).expand(10, 3)),
    )


@requires_cuda
def test_cuda():
    scores = _margins(256).cuda().requires_grad_(True)
    target = (torch.arange(256, device="cuda") % 2).float()
    criterion = EnsLoss(seed=0)
    loss = criterion(scores, target)
    loss.backward()
    assert criterion._generator.device.type == "cuda"
    assert scores.grad.device.type == "cuda"
    sign = 2 * target.double() - 1
    g = ensloss_derivatives(scores.detach() * sign, torch.Generator("cuda").manual_seed(0))
    torch.testing.assert_close(scores.grad * 256, g * sign)
    _check_rule((scores.detach() * sign).cpu(), g.cpu())
    task = EnsLossTask(seed=0)
    assert task.member_loss(torch.zeros(8, 2, 1, device="cuda"), target[:8].long()).is_cuda
    restored = pickle.loads(pickle.dumps(criterion))
    assert torch.equal(restored(scores, target), loss)


def _smoothed_log_loss(slope, scores, target, weight):
    n_pos, n_neg = (target == 1).sum(), (target == 0).sum()
    t = np.where(target == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    x = slope * scores
    return np.average(t * np.logaddexp(0, -x) + (1 - t) * np.logaddexp(0, x), weights=weight)


def test_platt_slope_minimises_the_smoothed_log_loss():
    from scipy.optimize import minimize_scalar

    rng = np.random.RandomState(0)
    scores = rng.normal(size=300) * 4
    target = (rng.uniform(size=300) < 1 / (1 + np.exp(-scores / 3))).astype(int)
    weight = rng.uniform(0.5, 2, size=300)
    slope = platt_slope(torch.tensor(scores), torch.tensor(target), torch.tensor(weight))
    best = minimize_scalar(
        lambda a: _smoothed_log_loss(a, scores, target, weight), bounds=(1e-3, 10),
        method="bounded", options={"xatol": 1e-10},
    ).x
    assert slope == pytest.approx(best, rel=1e-4)
    assert slope == pytest.approx(1 / 3, rel=0.3)
    # Scale-equivariant: scores times 10, slope divided by 10.
    assert platt_slope(torch.tensor(10 * scores), torch.tensor(target),
                       torch.tensor(weight)) == pytest.approx(slope / 10, rel=1e-5)


def test_platt_slope_is_finite_for_separable_scores():
    scores = torch.tensor([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    target = torch.tensor([0, 0, 0, 1, 1, 1])
    slope = platt_slope(scores, target)
    assert 0 < slope < 1e3
    assert platt_slope(torch.zeros(4), torch.tensor([0, 1, 0, 1])) > 0
