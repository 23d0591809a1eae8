"""Benchmark: a sweep of 8 points of the tiny fixture chapter, three ways.

* serial: the points one after another in this process (what a shell loop of ``selfdistill run``
  does, without its start-up);
* local: ``selfdistill sweep``'s default executor, one worker process per core;
* dask: a local Dask ``distributed`` cluster of as many single-threaded worker processes (its
  start-up is timed separately).

Each point is a papermill run (a kernel start, imports, a few cells), so the time is CPU-bound
work that parallelises. Every way gives the same claims (checked). Prints a table with the ratios
against serial; ``--json PATH`` writes it. Usage:
``python bench/bench_sweep.py [--points 8] [--repeat 2] [--workers N]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "notebooks"
os.environ["SELFDISTILL_NOTEBOOKS"] = str(FIXTURES)

from selfdistill.core.chapters import get_chapter  # noqa: E402
from selfdistill.core.ledger import load_ledgers  # noqa: E402
from selfdistill.core.provenance import mark_finished, provenance, write_json_atomic  # noqa: E402
from selfdistill.core.sweep import connect_dask, plan_sweep, run_sweep  # noqa: E402


def one_sweep(points: int, executor: str, workers: int, client=None) -> tuple[float, list]:
    values = ",".join(f"{(k + 1) / (points + 1):.6g}" for k in range(points))
    with tempfile.TemporaryDirectory() as tmp:
        sweep = plan_sweep(get_chapter("tiny"), [("x", values)], None, Path(tmp) / "s")
        start = time.perf_counter()
        outcome = run_sweep(sweep, executor=executor, workers=workers, client=client,
                            echo=lambda _: None)
        seconds = time.perf_counter() - start
        assert not outcome.failed, [r.message for r in outcome.failed]
        claims = sorted((r.parameters["x"], c.id, c.value, c.passed)
                        for r in load_ledgers(sweep.out) for c in r.claims)
    return seconds, claims


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2, help="take the fastest of N")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json")
    args = parser.parse_args()
    record = provenance(libraries=("papermill", "distributed"))
    best: dict[str, float] = {}
    results = {}
    start = time.perf_counter()
    client = connect_dask(None, args.workers)
    dask_start = time.perf_counter() - start
    try:
        for _ in range(args.repeat):
            for name, executor, workers in [("serial", "local", 1),
                                            ("local", "local", args.workers),
                                            ("dask", "dask", args.workers)]:
                seconds, claims = one_sweep(args.points, executor, workers, client)
                best[name] = min(best.get(name, float("inf")), seconds)
                results.setdefault(name, claims)
                assert claims == results["serial"], f"{name} differs from serial"
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    load = os.getloadavg()
    print(f"{args.points} points of the tiny chapter, {args.workers} workers, "
          f"{len(os.sched_getaffinity(0))} cores, load average {load[0]:.1f} "
          f"(fastest of {args.repeat})")
    print("| executor | seconds | per point | speed-up over serial |")
    print("|---|---:|---:|---:|")
    for name in ("serial", "local", "dask"):
        print(f"| {name} | {best[name]:.1f} | {best[name] / args.points:.2f} | "
              f"{best['serial'] / best[name]:.2f}× |")
    print(f"Dask local cluster start-up (not in the table): {dask_start:.1f} s; "
          "all three gave the same claims")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json_atomic(args.json, {
            "provenance": mark_finished(record),
            "settings": settings,
            "results": {"seconds": best, "dask_startup": dask_start, "load": load}})


if __name__ == "__main__":
    main()
