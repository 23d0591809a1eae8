"""Guard for the rounds chapters: a claim cell deleted from a chapter must not go unnoticed.

nbval compares the cells that the text source still has, and the ledger reads the declared claims
from that same source: deleting a whole claim cell slips past both. The approved golden notebook
still prints every claim it checked, so each printed claim id must still be declared.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from selfdistill.claims import declared_claims

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ["sd-rounds", "bt-sparsification", "collapse-bound"]
PRINTED = re.compile(r"^(?:PASS|FAIL) (\S+):", re.MULTILINE)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_golden_claim_is_still_declared(name):
    golden = nbformat.read(ROOT / "tests" / "golden" / f"{name}.ipynb", as_version=4)
    printed = {m for cell in golden.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []) if out.get("output_type") == "stream"
               for m in PRINTED.findall(out.get("text", ""))}
    declared = set(declared_claims((ROOT / "notebooks" / f"{name}.md").read_text()))
    assert printed, f"{name}: the golden notebook prints no claims"
    assert printed <= declared, f"{name}: claims dropped from the chapter: {printed - declared}"
