"""``pytest -m "not slow"`` runs the unit tests alone: the golden notebooks (whole chapters) are
deselected with the tests marked slow by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_not_slow_deselects_every_golden_notebook():
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0",
                           "-p", "no:randomly", "-m", "not slow", "tests/_nbval"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert "no tests collected" in proc.stdout and "deselected" in proc.stdout, proc.stdout[-2000:]
