"""The command line on a tiny fixture chapter: exit codes, atomic runs, refusals, speed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from selfdistill.core.ledger import write_ledger
from selfdistill.core.outdir import write_marker
from selfdistill.core.provenance import check_provenance, provenance

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "notebooks"
ENV = {**os.environ, "SELFDISTILL_NOTEBOOKS": str(FIXTURES)}


def selfdistill(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfdistill", *args], capture_output=True,
                          text=True, timeout=300, env=env or ENV)


def test_list_shows_chapters_parameters_and_ranges():
    out = selfdistill("list")
    assert out.returncode == 0, out.stderr
    assert "tiny: A tiny fixture chapter" in out.stdout
    assert "-p x 0.5  (numbers in [0, 1]) a number the claim doubles" in out.stdout


@pytest.mark.slow
def test_list_and_refusals_do_not_import_torch():
    code = ("import sys; from selfdistill.cli import main; main(['list']); "
            "assert 'torch' not in sys.modules, 'list imported torch'; "
            "rc = main(['run', 'tiny', '-p', 'x', '7']); assert rc == 2; "
            "assert 'torch' not in sys.modules, 'a refusal imported torch'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_passing_run_writes_a_complete_ledger(tmp_path):
    out = tmp_path / "run"
    proc = selfdistill("run", "tiny", "-p", "x", "0.25", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "claims: 2 passed, 0 failed" in proc.stdout
    data = json.loads((out / "claims.json").read_text())
    assert data["complete"] is True and data["parameters"]["x"] == 0.25
    assert data["expected"] == ["fixture.doubling", "fixture.runs"]
    check_provenance(data["run"])
    assert data["run"]["finished"] and data["run"]["command"] == "selfdistill run tiny -p x 0.25"
    assert data["parameters"] == {"x": 0.25, "mode": "pass", "wait": 0.0, "device": "cpu"}
    for path in out.iterdir():
        assert path.stat().st_mode & 0o777 == 0o644, path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"
    assert selfdistill("claims", str(out)).returncode == 0
    assert "[IPKernelApp]" not in proc.stderr and proc.stderr == "", proc.stderr


@pytest.mark.parametrize("mode, message", [
    ("fail-claim", "ClaimFailed: FAIL fixture.doubling"),
    ("crash", "the fixture chapter crashed on purpose"),
    ("skip-claim", "declared claims never checked: fixture.runs"),
])
@pytest.mark.slow
def test_failed_run_keeps_the_previous_result(tmp_path, mode, message):
    out = tmp_path / "run"
    assert selfdistill("run", "tiny", "--out", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = selfdistill("run", "tiny", "-p", "mode", mode, "--out", str(out))
    assert proc.returncode == 1
    assert message in proc.stderr and "left untouched" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert selfdistill("claims", str(out)).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fail-claim", "crash", "skip-claim", "crash-late"])
def test_failed_first_run_is_reported_as_failed_by_claims(tmp_path, mode):
    """crash-late records every declared claim, all passing: only `complete` tells."""
    out = tmp_path / "run"
    assert selfdistill("run", "tiny", "-p", "mode", mode, "--out", str(out)).returncode == 1
    claims = selfdistill("claims", str(out))
    assert claims.returncode == 1, claims.stdout
    assert "0 complete and passing, 1 not" in claims.stdout


def _interrupt(out: Path) -> subprocess.CompletedProcess:
    proc = subprocess.Popen([sys.executable, "-m", "selfdistill", "run", "tiny", "-p", "wait",
                             "30", "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            # a shell's background job ignores Ctrl-C, and children inherit it
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the chapter's ledger exists: it is running
        if any((p / "claims.json").exists() for p in out.parent.glob(f".{out.name}.partial-*")):
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    # one line, no kernel tracebacks (ZMQError, DeadKernelError) around it
    assert stderr.startswith("selfdistill: interrupted") and stderr.count("\n") == 1, stderr
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


@pytest.mark.slow
def test_interrupted_run_keeps_the_previous_result(tmp_path):
    out = tmp_path / "run"
    assert selfdistill("run", "tiny", "--out", str(out)).returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    proc = _interrupt(out)
    assert proc.returncode == 130, proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "staging left behind"


@pytest.mark.slow
def test_interrupted_first_run_is_reported_as_failed(tmp_path):
    out = tmp_path / "run"
    assert _interrupt(out).returncode == 130
    claims = selfdistill("claims", str(out))
    assert claims.returncode == 1 and "INCOMPLETE tiny" in claims.stdout


@pytest.mark.parametrize("args, message", [
    (["run", "tiny", "-p", "xx", "0.1"], "unknown parameter 'xx' for chapter 'tiny' "
                                         "(did you mean 'x'?)"),
    (["run", "tiny", "-p", "x", "2"], "parameter 'x' = 2.0 is outside the accepted range: "
                                      "numbers in [0, 1]"),
    (["run", "tiny", "-p", "mode", "huge"], "parameter 'mode' = 'huge' is not accepted"),
    (["run", "tiny", "-p", "x", "short"], "parameter 'x' = 'short' is not a float"),
    (["run", "tiny", "-p", "x", "0.1", "-p", "x", "0.2"], "parameter 'x' is given twice"),
    (["run", "tinny"], "unknown chapter 'tinny' (did you mean 'tiny'?)"),
    (["golden", "tinny"], "unknown chapter 'tinny'"),
])
@pytest.mark.slow
def test_usage_errors_exit_2_before_anything_runs(tmp_path, args, message):
    out = tmp_path / "never"
    proc = selfdistill(*args, "--out", str(out)) if args[0] == "run" else selfdistill(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists(), "nothing may run or be written for a refused command"


@pytest.mark.slow
def test_out_that_is_a_file_or_foreign_folder_is_refused(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("keep me")
    proc = selfdistill("run", "tiny", "--out", str(afile))
    assert proc.returncode == 2 and "is a file" in proc.stderr
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    proc = selfdistill("run", "tiny", "--out", str(foreign))
    assert proc.returncode == 2 and "holds files other than a run's" in proc.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_unwritable_out_is_refused(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root can write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    proc = selfdistill("run", "tiny", "--out", str(locked / "run"))
    assert proc.returncode == 2 and "cannot be written" in proc.stderr


@pytest.mark.slow
def test_unwritable_out_is_refused_as_root_too(tmp_path):
    proc = selfdistill("run", "tiny", "--out", "/proc/selfdistill-run")
    assert proc.returncode == 2 and "cannot be written" in proc.stderr


@pytest.mark.slow
def test_cuda_where_there_is_none_is_refused(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    proc = selfdistill("run", "tiny", "-p", "device", "cuda", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "sees no GPU" in proc.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("content, message", [
    ("{broken", "is not a readable ledger"),
    ('{"something": "else"}', "is not a claims ledger"),
])
@pytest.mark.slow
def test_claims_on_corrupt_or_foreign_file_exits_2(tmp_path, content, message):
    (tmp_path / "claims.json").write_text(content)
    proc = selfdistill("claims", str(tmp_path / "claims.json"))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    missing = selfdistill("claims", str(tmp_path / "missing"))
    assert missing.returncode == 2 and "no ledger" in missing.stderr


def test_malformed_parameters_comment_names_chapter_and_line(tmp_path):
    text = (FIXTURES / "tiny.md").read_text().replace("# in [0, 1]: a number", "# in [0, 1 a")
    (tmp_path / "tiny.md").write_text(text)
    proc = selfdistill("list", env={**ENV, "SELFDISTILL_NOTEBOOKS": str(tmp_path)})
    assert proc.returncode == 2
    assert "chapter tiny, parameters cell line 1: malformed accepted-values comment" in proc.stderr


@pytest.mark.slow
def test_rerun_of_a_real_chapter_takes_effect(tmp_path):
    """One real chapter rerun with other parameters: the printed c is the one an independent
    call computes at the new parameters, not the default's."""
    import nbformat

    from selfdistill.data.toy import toy_sine
    from selfdistill.mobahi2020.greens_fit import fit_greens
    from selfdistill.mobahi2020.kernels import ExponentialKernel

    env = {k: v for k, v in os.environ.items() if k != "SELFDISTILL_NOTEBOOKS"}
    out = tmp_path / "rerun"
    proc = selfdistill("run", "greens-function", "-p", "eps", "0.02", "-p", "length", "0.15",
                       "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nb = nbformat.read(out / "greens-function.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    x, y = toy_sine()
    c_new = fit_greens(ExponentialKernel(0.15), x, y, 0.02, "cpu").c
    c_default = fit_greens(ExponentialKernel(0.1), x, y, 0.05, "cpu").c
    assert f"c = {c_new:.6g} in" in printed
    assert f"c = {c_default:.6g} in" not in printed


def test_book_refuses_printed_lines_wider_than_the_page(tmp_path):
    import nbformat

    from selfdistill.core.build import wide_printed_lines
    from selfdistill.core.runner import RunResult

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n" + "x" * 89)]
    nb.cells = [cell]
    nbformat.write(nb, tmp_path / "ch.ipynb")
    result = RunResult(chapter="ch", out=tmp_path, status="passed", seconds=1.0)
    assert wide_printed_lines([result]) == [f"ch: {'x' * 60}… (89 characters)"]
    cell.outputs[0]["text"] = "x" * 88
    nbformat.write(nb, tmp_path / "ch.ipynb")
    assert wide_printed_lines([result]) == []


# ---------------------------------------------------------------- issue 14 §1, §4, §6


def _one_line_refusal(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr) < 400, "echoed values are cut"
    assert "running" not in proc.stdout, "refused before anything runs"


@pytest.mark.parametrize("files", [
    {"thesis-analysis.ipynb": '{"my":"analysis"}', "other.ipynb": "{}"},
    {"claims.json": "{}", "notes.txt": "precious", "data/keep": "1"},
])
@pytest.mark.slow
def test_a_folder_this_tool_did_not_write_is_never_replaced(tmp_path, files):
    folder = tmp_path / "d"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    before = {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    _one_line_refusal(selfdistill("run", "tiny", "--out", str(folder)),
                      "holds files other than a run's")
    assert {str(p): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"], "no staging: nothing ran"


@pytest.mark.slow
def test_a_run_folder_is_marked_and_rerun_in_place(tmp_path):
    out = tmp_path / "run"
    assert selfdistill("run", "tiny", "--out", str(out)).returncode == 0
    marker = json.loads((out / "selfdistill-out.yaml").read_text())
    assert marker == {"tool": "selfdistill", "schema": 1, "kind": "run", "chapter": "tiny"}
    assert sorted(p.name for p in out.iterdir()) == ["claims.json", "selfdistill-out.yaml",
                                                     "tiny.ipynb"]
    assert selfdistill("run", "tiny", "-p", "x", "0.1", "--out", str(out)).returncode == 0
    assert json.loads((out / "claims.json").read_text())["parameters"]["x"] == 0.1
    _one_line_refusal(selfdistill("run", "seeded", "--out", str(out)),
                      "holds a run of chapter 'tiny', not a run of 'seeded'")


@pytest.mark.parametrize("out, message", [
    (".", "is the working folder"),
    ("", "is empty"),
    ("a" * 300, "has 300 bytes"),
])
@pytest.mark.slow
def test_unusable_out_is_refused_before_the_run(tmp_path, out, message):
    proc = subprocess.run([sys.executable, "-m", "selfdistill", "run", "tiny", "--out", out],
                          capture_output=True, text=True, timeout=300, env=ENV, cwd=tmp_path)
    _one_line_refusal(proc, message)
    assert list(tmp_path.iterdir()) == [], "nothing written (not even runs/tiny)"


@pytest.mark.slow
def test_a_symlink_to_an_empty_folder_is_written_through(tmp_path):
    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to("target")
    proc = selfdistill("run", "tiny", "--out", str(tmp_path / "link"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "target" / "claims.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"], "nothing stranded"


@pytest.mark.slow
def test_a_symlink_to_a_run_folder_stays_a_symlink(tmp_path):
    target = tmp_path / "target"
    assert selfdistill("run", "tiny", "--out", str(target)).returncode == 0
    (tmp_path / "link").symlink_to("target")
    proc = selfdistill("run", "tiny", "-p", "x", "0.75", "--out", str(tmp_path / "link"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "link").is_symlink()
    assert json.loads((target / "claims.json").read_text())["parameters"]["x"] == 0.75
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
    (tmp_path / "link").unlink()
    (tmp_path / "report").symlink_to("target")  # a report is not written over a run
    report = selfdistill("report", str(tmp_path / "elsewhere"), "--out", str(tmp_path / "report"))
    assert report.returncode == 2
    shutil.copytree(target, tmp_path / "other" / "x=1")
    report = selfdistill("report", str(tmp_path / "other"), "--out", str(tmp_path / "report"))
    _one_line_refusal(report, "holds a run of chapter 'tiny', not a report")


@pytest.mark.slow
@pytest.mark.parametrize("value", ["1+" * 50000 + "1", "1" * 100000])
def test_pathological_values_are_refused_in_one_short_line(tmp_path, value):
    _one_line_refusal(selfdistill("run", "tiny", "-p", "x", value, "--out",
                                  str(tmp_path / "r")), "parameter 'x' = ")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_report_into_an_existing_file_is_refused(tmp_path):
    sweep = tmp_path / "sweep"
    point = sweep / "x=0.5"
    point.mkdir(parents=True)
    write_ledger(point / "claims.json", {
        "chapter": "tiny", "paper": "fixture", "complete": True,
        "expected": [], "parameters": {"x": 0.5}, "run": provenance(), "claims": []})
    (tmp_path / "afile").write_text("keep")
    _one_line_refusal(selfdistill("report", str(sweep), "--out", str(tmp_path / "afile")),
                      "is a file")
    assert (tmp_path / "afile").read_text() == "keep"
    _one_line_refusal(selfdistill("report", str(sweep), "--out", ""), "is empty")


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_list_into_a_closed_pipe_exits_quietly(unbuffered):
    env = {k: v for k, v in ENV.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    proc = subprocess.Popen([sys.executable, "-m", "selfdistill", "list"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away, as `| head -1` does after its line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and stderr == "", stderr


@pytest.mark.slow
def test_list_prints_integer_ranges_as_integers():
    env = {k: v for k, v in os.environ.items() if k != "SELFDISTILL_NOTEBOOKS"}
    out = selfdistill("list", env=env)
    assert out.returncode == 0, out.stderr
    assert "integers in [0, 4294967295]" in out.stdout and "e+09" not in out.stdout


@pytest.mark.slow
def test_paper_scale_without_the_data_is_refused_before_running(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SELFDISTILL_NOTEBOOKS", "SELFDISTILL_DATA")}
    args = ("run", "generations", "-p", "scale", "paper", "--out", str(tmp_path / "r"))
    _one_line_refusal(selfdistill(*args, env=env), "SELFDISTILL_DATA is unset")
    (tmp_path / "data").mkdir()
    _one_line_refusal(selfdistill(*args, env={**env, "SELFDISTILL_DATA": str(tmp_path / "data")}),
                      "lacks train, test")
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_stale_staging_of_a_killed_run_is_cleaned_by_the_next_run(tmp_path):
    """SIGKILL leaves the staging folder; the next run into the same parent removes it, and
    leaves a staging folder whose owner is alive (this test's process) alone."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "selfdistill", "run", "tiny", "-p", "wait",
                             "30", "--out", str(out)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".run.partial-*/claims.json")):
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    [stale] = list(tmp_path.glob(".run.partial-*"))
    owner = json.loads((stale / ".selfdistill-staging.json").read_text())
    assert owner["pid"] == proc.pid
    live = tmp_path / ".other.partial-live"
    live.mkdir()
    (live / ".selfdistill-staging.json").write_text(json.dumps({**owner, "pid": os.getpid(),
                                                                "start": ""}))
    time.sleep(2)  # the orphaned kernel notices its parent is gone and exits
    assert selfdistill("run", "tiny", "--out", str(out)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.partial-live", "run"]


@pytest.mark.slow
def test_kernel_log_does_not_reach_the_terminal(tmp_path):
    """ipykernel logs "KeyboardInterrupt caught in kernel." at ERROR when an interrupt lands in a
    message handler (papermill interrupts the kernel as it shuts it down): provoke exactly that
    in a kernel started with the runner's arguments; nothing may reach its stderr."""
    from jupyter_client.manager import start_new_kernel

    from selfdistill.core.runner import KERNEL_ARGUMENTS

    log = tmp_path / "kernel.err"
    with open(log, "w") as err:
        km, kc = start_new_kernel(kernel_name="python3", extra_arguments=list(KERNEL_ARGUMENTS),
                                  stderr=err)
        try:
            kc.execute_interactive(
                "def _interrupted(*args):\n    raise KeyboardInterrupt\n"
                "get_ipython().kernel.shell_handlers['kernel_info_request'] = _interrupted\n",
                timeout=60)
            kc.kernel_info()
            time.sleep(1)
            kc.execute_interactive("print('still alive')", timeout=60)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert "KeyboardInterrupt" not in log.read_text(), log.read_text()


@pytest.mark.slow
def test_ctrl_c_to_the_whole_process_group_prints_one_line(tmp_path):
    """A terminal's Ctrl-C reaches the kernel too: still one line, exit 130, no tracebacks."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "selfdistill", "run", "tiny", "-p", "wait",
                             "30", "--out", str(out)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(tmp_path.glob(".run.partial-*/claims.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.startswith("selfdistill: interrupted") and stderr.count("\n") == 1, stderr


@pytest.mark.slow
def test_run_chapter_writes_through_a_symlink_it_is_given(tmp_path):
    """The library's runner (used by sweeps and the book) never replaces a link by a folder."""
    from selfdistill.core.chapters import Chapter
    from selfdistill.core.runner import RunJob, run_chapter

    (tmp_path / "target").mkdir()
    (tmp_path / "link").symlink_to("target")
    job = RunJob(Chapter("tiny", FIXTURES / "tiny.md"), {}, tmp_path / "link")
    assert run_chapter(job).ok
    assert (tmp_path / "link").is_symlink() and (tmp_path / "target" / "claims.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "is empty"),
    (lambda d: (d / "notes.txt").write_text("mine"), "holds files other than a sweep's"),
    (lambda d: write_marker(d, "run", "tiny"), "holds a run of chapter 'tiny', not a sweep"),
    (lambda d: write_marker(d, "sweep", "seeded"), "holds a sweep of chapter 'seeded'"),
])
def test_sweep_out_follows_the_same_rule(tmp_path, monkeypatch, capsys, make, message):
    from selfdistill.cli import main

    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))
    folder = tmp_path / "sweep"
    folder.mkdir()
    make(folder)
    before = sorted(p.name for p in folder.iterdir())
    out = "" if message == "is empty" else str(folder)
    assert main(["sweep", "tiny", "-p", "x", "0.5", "--out", out]) == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == before


def test_book_refuses_a_chapter_folder_it_did_not_write(tmp_path):
    from selfdistill.core.build import build_book
    from selfdistill.core.chapters import ParameterError

    (tmp_path / "notebooks").mkdir()
    shutil.copy(FIXTURES / "tiny.md", tmp_path / "notebooks" / "tiny.md")
    (tmp_path / "_toc.yml").write_text("root: intro\nchapters:\n- file: notebooks/tiny\n")
    runs = tmp_path / "_build" / "runs" / "tiny"
    runs.mkdir(parents=True)
    (runs / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError, match="holds files other than a run's"):
        build_book(tmp_path, workers=1)
    assert [p.name for p in runs.iterdir()] == ["notes.txt"]


def test_ctrl_c_silences_the_kernel_teardown_logs(caplog):
    """After Ctrl-C, papermill logs "Kernel died while waiting for execute reply." and asyncio
    "Task exception was never retrieved" as the kernel is torn down (a race seen in 3 of 12
    group interrupts): the interrupt handler silences them first, then raises as usual."""
    import logging

    from selfdistill.core.runner import _TEARDOWN_LOGGERS, _quiet_on_interrupt

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    try:
        with pytest.raises(KeyboardInterrupt), _quiet_on_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        caplog.clear()
        logging.getLogger("papermill").error("Kernel died while waiting for execute reply.")
        logging.getLogger("asyncio").error("Task exception was never retrieved")
        assert caplog.records == []
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "restored"
    finally:
        for name in _TEARDOWN_LOGGERS:
            logging.getLogger(name).disabled = False


@pytest.mark.parametrize("args", [
    ["sweep", "tiny", "-p", "x", "0.5", "--out", "s", "--jobs", "1" * 100000],
    ["a" * 100000],
    ["run", "tiny", "--out", "r", "--unknown-option", "b" * 100000],
])
@pytest.mark.slow
def test_argparse_errors_cut_echoed_values(tmp_path, args):
    proc = subprocess.run([sys.executable, "-m", "selfdistill", *args], capture_output=True,
                          text=True, timeout=300, env=ENV, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr) < 1200, len(proc.stderr)
    assert list(tmp_path.iterdir()) == []
