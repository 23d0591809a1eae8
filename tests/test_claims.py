"""The claim ledger: records, JSON, rounding, failure, completeness and declared claims."""

from __future__ import annotations

import json

import pytest

from selfdistill.claims import (
    SCHEMA,
    ClaimFailed,
    Ledger,
    LedgerError,
    declared_claims,
    load_claims,
    load_ledgers,
)

TEXT = dict(statement="s", measured="m", reason="r")


def test_passing_claims_are_written_and_summarised(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json",
                    parameters={"eps": 0.1}, expected=[])
    ledger.check_at_most("mobahi2020.small", 3.14159e-7, 1e-5, provenance="derived", **TEXT)
    ledger.check_close("mobahi2020.two", 1.99981, 2.0, 0.05, provenance="extension", digits=3,
                       **TEXT)
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS mobahi2020.small: 3.14e-07 (bound: ≤ 1e-05)",
                   "PASS mobahi2020.two: 2 (bound: 2 ± 0.05)"]
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["schema"] == SCHEMA and data["complete"] is False
    assert data["parameters"] == {"eps": 0.1}
    assert [c["id"] for c in data["claims"]] == ["mobahi2020.small", "mobahi2020.two"]
    assert all(c["passed"] and c["measured"] == "m" for c in data["claims"])
    assert (tmp_path / "c.json").stat().st_mode & 0o777 == 0o644


def test_failed_claim_raises_and_is_recorded(tmp_path):
    ledger = Ledger(chapter="demo", paper="zhang2020", path=tmp_path / "c.json", expected=[])
    with pytest.raises(ClaimFailed, match="zhang2020.big"):
        ledger.check_at_least("zhang2020.big", 0.5, 1.0, provenance="stated", **TEXT)
    [claim] = load_claims(tmp_path / "c.json")
    assert not claim.passed and claim.value == 0.5


def test_nan_never_passes(tmp_path):
    ledger = Ledger(chapter="demo", paper="dong2019", path=tmp_path / "c.json", expected=[])
    with pytest.raises(ClaimFailed):
        ledger.check_at_most("dong2019.nan", float("nan"), 1.0, provenance="derived", **TEXT)


def test_floor_hides_roundoff_digits(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json", expected=[])
    ledger.check_at_most("mobahi2020.tiny", 3e-16, 1e-10, provenance="derived", floor=1e-12,
                         **TEXT)
    assert capsys.readouterr().out.strip() == "PASS mobahi2020.tiny: < 1e-12 (bound: ≤ 1e-10)"


def test_new_run_starts_empty_and_rejects_bad_records(tmp_path):
    path = tmp_path / "c.json"
    first = Ledger(chapter="demo", paper="mobahi2020", path=path, expected=[])
    first.check_true("mobahi2020.a", True, provenance="derived", **TEXT)
    Ledger(chapter="demo", paper="mobahi2020", path=path, expected=[])  # a rerun: nothing stale
    assert load_claims(path) == []
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=path, expected=[])
    with pytest.raises(ValueError, match="provenance"):
        ledger.check_true("mobahi2020.b", True, provenance="guess", **TEXT)
    with pytest.raises(ValueError, match="must start with"):
        ledger.check_true("zhang2020.c", True, provenance="derived", **TEXT)
    with pytest.raises(ValueError, match="measured"):
        ledger.check_true("mobahi2020.e", True, provenance="derived",
                          **{**TEXT, "measured": " "})
    ledger.check_true("mobahi2020.d", True, provenance="derived", **TEXT)
    with pytest.raises(ValueError, match="twice"):
        ledger.check_true("mobahi2020.d", True, provenance="derived", **TEXT)


def test_default_location_follows_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SELFDISTILL_CLAIMS_FILE", raising=False)
    monkeypatch.setenv("SELFDISTILL_CLAIMS_DIR", str(tmp_path / "dir"))
    assert Ledger(chapter="ch", paper="p").path == tmp_path / "dir" / "ch.json"
    monkeypatch.setenv("SELFDISTILL_CLAIMS_FILE", str(tmp_path / "one.json"))
    assert Ledger(chapter="ch", paper="p").path == tmp_path / "one.json"
    assert (tmp_path / "one.json").exists()


def test_declared_claims_are_read_from_the_source():
    source = '''
ledger.check_at_most(
    "p.one", x, 1.0, measured="m")
ledger.check_true('p.two', ok)
ledger.check_close("p.one", 1, 1, 0)  # repeated ids count once
ledger.finish()
'''
    assert declared_claims(source) == ["p.one", "p.two"]


def test_finish_requires_every_declared_claim_and_marks_complete(tmp_path):
    path = tmp_path / "c.json"
    ledger = Ledger(chapter="demo", paper="p", path=path, expected=["p.a", "p.b"])
    ledger.check_true("p.a", True, provenance="derived", **TEXT)
    [record] = load_ledgers(path)
    assert not record.complete and record.missing == ["p.b"] and not record.passed
    with pytest.raises(ClaimFailed, match="p.b"):
        ledger.finish()
    assert not load_ledgers(path)[0].complete
    ledger.check_true("p.b", True, provenance="derived", **TEXT)
    table = ledger.finish()
    [record] = load_ledgers(path)
    assert record.complete and record.passed and record.run["finished"]
    assert "a (derived)" in table.data and "✓" in table.data
    with pytest.raises(ValueError, match="after finish"):
        ledger.check_true("p.c", True, provenance="derived", **TEXT)


@pytest.mark.parametrize("content, message", [
    ("{not json", "not a readable ledger"),
    ('{"a": 1}', "not a claims ledger"),
    ('{"chapter": "c", "claims": [], "schema": 1}', "schema 1"),
    ('{"chapter": "c", "claims": [{"id": "x"}], "schema": 2}', "malformed claim"),
])
def test_corrupt_or_foreign_files_are_refused(tmp_path, content, message):
    (tmp_path / "c.json").write_text(content)
    with pytest.raises(LedgerError, match=message):
        load_ledgers(tmp_path / "c.json")


def test_missing_or_empty_location_is_refused(tmp_path):
    with pytest.raises(LedgerError, match="no ledger"):
        load_ledgers(tmp_path / "missing.json")
    with pytest.raises(LedgerError, match="holds no ledger"):
        load_ledgers(tmp_path)
