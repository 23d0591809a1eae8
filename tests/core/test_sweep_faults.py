"""Sweeps under faults (issue 14 §2, §4): a Dask address that never answers or is not Dask,
Ctrl-C and SIGKILL of a local sweep, grids too large to start silently, mixed grids in one
folder, unreadable ``sweep.yaml`` files, and the manifest's atomic write.

Every listener here is on 127.0.0.1 and every wait is bounded in count and time."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from selfdistill.cli import main
from selfdistill.core.chapters import ParameterError, get_chapter
from selfdistill.core.sweep import MAX_POINTS, _write_manifest, plan_sweep
from selfdistill.core.sweep_local import _children

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"
ENV = {**os.environ, "SELFDISTILL_NOTEBOOKS": str(FIXTURES)}


def selfdistill(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "selfdistill", *args], capture_output=True,
                          text=True, timeout=timeout, env=ENV)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


@pytest.fixture
def notebooks(monkeypatch) -> None:
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(FIXTURES))


# ---------------------------------------------------------------- §2: Dask addresses


@pytest.fixture
def listener() -> Iterator[callable]:
    """``listener(kind)`` → the address of a local server that accepts and then: stays silent,
    sends random bytes, answers as an HTTP server, or closes at once."""
    stop = threading.Event()
    threads: list[threading.Thread] = []
    sockets: list[socket.socket] = []

    def serve(server: socket.socket, kind: str) -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:  # the timeout below, or closed at the end
                continue
            sockets.append(conn)
            if kind == "random":
                conn.sendall(os.urandom(64))
            elif kind == "http":
                conn.settimeout(5)
                try:
                    conn.recv(4096)
                except OSError:
                    pass
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            elif kind == "close":
                conn.close()

    def start(kind: str) -> str:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(50)
        server.settimeout(0.2)
        sockets.append(server)
        thread = threading.Thread(target=serve, args=(server, kind), daemon=True)
        thread.start()
        threads.append(thread)
        return f"tcp://127.0.0.1:{server.getsockname()[1]}"

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    for sock in sockets:
        sock.close()


@pytest.mark.parametrize("kind, message", [
    ("silent", "nothing answered within 1 s"),
    ("random", "not a Dask scheduler"),
    ("http", "not a Dask scheduler"),
    ("close", "not a Dask scheduler"),
])
@pytest.mark.slow
def test_a_dask_address_that_is_not_a_scheduler_is_refused_in_time(tmp_path, listener, kind,
                                                                     message):
    address = listener(kind)
    out = tmp_path / "never"
    start = time.monotonic()
    proc = selfdistill("sweep", "tiny", "-p", "x", "0.5", "--out", str(out), "--dask", address,
                       "--connect-timeout", "1", timeout=60)
    assert proc.returncode == 2, proc.stderr
    line = one_line(proc.stderr)
    assert f"--dask {address}" in line and message in line, line
    assert "MemoryError" not in line
    assert time.monotonic() - start < 30, "connecting must be bounded"
    assert not out.exists()


@pytest.mark.slow
def test_the_default_connect_timeout_is_stated_and_honoured(tmp_path, listener, notebooks,
                                                            capsys, monkeypatch):
    import selfdistill.core.sweep_dask as sweep_dask

    assert "default 10" in selfdistill("sweep", "--help").stdout
    monkeypatch.setattr(sweep_dask, "CONNECT_TIMEOUT", 0.5)  # the default, made quick
    monkeypatch.setattr("selfdistill.core.sweep.CONNECT_TIMEOUT", 0.5)
    start = time.monotonic()
    assert main(["sweep", "tiny", "-p", "x", "0.5", "--out", str(tmp_path / "s"),
                 "--dask", listener("silent")]) == 2
    assert "nothing answered within 0.5 s" in capsys.readouterr().err
    assert time.monotonic() - start < 20


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc", "", "3601", "1e999"])
def test_a_bad_connect_timeout_is_refused(tmp_path, notebooks, capsys, value):
    assert main(["sweep", "tiny", "-p", "x", "0.5", "--out", str(tmp_path / "s"),
                 "--dask", "tcp://127.0.0.1:1", "--connect-timeout", value]) == 2
    line = one_line(capsys.readouterr().err)
    assert "--connect-timeout" in line and "(0, 3600]" in line
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------- §4: Ctrl-C and SIGKILL


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a background shell job inherits SIG_IGN


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _start_sweep(out: Path, waits: str, jobs: int = 2) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "selfdistill", "sweep", "tiny", "-p",
                             "wait", waits, "--jobs", str(jobs), "--out", str(out)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_default_sigint)


def _wait_running(out: Path, proc: subprocess.Popen, n: int, first: str | None = None) -> None:
    """Until ``n`` points are running (their staged ledgers exist) and ``first`` finished."""
    deadline = time.monotonic() + 120  # generous: the machine may be loaded
    while time.monotonic() < deadline and proc.poll() is None:
        running = len(list(out.glob(".wait=*.partial-*/claims.json")))
        if running >= n and (first is None or (out / first / "claims.json").exists()):
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the sweep never had {n} points running: {proc.communicate()}")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_running_points_cancels_queued_ones_and_keeps_finished(tmp_path):
    out = tmp_path / "sweep"
    proc = _start_sweep(out, "0,40,41,42,43")
    _wait_running(out, proc, 2, first="wait=0.0")
    workers = _children(proc.pid)
    start = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C does
    _, stderr = proc.communicate(timeout=60)
    took = time.monotonic() - start
    assert proc.returncode == 130, stderr
    assert took < 15, f"Ctrl-C took {took:.0f} s (running points wait 40 s)"
    assert json.loads((out / "wait=0.0" / "claims.json").read_text())["complete"] is True
    stopped = sorted(p.name for p in out.iterdir() if p.is_dir() and p.name != "wait=0.0")
    assert stopped == ["wait=40.0", "wait=41.0"], "queued points must not start"
    for name in stopped:
        assert json.loads((out / name / "claims.json").read_text())["complete"] is False
    assert "STOPPED wait=40.0" in stderr
    assert "Traceback" not in stderr and "ZMQError" not in stderr, stderr
    assert not [p for p in out.rglob(".*")], "staging left behind"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, workers)):
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "worker or kernel left running"
    claims = selfdistill("claims", str(out))
    assert "points: 1 complete and passing, 2 not" in claims.stdout, claims.stdout


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_a_sweep_leaves_no_worker_and_no_kernel(tmp_path):
    out = tmp_path / "sweep"
    proc = _start_sweep(out, "30,31,32,33")
    _wait_running(out, proc, 2)
    children = _children(proc.pid)
    assert len(children) >= 4, children  # two workers, each with its kernel
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(_alive, children)):
        time.sleep(0.1)
    left = [pid for pid in children if _alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, "processes outlived the sweep"
    assert not (out / "wait=32.0").exists(), "no queued point may start after the sweep died"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_worker_that_dies_fails_its_point_and_the_sweep_goes_on(tmp_path):
    out = tmp_path / "sweep"
    proc = _start_sweep(out, "20,0", jobs=1)
    _wait_running(out, proc, 1)
    direct = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    [worker] = [int(pid) for pid in direct if "resource_tracker" not in
                Path(f"/proc/{pid}/cmdline").read_text()]
    os.kill(worker, signal.SIGKILL)  # as the kernel's out-of-memory killer does
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr
    assert "STOPPED wait=20.0: interrupted: the worker process died" in stderr
    assert json.loads((out / "wait=0.0" / "claims.json").read_text())["complete"] is True
    assert json.loads((out / "wait=20.0" / "claims.json").read_text())["complete"] is False
    assert not [p for p in out.rglob(".*")], "staging left behind"


# ---------------------------------------------------------------- §4: grid size


def test_a_large_grid_is_refused_at_once_with_its_count_and_estimate(tmp_path, notebooks,
                                                                      capsys, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a refused grid must not start")

    monkeypatch.setattr("selfdistill.core.sweep.run_sweep", never)
    values = ",".join(f"{i / 1000:g}" for i in range(MAX_POINTS + 1))
    start = time.monotonic()
    assert main(["sweep", "tiny", "-p", "x", values, "--out", str(tmp_path / "s")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "the grid has 501 points (about 84 min of chapter time at 10 s each)" in line
    assert "--allow-large" in line
    assert time.monotonic() - start < 10 and not (tmp_path / "s").exists()


@pytest.mark.slow
def test_planning_ten_thousand_points_is_quick(tmp_path, notebooks):
    xs = ",".join(f"{i / 100:g}" for i in range(100))
    waits = ",".join(f"{i / 2:g}" for i in range(100))
    (tmp_path / "s").mkdir()
    start = time.monotonic()
    with pytest.raises(ParameterError, match="10000 points"):
        plan_sweep(get_chapter("tiny"), [("x", xs), ("wait", waits)], None, tmp_path / "s")
    assert time.monotonic() - start < 2
    start = time.monotonic()
    sweep = plan_sweep(get_chapter("tiny"), [("x", xs), ("wait", waits)], None,
                       tmp_path / "s", allow_large=True)
    took = time.monotonic() - start
    assert len(sweep.points()) == 10_000
    assert took < 8, f"planning 10,000 points took {took:.1f} s (28 s before)"


@pytest.mark.slow
def test_the_count_and_estimate_are_printed_before_the_sweep_starts(tmp_path):
    proc = selfdistill("sweep", "tiny", "-p", "x", "0.25,0.5", "--jobs", "1", "--out",
                       str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("sweep of tiny: 2 points, about 20 s of chapter time (budget 10 s "
                            "each), about 20 s on 1 worker ->"), first


# ---------------------------------------------------------------- §4: grids in one folder


def _manifest(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sweep.yaml").write_text(text, encoding="utf-8")
    return folder


GRID = "chapter: tiny\ngrid:\n  x: [0.25, 0.5]\n"


@pytest.mark.parametrize("given, extend, message", [
    ([("x", "0.75")], False, "1 of these points are not in its sweep.yaml); give --extend"),
    ([("x", "0.25,0.75")], False, "1 of these points are not in its sweep.yaml"),
    ([("x", "0.5"), ("mode", "pass")], False, "holds a sweep over 'x', not 'x, mode'"),
    ([("x", "0.5"), ("mode", "pass")], True, "even --extend adds values only to the same"),
    ([("mode", "pass")], True, "holds a sweep over 'x', not 'mode'"),
])
def test_another_grid_in_a_sweep_folder_is_refused(tmp_path, notebooks, given, extend,
                                                   message):
    out = _manifest(tmp_path / "s", GRID)
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_sweep(get_chapter("tiny"), given, None, out, extend=extend)
    assert os.listdir(out) == ["sweep.yaml"]


@pytest.mark.parametrize("given", [[("x", "0.25,0.5")], [("x", "0.5")], [("x", "0.5,0.25")]])
def test_the_same_grid_or_part_of_it_resumes(tmp_path, notebooks, given):
    out = _manifest(tmp_path / "s", GRID)
    plan_sweep(get_chapter("tiny"), given, None, out)


def test_extend_adds_points_and_records_the_merged_grid(tmp_path, notebooks):
    out = _manifest(tmp_path / "s", GRID)
    sweep = plan_sweep(get_chapter("tiny"), [("x", "0.75,0.25")], None, out, extend=True)
    _write_manifest(sweep, "local")
    manifest = yaml.safe_load((out / "sweep.yaml").read_text())
    assert manifest["grid"] == {"x": [0.25, 0.5, 0.75]} and manifest["points"] == 3
    plan_sweep(get_chapter("tiny"), [("x", "0.75")], None, out)  # now part of the grid


@pytest.mark.slow
def test_extend_runs_only_the_new_points(tmp_path):
    out = tmp_path / "s"
    assert selfdistill("sweep", "tiny", "-p", "x", "0.25", "--out", str(out)).returncode == 0
    before = (out / "x=0.25" / "claims.json").read_bytes()
    refused = selfdistill("sweep", "tiny", "-p", "x", "0.25,0.5", "--out", str(out))
    assert refused.returncode == 2 and "give --extend" in one_line(refused.stderr)
    proc = selfdistill("sweep", "tiny", "-p", "x", "0.25,0.5", "--out", str(out), "--extend")
    assert proc.returncode == 0, proc.stderr
    assert "1 points run (0 failed), 1 already complete and passing" in proc.stdout
    assert (out / "x=0.25" / "claims.json").read_bytes() == before
    assert yaml.safe_load((out / "sweep.yaml").read_text())["grid"] == {"x": [0.25, 0.5]}


@pytest.mark.parametrize("text", [
    "chapter: tiny\ngrid: {x: [0.5\n",  # not YAML
    "- chapter\n- tiny\n",  # a list
    "just a string\n",
    "chapter: tiny\ngrid: [x, mode]\n",  # a grid that is a list
    "chapter: tiny\ngrid: {x: 0.5}\n",  # values that are not a list
    "\udcff",  # not UTF-8 (written with surrogateescape below)
])
def test_an_unreadable_sweep_yaml_gets_one_line(tmp_path, notebooks, capsys, text):
    out = tmp_path / "s"
    out.mkdir()
    (out / "sweep.yaml").write_bytes(text.encode("utf-8", "surrogateescape"))
    (out / "x=0.5").mkdir()
    (out / "x=0.5" / "claims.json").write_text("{}")
    for argv in (["sweep", "tiny", "-p", "x", "0.5", "--out", str(out)],
                 ["claims", str(out)], ["report", str(out)]):
        assert main(argv) == 2, argv
        line = one_line(capsys.readouterr().err)
        assert "sweep.yaml" in line, line
    assert sorted(os.listdir(out)) == ["sweep.yaml", "x=0.5"]


def test_the_manifest_is_written_atomically_under_a_unique_name(tmp_path, notebooks):
    out = tmp_path / "s"
    sweep = plan_sweep(get_chapter("tiny"), [("x", "0.5")], None, out)
    _write_manifest(sweep, "local")  # a sweep folder, with its marker
    before = set(os.listdir(out))
    (out / ".sweep.yaml.tmp").mkdir()  # the fixed name used before: in the way, or shared
    _write_manifest(sweep, "local")
    assert yaml.safe_load((out / "sweep.yaml").read_text())["grid"] == {"x": [0.5]}
    assert set(os.listdir(out)) == before | {".sweep.yaml.tmp"}  # no temporary left


def test_a_point_folder_name_too_long_for_the_file_system_is_refused(tmp_path, monkeypatch):
    long_a, long_b = "a" * 130, "b" * 130
    text = (FIXTURES / "tiny.md").read_text().replace(
        "x = 0.5  # in [0, 1]:",
        f"{long_a} = 0.5  # in [0, 1]: a\n{long_b} = 0.5  # in [0, 1]:")
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "tiny.md").write_text(text)
    monkeypatch.setenv("SELFDISTILL_NOTEBOOKS", str(tmp_path / "nb"))
    with pytest.raises(ParameterError, match="has a name of 270 bytes; at most 255"):
        plan_sweep(get_chapter("tiny"), [(long_a, "0.5"), (long_b, "0.5")], None,
                   tmp_path / "s")
    assert not (tmp_path / "s").exists()
