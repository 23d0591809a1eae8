"""The ledger takes a chapter's paper, declared claims and parameters from the run itself, and
every chapter builds it that one way (issue 15, item 9c)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from selfdistill.core.chapters import ParameterError, find_chapters
from selfdistill.core.ledger import Ledger, chapter_paper

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
TINY = {"x": 0.25, "mode": "pass", "wait": 0.0, "device": "cpu"}


@pytest.fixture
def fixtures(monkeypatch):
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))


def test_every_chapter_builds_its_ledger_the_one_way():
    """One ``Ledger.for_chapter("<its own name>", globals())`` per chapter, and no other
    construction: nothing typed by hand that could drift from the parameters cell."""
    chapters = find_chapters()
    assert len(chapters) >= 21
    for name, chapter in chapters.items():
        text = chapter.text()
        calls = re.findall(r"\bLedger\s*(?:\.\s*\w+\s*)?\(", text)
        one_way = re.findall(r"^ledger = Ledger\.for_chapter\(\"([^\"]+)\", globals\(\)\)$",
                             text, re.M)
        assert one_way == [name] and len(calls) == 1, (name, calls, one_way)
        assert re.search(r"^from selfdistill\.core import [^\n]*\bLedger\b", text, re.M), name


def test_the_parameters_are_read_from_the_run_for_exactly_the_declared_names(fixtures, tmp_path):
    namespace = {**TINY, "x": 0.75, "time": "a module", "ledger": None}  # x overridden
    ledger = Ledger.for_chapter("tiny", namespace, path=tmp_path / "c.json")
    assert ledger.parameters == {**TINY, "x": 0.75}
    assert ledger.paper == "fixture" and ledger.device == "cpu"
    assert ledger.expected == ["fixture.doubling", "fixture.runs"]
    assert ledger.run["device"] == "cpu"


def test_a_declared_parameter_missing_from_the_run_is_refused(fixtures, tmp_path):
    namespace = {k: v for k, v in TINY.items() if k != "wait"}
    with pytest.raises(ValueError, match="declares wait, which the namespace lacks"):
        Ledger.for_chapter("tiny", namespace, path=tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()
    with pytest.raises(TypeError, match="namespace"):
        Ledger.for_chapter("tiny", [("x", 0.5)], path=tmp_path / "c.json")
    with pytest.raises(ParameterError, match="unknown chapter 'tinny'"):
        Ledger.for_chapter("tinny", TINY, path=tmp_path / "c.json")


@pytest.mark.parametrize("fields, message", [
    (dict(paper="fixture", parameters={"x": 0.5}), "differ from the names its parameters cell"),
    (dict(paper="fixture", parameters={**TINY, "extra": 1}), "differ from the names"),
    (dict(paper="mobahi2020", parameters=TINY, device="cpu"), "but its claims are fixture's"),
    (dict(paper="fixture", parameters=TINY, device="cuda"), "differs from its device parameter"),
    (dict(paper="fixture", parameters=TINY), "differs from its device parameter"),
])
def test_a_ledger_that_disagrees_with_its_chapter_is_refused(fixtures, tmp_path, fields, message):
    """However it is built: the constructor checks a chapter that exists as well."""
    with pytest.raises(ValueError, match=message):
        Ledger(chapter="tiny", path=tmp_path / "c.json", **fields)
    assert not (tmp_path / "c.json").exists()


def test_the_paper_is_the_key_of_every_declared_claim():
    one = 'ledger.check_true("zhang2020.a", True)\nledger.check_at_most("zhang2020.b", 1, 2)'
    assert chapter_paper("c", one) == "zhang2020"
    with pytest.raises(ValueError, match="declares claims of 2 papers"):
        chapter_paper("c", one + '\nledger.check_true("dong2019.c", True)')
    with pytest.raises(ValueError, match=r"claims of 0 papers \(none\)"):
        chapter_paper("c", "print(1)")
