"""Sweeps on Dask ``distributed``: connecting (bounded in time) and shipping points.

A Dask task receives the chapter's *text* and its values, runs it in a temporary folder of the
worker, and returns the run folder's files, which are installed into the sweep's folder here: a
worker needs only the installed package, not this checkout nor a shared file system.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from selfdistill.core.chapters import Chapter, ParameterError
from selfdistill.core.runner import RunJob, RunResult, run_chapter
from selfdistill.core.validate import Integer, Optional, Real, validate_params

__all__ = ["CONNECT_TIMEOUT", "check_connect_timeout", "connect_dask", "run_dask"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


#: seconds to wait for a Dask scheduler to answer (``--connect-timeout``)
CONNECT_TIMEOUT = 10.0

#: a connect timeout: seconds in (0, 3600] (anything ``float()`` converts: the command line's text)
_TIMEOUT = Real(0.0, 3600.0, lower_open=True)


@validate_params(seconds=_TIMEOUT)
def check_connect_timeout(seconds: float) -> float:
    """Refuse a connect timeout outside (0, 3600] seconds.

    Parameters
    ----------
    seconds : float
        ``--connect-timeout`` (anything ``float()`` converts).

    Returns
    -------
    float
        The timeout in seconds.

    Raises
    ------
    ValueError
        If it is not a number in ``(0, 3600]`` (the command line reports it as
        ``--connect-timeout``).
    """
    return seconds  # the declaration checked it and made it a float


@validate_params(workers=Optional(Integer(1)), timeout=_TIMEOUT)
def connect_dask(address: str | None, workers: int | None = None,
                 timeout: float = CONNECT_TIMEOUT):
    """A Dask ``Client``: a new local cluster, or the scheduler at ``address``.

    Connecting to ``address`` is bounded by ``timeout`` seconds, handshake included (Dask's own
    handshake waits forever on a listener that never answers).

    Parameters
    ----------
    address : str or None
        The scheduler's address (``tcp://host:8786``); ``None`` starts a local cluster of
        ``workers`` processes of one thread each.
    workers : int, optional
        Processes of the local cluster, ``≥ 1``; one per core when omitted.
    timeout : float, default CONNECT_TIMEOUT
        Seconds to wait for the scheduler, in ``(0, 3600]``.

    Returns
    -------
    distributed.Client
        The client.

    Raises
    ------
    ValueError
        If ``workers`` or ``timeout`` is out of range.
    ParameterError
        If Dask is not installed, or nothing listens at ``address``, nothing answers in time, or
        what answers is not a Dask scheduler (the message names the address).
    """
    if address is not None:
        _probe(address, timeout)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("--dask needs Dask: pip install 'selfdistill[sweep]'") from None
    if address is None:
        # processes, one thread each: a run sets the ledger's path in the process environment
        cluster = LocalCluster(n_workers=workers or _cores(), threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
        return Client(cluster)
    _identify(address, timeout)
    try:
        return Client(address, timeout=f"{timeout}s")
    except Exception as err:  # refused, timed out, or something that does not speak Dask
        raise ParameterError(f"--dask {_cut(address)}: no Dask scheduler answers there "
                             f"({type(err).__name__}: {str(err)[:120]})") from None


def _cut(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _probe(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Refuse at once a ``tcp://host:port`` where nothing listens (before importing Dask)."""
    match = re.fullmatch(r"(?:tcp://)?\[?([^\[\]]+?)\]?:(\d+)", address.strip())
    if not match:
        if "://" in address and not address.startswith("tcp://"):
            return  # another Dask protocol (tls, ucx, ws): _identify's bound decides
        raise ParameterError(f"--dask {_cut(address)!r} is not a scheduler address; write "
                             "tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    port = int(match.group(2))
    if not 0 < port < 65536:
        raise ParameterError(f"--dask {_cut(address)}: port {port} is outside [1, 65535]")
    try:
        socket.create_connection((match.group(1), port), timeout=timeout).close()
    except OSError as err:
        raise ParameterError(f"--dask {_cut(address)}: no Dask scheduler answers there "
                             f"({err.strerror or err})") from None


def _identify(address: str, timeout: float) -> None:
    """Open one Dask comm to ``address`` and ask it to identify itself, all within
    ``timeout`` seconds; refuse (ParameterError) silence, or a reply that is not a Dask
    scheduler's (an HTTP server's, random bytes: Dask itself would read their first eight
    bytes as a frame length and fail to allocate exabytes)."""
    import asyncio

    from distributed.comm import connect

    async def ask() -> object:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(ask(), timeout))
    except (asyncio.TimeoutError, TimeoutError):
        raise ParameterError(f"--dask {_cut(address)}: nothing answered within {timeout:g} s "
                             "(not a Dask scheduler, or a stuck one; --connect-timeout "
                             "SECONDS waits longer)") from None
    except Exception as err:  # MemoryError, garbled frames, a closed stream, a bad address
        reply = err
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        if type(reply).__name__ == "CommClosedError":
            seen = "it closed the connection without a Dask handshake"
        elif isinstance(reply, BaseException):  # e.g. eight bytes read as a frame length
            seen = "its reply does not follow Dask's protocol"
        else:
            seen = f"it answered {str(reply)[:80]!r}"
        raise ParameterError(f"--dask {_cut(address)}: not a Dask scheduler ({seen})")


def _run_shipped(name: str, text: str, values: dict[str, Any]) -> dict[str, Any]:
    """Run on a Dask worker: the chapter from its text, in a temporary folder; return the
    run folder's files (so nothing but the installed package is needed there)."""
    with tempfile.TemporaryDirectory(prefix="selfdistill-sweep-") as tmp:
        notebooks = Path(tmp) / "notebooks"
        notebooks.mkdir()
        (notebooks / f"{name}.md").write_text(text, encoding="utf-8")
        os.environ["SELFDISTILL_NOTEBOOKS"] = str(notebooks)  # the ledger reads declared claims
        out = Path(tmp) / "run"
        result = run_chapter(RunJob(Chapter(name, notebooks / f"{name}.md"), values, out))
        files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    return {"status": result.status, "seconds": result.seconds, "message": result.message,
            "files": files}


def _install(files: dict[str, bytes], out: Path) -> None:
    """Put a shipped run folder into ``out`` atomically (staging beside it, then a rename)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    for name, data in files.items():
        (staging / Path(name).name).write_bytes(data)
        os.chmod(staging / Path(name).name, 0o644)
    os.chmod(staging, 0o755)
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, out)


def run_dask(client, jobs: list[RunJob], on_done: Callable[[RunResult], None]) -> None:
    """Run ``jobs`` on a Dask cluster; install each finished run into its folder here.

    Each job ships the chapter's text to a worker, which runs it atomically in a scratch folder and
    returns its files; ``on_done`` is called as each comes back. On ``KeyboardInterrupt`` the
    pending jobs are cancelled and the interrupt re-raised.

    Parameters
    ----------
    client : distributed.Client
        The cluster (:func:`connect_dask`).
    jobs : list of RunJob
        The runs.
    on_done : callable
        Called with each :class:`~selfdistill.core.runner.RunResult`.
    """
    from distributed import as_completed

    text = {job.chapter.name: job.chapter.text() for job in jobs}
    futures = {client.submit(_run_shipped, job.chapter.name, text[job.chapter.name],
                             dict(job.values), pure=False): job for job in jobs}
    try:
        for future in as_completed(futures):
            job = futures[future]
            shipped = future.result()
            _install(shipped["files"], job.out)
            on_done(RunResult(chapter=job.chapter.name, out=job.out, status=shipped["status"],
                              seconds=shipped["seconds"], message=shipped["message"],
                              budget=job.chapter.budget))
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise
