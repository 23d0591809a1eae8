"""The claim ledger: records, JSON, rounding, and failure."""

from __future__ import annotations

import json

import pytest

from selfdistill.claims import ClaimFailed, Ledger, load_claims


def test_passing_claims_are_written_and_summarised(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json",
                    parameters={"eps": 0.1})
    ledger.check_at_most("mobahi2020.small", 3.14159e-7, 1e-5, statement="s", provenance="derived",
                         reason="r")
    ledger.check_close("mobahi2020.two", 1.99981, 2.0, 0.05, statement="s", provenance="extension",
                       reason="r", digits=3)
    out = capsys.readouterr().out.splitlines()
    assert out == ["PASS mobahi2020.small: 3.14e-07 (bound: ≤ 1e-05)",
                   "PASS mobahi2020.two: 2 (bound: 2 ± 0.05)"]
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["parameters"] == {"eps": 0.1}
    assert [c["id"] for c in data["claims"]] == ["mobahi2020.small", "mobahi2020.two"]
    assert all(c["passed"] for c in data["claims"])


def test_failed_claim_raises_and_is_recorded(tmp_path):
    ledger = Ledger(chapter="demo", paper="zhang2020", path=tmp_path / "c.json")
    with pytest.raises(ClaimFailed, match="zhang2020.big"):
        ledger.check_at_least("zhang2020.big", 0.5, 1.0, statement="s", provenance="stated",
                              reason="r")
    [claim] = load_claims(tmp_path / "c.json")
    assert not claim.passed and claim.value == 0.5


def test_nan_never_passes(tmp_path):
    ledger = Ledger(chapter="demo", paper="dong2019", path=tmp_path / "c.json")
    with pytest.raises(ClaimFailed):
        ledger.check_at_most("dong2019.nan", float("nan"), 1.0, statement="s",
                             provenance="derived", reason="r")


def test_floor_hides_roundoff_digits(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json")
    ledger.check_at_most("mobahi2020.tiny", 3e-16, 1e-10, statement="s", provenance="derived",
                         reason="r", floor=1e-12)
    assert capsys.readouterr().out.strip() == "PASS mobahi2020.tiny: < 1e-12 (bound: ≤ 1e-10)"


def test_new_run_starts_empty_and_rejects_bad_records(tmp_path):
    path = tmp_path / "c.json"
    first = Ledger(chapter="demo", paper="mobahi2020", path=path)
    first.check_true("mobahi2020.a", True, statement="s", provenance="derived", reason="r")
    Ledger(chapter="demo", paper="mobahi2020", path=path)  # a rerun: no stale claims survive
    assert load_claims(path) == []
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=path)
    with pytest.raises(ValueError, match="provenance"):
        ledger.check_true("mobahi2020.b", True, statement="s", provenance="guess", reason="r")
    with pytest.raises(ValueError, match="must start with"):
        ledger.check_true("zhang2020.c", True, statement="s", provenance="derived", reason="r")
    ledger.check_true("mobahi2020.d", True, statement="s", provenance="derived", reason="r")
    with pytest.raises(ValueError, match="twice"):
        ledger.check_true("mobahi2020.d", True, statement="s", provenance="derived", reason="r")


def test_default_location_follows_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SELFDISTILL_CLAIMS_FILE", raising=False)
    monkeypatch.setenv("SELFDISTILL_CLAIMS_DIR", str(tmp_path / "dir"))
    assert Ledger(chapter="ch", paper="p").path == tmp_path / "dir" / "ch.json"
    monkeypatch.setenv("SELFDISTILL_CLAIMS_FILE", str(tmp_path / "one.json"))
    assert Ledger(chapter="ch", paper="p").path == tmp_path / "one.json"
    assert (tmp_path / "one.json").exists()
