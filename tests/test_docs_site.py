"""The sources of the docs site (doc/conf.py, doc/api/, examples/) stay in step with the code.

Cheap checks, no Sphinx build: ``doc/build.sh`` builds the site.
"""

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from skens.utils.discovery import _PUBLIC_MODULES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "doc"
EXAMPLES = ROOT / "examples"


def _autosummary_names(page):
    """The names listed by the ``autosummary`` directives of an .rst page."""
    names, inside = [], False
    for line in page.read_text().splitlines():
        if line.startswith(".. autosummary::"):
            inside = True
        elif inside and line.strip() and not line.startswith(" "):
            inside = False
        elif inside and line.startswith("   ") and not line.strip().startswith(":"):
            names.append(line.strip())
    return names


def _public_names(module_name):
    module = importlib.import_module(module_name)
    return [name for name in module.__all__ if not name.startswith("__")]


@pytest.mark.parametrize("module_name", _PUBLIC_MODULES)
def test_api_reference_lists_every_public_name(module_name):
    page = DOC / "api" / f"{module_name}.rst"
    assert page.is_file(), f"no API reference page {page.relative_to(ROOT)}"
    listed = _autosummary_names(page)
    public = _public_names(module_name)
    missing = sorted(set(public) - set(listed))
    extra = sorted(set(listed) - set(public))
    assert not missing, f"{page.relative_to(ROOT)} does not list {missing} of {module_name}"
    assert not extra, f"{page.relative_to(ROOT)} lists {extra}, not in {module_name}.__all__"
    assert len(listed) == len(set(listed)), f"{page.relative_to(ROOT)} lists a name twice"
    text = page.read_text()
    assert f".. currentmodule:: {module_name}\n" in text
    assert f".. automodule:: {module_name}\n" in text


def test_api_reference_index_has_every_module_page():
    index = (DOC / "api" / "index.rst").read_text()
    entries = re.findall(r"^   (skens[\w.]*)$", index, flags=re.M)
    assert sorted(entries) == sorted(_PUBLIC_MODULES)
    pages = sorted(p.stem for p in (DOC / "api").glob("*.rst") if p.stem != "index")
    assert pages == sorted(_PUBLIC_MODULES)


def _conf():
    """doc/conf.py as a module (it imports skens and defines functions; no Sphinx needed)."""
    spec = importlib.util.spec_from_file_location("skens_doc_conf", DOC / "conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_navigation_reaches_every_page():
    """Every Markdown page is linked from doc/index.md, so it is in the site's navigation.

    Sphinx warns about a page in no toctree, which fails the build.
    """
    toctrees = _conf().navigation((DOC / "index.md").read_text())
    entries = [
        line
        for block in re.findall(r"```\{toctree\}\n(.*?)```", toctrees, flags=re.S)
        for line in block.splitlines()
        if line and not line.startswith(":")
    ]
    pages = {
        p.relative_to(DOC).with_suffix("").as_posix()
        for p in DOC.rglob("*.md")
        if not p.relative_to(DOC).parts[0].startswith("_")
    } - {"index"}
    assert len(entries) == len(set(entries))
    missing = sorted(pages - set(entries))
    assert not missing, f"pages not linked from doc/index.md: {missing}"
    generated = {"api/index", "auto_examples/index"}
    assert not set(entries) - pages - generated, "doc/index.md links a page that does not exist"


def test_gallery_sources_have_sphinx_gallery_form():
    """A README.txt per gallery folder, a reST title atop every example."""
    assert (EXAMPLES / "README.txt").is_file()
    scripts = sorted(EXAMPLES.rglob("plot_*.py"))
    assert scripts
    for folder in {script.parent for script in scripts} - {EXAMPLES}:
        assert (folder / "README.txt").is_file(), f"{folder.relative_to(ROOT)} has no README.txt"
    for script in scripts:
        docstring = ast.get_docstring(ast.parse(script.read_text()), clean=False)
        assert docstring, f"{script.name} has no docstring"
        over, title, under = docstring.strip("\n").splitlines()[:3]
        assert set(over) == {"="} and over == under, f"{script.name}: no '=' over/underlined title"
        assert len(over) >= len(title), f"{script.name}: title over/underline too short"
