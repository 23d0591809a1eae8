"""The local executor of a sweep: worker processes that stop on Ctrl-C and die with the sweep.

:func:`run_local` runs :class:`~selfdistill.core.runner.RunJob` s in ``workers`` processes, each
running one point at a time (through :func:`selfdistill.core.runner.run_chapter`, so each point is
atomic). Unlike a ``ProcessPoolExecutor``, which finishes the points it has already queued and
waits for the running ones, it keeps the decisions in the sweep's process:

* **Ctrl-C** (``KeyboardInterrupt`` in the sweep): no queued point starts; each running point is
  asked to stop (SIGTERM, which the worker turns into ``KeyboardInterrupt`` inside the run, so
  the run records itself as interrupted); a worker that has not answered after ``grace``
  seconds is killed with its kernel, and its point is recorded as interrupted here. Finished
  points are kept. ``KeyboardInterrupt`` is re-raised (the command line exits 130).
* **The sweep dies** (SIGKILL, a crash): every worker dies with it. On Linux the kernel
  delivers SIGKILL to the worker when its parent exits (``prctl(PR_SET_PDEATHSIG)``); elsewhere
  a thread in the worker watches its parent and exits. A worker's Jupyter kernel watches its own
  parent (ipykernel does, through ``JPY_PARENT_PID``) and follows within a second.

Workers ignore the terminal's SIGINT: the sweep decides what an interrupt means. What a stopped
point's kernel prints while it is torn down is dropped; everything else reaches the terminal.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from selfdistill.core.runner import RunJob, RunResult, run_chapter
from selfdistill.core.validate import Integer, Real, validate_params

__all__ = ["GRACE", "run_local"]

#: seconds a running point has to stop after Ctrl-C before its worker is killed
GRACE = 5.0

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In a worker: exit when the sweep's process ``parent`` is gone."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread below
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:  # the portable route, and a second one on Linux
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="selfdistill-parent-watch", daemon=True).start()


_stopping = threading.Event()


def _stop(signum: int, frame: Any) -> None:
    _stopping.set()
    raise KeyboardInterrupt


def _quiet_after_stop() -> None:
    """Relay this worker's stderr (and its kernel's, which inherits it) to the sweep's until
    the sweep asks the running point to stop; then drop it: a kernel shut down mid-cell prints
    tracebacks (``ZMQError``) that are not the reader's business."""
    read, write = os.pipe()
    real = os.dup(2)
    os.dup2(write, 2)
    os.close(write)

    def pump() -> None:
        with os.fdopen(read, "rb", buffering=0) as source:
            while chunk := source.read(65536):  # until every writer has closed it
                if not _stopping.is_set():
                    os.write(real, chunk)

    threading.Thread(target=pump, name="selfdistill-stderr", daemon=True).start()


def _worker(conn: Connection, parent: int, threads: int) -> None:
    """A worker's loop: receive a job, run it, send its result; ``None`` ends it."""
    _die_with_parent(parent)
    _quiet_after_stop()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is the sweep's to judge
    signal.signal(signal.SIGTERM, _stop)  # the sweep's request to stop the running point
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))  # share the cores among the workers
    try:
        while (job := conn.recv()) is not None:
            conn.send(run_chapter(job))
    except (KeyboardInterrupt, EOFError, OSError):
        pass  # asked to stop (the run recorded itself as interrupted), or the sweep is gone


@dataclass
class _Slot:
    process: Any
    conn: Connection
    job: RunJob | None = None


def _children(pid: int) -> list[int]:
    """The descendants of ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        for child in map(int, text.split()):
            found += [child, *_children(child)]
    return found


def _kill(slot: _Slot) -> None:
    """Kill a worker and what it started (its kernel)."""
    for pid in [*_children(slot.process.pid), slot.process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    slot.process.join(timeout=5)


def _abandoned(job: RunJob, why: str) -> RunResult:
    """Record a point whose worker died or was killed: its staging becomes an incomplete run
    (or is discarded beside a previous result), as :func:`run_chapter` does for a failed run."""
    from selfdistill.core.runner import _finish

    out = Path(job.out)
    for staging in sorted(out.parent.glob(f".{out.name}.partial-*")):
        _finish(job, staging, "interrupted", why)
    return RunResult(chapter=job.chapter.name, out=out, status="interrupted", seconds=0.0,
                     message=why, budget=job.chapter.budget)


@validate_params(workers=Integer(1), grace=Real(0.0, math.inf, upper_open=True))
def run_local(jobs: list[RunJob], workers: int, on_done: Callable[[RunResult], None],
              grace: float = GRACE) -> list[RunResult]:
    """Run ``jobs`` in ``workers`` processes; call ``on_done`` as each finishes.

    See the module docstring for Ctrl-C (each running point gets ``grace`` seconds to stop) and for
    the sweep dying (its workers die with it).

    Parameters
    ----------
    jobs : list of RunJob
        The runs.
    workers : int
        Processes at once, ``≥ 1``.
    on_done : callable
        Called with each :class:`~selfdistill.core.runner.RunResult`.
    grace : float, default GRACE
        Seconds a running point has to stop after Ctrl-C before its worker is killed, finite and
        ``≥ 0``.

    Returns
    -------
    list of RunResult
        In finishing order.
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    queue = list(reversed(jobs))
    slots: list[_Slot] = []
    results: list[RunResult] = []

    def start() -> _Slot:
        mine, theirs = context.Pipe()
        process = context.Process(target=_worker, args=(theirs, os.getpid(), threads),
                                  name="selfdistill-sweep-worker", daemon=True)
        process.start()
        theirs.close()
        return _Slot(process, mine)

    def finish(slot: _Slot, result: RunResult) -> None:
        slot.job = None
        results.append(result)
        on_done(result)

    try:
        for _ in range(min(workers, len(jobs))):
            slots.append(start())
        while queue or any(s.job for s in slots):
            for slot in slots:
                if slot.job is None and queue:
                    slot.job = queue.pop()
                    try:
                        slot.conn.send(slot.job)
                    except OSError:  # it died idle: `wait` sees the closed pipe next
                        pass
            ready = wait([s.conn for s in slots if s.job], timeout=1.0)
            for slot in [s for s in slots if s.conn in ready]:
                try:
                    finish(slot, slot.conn.recv())
                except (EOFError, OSError):  # the worker died (out of memory, killed)
                    job = slot.job
                    _kill(slot)
                    slots[slots.index(slot)] = fresh = start()
                    finish(fresh, _abandoned(job, "the worker process died"))
        for slot in slots:
            slot.conn.send(None)
    except KeyboardInterrupt:
        _interrupt(slots, results, on_done, grace)
        raise
    finally:
        for slot in slots:
            if slot.process.is_alive():
                slot.process.join(timeout=2)
            if slot.process.is_alive():
                _kill(slot)
            slot.conn.close()
    return results


def _interrupt(slots: list[_Slot], results: list[RunResult],
               on_done: Callable[[RunResult], None], grace: float) -> None:
    """Ctrl-C: ask the running points to stop, wait up to ``grace`` s, kill what remains."""
    busy = [s for s in slots if s.job is not None]
    for slot in busy:
        try:
            os.kill(slot.process.pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    try:
        while busy and time.monotonic() < deadline:
            for slot in busy:
                slot.process.join(timeout=0.05)
            busy = [s for s in busy if s.process.is_alive()]
    except KeyboardInterrupt:  # a second Ctrl-C: no more waiting
        pass
    for slot in slots:
        if slot.process.is_alive():
            _kill(slot)
        if slot.job is not None:  # stopped (it recorded itself) or killed (recorded here)
            job, slot.job = slot.job, None
            result = _abandoned(job, "interrupted by the user")
            results.append(result)
            on_done(result)
