"""Benchmark: T rounds of self-distillation, the spectral engine vs refitting every round.

* spectral (:func:`selfdistill.mobahi2020.rounds.self_distill`): one eigendecomposition of G, then
  per round a root-find of (E3) over K numbers and a diagonal rescale;
* refit (:func:`selfdistill.mobahi2020.oracles.refit_rounds`): per round, Brent's method in log c
  where each evaluation is a dense LU solve of (cI + G) α = y_t, then one more solve for the fit.

Both must give the same y_T (checked; the script fails otherwise). The table shows seconds, the
speed-up, and the cost of the spectral route relative to one eigendecomposition. Each timing is
the lower of ``--repeat`` runs (the machine is shared). Prints a table and writes JSON with
``--json PATH``. Usage: ``python bench/bench_rounds.py [--sizes 512 1024 2048 4096] [--rounds 10]``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from selfdistill.core.device import resolve_device
from selfdistill.core.provenance import mark_finished, provenance, write_json_atomic
from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel
from selfdistill.mobahi2020.oracles import refit_rounds
from selfdistill.mobahi2020.rounds import self_distill

#: a budget of ‖y‖²/(400 K): r0 = 20, so T = 10 rounds stay well before collapse (N ≥ ⌈r0 − 1⌉)
R0 = 20.0


def best_of(repeat: int, fn):
    """(lowest wall time, last result) over ``repeat`` calls."""
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def run(K: int, rounds: int, repeat: int, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(K)
    x = torch.sort(torch.rand(K, generator=gen, dtype=torch.float64)).values
    y = torch.sin(2 * math.pi * x) + 0.5 * torch.randn(K, generator=gen, dtype=torch.float64)
    x, y = x.to(device), y.to(device)
    eps = float(y.square().sum()) / (K * R0**2)
    G = gram(ExponentialKernel(0.1), x)
    t_eig, basis = best_of(repeat, lambda: eigenbasis(G))
    t_rounds, spec = best_of(repeat, lambda: self_distill(basis, y, eps, rounds=rounds))
    t_refit, refit = best_of(repeat, lambda: refit_rounds(G, y, eps, rounds=rounds))
    assert spec.n_rounds == refit.c.shape[0] == rounds, "both routes must run all rounds"
    diff = float((spec.y[-1] - refit.y[-1]).abs().max() / y.abs().max())
    if diff > 1e-10:
        raise AssertionError(f"K = {K}: y_T differs by {diff:.3e} (relative) between the routes")
    t_spec = t_eig + t_rounds
    return dict(K=K, rounds=rounds, eigh_s=t_eig, rounds_s=t_rounds, spectral_s=t_spec,
                refit_s=t_refit, speedup=t_refit / t_spec, spectral_over_eigh=t_spec / t_eig,
                solves_per_round=refit.evaluations / rounds, max_rel_diff_yT=diff)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048, 4096])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    record = provenance(device)
    rows = []
    print(f"T = {args.rounds} rounds, r0 = {R0:g}, exponential kernel ℓ = 0.1, {device}, "
          f"{torch.get_num_threads()} threads, best of {args.repeat}")
    print("|    K | eigh s | T rounds s | spectral s | refit s | speed-up | spectral/eigh "
          "| solves/round | max rel. diff. y_T |")
    print("|-----:|-------:|-----------:|-----------:|--------:|---------:|--------------:"
          "|-------------:|-------------------:|")
    for K in args.sizes:
        r = run(K, args.rounds, args.repeat, device)
        rows.append(r)
        print(f"| {K:4d} | {r['eigh_s']:6.3f} | {r['rounds_s']:10.4f} | {r['spectral_s']:10.3f} "
              f"| {r['refit_s']:7.2f} | {r['speedup']:7.1f}× | {r['spectral_over_eigh']:12.3f}× "
              f"| {r['solves_per_round']:12.1f} | {r['max_rel_diff_yT']:18.1e} |", flush=True)
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json_atomic(args.json, {"provenance": mark_finished(record),
                                      "settings": settings,
                                      "rows": rows})


if __name__ == "__main__":
    main()
