"""Weight finders of skens.ensemble on losses whose answer is known."""

import numpy as np
import pytest

from skens.ensemble import gem_weights, greedy_selection, simplex_weights


def _squared_loss(predictions, y):
    def loss(w):
        return float(np.mean((w @ predictions - y) ** 2))

    return loss


def test_greedy_starts_with_the_best_single_member_and_chooses_with_replacement():
    predictions = np.array([[1.0, 1.0], [3.0, 3.0], [10.0, -10.0]])
    loss = _squared_loss(predictions, np.array([2.5, 2.5]))
    weights, trajectory = greedy_selection(loss, 3, ensemble_size=4, use_best=False)
    assert trajectory[0][0] == 1  # member 1 alone is closest to 2.5
    # 3 x member 1 + 1 x member 0 gives exactly 2.5
    np.testing.assert_allclose(weights, [0.25, 0.75, 0.0])
    assert len(trajectory) == 4
    assert trajectory[-1][1] == pytest.approx(0.0)


def test_greedy_use_best_keeps_the_best_prefix():
    # Two members at 1 and 3 around a target of 2: the loss is 1, 0, 1/9, 0, ...
    predictions = np.array([[1.0], [3.0]])
    loss = _squared_loss(predictions, np.array([2.0]))
    weights, trajectory = greedy_selection(loss, 2, ensemble_size=3)
    np.testing.assert_allclose(weights, [0.5, 0.5])
    assert [m for m, _ in trajectory] == [0, 1]
    assert [s for _, s in trajectory] == pytest.approx([1.0, 0.0])
    weights, trajectory = greedy_selection(loss, 2, ensemble_size=3, use_best=False)
    np.testing.assert_allclose(weights, [2 / 3, 1 / 3])  # the third step's tie goes to member 0
    assert len(trajectory) == 3
    # A perfect member alone: the shortest best prefix is that member once.
    weights, trajectory = greedy_selection(_squared_loss(predictions, np.array([1.0])), 2)
    np.testing.assert_array_equal(weights, [1.0, 0.0])
    assert trajectory == [(0, 0.0)]


def test_greedy_ties_go_to_the_member_chosen_before_then_the_first():
    predictions = np.array([[1.0], [1.0], [1.0]])  # identical members
    loss = _squared_loss(predictions, np.array([1.0]))
    weights, trajectory = greedy_selection(loss, 3, ensemble_size=3, use_best=False)
    assert [m for m, _ in trajectory] == [0, 0, 0]
    np.testing.assert_array_equal(weights, [1.0, 0.0, 0.0])


def test_greedy_sorted_initialization_starts_from_the_best_members():
    predictions = np.array([[0.0], [1.9], [2.2], [5.0]])
    loss = _squared_loss(predictions, np.array([2.0]))
    _, trajectory = greedy_selection(
        loss, 4, ensemble_size=2, sorted_initialization=2, use_best=False
    )
    assert [m for m, _ in trajectory[:2]] == [1, 2]


def test_bagged_selection_is_reproducible_and_uses_subsets():
    rng = np.random.RandomState(0)
    predictions = rng.normal(size=(6, 50))
    y = predictions[:3].mean(axis=0)
    loss = _squared_loss(predictions, y)
    w1, _ = greedy_selection(loss, 6, n_bags=5, bag_fraction=0.5, random_state=0)
    w2, _ = greedy_selection(loss, 6, n_bags=5, bag_fraction=0.5, random_state=0)
    np.testing.assert_array_equal(w1, w2)
    assert w1.sum() == pytest.approx(1.0) and (w1 >= 0).all()
    # Members 3..5 are noise around a target made of 0..2: they get less weight.
    assert w1[:3].sum() > w1[3:].sum()


@pytest.mark.parametrize("bad", [dict(ensemble_size=0), dict(n_members=0)])
def test_greedy_rejects_bad_sizes(bad):
    params = dict(n_members=2, ensemble_size=3) | bad
    n_members = params.pop("n_members")
    with pytest.raises(ValueError, match="must be at least 1"):
        greedy_selection(lambda w: 0.0, n_members, **params)


def test_greedy_rejects_a_loss_that_is_never_finite():
    with pytest.raises(ValueError, match="non-finite loss"):
        greedy_selection(lambda w: np.nan, 2)


def test_simplex_weights_find_the_constrained_optimum():
    predictions = np.array([[1.0, 0.0], [3.0, 3.0], [0.0, 10.0]])
    loss = _squared_loss(predictions, np.array([2.5, 2.25]))  # 0.25 * m0 + 0.75 * m1, unique
    weights = simplex_weights(loss, 3)
    np.testing.assert_allclose(weights, [0.25, 0.75, 0.0], atol=1e-4)
    # An optimum outside the simplex lands on its boundary.
    weights = simplex_weights(_squared_loss(predictions, np.array([5.0, 3.0])), 3)
    np.testing.assert_allclose(weights, [0.0, 1.0, 0.0], atol=1e-4)
    np.testing.assert_array_equal(simplex_weights(loss, 1), [1.0])


def test_gem_weights_match_the_closed_form():
    rng = np.random.RandomState(0)
    errors = rng.normal(size=(3, 200)) * np.array([[1.0], [2.0], [3.0]])
    errors[1] += 0.5 * errors[0]
    covariance = errors @ errors.T / errors.shape[1]
    expected = np.linalg.solve(covariance, np.ones(3))
    expected /= expected.sum()
    np.testing.assert_allclose(gem_weights(errors, ridge=0.0), expected, rtol=1e-10)
    simplex = gem_weights(errors, simplex=True)
    assert (simplex >= 0).all() and simplex.sum() == pytest.approx(1.0)
    # The weighted errors have the smallest mean square among simplex weights tried.
    best = np.mean((simplex @ errors) ** 2)
    for w in rng.dirichlet(np.ones(3), size=200):
        assert best <= np.mean((w @ errors) ** 2) + 1e-9


def test_gem_weights_survive_collinear_members():
    errors = np.array([[1.0, -1.0, 2.0], [1.0, -1.0, 2.0]])  # identical members
    weights = gem_weights(errors)
    np.testing.assert_allclose(weights, [0.5, 0.5])


@pytest.mark.parametrize(
    "errors, match",
    [(np.ones(3), "must have shape"), (np.array([[np.nan, 1.0]]), "finite")],
)
def test_gem_weights_reject_bad_errors(errors, match):
    with pytest.raises(ValueError, match=match):
        gem_weights(errors)
