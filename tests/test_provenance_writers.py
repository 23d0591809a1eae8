"""Every writer of a run's record uses the one provenance schema (issue 15, item 3): a chapter's
ledger, the ledger of a run that died early, a training run's results, a sweep's manifest and a
benchmark's JSON all pass :func:`selfdistill.core.provenance.check_provenance`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from selfdistill.core.chapters import get_chapter
from selfdistill.core.ledger import Ledger, load_ledgers
from selfdistill.core.provenance import check_provenance
from selfdistill.core.runner import RunJob, _write_failed_ledger
from selfdistill.core.sweep import _write_manifest, plan_sweep

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures" / "notebooks"


@pytest.fixture
def fixtures(monkeypatch):
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))


def test_a_chapter_ledger_records_the_schema_started_and_finished(fixtures, tmp_path):
    ledger = Ledger.for_chapter("tiny", {"x": 0.5, "mode": "pass", "wait": 0.0,
                                         "device": "cpu"}, path=tmp_path / "c.json")
    ledger.check_true("fixture.doubling", True, measured="m", statement="s",
                      provenance="derived", reason="r")
    ledger.check_true("fixture.runs", True, measured="m", statement="s", provenance="derived",
                      reason="r")
    ledger.finish()
    [record] = load_ledgers(tmp_path / "c.json")
    run = check_provenance(record.run)
    assert run["finished"] and run["device"] == "cpu" and record.passed and record.error == ""


def test_the_ledger_of_a_run_that_died_early_keeps_the_schema_and_its_error(fixtures, tmp_path):
    job = RunJob(get_chapter("tiny"), {"x": 0.75}, tmp_path / "out")
    _write_failed_ledger(job, tmp_path / "c.json", "failed", "RuntimeError: boom")
    [record] = load_ledgers(tmp_path / "c.json")
    check_provenance(record.run)
    assert record.error == "failed: RuntimeError: boom" and not record.passed
    assert record.run["command"] == "selfdistill run tiny -p x 0.75"
    assert record.parameters == {"x": 0.75, "mode": "pass", "wait": 0.0, "device": "cpu"}
    assert record.paper == "fixture" and not record.problems


def test_training_results_carry_the_record(tmp_path):
    torch = pytest.importorskip("torch")
    from selfdistill.training.checkpoint import write_results

    write_results(tmp_path / "r.json", {"acc": 0.5}, torch.device("cpu"), seeds=2)
    check_provenance(json.loads((tmp_path / "r.json").read_text())["provenance"])


def test_a_sweep_manifest_carries_the_record(fixtures, tmp_path):
    sweep = plan_sweep(get_chapter("tiny"), [("x", "0.25,0.5")], None, tmp_path / "sweep",
                       ("sweep", "tiny", "-p", "x", "0.25,0.5"))
    _write_manifest(sweep, "local")
    manifest = yaml.safe_load((tmp_path / "sweep" / "sweep.yaml").read_text())
    record = check_provenance(manifest["provenance"])
    assert record["command"] == "selfdistill sweep tiny -p x 0.25,0.5"
    assert {"papermill", "torch"} <= set(record["versions"])  # read, not imported
    assert manifest["grid"] == {"x": [0.25, 0.5]} and manifest["executor"] == "local"


def test_a_bench_json_carries_the_record(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "bench/bench_c_sweep.py", "--sizes", "8", "--n-eps",
                           "2", "--device", "cpu", "--json", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    record = check_provenance(data["provenance"])
    assert record["command"].startswith("bench/bench_c_sweep.py --sizes 8")
    assert record["device"] == "cpu" and record["finished"] and data["rows"]


def test_a_manifest_written_before_the_record_still_reports_its_provenance():
    """``results/sweep-greens-function/sweep.yaml`` (committed, flat keys, ``date``) is kept as it
    was written; the report reads it, and a new manifest, alike."""
    from selfdistill.core.sweep_report import _manifest_provenance, read_manifest

    legacy = read_manifest(REPO / "results" / "sweep-greens-function" / "sweep.yaml")
    lines = _manifest_provenance(legacy)
    assert "- started: `2026-12-07T03:05:06+00:00`" in lines
    assert any(line.startswith("- commit: `bb0892b2a3e2`") for line in lines)
    new = {"executor": "local", "provenance": {**legacy, "started": "2026-12-07T05:00:00+00:00",
                                               "date": None}}
    assert "- started: `2026-12-07T05:00:00+00:00`" in _manifest_provenance(new)
