"""Validate the numpydoc docstrings of skens' public API.

The public API is every class and function in the ``__all__`` of the public
modules, and the public methods (``__call__`` included) and properties that
skens itself defines on those classes (not the ones inherited from
scikit-learn, torch or skorch). The checks, exclusions and overrides are read
from the ``[tool.numpydoc_validation]`` table of pyproject.toml, with
numpydoc's own parser (``checks``, ``exclude``, ``override_<CODE>``, as for
``numpydoc lint``); ``exclude`` is matched against the public name, e.g.
``skens.nn.EnsembleLinear.extra_repr``. EX01 (no Examples section) is
reported for the classes and functions, not for their methods: a class's
example shows its methods. Problems are printed one a line; the exit status is
1 if there is any.

Usage: ``python .ci/check_docstrings.py``
"""

import importlib
import inspect
import re
import sys
from pathlib import Path

from numpydoc.hooks.validate_docstrings import parse_config
from numpydoc.validate import validate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from skens.utils.discovery import _PUBLIC_MODULES  # noqa: E402

PUBLIC_MODULES = list(_PUBLIC_MODULES)


def _is_skens(obj):
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "skens"


def _members(cls):
    """Public methods and properties that skens defines on ``cls`` or its bases."""
    for klass in cls.__mro__:
        if not _is_skens(klass):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") and name != "__call__":
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if isinstance(attr, property) or inspect.isfunction(attr):
                yield name


def public_names():
    """Dotted names of the public objects to validate, sorted and unique."""
    names = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not _is_skens(obj):
                continue  # constants such as SCORERS, and __version__
            qualified = f"{module_name}.{name}"
            names.add(qualified)
            if inspect.isclass(obj):
                names.update(f"{qualified}.{member}" for member in _members(obj))
    return sorted(names)


def _is_method(name):
    """Whether the dotted public ``name`` is an attribute of a class."""
    parent = ".".join(name.split(".")[:-1])
    for module_name in sorted(PUBLIC_MODULES, key=len, reverse=True):
        if parent.startswith(module_name + "."):
            obj = importlib.import_module(module_name)
            for part in parent[len(module_name) + 1 :].split("."):
                obj = getattr(obj, part)
            return inspect.isclass(obj)
    return False


def _where(report):
    path = Path(report["file"] or "?")
    try:
        path = path.relative_to(ROOT)
    except ValueError:
        pass
    return f"{path}:{report['file_line']}"


def check(config):
    """Validate every public docstring; return the problems as lines."""
    problems = []
    for name in public_names():
        if config["exclude"] is not None and config["exclude"].search(name):
            continue
        report = validate(name)
        method = _is_method(name)
        for code, message in report["errors"]:
            if code not in config["checks"] or (code == "EX01" and method):
                continue
            override = config["overrides"].get(code)
            if override is not None and re.search(override, report["docstring"] or ""):
                continue
            problems.append(f"{_where(report)}: {code} {name}: {message}")
    return problems


def main():
    config = parse_config(ROOT)
    names = public_names()
    problems = check(config)
    for line in problems:
        print(line)
    print(f"{len(problems)} docstring problem(s) in {len(names)} public objects.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
