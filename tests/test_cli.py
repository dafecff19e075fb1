import subprocess
import sys

import pytest
from threadpoolctl import threadpool_limits

from skens._cli import main


def test_demo_prints_the_comparison(capsys, monkeypatch):
    # The demo's code path with small models (few epochs of a small network, few
    # boosting iterations) on one thread: OpenMP threads (HistGradientBoosting's and
    # torch's) wait on each other at every barrier, and on a shared machine, e.g.
    # under pytest-xdist, that made this test several times slower. No assertion depends
    # on time: the printed fit times are not checked.
    import skens._demo as demo

    small = {
        "DeepEnsembleClassifier": dict(max_epochs=3, hidden_layer_sizes=(16,)),
        "DeepEnsembleRegressor": dict(max_epochs=3, hidden_layer_sizes=(16,)),
        "HistGradientBoostingClassifier": dict(max_iter=5),
        "HistGradientBoostingRegressor": dict(max_iter=5),
    }
    for name, params in small.items():
        original = getattr(demo, name)
        monkeypatch.setattr(
            demo, name, lambda original=original, params=params, **kw: original(**params, **kw)
        )
    with threadpool_limits(limits=1):
        assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for expected in [
        "Breast cancer",
        "Diabetes",
        "accuracy",
        "log loss",
        "RMSE",
        "Gaussian NLL",
        "epistemic",
        "aleatoric",
        "HistGradientBoostingClassifier",
        "single network (n_members=1)",
    ]:
        assert expected in out


def test_cli_requires_a_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "command" in capsys.readouterr().err


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "skens", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
