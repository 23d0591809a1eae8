"""``selfdistill sweep`` and ``report`` on the tiny fixture chapter: a two-by-two grid on the
local executor and on a real local Dask cluster (same results), resuming, an interrupted sweep,
the per-claim summary and report, and the refusals (exit 2, nothing written)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from selfdistill.cli import main
from selfdistill.core.chapters import ParameterError, get_chapter
from selfdistill.core.provenance import check_provenance
from selfdistill.core.sweep import parse_seeds, plan_sweep

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
ENV = {**os.environ, "SELFDISTILL_NOTEBOOKS": str(FIXTURES)}
GRID = ["-p", "x", "0.25,0.5", "-p", "mode", "pass,fail-claim"]
POINTS = ["x=0.25__mode=pass", "x=0.25__mode=fail-claim", "x=0.5__mode=pass",
          "x=0.5__mode=fail-claim"]


def selfdistill(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfdistill", *args], capture_output=True,
                          text=True, timeout=300, env=ENV)


def outcome(folder: Path) -> dict[str, tuple]:
    """Per point: complete, and each claim's (id, value, passed); nothing that varies by run."""
    found = {}
    for point in sorted(p for p in folder.iterdir() if p.is_dir()):
        data = json.loads((point / "claims.json").read_text())
        found[point.name] = (data["complete"], data["parameters"]["x"], data["parameters"]["mode"],
                             [(c["id"], c["value"], c["passed"]) for c in data["claims"]])
    return found


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("sweeps") / "local"
    return out, selfdistill("sweep", "tiny", *GRID, "--out", str(out))


@pytest.mark.slow
def test_two_by_two_local_sweep_runs_every_point(local_sweep):
    out, proc = local_sweep
    assert proc.returncode == 1, proc.stdout + proc.stderr  # two points fail a claim on purpose
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(POINTS)
    assert "4 points run (2 failed)" in proc.stdout
    assert "FAILED x=0.25__mode=fail-claim: failed: ClaimFailed" in proc.stderr
    found = outcome(out)
    assert found["x=0.5__mode=pass"] == (True, 0.5, "pass", [("fixture.doubling", 1.0, True),
                                                             ("fixture.runs", 1.0, True)])
    assert found["x=0.5__mode=fail-claim"][0] is False
    assert not [p for p in out.rglob(".*")], "staging left behind"
    manifest = yaml.safe_load((out / "sweep.yaml").read_text())
    record = check_provenance(manifest["provenance"])  # the one schema, closed when it ended
    assert record["finished"] and record["command"].startswith("selfdistill sweep tiny -p x")


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_results(local_sweep, tmp_path):
    out = tmp_path / "dask"
    proc = selfdistill("sweep", "tiny", *GRID, "--out", str(out), "--dask", "--jobs", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "(dask)" in proc.stdout and "Traceback" not in proc.stderr
    assert outcome(out) == outcome(local_sweep[0])
    assert not [p for p in out.rglob(".*")], "staging left behind"


@pytest.mark.slow
def test_claims_and_report_summarise_the_sweep(local_sweep, tmp_path):
    out = local_sweep[0]
    claims = selfdistill("claims", str(out))
    assert claims.returncode == 1
    assert "sweep of tiny: 4 points over x (2) × mode (2)" in claims.stdout
    assert "fixture.doubling     2/4  x=0.25, mode=fail-claim (0.5, bound 1.5 ± 1e-12)" \
        in claims.stdout
    assert "points: 2 complete and passing, 2 not" in claims.stdout
    report = selfdistill("report", str(out), "--out", str(tmp_path))
    assert report.returncode == 0, report.stderr
    for name in ("report.csv", "report.md", "region-of-validity.png", "region-of-validity.svg"):
        assert f"report: {tmp_path / name}" in report.stdout
        assert (tmp_path / name).stat().st_size > 0
    rows = list(csv.DictReader((tmp_path / "report.csv").open()))
    assert len(rows) == 8 and {r["claim"] for r in rows} == {"fixture.doubling", "fixture.runs"}
    assert "| 0.25 | fail-claim | 0.5 **✗** | – |" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
def test_rerun_skips_passing_points_and_reruns_failed_ones(local_sweep):
    out = local_sweep[0]
    before = {p: (out / p / "claims.json").read_bytes() for p in POINTS if "pass" in p[-4:]}
    proc = selfdistill("sweep", "tiny", *GRID, "--out", str(out))
    assert proc.returncode == 1
    assert "2 points run (2 failed), 2 already complete and passing" in proc.stdout
    assert {p: (out / p / "claims.json").read_bytes() for p in before} == before


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background shell job inherits SIG_IGN


@pytest.mark.slow
def test_interrupted_sweep_loses_no_finished_point(tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen([sys.executable, "-m", "selfdistill", "sweep", "tiny", "-p",
                             "wait", "0,30", "--jobs", "1", "--out", str(out)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,  # SIGINT as a terminal gives it, even when
                            preexec_fn=_default_sigint)  # pytest runs in the background
    deadline = time.monotonic() + 120  # generous: the machine may be loaded
    while time.monotonic() < deadline:  # the second point is running: Ctrl-C, as a terminal does
        if list(out.glob(".wait=30.0.partial-*/claims.json")):
            break
        time.sleep(0.2)
    assert (out / "wait=0.0" / "claims.json").exists(), "the first point should have finished"
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert json.loads((out / "wait=0.0" / "claims.json").read_text())["complete"] is True
    claims = selfdistill("claims", str(out))
    assert "points: 1 complete and passing, 1 not" in claims.stdout, claims.stdout
    assert not [p for p in out.rglob(".*")], "staging left behind"


@pytest.mark.parametrize("args, message", [
    (["-p", "x", ""], "parameter 'x': the list '' is empty"),
    (["-p", "x", "0.1,,0.2"], "has an empty item"),
    (["-p", "xx", "0.1"], "unknown parameter 'xx' for chapter 'tiny'"),
    (["-p", "mode", "pass", "-p", "x", "0.5,1.5"], "parameter 'x' = 1.5 is outside the accepted"),
    (["-p", "x", "0.5,0.50"], "repeats a value"),
    (["-p", "x", "0.1", "-p", "x", "0.2"], "parameter 'x' is given twice"),
    (["--seeds", "0-4"], "chapter 'tiny' has no 'seed' parameter"),
    (["-p", "x", "0.5", "--dask", "tcp://127.0.0.1:1"], "no Dask scheduler answers there"),
    (["-p", "x", "0.5", "--dask", "nonsense"], "is not a scheduler address"),
])
def test_bad_sweeps_are_refused_before_anything_runs(tmp_path, monkeypatch, capsys, args,
                                                     message):
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))
    out = tmp_path / "never"
    start = time.monotonic()
    assert main(["sweep", "tiny", *args, "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists(), "nothing may be written for a refused sweep"
    assert time.monotonic() - start < 10, "a refusal must be quick"


@pytest.mark.slow
def test_foreign_out_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    proc = selfdistill("sweep", "tiny", "-p", "x", "0.5", "--out", str(tmp_path))
    assert proc.returncode == 2 and "holds files other than a sweep's" in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("text, seeds", [("0-4", ["0", "1", "2", "3", "4"]), ("3", ["3"]),
                                         ("1, 5,9", ["1", "5", "9"])])
def test_seed_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["4-2", "", "a-b", "-1", "0-4,7", "1.5"])
def test_bad_seed_ranges_are_refused(text):
    with pytest.raises(ParameterError, match="--seeds"):
        parse_seeds(text)


def test_grid_is_the_product_and_every_point_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))
    sweep = plan_sweep(get_chapter("seeded"), [("device", "cpu")], "3-5", tmp_path / "s")
    assert sweep.points() == [{"device": "cpu", "seed": s} for s in (3, 4, 5)]
    assert sweep.folder(sweep.points()[0]).name == "device=cpu__seed=3"
    with pytest.raises(ParameterError, match="'seed' = 1001 is outside"):
        plan_sweep(get_chapter("seeded"), [], "999-1001", tmp_path / "s")
    with pytest.raises(ParameterError, match="either --seeds or -p seed"):
        plan_sweep(get_chapter("seeded"), [("seed", "1")], "0-1", tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_worker_counts_are_integers_of_their_own_range(tmp_path, monkeypatch):
    """run_many and run_local need a worker (0 ran in-process, or spun forever with jobs left);
    the estimate takes 0, a Dask scheduler without workers yet, as one."""
    from selfdistill.core.runner import run_many
    from selfdistill.core.sweep import estimate
    from selfdistill.core.sweep_local import run_local

    for bad in (0, -1, 2.0):
        with pytest.raises(ValueError, match="^workers = "):
            run_many([], bad)
        with pytest.raises(ValueError, match="^workers = "):
            run_local([], bad, on_done=print)
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))
    sweep = plan_sweep(get_chapter("tiny"), [("x", "0.5")], None, tmp_path / "s")
    assert estimate(sweep, 0) == estimate(sweep, 1)
    with pytest.raises(ValueError, match="^workers = -1"):
        estimate(sweep, -1)
