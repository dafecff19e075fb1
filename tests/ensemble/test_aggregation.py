"""CrossMax aggregation of member logits."""

import numpy as np
import pytest

from skens.ensemble import crossmax


def _logits(seed=0, shape=(5, 20, 4)):
    return np.random.RandomState(seed).randn(*shape) * 3


def test_the_rule_by_hand():
    logits = _logits(shape=(3, 1, 2))[:, 0]  # (members, classes)
    z = logits - logits.max(axis=1, keepdims=True)
    z = z - z.max(axis=0, keepdims=True)
    expected = np.sort(z, axis=0)[-2]  # the second largest over members
    np.testing.assert_allclose(crossmax(logits[:, None], k=2)[0], expected)
    # k=1 would score every class 0 (the per-class maximum is subtracted): refused.
    assert np.all(z.max(axis=0) == 0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[2, 3\]"):
        crossmax(logits[:, None], k=1)
    with pytest.raises(ValueError, match="at least two members"):
        crossmax(logits[:1, None], k=2)


def test_a_constant_added_to_one_member_changes_nothing():
    logits = _logits()
    shifted = logits.copy()
    shifted[2] += np.random.RandomState(1).randn(20, 1) * 50  # per row, one member
    np.testing.assert_allclose(crossmax(shifted), crossmax(logits), atol=1e-9)


def test_one_member_with_huge_wrong_logits_does_not_flip_the_vote():
    rng = np.random.RandomState(0)
    logits = rng.randn(5, 50, 3) * 0.5
    logits[:, :, 0] += 2.0  # every member favours class 0
    assert np.all(logits.mean(axis=0).argmax(axis=1) == 0)
    logits[3, :, 2] += 1000.0  # one member, huge and wrong
    assert np.all(logits.mean(axis=0).argmax(axis=1) == 2)  # the mean flips
    assert np.all(crossmax(logits, k=2).argmax(axis=1) == 0)  # CrossMax does not


def test_bad_input():
    with pytest.raises(ValueError, match="shape"):
        crossmax(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="k must be"):
        crossmax(_logits(), k=6)
    with pytest.raises(ValueError, match="finite"):
        crossmax(np.full((2, 1, 2), np.nan))
