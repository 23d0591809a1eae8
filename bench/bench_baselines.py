"""Benchmark: the tuned-baselines arms on one eigenbasis against refitting every arm.

The engine (:func:`selfdistill.mobahi2020.baselines.compare_arms` without cross-validation, i.e. the
oracle pass) computes every hyper-parameter of every arm for every draw from one eigendecomposition.
The usual route refits: one dense solve per ridge constant, the rounds engine's refit route
(:func:`selfdistill.mobahi2020.oracles.refit_rounds`, Brent on the dense residual) per budget, and
iterated gradient descent. Both routes are timed in the same run on the same design; the table
prints the ratio.   python bench/bench_baselines.py [--draws 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from selfdistill.mobahi2020.baselines import Grids, _arm_predictions, toy_design
from selfdistill.mobahi2020.oracles import refit_rounds


def refit(design, grids: Grids) -> None:
    G, g_test, K = design.G, design.g_test, design.G.shape[0]
    d_max = np.linalg.eigvalsh(G)[-1]
    for y in design.Y:
        for c in grids.c_rel * d_max:
            g_test @ np.linalg.solve(G + c * np.eye(K), y)
        for e in grids.eps_rel * (y @ y) / K:
            refit_rounds(torch.tensor(G), torch.tensor(y), float(e))
        alpha = np.zeros(K)
        done = 0
        for s in grids.steps[grids.steps <= 2000]:  # the refit route is capped: it is slow
            for _ in range(s - done):
                alpha += (y - G @ alpha) / d_max
            done = s
            g_test @ alpha


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10)
    args = parser.parse_args()
    design = toy_design("exponential", 0.15, draws=args.draws, seed=0)
    grids = Grids()
    t0 = time.perf_counter()
    _arm_predictions(design.G, design.Y, design.g_test, grids)
    engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    refit(design, grids)
    usual = time.perf_counter() - t0
    print("| draws | engine (s) | refit, GD capped at 2000 steps (s) | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.draws} | {engine:.3f} | {usual:.2f} | {usual / engine:.0f}x |")


if __name__ == "__main__":
    main()
