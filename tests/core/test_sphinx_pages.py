"""The claims page and the reproduction status pages: their order, their content, and that a
claim that starts failing changes them (a small Sphinx build with a made-up book)."""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from selfdistill.core.claim import Claim
from selfdistill.core.ledger import LedgerRecord, write_ledger
from selfdistill.core.provenance import provenance
from selfdistill.core.registry import ClaimLink, Statement, statement_status
from selfdistill.core.sphinx_claims import book_order, chapter_lines, overview_lines
from selfdistill.core.sphinx_status import statement_lines

REPO = Path(__file__).resolve().parents[2]


def _claim(claim_id: str, provenance: str = "derived", passed: bool = True,
           chapter: str = "alpha") -> Claim:
    return Claim(id=claim_id, paper=claim_id.split(".")[0], provenance=provenance,
                 statement="a statement", measured="the gap", value=0.25 if passed else 0.75,
                 bound="≤ 0.5", reason="why", passed=passed, chapter=chapter, kind="at_most",
                 limit=0.5)


def _record(chapter: str, *claims: Claim) -> LedgerRecord:
    run = {**provenance(), "commit": "abc123def456", "device": "cpu", "device_name": "x86_64",
           "versions": {"selfdistill": "0.1.0", "torch": "2.13.0"}, "python": "3.11.7",
           "started": "2026-12-07T02:21:00+00:00", "finished": "2026-12-07T02:21:32+00:00"}
    return LedgerRecord(path=Path(chapter), chapter=chapter, paper="mobahi2020", complete=True,
                        expected=tuple(c.id for c in claims), parameters={"eps": 0.01},
                        run=run, claims=claims)


# --- pieces ------------------------------------------------------------------------------------

def test_book_order_follows_the_toc_whatever_the_input_order(tmp_path):
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "intro",
        "parts": [{"chapters": [{"file": "notebooks/zeta"}, {"file": "notebooks/alpha"},
                                {"file": "notebooks/mu"}]}]}), encoding="utf-8")
    app = SimpleNamespace(srcdir=str(tmp_path))
    for names in (["alpha", "mu", "zeta", "extra"], ["extra", "zeta", "mu", "alpha"]):
        assert book_order(app, names) == ["zeta", "alpha", "mu", "extra"]
    assert book_order(SimpleNamespace(srcdir=str(tmp_path / "none")), ["b", "a"]) == ["a", "b"]


def test_the_books_toc_lists_the_status_pages_before_the_claims_page():
    toc = (REPO / "_toc.yml").read_text(encoding="utf-8")
    files = re.findall(r"file: (\S+)", toc)
    assert files[-5:-1] == ["book/status-mobahi2020", "book/status-zhang2020",
                            "book/status-dong2019", "book/claims"]
    for paper in ("mobahi2020", "zhang2020", "dong2019"):
        page = (REPO / "book" / f"status-{paper}.md").read_text(encoding="utf-8")
        assert f"```{{statement-status}} {paper}\n```" in page
    assert "sidebar_secondary.remove" not in (REPO / "book" / "claims.md").read_text()
    assert "```{statement-summary}" in (REPO / "book" / "intro.md").read_text()


def test_overview_counts_claims_passes_and_provenance_per_chapter():
    records = [_record("beta", _claim("mobahi2020.a", "stated"), _claim("mobahi2020.b")),
               _record("alpha", _claim("mobahi2020.c", "extension", passed=False))]
    lines = overview_lines(records, {"beta": "Beta", "alpha": "Alpha"})
    assert lines[0].startswith("3 claims from 2 chapters: 2 pass, 1 fail. Provenance: 1 *stated*")
    assert "1 *derived*" in lines[0] and "1 *extension*" in lines[0]
    rows = [i for i, line in enumerate(lines) if line.startswith("* - {ref}")]
    assert [lines[i] for i in rows] == ["* - {ref}`Beta <ledger-beta>`",
                                        "* - {ref}`Alpha <ledger-alpha>`"]
    assert lines[rows[0] + 1: rows[0] + 6] == ["  - 2", "  - 2", "  - 1", "  - 1", "  - 0"]
    assert lines[rows[1] + 1: rows[1] + 6] == ["  - 1", "  - 0", "  - 0", "  - 0", "  - 1"]
    total = lines.index("* - **All chapters**")
    assert lines[total + 1: total + 6] == ["  - **3**", "  - **2**", "  - **1**", "  - **1**",
                                           "  - **1**"]


def test_chapter_summary_names_run_commit_device_and_split():
    lines = chapter_lines(_record("alpha", _claim("mobahi2020.a", "stated"),
                                  _claim("mobahi2020.b", passed=False)), "notebooks/alpha")
    text = "\n".join(lines)
    assert "  - 2, of which 1 pass" in text
    assert "  - 1 stated, 1 derived, 0 extension" in text
    assert "  - 2026-12-07 02:21:32 UTC" in text
    assert "`abc123def456`" in text and "cpu (x86_64); torch 2.13.0" in text
    assert "`eps=0.01`" in text and "**FAIL**" in text
    assert "mobahi2020, *derived*: value `0.75`, bound `≤ 0.5`" in text


def _statement(*links: tuple[str, str], why: str = "") -> Statement:
    return Statement(paper="mobahi2020", id="s", text="The text.", source="paper",
                     chapters=("alpha",), claims=tuple(ClaimLink(i, w) for i, w in links),
                     regime="book scale", why=why)


def test_statement_section_gives_scope_method_and_measured_result():
    s = _statement(("mobahi2020.a", "reproduced"), ("mobahi2020.b", "not-reproduced"))
    claims = {"mobahi2020.a": _claim("mobahi2020.a"), "mobahi2020.b": _claim("mobahi2020.b")}
    status = statement_status(s, claims)
    text = "\n".join(statement_lines(s, status, {"alpha": "notebooks/alpha"},
                                     {"mobahi2020.a"}))
    assert "* - Scope\n  - book scale" in text
    assert "Chapters: {doc}`/notebooks/alpha`." in text
    assert "{ref}`a <claim-mobahi2020-a>` (a pass shows: *reproduced*)" in text
    assert "`mobahi2020.b` (a pass shows: *not-reproduced*)" in text  # no anchor: no link
    assert "**not reproduced**" in text
    assert "`b` passes: the gap = `0.25` (bound `≤ 0.5`) ← decides." in text


def test_statement_section_for_missing_failed_and_untested():
    s = _statement(("mobahi2020.a", "reproduced"))
    missing = "\n".join(statement_lines(s, statement_status(s, {}), {}, set()))
    assert "**failing**" in missing and "**not recorded by this build**" in missing
    assert "`alpha` (not in this build)" in missing
    failed = {"mobahi2020.a": _claim("mobahi2020.a", passed=False)}
    text = "\n".join(statement_lines(s, statement_status(s, failed), {}, set()))
    assert "`a` **FAILS**: the gap" in text
    untested = _statement(why="Needs a GPU.")
    text = "\n".join(statement_lines(untested, statement_status(untested, {}), {}, set()))
    assert "**not tested**: Needs a GPU." in text


# --- a small book, built -----------------------------------------------------------------------

REGISTRY = {"paper": "mobahi2020", "statements": [
    {"id": "first", "text": "It holds.", "source": "paper", "chapters": ["alpha"],
     "claims": [{"id": "mobahi2020.a", "shows": "reproduced"}], "regime": "toy", "why": ""},
    {"id": "second", "text": "It also holds.", "source": "derived", "chapters": ["zeta"],
     "claims": [{"id": "mobahi2020.z", "shows": "partly"}], "regime": "toy", "why": ""},
]}


def _ledger(folder: Path, chapter: str, claim: Claim) -> None:
    write_ledger(folder / f"{chapter}.json", {
        "chapter": chapter, "paper": "mobahi2020", "complete": True, "expected": [claim.id],
        "parameters": {}, "run": _record(chapter).run, "claims": [asdict(claim)]})


def _build(root: Path, mode: str) -> tuple[str, str, str]:
    from sphinx.application import Sphinx

    src = root / "src"
    (src / "notebooks").mkdir(parents=True, exist_ok=True)
    (src / "book").mkdir(exist_ok=True)
    (src / "registry").mkdir(exist_ok=True)
    (src / "registry" / "mobahi2020.yaml").write_text(yaml.safe_dump(REGISTRY), encoding="utf-8")
    (src / "conf.py").write_text(
        'extensions = ["myst_parser", "selfdistill.core.sphinx_status"]\n'
        'statements_registry = "registry"\nexclude_patterns = ["registry"]\n', encoding="utf-8")
    (src / "_toc.yml").write_text(yaml.safe_dump({"root": "index", "chapters": [
        {"file": "notebooks/zeta"}, {"file": "notebooks/alpha"}]}), encoding="utf-8")
    (src / "index.md").write_text(
        "# Book\n\n```{statement-summary}\n```\n\n```{toctree}\nnotebooks/zeta\nnotebooks/alpha\n"
        "book/status-mobahi2020\nbook/claims\n```\n", encoding="utf-8")
    for name in ("alpha", "zeta"):
        (src / "notebooks" / f"{name}.md").write_text(f"# Chapter {name}\n\nText.\n",
                                                      encoding="utf-8")
    (src / "book" / "status-mobahi2020.md").write_text(
        "# Status\n\n```{statement-status} mobahi2020\n```\n", encoding="utf-8")
    (src / "book" / "claims.md").write_text("# Claims\n\n```{claims-ledger}\n```\n",
                                            encoding="utf-8")
    out = root / "_build" / "html"
    _ledger(root / "_build" / "claims", "alpha", _claim("mobahi2020.a", passed=mode != "fail"))
    if mode == "edited":  # a passing value changed by hand: the digest no longer matches
        file = root / "_build" / "claims" / "alpha.json"
        data = json.loads(file.read_text(encoding="utf-8"))
        data["claims"][0]["value"] = 0.125
        file.write_text(json.dumps(data), encoding="utf-8")
    _ledger(root / "_build" / "claims", "zeta", _claim("mobahi2020.z", chapter="zeta"))
    warnings = io.StringIO()
    app = Sphinx(str(src), str(src), str(out), str(root / "_build" / "doctrees"), "html",
                 status=None, warning=warnings, freshenv=True)
    app.build(force_all=True)
    read = lambda p: (out / p).read_text(encoding="utf-8")  # noqa: E731
    return read("book/status-mobahi2020.html"), read("book/claims.html") + read("index.html"), \
        warnings.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pass", "fail", "edited"])
def test_a_failing_claim_changes_the_built_pages(tmp_path, mode):
    pytest.importorskip("myst_parser")
    status, other, warnings = _build(tmp_path, mode)
    claims_page = other[: other.index("</html>")]
    assert claims_page.index('id="ledger-zeta"') < claims_page.index('id="ledger-alpha"')
    assert 'id="status-mobahi2020-first"' in status and 'href="#status-mobahi2020-second"' in status
    assert "second: partly" in status
    if mode == "pass":
        assert "first: reproduced" in status and "<strong>FAILS</strong>" not in status
        assert "claim failed" not in warnings and "cannot be trusted" not in warnings
        assert re.search(r"✓ reproduced</p></td>\s*<td><p>1</p>", other)
    else:
        assert "first: failing" in status and "<strong>FAILS</strong>" in status
        assert re.search(r"FAILING</strong></p></td>\s*<td><p>1</p>", other)
    if mode == "fail":
        assert "claim failed: FAIL mobahi2020.a" in warnings
    if mode == "edited":
        assert "chapter alpha: its ledger cannot be trusted: EDITED" in warnings
        assert "FAILS</strong> (its chapter’s ledger cannot be trusted)" in status


def test_pages_that_read_ledgers_are_read_last(tmp_path):
    """With execution on, the chapters write their ledgers while Sphinx reads them: every page
    that reads the ledgers (claims, status pages, the intro's summary) must come after them."""
    from selfdistill.core.sphinx_claims import _read_ledger_last

    pages = {"book/intro": "```{statement-summary}\n```", "book/claims": "```{claims-ledger}\n```",
             "book/status-x": "```{statement-status} x\n```", "notebooks/a": "# A",
             "book/notation": "# N"}
    for name, text in pages.items():
        (tmp_path / f"{name}.md").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f"{name}.md").write_text(text, encoding="utf-8")
    env = SimpleNamespace(doc2path=lambda name: str(tmp_path / f"{name}.md"))
    docnames = list(pages)
    _read_ledger_last(None, env, docnames)
    assert docnames[:2] == ["notebooks/a", "book/notation"]
    assert set(docnames[2:]) == {"book/intro", "book/claims", "book/status-x"}
