"""The docs and the README stay in step with the code and with CI."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODULES = [
    "skens",
    "skens.base",
    "skens.metrics",
    "skens.nn",
    "skens.preprocessing",
    "skens.utils",
    "skens.exceptions",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_page_lists_every_public_name(module_name):
    api = (ROOT / "doc" / "api.md").read_text()
    module = importlib.import_module(module_name)
    missing = [
        name
        for name in module.__all__
        if not name.startswith("__") and f"`{module_name}.{name}`" not in api
    ]
    assert not missing, f"doc/api.md does not list {missing} from {module_name}"


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", readme)[:2]


def test_readme_starts_with_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    demo, tests = _readme_commands()
    assert readme.index(demo) < readme.index(tests) < readme.index("## ")
    assert "torch==2.13.0" in demo and "skens demo" in demo
    assert "torch==2.13.0" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    _, tests = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_every_public_estimator_has_a_doctest_example():
    from skens.utils import all_estimators

    for name, Estimator in all_estimators():
        assert ">>> " in Estimator.__doc__, name
        predict = "transform" if hasattr(Estimator, "transform") else "predict"
        for method in ("fit", predict):
            assert getattr(Estimator, method).__doc__, f"{name}.{method}"
