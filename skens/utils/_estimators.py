"""What skens needs to know of other estimators: their last step, NaN tolerance, ``return_std``."""

import inspect

from sklearn.utils import assert_all_finite, get_tags

__all__ = ["_accepts_nan", "_assert_finite_table", "_final_step", "_predicts_std"]


def _final_step(estimator):
    """The last step of a Pipeline (recursively), else the estimator itself."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def _accepts_nan(estimator):
    """Whether ``estimator`` takes NaN in its input (for a Pipeline, its first step)."""
    while hasattr(estimator, "steps"):
        steps = [step for _, step in estimator.steps if step not in (None, "passthrough")]
        if not steps:
            return True
        estimator = steps[0]
    return get_tags(estimator).input_tags.allow_nan


def _predicts_std(estimator):
    """Whether ``estimator.predict`` takes ``return_std`` (a Gaussian prediction)."""
    try:
        parameters = inspect.signature(_final_step(estimator).predict).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return "return_std" in parameters


def _assert_finite_table(estimator, X):
    """Reject NaN and infinity in the numeric columns of a checked table (array or DataFrame)."""
    values = X.select_dtypes(include="number").to_numpy(float) if hasattr(X, "iloc") else X
    if values.dtype.kind in "fc":
        assert_all_finite(values, input_name="X", estimator_name=type(estimator).__name__)
