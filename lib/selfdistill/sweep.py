"""Sweeps: one chapter run once per point of a parameter grid, locally or on a Dask cluster.

``selfdistill sweep CHAPTER -p NAME V1,V2,... [-p NAME2 ...] [--seeds 0-4] --out DIR`` builds the
grid (the product of the lists), checks every point against the chapter's ``parameters`` cell
before anything runs (:func:`plan_sweep`), then runs each point atomically into its own run folder
``DIR/<name>=<value>__<name2>=<value2>`` with the rules of :mod:`selfdistill.runner`: a point's
folder holds a complete, passing ledger, or the failed attempt, never a half-written mix.

Executors: ``local`` (:func:`selfdistill.runner.run_many`, one worker process per core) or Dask
``distributed`` (a local cluster started here, or a running scheduler's address). A Dask task
receives the chapter's *text* and its values, runs it in a temporary folder of the worker, and
returns the run folder's files, which are installed into ``DIR`` here: a worker needs only the
installed package, not this checkout nor a shared file system.

Resuming: a point whose folder already holds a complete, passing ledger is skipped; a failed or
incomplete one is rerun. ``DIR/sweep.yaml`` records the chapter, the grid and the provenance
(command, commit, machine, date) of the last invocation.
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from .chapters import Chapter, ParameterError
from .claims import LedgerError, load_ledgers
from .runner import LEDGER, RunJob, RunResult, check_device, check_out, run_chapter, run_many
from .sweep_report import MANIFEST

__all__ = ["MANIFEST", "Sweep", "connect_dask", "parse_seeds", "plan_sweep", "run_sweep"]



def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def parse_seeds(text: str) -> list[str]:
    """``"0-4"`` → ``["0", ..., "4"]``; ``"3"`` and ``"1,5,9"`` are accepted too."""
    text = text.strip()
    if match := re.fullmatch(r"(\d+)\s*-\s*(\d+)", text):
        low, high = int(match.group(1)), int(match.group(2))
        if high < low:
            raise ParameterError(f"--seeds {text!r}: the range ends before it starts; "
                                 "write LOW-HIGH with LOW ≤ HIGH, e.g. 0-4")
        if high - low >= 10_000:
            raise ParameterError(f"--seeds {text!r} asks for {high - low + 1} runs; at most "
                                 "10000 seeds per sweep")
        return [str(s) for s in range(low, high + 1)]
    items = [s.strip() for s in text.split(",")]
    if not text or not all(re.fullmatch(r"\d+", s) for s in items):
        raise ParameterError(f"--seeds {text!r} is not a seed range; write LOW-HIGH (0-4), "
                             "one seed (3) or a list (1,5,9) of non-negative integers")
    return items


def _split_list(name: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or not all(items):
        raise ParameterError(f"parameter '{name}': the list {text!r} is empty or has an empty "
                             "item; write V1,V2,... with at least one value")
    return items


def _label(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9.+-]", "-", text)


@dataclass(frozen=True)
class Sweep:
    """A validated grid: ``names`` and, for each, its ``values`` (converted and checked)."""

    chapter: Chapter
    names: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    out: Path
    argv: tuple[str, ...] = field(default=())

    def points(self) -> list[dict[str, Any]]:
        """Every grid point (the product of the lists), first parameter varying slowest."""
        return [dict(zip(self.names, combo, strict=True))
                for combo in itertools.product(*self.values)]

    def folder(self, point: dict[str, Any]) -> Path:
        """The run folder of one point: ``DIR/eps=0.05__length=0.1``."""
        name = "__".join(f"{n}={_label(point[n])}" for n in self.names) or "default"
        return self.out / name

    def jobs(self) -> list[RunJob]:
        return [RunJob(self.chapter, point, self.folder(point)) for point in self.points()]


def plan_sweep(chapter: Chapter, given: list[tuple[str, str]], seeds: str | None,
               out: Path, argv: tuple[str, ...] = ()) -> Sweep:
    """Check the whole grid before anything runs; raise :class:`ParameterError` for an empty
    list, an unknown name, a value out of range, a bad seed range or an unusable ``out``."""
    given = list(given)
    if seeds is not None:
        if "seed" not in chapter.parameters():
            raise ParameterError(f"--seeds: chapter '{chapter.name}' has no 'seed' parameter "
                                 "(it has no randomness to vary)")
        if any(name == "seed" for name, _ in given):
            raise ParameterError("give the seeds once: either --seeds or -p seed, not both")
        given.append(("seed", ",".join(parse_seeds(seeds))))
    names: list[str] = []
    values: list[tuple[Any, ...]] = []
    for name, text in given:
        if name in names:
            raise ParameterError(f"parameter '{name}' is given twice; give each once, with "
                                 "all its values in one comma-separated list")
        converted = [chapter.convert([(name, item)])[name] for item in _split_list(name, text)]
        if len(set(map(repr, converted))) != len(converted):
            raise ParameterError(f"parameter '{name}': the list {text!r} repeats a value")
        names.append(name)
        values.append(tuple(converted))
    sweep = _check_sweep_out(Sweep(chapter, tuple(names), tuple(values), Path(out), tuple(argv)))
    points = sweep.points()
    for point in points[:1] if "device" not in names else points:
        check_device(chapter, point)
    for point in points:
        check_out(sweep.folder(point), chapter.name)
    return sweep


def _check_sweep_out(sweep: Sweep) -> Sweep:
    """The sweep with its folder checked and resolved (:func:`selfdistill.outdir.check_out_folder`:
    new, empty, or a sweep of this chapter; before markers: its ``sweep.yaml`` names it)."""
    from .outdir import check_out_folder

    def legacy(folder: Path) -> bool:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            return False
        try:
            chapter = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("chapter")
        except (yaml.YAMLError, AttributeError):
            chapter = None
        if chapter != sweep.chapter.name:
            raise ParameterError(f"--out {sweep.out} holds a sweep of chapter {chapter!r}, not "
                                 f"'{sweep.chapter.name}'; choose another folder")
        return True

    return replace(sweep, out=check_out_folder(sweep.out, "sweep", sweep.chapter.name,
                                               legacy=legacy))


def _point_passed(folder: Path) -> bool:
    try:
        return all(r.passed for r in load_ledgers(folder / LEDGER))
    except LedgerError:
        return False


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("selfdistill", "torch", "numpy", "scipy", "papermill", "distributed"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def _write_manifest(sweep: Sweep, executor: str) -> None:
    from .claims import git_commit

    payload = {
        "chapter": sweep.chapter.name,
        "grid": {n: list(v) for n, v in zip(sweep.names, sweep.values, strict=True)},
        "points": len(sweep.points()),
        "command": "selfdistill " + " ".join(sweep.argv) if sweep.argv else "",
        "executor": executor,
        "commit": git_commit(),
        "host": platform.node(),
        "machine": f"{platform.machine()}, {_cores()} cores",
        "python": platform.python_version(),
        "versions": _versions(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    sweep.out.mkdir(parents=True, exist_ok=True)
    tmp = sweep.out / f".{MANIFEST}.tmp"
    tmp.write_text(yaml.safe_dump(payload, sort_keys=False, allow_unicode=True), encoding="utf-8")
    os.replace(tmp, sweep.out / MANIFEST)
    from .outdir import write_marker

    write_marker(sweep.out, "sweep", sweep.chapter.name)


# ---------------------------------------------------------------- Dask


def connect_dask(address: str | None, workers: int | None = None):
    """A Dask ``Client``: a new local cluster (``address`` None; ``workers`` processes of one
    thread each, default one per core) or the scheduler at ``address``, refused quickly
    (ParameterError) when it does not answer."""
    if address is not None:
        _probe(address)
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
    try:
        return Client(address, timeout="3s")
    except Exception as err:  # refused, timed out, or something that does not speak Dask
        raise ParameterError(f"--dask {address}: no Dask scheduler answers there "
                             f"({type(err).__name__}: {str(err)[:120]})") from None


def _probe(address: str) -> None:
    """Refuse at once a ``tcp://host:port`` where nothing listens (before importing Dask)."""
    match = re.fullmatch(r"(?:tcp://)?\[?([^\[\]]+?)\]?:(\d+)", address.strip())
    if not match:
        if "://" in address and not address.startswith("tcp://"):
            return  # another Dask protocol (tls, ucx, ws): Dask's own timeout decides
        raise ParameterError(f"--dask {address!r} is not a scheduler address; write "
                             "tcp://HOST:PORT (e.g. tcp://127.0.0.1:8786)")
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=3).close()
    except OSError as err:
        raise ParameterError(f"--dask {address}: no Dask scheduler answers there "
                             f"({err.strerror or err})") from None


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


def _run_dask(client, jobs: list[RunJob], on_done: Callable[[RunResult], None]) -> None:
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


# ---------------------------------------------------------------- running


@dataclass
class SweepOutcome:
    """What a sweep did: points skipped (already passing), and the results of those it ran."""

    skipped: list[Path]
    results: list[RunResult]
    seconds: float

    @property
    def failed(self) -> list[RunResult]:
        return [r for r in self.results if not r.ok]


def run_sweep(sweep: Sweep, *, executor: str = "local", workers: int | None = None,
              client=None, echo: Callable[[str], None] | None = None) -> SweepOutcome:
    """Run every point of ``sweep`` that is not already complete and passing.

    ``executor`` is ``"local"`` (``workers`` processes, default one per core) or ``"dask"``
    (``client`` from :func:`connect_dask`). Finished points are in ``sweep.out`` as they finish,
    so an interrupt (re-raised as ``KeyboardInterrupt``) loses none.
    """
    from tqdm import tqdm

    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    start = time.perf_counter()
    jobs = sweep.jobs()
    skipped = [job.out for job in jobs if _point_passed(job.out)]
    todo = [job for job in jobs if job.out not in skipped]
    _write_manifest(sweep, executor)
    for job in todo:  # a failed or interrupted attempt is replaced, not kept beside the new one
        if job.out.exists():
            shutil.rmtree(job.out)
    results: list[RunResult] = []
    bar = tqdm(total=len(todo), unit="point", desc=sweep.chapter.name,
               disable=not sys.stderr.isatty(), file=sys.stderr)

    def on_done(result: RunResult) -> None:
        results.append(result)
        if not result.ok:
            line = f"FAILED {result.out.name}: {result.status}: {result.message}"
            (bar.write(line, file=sys.stderr) if not bar.disable else echo(line))
        bar.update(1)

    try:
        if todo and executor == "dask":
            _run_dask(client, todo, on_done)
        elif todo:
            run_many(todo, workers or min(_cores(), len(todo)), on_done=on_done)
    finally:
        bar.close()
    return SweepOutcome(skipped=skipped, results=results, seconds=time.perf_counter() - start)
