"""``python -m selfdistill``: the command line (:mod:`selfdistill.cli`)."""

from selfdistill.cli import main

raise SystemExit(main())
