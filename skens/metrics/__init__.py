"""Metrics that work on any model's outputs (numpy, scipy and scikit-learn only).

Calibration, proper scores, selective prediction, interval metrics, ensemble
diversity and uncertainty decompositions, plus scorers for model selection
and displays (matplotlib is imported only when a display draws).
"""

from ._calibration import (
    classwise_calibration_error,
    expected_calibration_error,
    multiclass_brier_score_loss,
    reliability_curve,
)
from ._diversity import (
    ambiguity_decomposition,
    mean_error_correlation,
    pairwise_disagreement,
    q_statistic,
)
from ._plot import RegressionUncertaintyDisplay, ReliabilityDisplay, RiskCoverageDisplay
from ._regression import (
    coverage_curve,
    crps_gaussian_loss,
    gaussian_mixture_quantiles,
    gaussian_nll_loss,
    interval_coverage_score,
    mean_interval_width,
    quantile_calibration_error,
)
from ._scorers import (
    SCORERS,
    PredictiveDistributionScorer,
    ProbabilityScorer,
    get_scorer,
    get_scorer_names,
)
from ._selective import (
    accuracy_at_coverage_score,
    aurc_loss,
    excess_aurc_loss,
    misclassification_auroc_score,
    risk_coverage_curve,
)
from ._uncertainty import (
    entropy_decomposition,
    expected_entropy,
    gaussian_variance_decomposition,
    mutual_information,
    predictive_entropy,
)

__all__ = [
    "SCORERS",
    "PredictiveDistributionScorer",
    "ProbabilityScorer",
    "RegressionUncertaintyDisplay",
    "ReliabilityDisplay",
    "RiskCoverageDisplay",
    "accuracy_at_coverage_score",
    "ambiguity_decomposition",
    "aurc_loss",
    "classwise_calibration_error",
    "coverage_curve",
    "crps_gaussian_loss",
    "entropy_decomposition",
    "excess_aurc_loss",
    "expected_calibration_error",
    "expected_entropy",
    "gaussian_mixture_quantiles",
    "gaussian_nll_loss",
    "gaussian_variance_decomposition",
    "get_scorer",
    "get_scorer_names",
    "interval_coverage_score",
    "mean_error_correlation",
    "mean_interval_width",
    "misclassification_auroc_score",
    "multiclass_brier_score_loss",
    "mutual_information",
    "pairwise_disagreement",
    "predictive_entropy",
    "q_statistic",
    "quantile_calibration_error",
    "reliability_curve",
    "risk_coverage_curve",
]
