"""Allow ``python -m skens demo``."""

from ._cli import main

raise SystemExit(main())
