"""A deleted or renamed claim fails: the claim ids a chapter declares must be exactly those its
approved golden notebook recorded (the ledger alone cannot tell, since it reads the declared ids
from the same, edited, chapter)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from selfdistill.chapters import find_chapters
from selfdistill.claims import declared_claims

GOLDEN = Path(__file__).resolve().parent / "golden"
_SUMMARY = re.compile(r"^(?:PASS|FAIL) (\S+): ", re.MULTILINE)


def golden_claim_ids(path: Path) -> list[str]:
    """The claim ids printed by the golden notebook's check cells, in order."""
    ids = []
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            ids += _SUMMARY.findall(text if isinstance(text, str) else "".join(text))
    return ids


@pytest.mark.parametrize("name", sorted(find_chapters()))
def test_declared_claims_match_the_golden_notebook(name):
    golden = GOLDEN / f"{name}.ipynb"
    if not golden.is_file():
        pytest.skip(f"{name} has no golden notebook yet")
    source = find_chapters()[name].path.read_text(encoding="utf-8")
    declared, approved = declared_claims(source), golden_claim_ids(golden)
    assert declared == approved, (
        f"{name}: claims in the chapter {declared} differ from the approved golden notebook "
        f"{approved}; regenerate it (selfdistill golden {name}) only if the change is intended"
    )
