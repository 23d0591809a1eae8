"""Running chapters: atomically, one at a time or in parallel, with timings.

A run executes a chapter notebook through papermill into a staging folder beside its output folder
``out``, with the chapter's ledger written to ``staging/claims.json``. Only then is ``out`` touched:

* the run **passed** (every cell ran, the ledger is complete, every declared claim passed): the
  staging folder replaces ``out``;
* the run **failed** or was **interrupted**: a previous result in ``out`` is left untouched and the
  attempt is discarded; with no previous result, the attempt (its partly executed notebook and its
  incomplete ledger) becomes ``out``, so ``selfdistill claims`` reports it as failed.

:func:`check_out` refuses, before anything runs, an ``out`` that this tool did not write (see
:mod:`selfdistill.core.outdir`), so a run never deletes a reader's files. Every run folder carries
the marker :data:`selfdistill.core.outdir.MARKER`; a staging folder records its owner, and the next
run into the same parent removes staging folders whose owner is gone.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from selfdistill.core.chapters import Chapter, ParameterError
from selfdistill.core.ledger import LedgerError, load_ledgers
from selfdistill.core.outdir import (
    OWNER,
    check_out_folder,
    clean_stale_staging,
    write_marker,
    write_owner,
)
from selfdistill.core.validate import Integer, validate_params

__all__ = ["KERNEL_ARGUMENTS", "RunJob", "RunResult", "check_device", "check_out",
           "execute_notebook", "run_chapter", "run_command", "run_many", "timing_table"]

LEDGER = "claims.json"

#: the kernel's command-line options: no kernel log in the user's terminal (papermill interrupts
#: the kernel as it shuts it down, and ipykernel logs that as "KeyboardInterrupt caught in
#: kernel."; on Ctrl-C it logs ZMQ tracebacks): a failing cell is reported through the notebook,
#: never through this log. Figures as SVG (sharp in print and on screen).
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL", "--InlineBackend.figure_formats=svg")


@dataclass(frozen=True)
class RunJob:
    """One chapter to run with given parameter values into ``out``.

    Attributes
    ----------
    chapter : Chapter
        The chapter (:class:`~selfdistill.core.chapters.Chapter`).
    values : dict of str to object
        Parameter values that replace the defaults of its ``parameters`` cell (checked already).
    out : pathlib.Path
        The folder the run replaces when it passes (:func:`check_out`).
    """

    chapter: Chapter
    values: dict[str, Any]
    out: Path


@dataclass(frozen=True)
class RunResult:
    """What became of one run.

    Attributes
    ----------
    chapter : str
        The chapter's name.
    out : pathlib.Path
        The run's folder.
    status : {"passed", "failed", "interrupted"}
        ``passed``: it ran to its end with every declared claim checked and passing.
    seconds : float
        Wall time of the run.
    message : str
        Why it failed, or how many claims passed.
    budget : float
        The chapter's book-scale time budget in seconds.
    kept_previous : bool
        True when a failed run left an earlier result in ``out`` untouched.
    """

    chapter: str
    out: Path
    status: Literal["passed", "failed", "interrupted"]
    seconds: float
    message: str = ""
    budget: float = 0.0
    kept_previous: bool = False

    @property
    def ok(self) -> bool:
        """True when the run passed."""
        return self.status == "passed"


def _is_legacy_run(chapter: str) -> Callable[[Path], bool]:
    """A run folder written before the marker existed: its notebook and/or its ledger, nothing
    else, the ledger naming ``chapter``."""
    def test(folder: Path) -> bool:
        names = {p.name for p in folder.iterdir()}
        if LEDGER not in names or not names <= {LEDGER, f"{chapter}.ipynb"}:
            return False
        try:
            data = json.loads((folder / LEDGER).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return False
        return isinstance(data, dict) and data.get("chapter") == chapter

    return test


def check_out(out: str | os.PathLike, chapter: str, flag: str = "--out") -> Path:
    """The folder a run of ``chapter`` may replace, checked before anything runs.

    See :func:`selfdistill.core.outdir.check_out_folder`; a folder that an earlier version of this
    tool wrote (its notebook and ledger, no marker) is accepted too.

    Parameters
    ----------
    out : str or os.PathLike
        The folder asked for.
    chapter : str
        The chapter's name.
    flag : str, default "--out"
        How the user gave the folder, for the message.

    Returns
    -------
    pathlib.Path
        The folder, absolute, symlinks resolved.

    Raises
    ------
    ParameterError
        If the folder holds anything this tool did not write for this chapter.
    """
    return check_out_folder(out, "run", chapter, flag=flag, legacy=_is_legacy_run(chapter))


def check_device(chapter: Chapter, values: dict[str, Any]) -> None:
    """Refuse ``device cuda`` where torch sees no GPU, before the chapter runs.

    Parameters
    ----------
    chapter : Chapter
        The chapter; nothing is checked when it has no ``device`` parameter.
    values : dict of str to object
        The parameter values of the run (the default when ``device`` is not among them).

    Raises
    ------
    ParameterError
        If the run asks for CUDA and torch sees no GPU.
    """
    params = chapter.parameters()
    if "device" not in params:
        return
    device = str(values.get("device", params["device"].default))
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ParameterError(f"parameter 'device' = {device!r} asks for CUDA, but torch "
                                 f"{torch.__version__} sees no GPU here; use 'auto' or 'cpu'")


def run_command(chapter: Chapter, values: dict[str, Any]) -> str:
    """The command that reruns ``chapter`` with ``values``: ``selfdistill run NAME -p k v ...``.

    Parameters
    ----------
    chapter : Chapter
        The chapter run.
    values : dict of str to object
        Parameter values by name, in order; each is written as its ``str``.

    Returns
    -------
    str
        The command line, quoted for a POSIX shell (:func:`shlex.join`).
    """
    words = ["selfdistill", "run", chapter.name]
    for name, value in values.items():
        words += ["-p", name, str(value)]
    return shlex.join(words)


def execute_notebook(chapter: Chapter, values: dict[str, Any], notebook: Path, ledger: Path,
                     progress: bool = False) -> None:
    """Execute ``chapter`` with ``values`` through papermill into ``notebook``.

    Parameters
    ----------
    chapter : Chapter
        The chapter to execute (its text source is converted to a notebook).
    values : dict of str to object
        Parameter values injected after its ``parameters`` cell.
    notebook : pathlib.Path
        Where the executed notebook goes.
    ledger : pathlib.Path
        Where the chapter's ledger goes (passed to the kernel as ``SELFDISTILL_CLAIMS_FILE``).
    progress : bool, default False
        Show papermill's progress bar.

    Raises
    ------
    papermill.PapermillExecutionError
        If a cell fails (a failed claim raises in its cell).
    """
    import papermill

    # the kernel inherits these: where the ledger goes, the command for its provenance record,
    # and the folder of the chapter it runs (Ledger.for_chapter reads the chapter's text there)
    kernel_env = {"SELFDISTILL_CLAIMS_FILE": str(ledger.resolve()),
                  "SELFDISTILL_COMMAND": run_command(chapter, values),
                  "SELFDISTILL_NOTEBOOKS": str(chapter.path.parent.resolve())}
    saved = {name: os.environ.get(name) for name in kernel_env}
    os.environ.update(kernel_env)
    with _quiet_on_interrupt():
        try:
            papermill.execute_notebook(
                chapter.notebook(), str(notebook), parameters=values,
                cwd=str(chapter.path.parent), kernel_name="python3", progress_bar=progress,
                log_output=False, extra_arguments=list(KERNEL_ARGUMENTS),
            )
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


#: loggers that report the kernel being torn down after Ctrl-C ("Kernel died while waiting for
#: execute reply.", asyncio's "Task exception was never retrieved ... DeadKernelError")
_TEARDOWN_LOGGERS = ("papermill", "nbclient", "traitlets", "asyncio")


@contextmanager
def _quiet_on_interrupt() -> Iterator[None]:
    """On Ctrl-C, silence the loggers that would report the torn-down kernel, then raise
    ``KeyboardInterrupt`` as usual: the command line prints its one line. Only where Python's
    own handler is installed (not in workers that ignore SIGINT, nor outside the main thread).
    They stay silent for the rest of the process, which is ending."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        for name in _TEARDOWN_LOGGERS:
            logging.getLogger(name).disabled = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _verdict(ledger: Path) -> tuple[bool, str]:
    try:
        [record] = load_ledgers(ledger)
    except (LedgerError, ValueError) as err:
        return False, f"no usable ledger: {err}"
    if not record.complete:
        return False, "the ledger is incomplete (the chapter did not reach ledger.finish())"
    if record.missing:
        return False, "declared claims never checked: " + ", ".join(record.missing)
    failed = [c.id for c in record.claims if not c.passed]
    if failed:
        return False, "failed claims: " + ", ".join(failed)
    if not record.claims:
        return False, "the chapter recorded no claims"
    return True, f"{len(record.claims)} claims passed"


def _commit(staging: Path, out: Path, keep_attempt: bool) -> bool:
    """Move the attempt into ``out``, or discard it; True when a previous result was kept."""
    (staging / OWNER).unlink(missing_ok=True)
    for path in staging.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(staging, 0o755)
    if out.is_dir() and any(out.iterdir()):
        if not keep_attempt:
            shutil.rmtree(staging, ignore_errors=True)
            return True
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        if out.is_dir():
            out.rmdir()
        os.replace(staging, out)
    return False


def run_chapter(job: RunJob, *, progress: bool = False) -> RunResult:
    """Run one chapter atomically (see the module docstring); never raises for a failed chapter.

    The chapter runs in a staging folder beside ``job.out``, which it replaces only when the run
    passed; a failed run leaves a previous result untouched. ``KeyboardInterrupt`` is handled (the
    previous result survives) and then re-raised.

    Parameters
    ----------
    job : RunJob
        The chapter, its parameter values and its folder.
    progress : bool, default False
        Show papermill's progress bar.

    Returns
    -------
    RunResult
        The run's status, time and message.
    """
    chapter, out = job.chapter, Path(job.out)
    if out.is_symlink():  # written through to its target: a link is never replaced by a folder
        out = out.resolve()
        job = RunJob(chapter, job.values, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out.parent)  # attempts of killed runs: only where the owner is gone
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    write_owner(staging)
    write_marker(staging, "run", chapter.name)
    notebook, ledger = staging / f"{chapter.name}.ipynb", staging / LEDGER
    start = time.perf_counter()
    status, message = "failed", ""
    try:
        execute_notebook(chapter, job.values, notebook, ledger, progress)
        ok, message = _verdict(ledger)
        status = "passed" if ok else "failed"
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
        _finish(job, staging, status, message)
        raise
    except Exception as err:  # papermill raises its own error type for a failing cell
        ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
        message = (f"{ename}: {evalue}" if ename else
                   f"{type(err).__name__}: {_last_lines(str(err))}")
    finally:
        seconds = time.perf_counter() - start
    kept = _finish(job, staging, status, message)
    return RunResult(chapter=chapter.name, out=out, status=status, seconds=seconds,
                     message=message, budget=chapter.budget, kept_previous=kept)


def _finish(job: RunJob, staging: Path, status: str, message: str) -> bool:
    if not staging.exists():
        return False
    if status != "passed" and not (staging / LEDGER).exists():
        _write_failed_ledger(job, staging / LEDGER, status, message)
    return _commit(staging, Path(job.out), keep_attempt=status == "passed")


def _write_failed_ledger(job: RunJob, path: Path, status: str, message: str) -> None:
    """A run that died before its chapter opened a ledger still leaves one: incomplete, with the
    run's parameters (the defaults of its ``parameters`` cell, overridden by the values given)."""
    from selfdistill.core.ledger import chapter_paper, declared_claims, write_ledger
    from selfdistill.core.provenance import provenance

    source = job.chapter.text()
    try:
        defaults = {n: p.default for n, p in job.chapter.parameters().items()}
        paper = chapter_paper(job.chapter.name, source)
    except ValueError:  # a malformed chapter: record what is known
        defaults, paper = {}, ""
    write_ledger(path, {
        "chapter": job.chapter.name, "paper": paper, "complete": False,
        "expected": declared_claims(source), "parameters": {**defaults, **job.values},
        "run": provenance(command=run_command(job.chapter, job.values)),
        "error": f"{status}: {message}", "claims": []})


def _last_lines(text: str, n: int = 12) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:])


def _run_in_worker(job: RunJob, threads: int) -> RunResult:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what an interrupt means
    _share_cores(threads)
    return run_chapter(job)


def _share_cores(threads: int) -> None:
    """Give each of several concurrent chapters its share of the cores: torch's and BLAS's
    thread pools oversubscribe the machine otherwise (tens of times slower on 2 cores). The
    chapter's kernel inherits this environment; a value the user set is kept."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))


@validate_params(workers=Integer(1))
def run_many(jobs: Iterable[RunJob], workers: int,
             on_done: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run chapters in ``workers`` processes (1: in this process), each atomically.

    Each worker gets its share of the cores (``OMP_NUM_THREADS`` and friends, unless set).

    Parameters
    ----------
    jobs : iterable of RunJob
        The runs.
    workers : int
        Number of processes, ``≥ 1``; 1 or a single job runs in this process.
    on_done : callable, optional
        Called with each :class:`RunResult` as its run finishes.

    Returns
    -------
    list of RunResult
        In the order of ``jobs``.
    """
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        results = []
        for job in jobs:
            results.append(run_chapter(job))
            if on_done:
                on_done(results[-1])
        return results
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    done: dict[int, RunResult] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        threads = max(1, (os.cpu_count() or 1) // workers)
        futures = {pool.submit(_run_in_worker, job, threads): i for i, job in enumerate(jobs)}
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if on_done:
                    on_done(done[futures[future]])
        except KeyboardInterrupt:
            for future in futures:
                future.cancel()
            raise
    return [done[i] for i in range(len(jobs))]


def timing_table(results: list[RunResult]) -> str:
    """Each chapter's wall time against its book-scale budget, slowest first, with a total.

    Parameters
    ----------
    results : list of RunResult
        The runs.

    Returns
    -------
    str
        An aligned table (chapter, seconds, budget, status; ``OVER BUDGET`` where it is), then a
        total line.
    """
    rows = [("chapter", "seconds", "budget", "status")]
    for r in sorted(results, key=lambda r: -r.seconds):
        over = " OVER BUDGET" if r.seconds > r.budget else ""
        rows.append((r.chapter, f"{r.seconds:.1f}", f"{r.budget:.0f}", r.status + over))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) if i in (0, 3) else c.rjust(w)
                       for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
             for row in rows]
    total = sum(r.seconds for r in results)
    lines.append(f"{len(results)} chapters, {total:.1f} s of chapter time in all")
    return "\n".join(lines)
