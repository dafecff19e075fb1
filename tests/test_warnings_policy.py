"""The test suite's warnings policy (``filterwarnings`` in pyproject.toml).

Warnings attributed to skens' own modules or to the tests are errors; other
packages' warnings, such as a third-party import-time DeprecationWarning, are
not. Each case runs pytest in a subprocess, on generated files, with the
project's own ``filterwarnings`` list.
"""

import json
import tomllib
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# Module-level code of a third-party package that warns when imported.
THIRD_PARTY = """
import warnings

warnings.warn("thirdparty is deprecated", DeprecationWarning)


def old_function():
    warnings.warn("old_function is deprecated", FutureWarning, stacklevel=2)


def calls_old_function():
    old_function()  # attributed to thirdparty itself
"""

# Runs ``source`` as the body of the module ``name``, so that the warnings module
# attributes its warnings to that module, as for a file of the installed package.
RUN_AS_MODULE = """
import types


def run_as_module(name, source):
    module = types.ModuleType(name)
    module.__file__ = name.replace(".", "/") + ".py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module
"""


def _project_filters():
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)["tool"]["pytest"]["ini_options"]["filterwarnings"]


def _run(pytester, test_source, filters):
    lines = ",\n    ".join(json.dumps(f) for f in filters)
    pytester.makepyprojecttoml(f"[tool.pytest.ini_options]\nfilterwarnings = [\n    {lines},\n]\n")
    pytester.makepyfile(thirdparty=THIRD_PARTY, helpers=RUN_AS_MODULE)
    pytester.mkpydir("tests")
    pytester.makepyfile(**{"tests/test_probe": test_source})
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")


def test_the_policy_errors_on_skens_and_tests_only():
    filters = _project_filters()
    assert any(f.startswith("error:::skens") for f in filters)
    assert any(f.startswith("error:::tests") for f in filters)
    # No blanket "error" for a category: that would catch other packages' warnings.
    assert not any(f.startswith("error::") and f.count(":") < 3 for f in filters)


def test_third_party_import_time_deprecation_is_not_an_error(pytester):
    source = """
import thirdparty


def test_calls_into_thirdparty():
    thirdparty.calls_old_function()
"""
    result = _run(pytester, source, _project_filters())
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*DeprecationWarning: thirdparty is deprecated*"])


def test_the_previous_blanket_policy_failed_that_collection(pytester):
    # Why the policy changed: a category-wide "error" fails collection.
    source = "import thirdparty\n\n\ndef test_nothing():\n    pass\n"
    result = _run(pytester, source, ["error::DeprecationWarning"])
    result.assert_outcomes(errors=1)


@pytest.mark.parametrize(
    "module_source",
    [
        # skens' own warning.
        "import warnings\nwarnings.warn('from skens', UserWarning)\n",
        # A third-party FutureWarning that stacklevel attributes to skens' call.
        "import thirdparty\nthirdparty.old_function()\n",
    ],
    ids=["skens-warning", "third-party-warning-from-a-skens-call"],
)
def test_a_warning_attributed_to_a_skens_module_is_an_error(pytester, module_source):
    source = f"""
from helpers import run_as_module


def test_skens_code_warns():
    run_as_module("skens._probe", {module_source!r})


def test_other_code_may_warn():
    run_as_module("otherlib._probe", {module_source!r})
"""
    result = _run(pytester, source, _project_filters())
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["FAILED tests/test_probe.py::test_skens_code_warns - *Warning*"])


def test_a_warning_attributed_to_test_code_is_an_error(pytester):
    source = """
import pytest
import thirdparty


def test_calls_a_deprecated_function():
    thirdparty.old_function()  # attributed to this test module


def test_expects_the_warning():
    with pytest.warns(FutureWarning):
        thirdparty.old_function()
"""
    result = _run(pytester, source, _project_filters())
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED tests/test_probe.py::test_calls_a_deprecated_function - FutureWarning*"]
    )
