import subprocess
import sys

import pytest

from skens._cli import main


def test_demo_prints_the_comparison(capsys, monkeypatch):
    # Keep the test quick: the demo's models with few epochs.
    import skens._demo as demo

    for name in ("DeepEnsembleClassifier", "DeepEnsembleRegressor"):
        original = getattr(demo, name)
        monkeypatch.setattr(
            demo, name, lambda original=original, **kw: original(max_epochs=5, **kw)
        )
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
