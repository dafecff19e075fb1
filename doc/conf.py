"""Sphinx configuration of the skens documentation site.

Build it with ``doc/build.sh`` (warnings are errors). The pages are the Markdown files of
``doc/`` (MyST), the API reference is ``doc/api/*.rst`` (autosummary pages generated from
the numpydoc docstrings into ``doc/gen_modules/``), and the gallery is ``examples/``, run
by sphinx-gallery into ``doc/auto_examples/``.
"""

import inspect
import os
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent
ROOT = DOC.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import skens  # noqa: E402

project = "skens"
author = "The skens developers"
copyright = "the skens developers"  # noqa: A001
version = release = skens.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
templates_path = ["_templates"]
html_static_path = []
exclude_patterns = ["_build", "_templates"]

html_theme = "furo"
html_title = f"skens {release}"

# Markdown pages: GitHub-style heading anchors, so that links such as
# ``../benchmarks.md#small-tables`` resolve as they do on GitHub.
myst_heading_anchors = 4
myst_enable_extensions = ["dollarmath", "colon_fence"]

# API reference: one page per public object, generated from the docstrings.
autosummary_generate = True
autosummary_generate_overwrite = True
autodoc_typehints = "none"  # the numpydoc docstrings give the types
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
# The docstrings are validated by .ci/check_docstrings.py; here only the rendering counts.
numpydoc_validation_checks = set()

# Gallery: every example runs, its figures are kept, any error fails the build.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skens",),
    "reference_url": {"skens": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    # The per-example pages give their time; doc/build.sh checks it against a limit.
    "write_computation_times": False,
    "plot_gallery": os.environ.get("SKENS_DOCS_PLOT_GALLERY", "True"),
}

# The pages are Markdown files linked to each other from doc/index.md; the navigation
# (a hidden toctree) is derived from those links and appended to index.md at build time,
# so that the files read the same on GitHub and a page linked from nowhere fails the build.
_MD_LINK = re.compile(r"\]\(([\w/.-]+)\.md\)")
_GUIDE = ("install", "quickstart", "user_guide/")


def navigation(index_text):
    """The two toctrees of the site, in the order of the links of doc/index.md.

    Parameters
    ----------
    index_text : str
        The text of doc/index.md.

    Returns
    -------
    toctrees : str
        MyST toctree directives: the user guide, then the reference pages (the generated
        API reference, the gallery and the other linked pages).

    Examples
    --------
    >>> print(navigation("[A](install.md) [B](user_guide/x.md) [C](changelog.md)"))
    <BLANKLINE>
    ```{toctree}
    :hidden:
    :caption: User guide
    <BLANKLINE>
    install
    user_guide/x
    ```
    <BLANKLINE>
    ```{toctree}
    :hidden:
    :caption: Reference
    <BLANKLINE>
    api/index
    auto_examples/index
    changelog
    ```
    <BLANKLINE>
    """
    pages = list(dict.fromkeys(_MD_LINK.findall(index_text)))
    guide = [page for page in pages if page.startswith(_GUIDE)]
    reference = ["api/index", "auto_examples/index"]
    reference += [page for page in pages if page not in guide]
    return "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"
        for caption, entries in (("User guide", guide), ("Reference", reference))
    )


def _add_navigation(app, docname, source):
    """Append the hidden toctrees to doc/index.md as it is read (the file stays unchanged)."""
    if docname == root_doc:
        source[0] += "\n" + navigation(source[0])


def _skens_members_only(app, what, name, obj, skip, options):
    """Document only the members that skens defines (not those of sklearn, torch, skorch).

    Inherited members are documented when a skens class defines them (the mixins of
    ``skens.base``), as ``.ci/check_docstrings.py`` checks them.
    """
    if skip or what != "class":
        return skip
    owner = getattr(obj, "__func__", obj)
    if isinstance(owner, property):
        owner = owner.fget
    module = getattr(owner, "__module__", None) or ""
    if inspect.isroutine(owner) or inspect.isfunction(owner) or callable(owner):
        return None if module.split(".")[0] == "skens" else True
    return True  # class attributes: described in the docstring's Attributes section


# A numpydoc parameter line as rendered: ``**name** : type``.
_TYPE_LINE = re.compile(r"^(\s*\*\*\w+\*\* : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\w)_(?=[^\w`]|$)")


def _escape_fitted_names(app, what, name, obj, options, lines):
    """Escape fitted-attribute names in the types, ``(n_features_in_,)``.

    In reStructuredText ``n_features_in_`` is a reference to a target; the types of the
    numpydoc sections are plain text (as on scikit-learn's pages). Runs after numpydoc.
    """
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match and "`" not in match.group(2):
            lines[i] = match.group(1) + _TRAILING_UNDERSCORE.sub(r"\\_", match.group(2))


def setup(app):
    app.connect("source-read", _add_navigation)
    app.connect("autodoc-skip-member", _skens_members_only)
    app.connect("autodoc-process-docstring", _escape_fitted_names, priority=900)
