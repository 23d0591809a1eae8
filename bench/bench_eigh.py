"""Benchmark: the symmetric eigensolver routes per device, and the spectral engine against the
fastest of them.

* routes (:func:`selfdistill.core.eigensolver.symmetric_eigh`, float64, a torch tensor in and out):
  ``torch`` (``torch.linalg.eigh``: MKL on CPU wheels, cuSOLVER on CUDA), ``numpy``
  (``numpy.linalg.eigh``, OpenBLAS ``syevd``), ``scipy-evd`` and ``scipy-evr``
  (``scipy.linalg.eigh`` with ``driver="evd"`` / ``"evr"``); on CUDA also ``torch-magma``
  (``torch.backends.cuda.preferred_linalg_library("magma")``). NumPy and SciPy on a CUDA
  tensor include the copies to the CPU and back.
* engine: :func:`selfdistill.mobahi2020.hilbert.eigenbasis` (checks plus the ``"auto"`` route) and T
  rounds of :func:`selfdistill.mobahi2020.rounds.self_distill`; its goal: engine ≤ 1.1 × the fastest
  route. Also shown: engine over the route ``"auto"`` picks (the engine's own overhead, free of the
  bias of comparing one route's minimum with the minimum over all routes' samples).

The routes run interleaved (route after route, ``--repeat`` times) and each keeps its lowest
time, so load on a shared machine falls on all of them alike; the load average is recorded before
and after each size. The script fails if a route's eigenvalues differ from torch's by more than
``K u ‖G‖₂``. Usage: ``python bench/bench_eigh.py [--sizes 512 1024 2048] [--large]
[--repeat 3] [--rounds 10] [--device auto|cpu|cuda] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg
import torch

from selfdistill.core.device import resolve_device
from selfdistill.core.eigensolver import DEFAULT_ROUTE, SCIPY_DRIVER, resolve_route, symmetric_eigh
from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel
from selfdistill.mobahi2020.rounds import self_distill

#: r0 = ‖y‖ / √(Kε) = 20: T = 10 rounds stay far from collapse (as in bench_rounds.py)
R0 = 20.0
#: the engine's goal: eigenbasis plus all T rounds ≤ GOAL × the fastest route, same run
GOAL = 1.1
U = float(np.finfo(np.float64).eps) / 2


def _scipy(driver: str) -> Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """SciPy's eigh with a given driver, with the conversions :func:`symmetric_eigh` makes."""
    def solve(G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d, V = scipy.linalg.eigh(G.detach().cpu().numpy(), driver=driver, check_finite=False)
        return (torch.from_numpy(d).to(G.device, G.dtype),
                torch.from_numpy(V).to(G.device, G.dtype))
    return solve


def _magma(G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    previous = torch.backends.cuda.preferred_linalg_library()
    torch.backends.cuda.preferred_linalg_library("magma")
    try:
        return torch.linalg.eigh(G)
    finally:
        torch.backends.cuda.preferred_linalg_library(previous)


def routes(device: torch.device) -> dict[str, Callable]:
    """The routes timed on ``device``, by name."""
    table: dict[str, Callable] = {
        "torch": lambda G: symmetric_eigh(G, route="torch"),
        "numpy": lambda G: symmetric_eigh(G, route="numpy"),
    }
    for driver in ("evd", "evr"):
        table[f"scipy-{driver}"] = ((lambda G: symmetric_eigh(G, route="scipy"))
                                    if driver == SCIPY_DRIVER else _scipy(driver))
    if device.type == "cuda":
        table["torch-magma"] = _magma
    return table


def timed(fn: Callable, device: torch.device) -> tuple[float, object]:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, out


def problem(K: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Exponential kernel ℓ = 0.1 on K sorted uniform points, sin 2πx + N(0, 0.5²), r0 = 20."""
    gen = torch.Generator().manual_seed(K)
    x = torch.sort(torch.rand(K, generator=gen, dtype=torch.float64)).values
    y = torch.sin(2 * math.pi * x) + 0.5 * torch.randn(K, generator=gen, dtype=torch.float64)
    x, y = x.to(device), y.to(device)
    eps = float(y.square().sum()) / (K * R0**2)
    return gram(ExponentialKernel(0.1), x), y, eps


def run(K: int, rounds: int, repeat: int, device: torch.device) -> dict:
    G, y, eps = problem(K, device)
    table = routes(device)
    best = {name: math.inf for name in table}
    best["engine eigenbasis"] = best["engine rounds"] = best["engine"] = math.inf
    load_before = os.getloadavg()
    reference = None
    for _ in range(repeat):
        for name, solve in table.items():
            seconds, (d, _) = timed(lambda s=solve: s(G), device)
            best[name] = min(best[name], seconds)
            if name == "torch":
                reference = d
            elif reference is not None:
                gap = float((d - reference).abs().max())
                bound = K * U * float(reference.abs().max())
                if gap > bound:
                    raise AssertionError(f"K = {K}: {name} eigenvalues differ from torch's by "
                                         f"{gap:.3e} > K u ‖G‖ = {bound:.3e}")
        t_basis, basis = timed(lambda: eigenbasis(G), device)
        t_rounds, result = timed(lambda b=basis: self_distill(b, y, eps, rounds=rounds), device)
        assert result.n_rounds == rounds, "the engine must run all rounds"
        best["engine eigenbasis"] = min(best["engine eigenbasis"], t_basis)
        best["engine rounds"] = min(best["engine rounds"], t_rounds)
        best["engine"] = min(best["engine"], t_basis + t_rounds)
    fastest = min(table, key=best.__getitem__)
    auto = resolve_route("auto", device.type)
    auto = f"scipy-{SCIPY_DRIVER}" if auto == "scipy" else auto
    return dict(K=K, rounds=rounds, repeat=repeat, seconds=best, fastest=fastest, auto=auto,
                engine_over_fastest=best["engine"] / best[fastest],
                engine_over_auto=best["engine"] / best[auto],
                over_fastest={name: best[name] / best[fastest] for name in table},
                load_before=load_before, load_after=os.getloadavg())


def provenance(device: torch.device) -> dict:
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, text=True,
                                capture_output=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    pools = []
    try:
        from threadpoolctl import threadpool_info
        pools = [{k: p.get(k) for k in ("internal_api", "num_threads", "version", "prefix")}
                 for p in threadpool_info()]
    except ImportError:
        pass
    return dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                commit=commit, machine=platform.machine(), processor=platform.processor(),
                python=platform.python_version(), torch=torch.__version__,
                numpy=np.__version__, scipy=scipy.__version__, device=str(device),
                cuda=(torch.cuda.get_device_name(device) if device.type == "cuda" else None),
                torch_threads=torch.get_num_threads(), thread_pools=pools,
                OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"),
                MKL_NUM_THREADS=os.environ.get("MKL_NUM_THREADS"),
                default_route=dict(DEFAULT_ROUTE), scipy_driver=SCIPY_DRIVER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    parser.add_argument("--large", action="store_true", help="add K = 4096")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    for name in ("rounds", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)} is outside the accepted range [1, inf)")
    if any(K < 2 for K in args.sizes):
        parser.error(f"--sizes = {args.sizes} has a K < 2; accepted: integers ≥ 2")
    device = resolve_device(args.device)
    sizes = args.sizes + ([4096] if args.large and 4096 not in args.sizes else [])
    meta = provenance(device)
    names = list(routes(device))
    print(f"{meta['date']}, commit {meta['commit']}, {device}"
          f"{' (' + meta['cuda'] + ')' if meta['cuda'] else ''}, torch threads "
          f"{meta['torch_threads']}, BLAS pools "
          f"{[(p['internal_api'], p['num_threads']) for p in meta['thread_pools']]}; "
          f"float64, best of {args.repeat}, T = {args.rounds}, auto = "
          f"{resolve_route('auto', device.type)}")
    print("|    K | load | " + " | ".join(f"{n} s" for n in names)
          + " | fastest | engine s (eigenbasis + T rounds) | engine / fastest "
          "| engine / auto route | torch / fastest |")
    print("|-----:|-----:|" + "---:|" * len(names) + ":---|---:|---:|---:|---:|")
    rows = []
    for K in sizes:
        r = run(K, args.rounds, args.repeat, device)
        rows.append(r)
        s = r["seconds"]
        load = max(r["load_before"][0], r["load_after"][0])
        verdict = "met" if r["engine_over_fastest"] <= GOAL else "NOT met"
        print(f"| {K:4d} | {load:4.1f} | " + " | ".join(f"{s[n]:.3f}" for n in names)
              + f" | {r['fastest']} | {s['engine']:.3f} ({s['engine eigenbasis']:.3f} + "
              f"{s['engine rounds']:.4f}) | {r['engine_over_fastest']:.3f}× ({verdict}) "
              f"| {r['engine_over_auto']:.3f}× | {r['over_fastest']['torch']:.2f}× |",
              flush=True)
        if args.json:  # after every size: a long run cut short keeps what it measured
            with open(args.json, "w") as fh:
                json.dump(dict(meta=meta, goal=GOAL, rows=rows), fh, indent=2)


if __name__ == "__main__":
    main()
