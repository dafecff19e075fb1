"""The torch-free parts of skens import without torch or skorch."""

import subprocess
import sys

import pytest

_CHECK = """
import sys
import skens, skens.base, skens.ensemble, skens.metrics, skens.preprocessing, skens.utils
import skens.exceptions
heavy = sorted(m for m in ("torch", "skorch") if m in sys.modules)
assert not heavy, f"importing skens loaded {heavy}"
assert "DeepEnsembleClassifier" in dir(skens)
from skens import DeepEnsembleClassifier  # loads the deep estimators on first access
assert "torch" in sys.modules and DeepEnsembleClassifier.__module__.startswith("skens.deep")
"""


def test_import_skens_does_not_import_torch():
    result = subprocess.run([sys.executable, "-c", _CHECK], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_raises_attribute_error():
    import skens

    with pytest.raises(AttributeError, match="has no attribute 'NoSuchEstimator'"):
        skens.NoSuchEstimator  # noqa: B018
