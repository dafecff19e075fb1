"""Member weights from held-out predictions: greedy selection, simplex fits, GEM.

Every function here works on plain arrays and a loss function of the member
weights, so it serves any pool of models. Nothing here imports torch.
"""

import numpy as np
from scipy.optimize import minimize
from sklearn.utils import check_random_state

__all__ = ["gem_weights", "greedy_selection", "simplex_weights"]

# Two candidate scores closer than this count as a tie.
_TIE = 1e-12


def _greedy_path(loss, n_members, ensemble_size, init, allowed):
    """One greedy forward selection with replacement; returns (counts, trajectory).

    ``trajectory`` lists ``(member, loss)`` after each addition, the
    ``init`` members first.
    """
    counts = np.zeros(n_members, dtype=np.int64)
    trajectory = []
    for member in init:
        counts[member] += 1
        trajectory.append((int(member), float(loss(counts / counts.sum()))))
    while counts.sum() < ensemble_size:
        scores = np.full(n_members, np.inf)
        for member in allowed:
            candidate = counts.copy()
            candidate[member] += 1
            scores[member] = loss(candidate / candidate.sum())
        scores[~np.isfinite(scores)] = np.inf
        best = scores.min()
        if not np.isfinite(best):
            raise ValueError(
                "Every candidate ensemble has a non-finite loss on the held-out predictions; "
                "check the members' outputs for NaN or infinite values."
            )
        tied = np.flatnonzero(scores <= best + _TIE)
        # Deterministic ties: the member chosen most often so far, then the first.
        member = int(tied[np.argmax(counts[tied])])
        counts[member] += 1
        trajectory.append((member, float(scores[member])))
    return counts, trajectory


def greedy_selection(
    loss,
    n_members,
    *,
    ensemble_size=25,
    sorted_initialization=0,
    n_bags=1,
    bag_fraction=0.5,
    use_best=True,
    random_state=None,
):
    """Greedy forward ensemble selection with replacement (Caruana et al., 2004).

    Starting from an empty ensemble (or from the ``sorted_initialization``
    best single members), each step adds, with replacement, the member whose
    addition gives the lowest ``loss``; a member's weight is the number of
    times it was chosen. Ties go to the member already chosen most often,
    then to the first one, so the result is deterministic.

    Parameters
    ----------
    loss : callable
        ``loss(weights) -> float``, lower is better, for a weight vector of
        shape ``(n_members,)`` on the simplex (the loss of the weighted
        ensemble on held-out data).
    n_members : int
        Number of candidate members.
    ensemble_size : int, default=25
        Number of greedy steps (members chosen, with repetition).
    sorted_initialization : int, default=0
        Start from this many of the best single members, each chosen once.
    n_bags : int, default=1
        ``> 1``: bagged selection. Each bag runs the selection on a random
        ``bag_fraction`` of the members; the weights are the bags' summed
        counts. Reduces the overfitting of the selection to the held-out data.
    bag_fraction : float, default=0.5
        Share of the members available to each bag.
    use_best : bool, default=True
        Keep the prefix of the selection with the lowest loss, instead of all
        ``ensemble_size`` steps (per bag).
    random_state : int, RandomState instance or None, default=None
        Draws the bags' members.

    Returns
    -------
    weights : ndarray of shape (n_members,)
        Non-negative, summing to one.
    trajectory : list of (int, float)
        The member added at each step and the loss after it (of the first
        bag, with bagging).

    References
    ----------
    .. [1] R. Caruana, A. Niculescu-Mizil, G. Crew and A. Ksikes, "Ensemble
       Selection from Libraries of Models", ICML 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import greedy_selection
    >>> predictions = np.array([[1.0, 1.0], [3.0, 3.0], [0.0, 5.0]])  # 3 members, 2 rows
    >>> y = np.array([2.0, 2.0])
    >>> def loss(w):
    ...     return float(np.mean((w @ predictions - y) ** 2))
    >>> weights, trajectory = greedy_selection(loss, 3, ensemble_size=4)
    >>> weights
    array([0.5, 0.5, 0. ])
    >>> [member for member, _ in trajectory]
    [0, 1]
    """
    n_members = int(n_members)
    if n_members < 1:
        raise ValueError(f"n_members must be at least 1, got {n_members}.")
    if ensemble_size < 1:
        raise ValueError(f"ensemble_size must be at least 1, got {ensemble_size}.")
    rng = check_random_state(random_state)
    total = np.zeros(n_members)
    first_trajectory = None
    for _bag in range(max(int(n_bags), 1)):
        if n_bags > 1:
            n_allowed = max(1, int(round(bag_fraction * n_members)))
            allowed = np.sort(rng.choice(n_members, n_allowed, replace=False))
        else:
            allowed = np.arange(n_members)
        singles = [(loss(np.eye(n_members)[k]), k) for k in allowed]
        init = [k for _, k in sorted(singles)[: min(int(sorted_initialization), len(allowed))]]
        size = max(ensemble_size, len(init))
        counts, trajectory = _greedy_path(loss, n_members, size, init, allowed)
        if use_best:
            best = int(np.argmin([score for _, score in trajectory]))
            trajectory = trajectory[: best + 1]
            counts = np.bincount([m for m, _ in trajectory], minlength=n_members)
        total += counts / counts.sum()
        if first_trajectory is None:
            first_trajectory = trajectory
    return total / total.sum(), first_trajectory


def simplex_weights(loss, n_members, *, initial=None, tol=1e-9, max_iter=500):
    """Find the weights on the simplex that minimise ``loss``.

    Solves ``min loss(w)`` subject to ``w >= 0`` and ``sum(w) == 1`` with
    SLSQP, from uniform weights (or ``initial``). Tiny weights (below 1e-6)
    are set to zero and the rest renormalised.

    Parameters
    ----------
    loss : callable
        ``loss(weights) -> float`` for weights of shape ``(n_members,)``.
    n_members : int
        Number of members.
    initial : array-like of shape (n_members,), default=None
        Starting point; uniform weights when None.
    tol : float, default=1e-9
        Tolerance of the solver.
    max_iter : int, default=500
        Iteration limit of the solver.

    Returns
    -------
    weights : ndarray of shape (n_members,)
        Non-negative, summing to one.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import simplex_weights
    >>> predictions = np.array([[1.0, 1.0], [3.0, 3.0]])
    >>> def loss(w):
    ...     return float(np.mean((w @ predictions - 2.5) ** 2))
    >>> simplex_weights(loss, 2).round(3)
    array([0.25, 0.75])
    """
    x0 = np.full(n_members, 1.0 / n_members) if initial is None else np.asarray(initial, float)
    if n_members == 1:
        return np.ones(1)
    result = minimize(
        loss,
        x0,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n_members,
        constraints=[{"type": "eq", "fun": lambda w: np.sum(w) - 1.0}],
        options={"ftol": tol, "maxiter": max_iter},
    )
    weights = np.clip(result.x, 0.0, None)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        raise ValueError("The weight optimisation failed: the loss is not finite near the start.")
    weights[weights < 1e-6] = 0.0
    weights = weights / weights.sum()
    # SLSQP may stop at a worse point than its start on a flat or noisy loss.
    return weights if loss(weights) <= loss(x0) else x0 / x0.sum()


def gem_weights(errors, *, ridge=1e-6, simplex=False):
    """Generalized-ensemble-method weights from held-out errors (Perrone & Cooper, 1993).

    With ``C`` the members' error covariance ``E[e_i e_j]`` on held-out data,
    the weights that minimise the squared error of the weighted average,
    subject to summing to one, are ``w = C⁻¹1 / 1ᵀC⁻¹1``. A ridge of
    ``ridge * trace(C) / n_members`` on the diagonal keeps ``C`` invertible
    when members are nearly collinear.

    Parameters
    ----------
    errors : array-like of shape (n_members, n_samples) or (n_members, n_samples, n_outputs)
        Held-out prediction minus target, for each member.
    ridge : float, default=1e-6
        Relative ridge added to the diagonal of ``C``.
    simplex : bool, default=False
        Also require ``w >= 0`` (a quadratic program, solved by
        :func:`simplex_weights`); the weights then define a mixture.
        Unconstrained GEM weights may be negative.

    Returns
    -------
    weights : ndarray of shape (n_members,)
        Summing to one.

    References
    ----------
    .. [1] M. P. Perrone and L. N. Cooper, "When Networks Disagree: Ensemble
       Methods for Hybrid Neural Networks", 1993.

    Examples
    --------
    >>> import numpy as np
    >>> from skens.ensemble import gem_weights
    >>> # Uncorrelated errors, the second member's twice as large: weights 4:1.
    >>> errors = np.array([[1.0, -1.0, 1.0, -1.0], [2.0, 2.0, -2.0, -2.0]])
    >>> gem_weights(errors, ridge=0.0).round(3)
    array([0.8, 0.2])
    >>> # Correlated errors: unconstrained GEM extrapolates, the simplex variant cannot.
    >>> errors = np.array([[1.0, -1.0, 1.0, -1.0], [2.0, -1.0, 2.0, -1.0]])
    >>> gem_weights(errors, ridge=0.0).round(3)
    array([ 2., -1.])
    >>> gem_weights(errors, simplex=True).round(3)
    array([1., 0.])
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim not in (2, 3):
        raise ValueError(
            "errors must have shape (n_members, n_samples) or (n_members, n_samples, "
            f"n_outputs), got {errors.shape}."
        )
    if not np.isfinite(errors).all():
        raise ValueError("errors must be finite.")
    flat = errors.reshape(len(errors), -1)
    n_members = len(flat)
    covariance = flat @ flat.T / flat.shape[1]
    covariance = covariance + np.eye(n_members) * ridge * np.trace(covariance) / n_members
    if simplex:
        scale = max(np.trace(covariance) / n_members, np.finfo(float).tiny)
        return simplex_weights(lambda w: float(w @ covariance @ w) / scale, n_members)
    ones = np.ones(n_members)
    try:
        solved = np.linalg.solve(covariance, ones)
    except np.linalg.LinAlgError:
        solved = np.linalg.pinv(covariance) @ ones
    return solved / solved.sum()
