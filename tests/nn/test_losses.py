import math

import pytest
import torch
from torch.nn import functional as F

from skens.nn import (
    EnsembleCriterion,
    ensemble_log_loss,
    member_cross_entropy,
    member_gaussian_nll,
    mixture_gaussian_nll,
)


def test_member_cross_entropy_is_mean_of_member_losses():
    logits, target = torch.randn(6, 3, 4), torch.randint(0, 4, (6,))
    expected = torch.stack([F.cross_entropy(logits[:, k], target) for k in range(3)]).mean()
    torch.testing.assert_close(member_cross_entropy(logits, target), expected)


def test_member_cross_entropy_weights_per_member():
    # Weights normalised to mean 1 per member: the loss is each member's weighted mean.
    logits, target = torch.randn(6, 2, 3), torch.randint(0, 3, (6,))
    weight = torch.rand(6, 2) + 0.1
    weight = weight / weight.mean(dim=0)
    expected = torch.stack(
        [
            (F.cross_entropy(logits[:, k], target, reduction="none") * weight[:, k]).sum()
            / weight[:, k].sum()
            for k in range(2)
        ]
    ).mean()
    torch.testing.assert_close(member_cross_entropy(logits, target, weight), expected)


def test_weighted_loss_is_not_renormalised_per_batch():
    # The batch mean of weight * loss: a batch of small weights counts for little.
    logits, target = torch.randn(4, 1, 3), torch.randint(0, 3, (4,))
    losses = F.cross_entropy(logits[:, 0], target, reduction="none")
    weight = torch.full((4, 1), 0.25)
    torch.testing.assert_close(member_cross_entropy(logits, target, weight), 0.25 * losses.mean())


def test_integer_weights_equal_repetition():
    logits, target = torch.randn(4, 2, 3), torch.randint(0, 3, (4,))
    weight = torch.tensor([[1.0], [2.0], [0.0], [1.0]])
    repeated = torch.tensor([0, 1, 1, 3])
    # Weights of mean 1 over the data: the same loss as the repeated rows.
    torch.testing.assert_close(
        member_cross_entropy(logits, target, weight / weight.mean()),
        member_cross_entropy(logits[repeated], target[repeated]),
    )


def test_ensemble_log_loss_scores_the_mean_probability():
    logits, target = torch.randn(5, 4, 3), torch.randint(0, 3, (5,))
    mean_proba = torch.softmax(logits, -1).mean(1)
    expected = -torch.log(mean_proba[torch.arange(5), target]).mean()
    torch.testing.assert_close(ensemble_log_loss(logits, target), expected)


def test_member_gaussian_nll_matches_torch_distribution():
    mean, var = torch.randn(5, 3, 2), torch.rand(5, 3, 2) + 0.1
    target = torch.randn(5, 2)
    dist = torch.distributions.Normal(mean, var.sqrt())
    expected = -dist.log_prob(target.unsqueeze(1)).mean()
    torch.testing.assert_close(member_gaussian_nll(mean, var, target), expected)


def test_mixture_gaussian_nll_matches_mixture_density():
    mean, var = torch.randn(5, 3, 1), torch.rand(5, 3, 1) + 0.1
    target = torch.randn(5, 1)
    density = torch.distributions.Normal(mean, var.sqrt()).log_prob(target.unsqueeze(1)).exp()
    expected = -torch.log(density.mean(dim=1)).mean()
    torch.testing.assert_close(mixture_gaussian_nll(mean, var, target), expected)


def test_mixture_is_never_worse_than_the_mean_member_loss():
    # Jensen: -log(mean p) <= mean(-log p)
    mean, var = torch.randn(50, 4, 1), torch.rand(50, 4, 1) + 0.1
    target = torch.randn(50, 1)
    assert mixture_gaussian_nll(mean, var, target) <= member_gaussian_nll(mean, var, target)


@pytest.mark.parametrize("kind", ["cross_entropy", "gaussian_nll", "mse"])
def test_ensemble_criterion_dispatch(kind):
    criterion = EnsembleCriterion(kind)
    if kind == "cross_entropy":
        y_pred, target = torch.zeros(4, 2, 3), torch.tensor([0, 1, 2, 0])
        assert math.isclose(criterion(y_pred, target).item(), math.log(3), rel_tol=1e-6)
        ensemble = criterion.ensemble_loss(y_pred, target).item()
        assert math.isclose(ensemble, math.log(3), rel_tol=1e-6)
    elif kind == "gaussian_nll":
        y_pred = (torch.zeros(4, 2, 1), torch.ones(4, 2, 1))
        target = torch.zeros(4, 1)
        expected = 0.5 * math.log(2 * math.pi)
        assert math.isclose(criterion(y_pred, target).item(), expected, rel_tol=1e-6)
        assert math.isclose(criterion.ensemble_loss(y_pred, target).item(), expected, rel_tol=1e-6)
    else:
        y_pred = torch.tensor([[[1.0], [-1.0]]])  # members predict +1 and -1
        target = torch.zeros(1, 1)
        assert criterion(y_pred, target).item() == 1.0
        assert criterion.ensemble_loss(y_pred, target).item() == 0.0


def test_ensemble_criterion_rejects_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        EnsembleCriterion("hinge")
