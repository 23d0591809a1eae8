"""``python -m selfdistill``: the command line (:mod:`selfdistill.core.cli`)."""

from selfdistill.core.cli import main

raise SystemExit(main())
