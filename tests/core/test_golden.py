"""Guards: nbval must have something to compare in every chapter, or it silently checks nothing;
and the approved claims must be exactly the claims the chapter declares."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from selfdistill.core.chapters import find_chapters
from selfdistill.core.golden import CHECK_TAG
from selfdistill.core.ledger import declared_claims

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
SYNCED = Path(__file__).resolve().parents[1] / "_nbval"  # written by conftest.py before collection

CHAPTERS = sorted(find_chapters())
_SUMMARY = re.compile(r"^(?:PASS|FAIL) ([\w.-]+):(?: |$)", re.M)  # a wide line continues below


def _tagged(nb) -> list:
    return [c for c in nb.cells
            if c.cell_type == "code" and CHECK_TAG in c.metadata.get("tags", [])]


def _printed(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_is_a_jupytext_notebook_with_claim_cells(name):
    text = find_chapters()[name].path.read_text(encoding="utf-8")
    assert text.startswith("---\njupytext:"), "front matter missing: code cells would not run"
    assert _tagged(jupytext.reads(text, fmt="md:myst")), f"{name} has no {CHECK_TAG} cell"


@pytest.mark.parametrize("name", CHAPTERS)
def test_golden_notebook_has_outputs_for_every_tagged_cell(name):
    golden = GOLDEN / f"{name}.ipynb"
    assert golden.exists(), f"no golden notebook: run `selfdistill golden {name}` and commit it"
    synced = nbformat.read(SYNCED / f"{name}.ipynb", as_version=4)
    source = jupytext.read(find_chapters()[name].path)
    assert len(_tagged(synced)) == len(_tagged(source))
    for cell in _tagged(synced):
        # nbval silently skips a reference cell without an execution count ("unrun")
        assert cell.execution_count is not None, f"{name}: tagged golden cell marked unrun"
        assert cell.outputs, (
            f"{name}: tagged cell has no approved output (inputs changed since the golden "
            f"notebook was made?): {cell.source[:80]!r}; regenerate: `selfdistill golden {name}`"
        )


@pytest.mark.parametrize("name", CHAPTERS)
def test_approved_claims_are_exactly_the_declared_claims(name):
    """A deleted, renamed or added claim changes this set: the golden file must be re-approved."""
    golden = nbformat.read(GOLDEN / f"{name}.ipynb", as_version=4)
    approved = [i for cell in _tagged(golden) for i in _SUMMARY.findall(_printed(cell))]
    declared = declared_claims(find_chapters()[name].path.read_text(encoding="utf-8"))
    assert sorted(approved) == sorted(declared), (
        f"{name}: approved {sorted(set(approved) - set(declared))} not declared, declared "
        f"{sorted(set(declared) - set(approved))} not approved; `selfdistill golden {name}`")
    assert len(approved) == len(set(approved))


@pytest.mark.parametrize("name", CHAPTERS)
def test_claim_cells_print_only_claim_summaries(name):
    """nbval compares these outputs: anything else in them (timings, values) would be flaky."""
    golden = nbformat.read(GOLDEN / f"{name}.ipynb", as_version=4)
    for cell in _tagged(golden):
        kinds = {o.get("output_type") for o in cell.outputs}
        # a glued or displayed value is a full-precision float that nbval would compare
        assert kinds <= {"stream"}, f"{name}: a compared cell shows {kinds - {'stream'}}"
        for line in _printed(cell).splitlines():
            # a summary too wide for the page continues, indented, on its next line
            assert _SUMMARY.match(line + " ") or line.startswith("    "), (
                f"{name}: not a claim summary: {line!r}")


@pytest.mark.parametrize("name", CHAPTERS)
def test_compared_cells_glue_and_display_nothing(name):
    """Issue 13: glue belongs in cells nbval does not compare (checked on the source, so it holds
    before the golden notebook is regenerated)."""
    source = jupytext.read(find_chapters()[name].path)
    for cell in _tagged(source):
        assert not re.search(r"\b(glue|display|print)\(", cell.source), (
            f"{name}: a compared cell glues, displays or prints: {cell.source[:80]!r}")


def test_every_golden_notebook_has_a_chapter():
    assert sorted(p.stem for p in GOLDEN.glob("*.ipynb")) == CHAPTERS
