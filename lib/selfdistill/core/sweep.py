"""Sweeps: one chapter run once per point of a parameter grid, locally or on a Dask cluster.

``selfdistill sweep CHAPTER -p NAME V1,V2,... [-p NAME2 ...] [--seeds 0-4] --out DIR`` builds the
grid (the product of the lists), checks every point against the chapter's ``parameters`` cell
before anything runs (:func:`plan_sweep`), then runs each point atomically into its own run folder
``DIR/<name>=<value>__<name2>=<value2>`` with the rules of :mod:`selfdistill.core.runner`: a point's
folder holds a complete, passing ledger, or the failed attempt, never a half-written mix.

Executors: ``local`` (:mod:`selfdistill.core.sweep_local`: one worker process per core; Ctrl-C stops
running points within seconds and keeps finished ones; workers die with the sweep) or Dask
``distributed`` (:mod:`selfdistill.core.sweep_dask`: a local cluster started here, or a running
scheduler's address, reached within ``--connect-timeout`` seconds or refused).

Before anything runs: a grid of more than :data:`MAX_POINTS` points is refused unless
``allow_large``; a folder holding a sweep over another grid is refused unless ``extend`` (and then
only over the same parameters); the command line prints the point count and an estimate from the
chapter's budget (:func:`estimate`).

Resuming: a point whose folder already holds a complete, passing ledger is skipped; a failed or
incomplete one is rerun. ``DIR/sweep.yaml`` records the chapter, the grid, the executor and the
provenance record (:mod:`selfdistill.core.provenance`: command, commit, machine, versions, start
and end) of the last invocation, written atomically.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from selfdistill.core.chapters import Chapter, ParameterError
from selfdistill.core.ledger import LedgerError, load_ledgers
from selfdistill.core.provenance import mark_finished, provenance, write_text_atomic
from selfdistill.core.runner import LEDGER, RunJob, RunResult, check_device, check_out
from selfdistill.core.sweep_dask import (
    CONNECT_TIMEOUT,
    check_connect_timeout,
    connect_dask,
    run_dask,
)
from selfdistill.core.sweep_local import run_local
from selfdistill.core.sweep_report import MANIFEST, read_manifest
from selfdistill.core.validate import Integer, Optional, validate_params

__all__ = ["CONNECT_TIMEOUT", "MANIFEST", "MAX_POINTS", "Sweep", "check_connect_timeout",
           "connect_dask", "estimate", "grid_size", "parse_seeds", "plan_sweep", "run_sweep"]



def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def parse_seeds(text: str) -> list[str]:
    """Seeds from ``--seeds``: ``"0-4"`` → ``["0", ..., "4"]``; ``"3"`` and ``"1,5,9"`` too.

    Parameters
    ----------
    text : str
        A range ``LOW-HIGH``, one seed, or a comma-separated list.

    Returns
    -------
    list of str
        The seeds as values of ``-p seed`` (checked later against the chapter's range).

    Raises
    ------
    ParameterError
        If ``text`` is no such form, a range ends before it starts or asks for more than
        :data:`MAX_POINTS` runs.

    Examples
    --------
    >>> parse_seeds("0-2"), parse_seeds("1,5")
    (['0', '1', '2'], ['1', '5'])
    """
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


def _cut(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[:n] + "…"


def _split_list(name: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or not all(items):
        raise ParameterError(f"parameter '{name}': the list {_cut(text)!r} is empty or has an "
                             "empty item; write V1,V2,... with at least one value")
    return items


def _label(value: Any) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9.+-]", "-", text)


@dataclass(frozen=True)
class Sweep:
    """A validated grid: ``names`` and, for each, its ``values`` (converted and checked).

    Made by :func:`plan_sweep`.

    Attributes
    ----------
    chapter : Chapter
        The chapter swept.
    names : tuple of str
        The swept parameters, in the order given.
    values : tuple of tuple
        Per parameter, its values (converted to the parameter's type).
    out : pathlib.Path
        The sweep's folder; each point runs into a folder below it.
    argv : tuple of str
        The command line, recorded in the sweep's manifest.
    """

    chapter: Chapter
    names: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    out: Path
    argv: tuple[str, ...] = field(default=())

    def points(self) -> list[dict[str, Any]]:
        """Every grid point (name to value), the first parameter varying slowest."""
        return [dict(zip(self.names, combo, strict=True))
                for combo in itertools.product(*self.values)]

    def folder(self, point: dict[str, Any]) -> Path:
        """The run folder of one ``point``: ``DIR/eps=0.05__length=0.1``."""
        name = "__".join(f"{n}={_label(point[n])}" for n in self.names) or "default"
        return self.out / name

    def jobs(self) -> list[RunJob]:
        """One :class:`~selfdistill.core.runner.RunJob` per point, into its folder."""
        return [RunJob(self.chapter, point, self.folder(point)) for point in self.points()]


#: grids of more points than this are refused unless ``allow_large`` (``--allow-large``)
MAX_POINTS = 500


def grid_size(values: list[tuple[Any, ...]] | tuple[tuple[Any, ...], ...]) -> int:
    """The number of points of the product of ``values`` (without building it).

    Parameters
    ----------
    values : sequence of tuple
        Per parameter, its values.

    Returns
    -------
    int
        The product of the lengths.

    Examples
    --------
    >>> grid_size([(0.1, 0.2), (1, 2, 3)])
    6
    """
    return math.prod(len(v) for v in values)


def plan_sweep(chapter: Chapter, given: list[tuple[str, str]], seeds: str | None,
               out: Path, argv: tuple[str, ...] = (), *, allow_large: bool = False,
               extend: bool = False) -> Sweep:
    """Check the whole grid before anything runs.

    Parameters
    ----------
    chapter : Chapter
        The chapter to sweep.
    given : list of (str, str)
        The ``-p name v1,v2,...`` pairs as typed.
    seeds : str or None
        ``--seeds`` (:func:`parse_seeds`), a shorthand for ``-p seed``.
    out : pathlib.Path
        The sweep's folder.
    argv : tuple of str, default ()
        The command line, for the manifest.
    allow_large : bool, default False
        Accept a grid of more than :data:`MAX_POINTS` points.
    extend : bool, default False
        Accept an ``out`` that holds a sweep over another grid of the same parameters.

    Returns
    -------
    Sweep
        The grid, every value converted and checked.

    Raises
    ------
    ParameterError
        For an empty list, an unknown name, a value out of range, a bad seed range, an unusable
        ``out``, a grid of more than :data:`MAX_POINTS` points (unless ``allow_large``), an
        ``out`` that holds a sweep over another grid (unless ``extend``, and then only over the
        same parameters) or an unreadable ``sweep.yaml``.
    """
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
        items = _split_list(name, text)
        if grid_size([*values, items]) > MAX_POINTS and not allow_large:
            raise ParameterError(_too_large(chapter, [*values, items]))
        converted = [chapter.convert([(name, item)])[name] for item in items]
        if len(set(map(repr, converted))) != len(converted):
            raise ParameterError(f"parameter '{name}': the list {_cut(text)!r} repeats a value")
        names.append(name)
        values.append(tuple(converted))
    sweep = Sweep(chapter, tuple(names), tuple(values), Path(out), tuple(argv))
    _check_grid(sweep, extend)  # before _check_sweep_out: it reads sweep.yaml too
    sweep = _check_sweep_out(sweep)
    points = sweep.points()
    for point in points[:1] if "device" not in names else points:
        check_device(chapter, point)
    # every point's folder lies in `out`, whose writability _check_sweep_out has probed: only a
    # name too long for the file system, or a folder already there, needs a look of its own
    existing = {p.name for p in sweep.out.iterdir()} if sweep.out.is_dir() else set()
    for point in points:
        folder = sweep.folder(point)
        if len(folder.name.encode()) > 255:
            raise ParameterError(f"the point folder {_cut(folder.name)!r} has a name of "
                                 f"{len(folder.name.encode())} bytes; at most 255 (fewer or "
                                 "shorter parameters per sweep)")
        if folder.name in existing:
            check_out(folder, chapter.name)
    return sweep


def _too_large(chapter: Chapter, values: list) -> str:
    n = grid_size(values)
    return (f"the grid has {n} points (about {_duration(n * chapter.budget)} of chapter time "
            f"at {chapter.budget:g} s each); more than {MAX_POINTS} needs --allow-large")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@validate_params(workers=Integer(0))
def estimate(sweep: Sweep, workers: int) -> str:
    """What a reader is told before a sweep starts, from the chapter's book-scale budget.

    Parameters
    ----------
    sweep : Sweep
        The grid.
    workers : int
        Points run at once, ``≥ 0`` (0, a Dask scheduler without workers yet, reads as 1).

    Returns
    -------
    str
        E.g. ``"4 points, about 40 s of chapter time (budget 10 s each), about 20 s on 2 workers"``.
    """
    n = len(sweep.points()) if sweep.names else 1
    total = n * sweep.chapter.budget
    workers = max(1, min(workers, n))
    return (f"{n} point{'s' * (n != 1)}, about {_duration(total)} of chapter time (budget "
            f"{sweep.chapter.budget:g} s each), about {_duration(total / workers)} on "
            f"{workers} worker{'s' * (workers != 1)}")


def _grid_of(sweep: Sweep) -> dict[str, list[Any]]:
    return {n: list(v) for n, v in zip(sweep.names, sweep.values, strict=True)}


def _point_keys(grid: dict[str, list[Any]]) -> set[tuple[str, ...]]:
    return {tuple(map(repr, combo)) for combo in itertools.product(*grid.values())}


def _check_grid(sweep: Sweep, extend: bool) -> None:
    """Refuse to mix grids in one folder: a sweep into a folder holding another sweep must ask
    for points of that sweep's grid, or say ``extend`` (and then vary the same parameters)."""
    path = sweep.out / MANIFEST
    if not path.is_file():
        return
    manifest = read_manifest(path, ParameterError)
    old = manifest.get("grid")
    if not isinstance(old, dict) or not all(isinstance(v, list) for v in old.values()):
        raise ParameterError(f"--out {sweep.out}: its {MANIFEST} records no grid (a mapping "
                             "of parameter names to lists); choose another folder")
    if manifest.get("chapter") != sweep.chapter.name:
        return  # _check_sweep_out refuses it, naming both chapters
    new = _grid_of(sweep)
    if list(old) != list(new):
        raise ParameterError(f"--out {sweep.out} holds a sweep over {_cut(', '.join(old))!r}, "
                             f"not {_cut(', '.join(new))!r}; choose another folder (even "
                             "--extend adds values only to the same parameters)")
    added = len(_point_keys(new) - _point_keys(old))
    if added and not extend:
        raise ParameterError(f"--out {sweep.out} holds a sweep over another grid ({added} of "
                             f"these points are not in its {MANIFEST}); give --extend to add "
                             "them to it, or choose another folder")


def _check_sweep_out(sweep: Sweep) -> Sweep:
    """The sweep with its folder checked and resolved
    (:func:`selfdistill.core.outdir.check_out_folder`:
    new, empty, or a sweep of this chapter; before markers: its ``sweep.yaml`` names it)."""
    from selfdistill.core.outdir import check_out_folder

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


#: libraries whose installed version the manifest records (the points' own ledgers record theirs)
SWEEP_LIBRARIES = ("torch", "numpy", "scipy", "papermill", "distributed")


def _write_manifest(sweep: Sweep, executor: str) -> dict[str, Any]:
    """Write ``sweep.yaml`` atomically and return it: the chapter, the grid (merged with the one
    recorded there, for an extended sweep: each parameter's recorded values first, then the new
    ones), the point count, the executor and the provenance record of this invocation
    (:func:`selfdistill.core.provenance.provenance`; ``finished`` is set when the sweep ends)."""
    grid = _grid_of(sweep)
    path = sweep.out / MANIFEST
    if path.is_file():  # plan_sweep has checked it: same parameters, a mapping of lists
        old = read_manifest(path, ParameterError).get("grid") or {}
        if list(old) == list(grid):
            grid = {n: old[n] + [v for v in grid[n] if repr(v) not in set(map(repr, old[n]))]
                    for n in grid}
    payload = {
        "chapter": sweep.chapter.name,
        "grid": grid,
        "points": grid_size(list(grid.values())),
        "executor": executor,
        "provenance": provenance(command=shlex.join(["selfdistill", *sweep.argv])
                                 if sweep.argv else "", libraries=SWEEP_LIBRARIES),
    }
    sweep.out.mkdir(parents=True, exist_ok=True)
    _dump_manifest(path, payload)
    from selfdistill.core.outdir import write_marker

    write_marker(sweep.out, "sweep", sweep.chapter.name)
    return payload


def _dump_manifest(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomic(path, yaml.safe_dump(payload, sort_keys=False, allow_unicode=True))


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


@validate_params(workers=Optional(Integer(1)))
def run_sweep(sweep: Sweep, *, executor: str = "local", workers: int | None = None,
              client=None, echo: Callable[[str], None] | None = None) -> SweepOutcome:
    """Run every point of ``sweep`` that is not already complete and passing.

    Finished points are in ``sweep.out`` as they finish, so an interrupt (re-raised as
    ``KeyboardInterrupt``) loses none.

    Parameters
    ----------
    sweep : Sweep
        The grid (:func:`plan_sweep`).
    executor : {"local", "dask"}, default "local"
        ``"local"``: ``workers`` processes; ``"dask"``: the cluster of ``client``.
    workers : int, optional
        Local processes, ``≥ 1``; one per core when omitted.
    client : distributed.Client, optional
        The Dask client (:func:`connect_dask`), for ``executor="dask"``.
    echo : callable, optional
        Called with one line per finished point.

    Returns
    -------
    SweepOutcome
        The points skipped (already passing), the results of those run, and the wall time.
    """
    from tqdm import tqdm

    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    start = time.perf_counter()
    jobs = sweep.jobs()
    existing = {p.name for p in sweep.out.iterdir()} if sweep.out.is_dir() else set()
    skipped = [job.out for job in jobs if job.out.name in existing and _point_passed(job.out)]
    done = set(skipped)
    todo = [job for job in jobs if job.out not in done]
    manifest = _write_manifest(sweep, executor)
    for job in todo:  # a failed or interrupted attempt is replaced, not kept beside the new one
        if job.out.exists():
            shutil.rmtree(job.out)
    results: list[RunResult] = []
    bar = tqdm(total=len(todo), unit="point", desc=sweep.chapter.name,
               disable=not sys.stderr.isatty(), file=sys.stderr)

    def on_done(result: RunResult) -> None:
        results.append(result)
        if not result.ok:
            word = "STOPPED" if result.status == "interrupted" else "FAILED"
            line = f"{word} {result.out.name}: {result.status}: {result.message}"
            (bar.write(line, file=sys.stderr) if not bar.disable else echo(line))
        bar.update(1)

    try:
        if todo and executor == "dask":
            run_dask(client, todo, on_done)
        elif todo:
            run_local(todo, workers or min(_cores(), len(todo)), on_done=on_done)
    finally:
        bar.close()
    manifest["provenance"] = mark_finished(manifest["provenance"])  # not after an interrupt
    _dump_manifest(sweep.out / MANIFEST, manifest)
    return SweepOutcome(skipped=skipped, results=results, seconds=time.perf_counter() - start)
