"""Benchmark: c(ε) over a sweep of budgets, the library's route vs the usual one.

* library: one eigendecomposition of G, then per ε a root-find of (E3) over K numbers;
* usual: per ε, Brent's method on c where each evaluation solves (cI + G) α = y densely.

Both give the same c (checked); the table shows seconds and the speed-up. Prints a table and
writes JSON with ``--json PATH``. Usage: ``python bench/bench_c_sweep.py [--sizes 100 400 1600]``.
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import torch
from scipy.optimize import brentq

from selfdistill.core.device import resolve_device
from selfdistill.core.provenance import mark_finished, provenance, write_json_atomic
from selfdistill.mobahi2020.hilbert import eigenbasis, gram, solve_c
from selfdistill.mobahi2020.kernels import ExponentialKernel


def usual_route(G: torch.Tensor, y: torch.Tensor, eps: float) -> float:
    """Root of ‖c (cI + G)⁻¹ y‖² = Kε, a dense solve per evaluation."""
    K = G.shape[0]
    eye = torch.eye(K, dtype=G.dtype, device=G.device)

    def excess(log_c: float) -> float:
        c = math.exp(log_c)
        return float((c * torch.linalg.solve(c * eye + G, y)).square().sum()) - K * eps

    return math.exp(brentq(excess, -40.0, 40.0, xtol=1e-14, rtol=1e-14))


def run(K: int, n_eps: int, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(K)
    x = torch.sort(torch.rand(K, generator=gen, dtype=torch.float64)).values.to(device)
    y = (torch.sin(2 * math.pi * x) + 0.5 * torch.randn(K, generator=gen, dtype=torch.float64)
         .to(device))
    budgets = np.geomspace(1e-3, 0.9, n_eps) * float(y.square().mean())
    G = gram(ExponentialKernel(0.1), x)
    start = time.perf_counter()
    basis = eigenbasis(G)
    z = basis.coords(y)
    fast = [solve_c(basis, z, e) for e in budgets]
    t_fast = time.perf_counter() - start
    start = time.perf_counter()
    usual = [usual_route(G, y, e) for e in budgets]
    t_usual = time.perf_counter() - start
    agree = max(abs(a - b) / b for a, b in zip(fast, usual, strict=True))
    return {"K": K, "n_eps": n_eps, "library_s": t_fast, "usual_s": t_usual,
            "speedup": t_usual / t_fast, "max_rel_diff_c": agree}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 400, 1600])
    parser.add_argument("--n-eps", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()
    device = resolve_device(args.device)
    record = provenance(device)
    rows = [run(K, args.n_eps, device) for K in args.sizes]
    print(f"c(ε) sweep, {args.n_eps} budgets, float64 on {device} ({platform.processor() or '?'})")
    print(f"{'K':>6} {'library s':>10} {'usual s':>10} {'speed-up':>9} {'max rel diff c':>15}")
    for r in rows:
        print(f"{r['K']:>6} {r['library_s']:>10.4f} {r['usual_s']:>10.4f} {r['speedup']:>8.1f}x "
              f"{r['max_rel_diff_c']:>15.1e}")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json_atomic(args.json, {"provenance": mark_finished(record),
                                      "settings": settings,
                                      "rows": rows})


if __name__ == "__main__":
    main()
