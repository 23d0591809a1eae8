"""The registry of the papers' statements: schema, links to the chapters' claims, status rules."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import yaml

from selfdistill.core.claim import Claim
from selfdistill.core.ledger import LedgerRecord, declared_claims
from selfdistill.core.registry import (
    PAPERS,
    ClaimLink,
    RegistryError,
    Statement,
    claims_by_id,
    declared_provenance,
    load_registry,
    load_statements,
    registry_dir,
    statement_status,
    status_counts,
)

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"


def _sources() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(NOTEBOOKS.glob("*.md"))}


def _declared() -> dict[str, str]:
    """Claim id → the chapter that declares it (the first, where several do)."""
    found: dict[str, str] = {}
    for chapter, source in _sources().items():
        for claim_id in declared_claims(source):
            found.setdefault(claim_id, chapter)
    return found


# --- the shipped registry -------------------------------------------------------------------

def test_registry_has_every_paper_and_loads():
    registry = load_registry()
    assert list(registry) == list(PAPERS)
    for paper, statements in registry.items():
        assert statements, paper
        assert all(s.paper == paper for s in statements)


def test_registry_files_are_package_data():
    config = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert 'selfdistill = ["core/statements/*.yaml"]' in config
    assert sorted(p.stem for p in registry_dir().glob("*.yaml")) == sorted(PAPERS)


def test_every_linked_claim_is_declared_by_one_of_its_chapters():
    sources = _sources()
    declared = _declared()
    problems = []
    for statements in load_registry().values():
        for s in statements:
            for chapter in s.chapters:
                if chapter not in sources:
                    problems.append(f"{s.key}: chapter {chapter} is not in notebooks/")
            for link in s.claims:
                if link.id not in declared:
                    problems.append(f"{s.key}: claim {link.id} is declared by no chapter")
                elif not any(link.id in declared_claims(sources.get(c, ""))
                             for c in s.chapters):
                    problems.append(f"{s.key}: claim {link.id} is declared by "
                                    f"{declared[link.id]}, not one of {list(s.chapters)}")
    assert not problems, "\n".join(problems)


def test_every_stated_claim_is_linked_from_a_statement():
    linked = {link.id for statements in load_registry().values()
              for s in statements for link in s.claims}
    stated = sorted(claim_id for source in _sources().values()
                    for claim_id, provenance in declared_provenance(source).items()
                    if provenance == "stated")
    assert stated, "no chapter declares a stated claim: the provenance parser is broken"
    assert [c for c in stated if c not in linked] == []


def test_claims_without_a_statement_are_listed():
    """Not a failure: derived and extension claims need no statement. Shown with -rw."""
    linked = {link.id for statements in load_registry().values()
              for s in statements for link in s.claims}
    unlinked = sorted(set(_declared()) - linked)
    if unlinked:
        warnings.warn(f"{len(unlinked)} claims test no registered statement: "
                      + ", ".join(unlinked), stacklevel=1)


# --- the schema -------------------------------------------------------------------------------

GOOD = {"id": "good-one", "text": "A statement.", "source": "paper", "chapters": ["sd-rounds"],
        "claims": [{"id": "mobahi2020.x", "shows": "reproduced"}], "regime": "book scale",
        "why": ""}


def _write(tmp_path: Path, statements: object, paper: str = "mobahi2020",
           name: str | None = None) -> Path:
    file = tmp_path / f"{name or paper}.yaml"
    file.write_text(yaml.safe_dump({"paper": paper, "statements": statements}), encoding="utf-8")
    return file


def test_good_file_loads(tmp_path):
    [s] = load_statements(_write(tmp_path, [GOOD]))
    assert s.key == "mobahi2020.good-one"
    assert s.claims == (ClaimLink("mobahi2020.x", "reproduced"),)


@pytest.mark.parametrize("change, message", [
    ({"id": "Not_Kebab"}, r"statement 'Not_Kebab': field 'id' .*kebab-case"),
    ({"source": "blog"}, r"statement 'good-one': field 'source' = 'blog' is not one of"),
    ({"chapters": "sd-rounds"}, r"field 'chapters' .* must be a list"),
    ({"claims": [{"id": "zhang2020.x", "shows": "reproduced"}]},
     r"field 'claims' id = 'zhang2020.x' must be a claim id starting with 'mobahi2020.'"),
    ({"claims": [{"id": "mobahi2020.x", "shows": "yes"}]},
     r"field 'claims' mobahi2020.x: shows = 'yes' is not one of reproduced"),
    ({"claims": [{"id": "mobahi2020.x"}]}, r"field 'claims' entry .* exactly the keys"),
    ({"claims": [{"id": "mobahi2020.x", "shows": "partly"}] * 2}, r"links mobahi2020.x twice"),
    ({"claims": []}, r"field 'why' is empty: a statement without claims"),
    ({"text": "  "}, r"field 'text' = '  ' must be a non-empty string"),
    ({"regime": None}, r"field 'regime' = None must be a non-empty string"),
    ({"chapters": [], "why": "x"}, r"field 'chapters' is empty although"),
    ({"title": "x"}, r"field 'title' is not in the schema"),
])
def test_schema_errors_name_file_statement_and_field(tmp_path, change, message):
    file = _write(tmp_path, [{**GOOD, **change}])
    with pytest.raises(RegistryError, match=message) as info:
        load_statements(file)
    assert str(info.value).startswith("mobahi2020.yaml: ")
    assert "\n" not in str(info.value)


def test_missing_field_and_duplicate_ids_are_refused(tmp_path):
    missing = {k: v for k, v in GOOD.items() if k != "regime"}
    with pytest.raises(RegistryError, match="statement 'good-one': field 'regime' is missing"):
        load_statements(_write(tmp_path, [missing]))
    with pytest.raises(RegistryError, match="statement 'good-one': field 'id' is used twice"):
        load_statements(_write(tmp_path, [GOOD, GOOD]))


def test_file_level_errors(tmp_path):
    with pytest.raises(RegistryError, match="field 'paper' = 'zhang2020' must equal"):
        load_statements(_write(tmp_path, [GOOD], paper="zhang2020", name="mobahi2020"))
    with pytest.raises(RegistryError, match="field 'statements' .* non-empty list"):
        load_statements(_write(tmp_path, []))
    bad = tmp_path / "dong2019.yaml"
    bad.write_text("paper: [unclosed", encoding="utf-8")
    with pytest.raises(RegistryError, match="dong2019.yaml: not readable YAML"):
        load_statements(bad)
    with pytest.raises(RegistryError, match="holds no registry file"):
        load_registry(tmp_path / "nowhere")


def test_registry_orders_papers_as_the_book(tmp_path):
    for paper in ("dong2019", "mobahi2020", "zhang2020"):
        _write(tmp_path, [{**GOOD, "claims": [{"id": f"{paper}.x", "shows": "partly"}]}],
               paper=paper)
    assert list(load_registry(tmp_path)) == ["mobahi2020", "zhang2020", "dong2019"]


# --- status ------------------------------------------------------------------------------------

def _claim(claim_id: str, passed: bool = True, chapter: str = "c") -> Claim:
    return Claim(id=claim_id, paper=claim_id.split(".")[0], provenance="stated", statement="s",
                 measured="m", value=0.5, bound="≤ 1", reason="r", passed=passed,
                 chapter=chapter)


def _statement(*links: tuple[str, str]) -> Statement:
    return Statement(paper="mobahi2020", id="s", text="t", source="paper", chapters=("c",),
                     claims=tuple(ClaimLink(i, shows) for i, shows in links), regime="r",
                     why="" if links else "untested")


A, B = "mobahi2020.a", "mobahi2020.b"


@pytest.mark.parametrize("links, claims, status, deciding", [
    ((), {}, "not tested", ()),
    (((A, "reproduced"), (B, "reproduced")), {A: _claim(A), B: _claim(B)}, "reproduced", (A, B)),
    (((A, "reproduced"), (B, "partly")), {A: _claim(A), B: _claim(B)}, "partly", (B,)),
    (((A, "partly"),), {A: _claim(A)}, "partly", (A,)),
    (((A, "reproduced"), (B, "not-reproduced")), {A: _claim(A), B: _claim(B)},
     "not reproduced", (B,)),
    (((A, "reproduced"), (B, "reproduced")), {A: _claim(A), B: _claim(B, passed=False)},
     "failing", (B,)),
    (((A, "not-reproduced"),), {A: _claim(A, passed=False)}, "failing", (A,)),
    (((A, "reproduced"), (B, "partly")), {A: _claim(A)}, "failing", (B,)),
])
def test_status_rules(links, claims, status, deciding):
    result = statement_status(_statement(*links), claims)
    assert (result.status, result.deciding) == (status, deciding)
    assert [link.id for link, _ in result.found] == [i for i, _ in links]


def test_status_counts_cover_every_status():
    statuses = [statement_status(_statement(), {}),
                statement_status(_statement((A, "partly")), {A: _claim(A)})]
    assert status_counts(statuses) == {"reproduced": 0, "partly": 1, "not reproduced": 0,
                                       "not tested": 1, "failing": 0}


def test_a_failure_in_any_chapter_wins():
    def record(chapter: str, passed: bool) -> LedgerRecord:
        return LedgerRecord(path=Path(chapter), chapter=chapter, paper="mobahi2020",
                            complete=True, expected=(A,), parameters={}, run={},
                            claims=(_claim(A, passed, chapter),))
    for order in ([record("x", True), record("y", False)], [record("y", False),
                                                               record("x", True)]):
        assert not claims_by_id(order)[A].passed


def test_an_untrusted_ledger_never_reads_as_passing():
    def record(**kw) -> LedgerRecord:
        return LedgerRecord(**{"path": Path("x"), "chapter": "x", "paper": "mobahi2020",
                               "complete": True, "expected": (A,), "parameters": {}, "run": {},
                               "claims": (_claim(A),), **kw})
    assert claims_by_id([record()])[A].passed
    assert not claims_by_id([record(complete=False)])[A].passed
    assert not claims_by_id([record(problems=("EDITED: its digest does not match",))])[A].passed


def test_declared_provenance_reads_each_call():
    source = ('ledger.check_true("p.a", True, measured="m", statement="s",\n'
              '    provenance="stated", reason="r")\n'
              'ledger.check_at_most(\n    "p.b", 1, 2, provenance="extension")\n'
              'ledger.check_close("p.c", 1, 1, 0)\n')
    assert declared_provenance(source) == {"p.a": "stated", "p.b": "extension", "p.c": "?"}


def test_declared_provenance_reads_interval_claims_and_empty_chapters():
    # a chapter whose claims are all check_interval calls (noisy-labels-deep) used to raise in
    # zip(strict=True), and its stated interval claims were invisible to the registry checks
    source = ('ledger.check_interval(\n    "p.d", iv, above=0.0, measured="m",\n'
              '    statement="s", reason="r", provenance="stated")\n')
    assert declared_provenance(source) == {"p.d": "stated"}
    assert declared_provenance("no claims here") == {}
