"""The claim ledger: records, JSON, rounding, failure, completeness and declared claims."""

from __future__ import annotations

import json

import pytest

from selfdistill.core.claim import ClaimFailed
from selfdistill.core.ledger import (
    SCHEMA,
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


def test_rounding_band_hides_roundoff_digits(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json", expected=[])
    ledger.check_at_most("mobahi2020.tiny", 3e-16, 1e-10, provenance="derived", **TEXT)
    ledger.check_at_least("mobahi2020.neg", -4.4e-16, -1e-9, provenance="derived", **TEXT)
    ledger.check_at_most("mobahi2020.scaled", 3e-12, 1e-8, provenance="derived", scale=1e3,
                         **TEXT)
    ledger.check_at_most("mobahi2020.f32", 3.3e-7, 1e-5, provenance="derived", dtype="float32",
                         **TEXT)
    assert capsys.readouterr().out.splitlines() == [
        "PASS mobahi2020.tiny: |v| < 1e-14 (bound: ≤ 1e-10)",
        "PASS mobahi2020.neg: |v| < 1e-14 (bound: ≥ -1e-09)",
        "PASS mobahi2020.scaled: |v| < 1e-11 (bound: ≤ 1e-08)",
        "PASS mobahi2020.f32: |v| < 1e-05 (bound: ≤ 1e-05)"]


@pytest.mark.parametrize("scale, dtype, band", [
    (1.0, "float64", 1e-14), (1e3, "float64", 1e-11), (0.01, "float64", 1e-16),
    (1.0, "float32", 1e-5), (100.0, "float32", 1e-3)])
def test_rounding_band_is_one_rule(scale, dtype, band):
    from selfdistill.core.claim import UNIT_ROUNDOFF, rounding_band

    got = rounding_band(scale, dtype)
    assert got == band
    assert got / 10 < 64 * UNIT_ROUNDOFF[dtype] * scale <= got  # the power of ten just above


def test_value_printed_identically_across_rounding_scatter(tmp_path, capsys):
    """The golden line is the same whatever the last bits: rounding-level values collapse to the
    band, values above it keep only their digits."""
    lines = set()
    for value in (2.93e-16, 4.4e-16, 5.55e-16, 3.33e-16, 0.0, -1.1e-16):
        ledger = Ledger(chapter="demo", paper="zhang2020", path=tmp_path / "c.json", expected=[])
        ledger.check_at_most("zhang2020.x", value, 1e-12, provenance="derived", **TEXT)
        lines.add(capsys.readouterr().out)
    assert len(lines) == 1


def test_bounds_below_rounding_are_refused(tmp_path):
    ledger = Ledger(chapter="demo", paper="zhang2020", path=tmp_path / "c.json", expected=[])
    with pytest.raises(ValueError, match="below the rounding level"):
        ledger.check_at_most("zhang2020.x", 1e-17, 1e-16, provenance="derived", **TEXT)
    with pytest.raises(ValueError, match="scale"):
        ledger.check_at_most("zhang2020.x", 1e-17, 1e-10, provenance="derived", scale=-1, **TEXT)
    with pytest.raises(ValueError, match="dtype"):
        ledger.check_at_most("zhang2020.x", 1e-17, 1e-10, provenance="derived", dtype="f16",
                             **TEXT)
    with pytest.raises(ValueError, match="digits"):
        ledger.check_at_most("zhang2020.x", 1e-17, 1e-10, provenance="derived", digits=0, **TEXT)


def test_true_claims_read_as_words(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="dong2019", path=tmp_path / "c.json", expected=[])
    ledger.check_true("dong2019.a", True, provenance="derived", **TEXT)
    ledger.check_true("dong2019.b", True, provenance="derived", count=137, **TEXT)
    with pytest.raises(ClaimFailed):
        ledger.check_true("dong2019.c", False, provenance="derived", **TEXT)
    assert capsys.readouterr().out.splitlines() == [
        "PASS dong2019.a: true (bound: holds)", "PASS dong2019.b: true in 137 cases (bound: holds)",
        "FAIL dong2019.c: false (bound: holds)"]


def _interval(diffs):
    from selfdistill.core.stats import mean_interval

    return mean_interval(diffs)


def test_interval_claims_decide_by_the_interval(tmp_path, capsys):
    ledger = Ledger(chapter="demo", paper="dong2019", path=tmp_path / "c.json", expected=[])
    wins = _interval([0.03, 0.05, 0.04, 0.06, 0.02])
    ledger.check_interval("dong2019.wins", wins, above=0.0, provenance="stated", **TEXT)
    ledger.check_interval("dong2019.loses", _interval([-0.2, -0.1, -0.15, -0.12, -0.18]),
                          below=0.0, provenance="stated", **TEXT)
    ledger.check_interval("dong2019.tie", _interval([-0.01, 0.02, 0.0, -0.02, 0.01]),
                          contains=0.0, provenance="extension", **TEXT)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["PASS dong2019.wins:",  # too wide for the page: it continues
                       "    +0.04, 95% CI [0.02, 0.06], n = 5 (bound: CI > 0, student-t with 4 df)"]
    with pytest.raises(ClaimFailed):  # a mean above zero whose interval reaches below it
        ledger.check_interval("dong2019.unsure", _interval([0.1, -0.05, 0.08, -0.04, 0.02]),
                              above=0.0, provenance="stated", **TEXT)
    with pytest.raises(ValueError, match="at least min_n = 5"):
        ledger.check_interval("dong2019.few", _interval([0.1, 0.2, 0.3]), above=0.0,
                              provenance="stated", **TEXT)
    with pytest.raises(ValueError, match="at least one"):
        ledger.check_interval("dong2019.none", wins, provenance="stated", **TEXT)
    with pytest.raises(TypeError, match="Interval"):
        ledger.check_interval("dong2019.raw", (0.1, 0.2), above=0.0, provenance="stated", **TEXT)
    assert [c.passed for c in load_claims(tmp_path / "c.json")] == [True, True, True, False]


def _good_ledger(tmp_path):
    path = tmp_path / "c.json"
    ledger = Ledger(chapter="demo", paper="p", path=path, expected=["p.a", "p.b", "p.c"])
    ledger.check_at_most("p.a", 1e-12, 1e-10, provenance="derived", **TEXT)
    ledger.check_true("p.b", True, provenance="derived", **TEXT)
    with pytest.raises(ClaimFailed):
        ledger.check_at_least("p.c", 0.5, 1.0, provenance="derived", **TEXT)
    return path


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    [record] = load_ledgers(path)
    return record


def _set(data, key, value, index=None):
    (data["claims"][index] if index is not None else data)[key] = value


@pytest.mark.parametrize("change, problem", [
    (lambda d: _set(d, "value", 0.5, 0), "EDITED"),
    (lambda d: _set(d, "passed", True, 2), "VERDICT p.c"),
    (lambda d: _set(d, "value", float("nan"), 0), "VERDICT p.a"),
    (lambda d: (d["claims"].pop(2), d["expected"].pop(2)), "EDITED"),
    (lambda d: _set(d, "complete", True), "EDITED"),
    (lambda d: d["run"].update(date=d["run"].pop("started")), "PROVENANCE: run lacks started"),
    (lambda d: d["run"].update(deterministic="yes"), "PROVENANCE: run: deterministic"),
])
def test_edited_ledgers_never_read_as_passing(tmp_path, change, problem):
    """Issue 14 §3: a value, a verdict, NaN, a deleted claim or a forged ``complete`` flag."""
    path = _good_ledger(tmp_path)
    record = _edit(path, change)
    assert not record.passed
    assert any(p.startswith(problem) for p in record.problems), record.problems


def test_an_unedited_ledger_has_no_problems(tmp_path):
    [record] = load_ledgers(_good_ledger(tmp_path))
    assert record.problems == () and not record.passed  # p.c failed honestly


def test_hidden_folders_are_never_read_as_runs(tmp_path):
    _good_ledger(tmp_path / "run")
    _good_ledger(tmp_path / ".run.partial-abc")
    assert [r.path.parent.name for r in load_ledgers(tmp_path)] == ["run"]


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
    ('{"chapter": "c", "claims": [], "schema": 3}', "schema 3; this selfdistill reads schema 4"),
    ('{"chapter": "c", "claims": [{"id": "x"}], "schema": 4}', "lacks"),
    ('{"chapter": "c", "claims": ["a", "b"], "schema": 4}', "is a str, not a claim record"),
    ('{"chapter": "c", "claims": [], "run": null, "schema": 4}', "'run' is a NoneType"),
    ('{"chapter": "c", "claims": {}, "schema": 4}', "'claims' is a dict"),
    ('[1, 2]', "not a claims ledger"),
    ('{"chapter": "c", "schema": 4, "claims": [{"id": "x", "paper": "p", "provenance": "d", '
     '"statement": "s", "measured": "m", "value": "oops", "bound": "b", "reason": "r", '
     '"passed": true, "chapter": "c", "kind": "at_most"}]}', "value = 'oops' is not a number"),
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


def test_trained_interval_claims_compare_where_the_interval_lies(tmp_path, capsys):
    """Two CPU paths that move a trained interval's digits give the same golden line."""
    lines = []
    for shift in (0.0, 0.004):
        ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json",
                        expected=[])
        iv = _interval([0.03 + shift, 0.05, 0.04, 0.06, 0.02])
        ledger.check_interval("mobahi2020.up", iv, above=0.0, trained=True,
                              provenance="stated", **TEXT)
        lines.append(capsys.readouterr().out)
        [claim] = load_claims(tmp_path / "c.json")
        assert claim.shown_value().startswith("+0.04") and claim.interval["low"] > 0
    assert lines[0] == lines[1] == ("PASS mobahi2020.up: interval above the bound, n = 5 "
                                    "(bound: CI > 0, student-t with 4 df)\n")
    ledger = Ledger(chapter="demo", paper="mobahi2020", path=tmp_path / "c.json", expected=[])
    with pytest.raises(ClaimFailed, match="interval not above the bound"):
        ledger.check_interval("mobahi2020.down", _interval([0.1, -0.05, 0.08, -0.04, 0.02]),
                              above=0.0, trained=True, provenance="stated", **TEXT)


def test_a_claim_line_too_wide_for_the_page_continues_indented(tmp_path, capsys):
    from selfdistill.core.claim import PRINT_WIDTH

    ledger = Ledger(chapter="demo", paper="dong2019", path=tmp_path / "c.json", expected=[])
    ledger.check_interval("dong2019.a-rather-long-claim-identifier-about-early-stopping",
                          _interval([0.03, 0.05, 0.04, 0.06, 0.02]), above=0.0,
                          provenance="stated", **TEXT)
    ledger.check_true("dong2019.short", True, provenance="derived", **TEXT)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "PASS dong2019.a-rather-long-claim-identifier-about-early-stopping:"
    assert lines[1].startswith("    +0.04, 95% CI") and lines[2].startswith("PASS dong2019.short")
    assert max(map(len, lines)) <= PRINT_WIDTH


def test_claim_numbers_are_declared_and_a_nan_value_is_recorded():
    """make_claim's numbers are declared (issue 15): a NaN measurement is an outcome, recorded as
    failing; a NaN bound, a negative tolerance, a zero count or a text scale is refused."""
    import math

    from selfdistill.core.claim import check_limit, make_claim, rounding_band

    fields = dict(id="p.a", paper="p", chapter="c", provenance="derived", bound="≤ 1",
                  kind="at_most", **TEXT)
    claim = make_claim(value=math.nan, limit=1.0, **fields)
    assert math.isnan(claim.value) and not claim.passed
    assert make_claim(value="0.5", limit=1, **fields).passed
    for bad, name in ((dict(limit=math.nan), "limit"), (dict(tol=-1e-3), "tol"),
                      (dict(count=0), "count"), (dict(scale="1.0"), "scale"),
                      (dict(digits=7), "digits"), (dict(value="high"), "value")):
        with pytest.raises(ValueError, match=f"^{name} = "):
            make_claim(**{"value": 0.5, "limit": 1.0, **fields, **bad})
    with pytest.raises(ValueError, match="^limit = nan"):
        check_limit("p.a", "bound", math.nan, 1.0, "float64")
    assert check_limit("p.a", "bound", math.inf, 1.0, "float64") == math.inf
    for scale in ("1.0", True, 0.0, math.inf):
        with pytest.raises(ValueError, match="^scale = "):
            rounding_band(scale)


def test_the_ledger_methods_name_their_own_numbers(tmp_path):
    """A refusal names the argument the chapter passed (``bound``, not check_limit's ``limit``)."""
    import math

    from selfdistill.core.stats import Interval

    ledger = Ledger(chapter="demo", paper="p", path=tmp_path / "c.json", expected=[])
    wins = Interval(mean=0.2, low=0.1, high=0.3, n=5, dof=4, level=0.95, sd=0.1)
    for call, name in (
            (lambda: ledger.check_at_most("p.a", 0.1, math.nan, provenance="derived", **TEXT),
             "bound"),
            (lambda: ledger.check_at_least("p.a", 0.1, "low", provenance="derived", **TEXT),
             "bound"),
            (lambda: ledger.check_close("p.a", 0.1, 0.1, -1.0, provenance="derived", **TEXT),
             "tol"),
            (lambda: ledger.check_true("p.a", True, provenance="derived", count=0, **TEXT),
             "count"),
            (lambda: ledger.check_interval("p.a", wins, above=0.0, min_n=1,
                                           provenance="derived", **TEXT), "min_n"),
            (lambda: ledger.check_interval("p.a", wins, above=math.nan,
                                           provenance="derived", **TEXT), "above")):
        with pytest.raises(ValueError, match=f"^{name} = "):
            call()
    assert ledger.claims == []
