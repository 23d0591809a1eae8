"""The command line: list, run (papermill), claims; bad parameters are refused before any work."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from selfdistill.data import toy_sine
from selfdistill.hilbert import fit_greens
from selfdistill.kernels import ExponentialKernel


def selfdistill(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfdistill.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_list_shows_chapters_parameters_and_ranges():
    out = selfdistill("list")
    assert out.returncode == 0, out.stderr
    assert "greens-function: The Green's-function solution" in out.stdout
    assert "-p eps 0.05  (numbers in (0, 0.57)) training-error budget" in out.stdout


@pytest.fixture(scope="module")
def rerun(tmp_path_factory):
    """One papermill rerun of the chapter with non-default parameters."""
    out = tmp_path_factory.mktemp("rerun")
    proc = selfdistill("run", "greens-function", "-p", "eps", "0.02", "-p", "length", "0.15",
                       "--out", str(out))
    return out, proc


def test_rerun_passes_and_writes_notebook_and_claims(rerun):
    out, proc = rerun
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "claims: 11 passed, 0 failed" in proc.stdout
    data = json.loads((out / "claims.json").read_text())
    assert data["parameters"]["eps"] == 0.02 and data["parameters"]["length"] == 0.15
    assert data["claims"] and all(c["passed"] for c in data["claims"])
    assert not list(out.glob(".*.ipynb")), "the temporary notebook was not moved into place"


def test_rerun_parameters_took_effect(rerun):
    out, _ = rerun
    nb = nbformat.read(out / "greens-function.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "eps = 0.02" in injected[0].source
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    x, y = toy_sine()
    c_new = fit_greens(ExponentialKernel(0.15), x, y, 0.02, "cpu").c
    c_default = fit_greens(ExponentialKernel(0.1), x, y, 0.05, "cpu").c
    assert f"c = {c_new:.6g} in" in printed
    assert f"c = {c_default:.6g} in" not in printed


@pytest.mark.parametrize("args, message", [
    (["-p", "epss", "0.1"], "unknown parameter 'epss' for chapter 'greens-function' "
                            "(did you mean 'eps'?)"),
    (["-p", "eps", "-1"], "parameter 'eps' = -1.0 is outside the accepted range: numbers in "
                          "(0, 0.57)"),
    (["-p", "scale", "huge"], "parameter 'scale' = 'huge' is not accepted; one of 'book', 'paper'"),
    (["-p", "length", "short"], "parameter 'length' = 'short' is not a float"),
])
def test_bad_parameter_is_refused_before_anything_runs(tmp_path, args, message):
    out = tmp_path / "never"
    proc = selfdistill("run", "greens-function", *args, "--out", str(out))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not out.exists(), "nothing may run or be written for a refused parameter"


def test_unknown_chapter_is_refused():
    proc = selfdistill("run", "no-such-chapter")
    assert proc.returncode == 2 and "unknown chapter 'no-such-chapter'" in proc.stderr


def test_claims_command_reports_and_fails_on_a_failed_claim(rerun, tmp_path):
    out, _ = rerun
    ok = selfdistill("claims", str(out / "claims.json"))
    assert ok.returncode == 0 and "claims: 11 passed, 0 failed" in ok.stdout
    data = json.loads((out / "claims.json").read_text())
    data["claims"][0]["passed"] = False
    (tmp_path / "claims.json").write_text(json.dumps(data))
    bad = selfdistill("claims", str(tmp_path))
    assert bad.returncode == 1 and "claims: 10 passed, 1 failed" in bad.stdout
    assert selfdistill("claims", str(tmp_path / "missing")).returncode == 2
