"""Benchmark: empirical NTK of a two-layer ReLU net, structured route vs generic Jacobians.

* structured (``ntk_two_layer``): ``H = (X Xᵀ) ∘ (S Sᵀ)/m`` — two matrix products, O(K² m);
* generic (``ntk_empirical``): per-sample Jacobians by ``torch.func.jacrev`` under ``vmap``,
  contracted blockwise — O(K² m d) and O(K m d) memory;
* infinite width (``ntk_infinite``): the closed form, O(K² d), for reference.

Each route runs in a fresh subprocess, so its peak memory (CPU: peak resident set size above the
process's baseline; CUDA: ``torch.cuda.max_memory_allocated``) is its own. The structured and
generic kernels are checked to agree (relative to max |H|). Prints a table; ``--json PATH``
writes the rows.

Usage::

    python bench/bench_ntk.py --sizes 256:4096 1024:4096 2048:4096 [--d 64] [--dtype float32]
    # GPU, the large size (the generic route needs ~K·m·d·4 bytes ≈ 69 GB of Jacobians at
    # K = m = 16384, d = 64, so it is blocked: --block 512 keeps one block per side in memory)
    python bench/bench_ntk.py --device cuda --sizes 4096:4096 16384:16384 --block 512
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))

from selfdistill.core.device import resolve_device  # noqa: E402
from selfdistill.core.provenance import mark_finished, provenance, write_json_atomic  # noqa: E402
from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_empirical, ntk_infinite, ntk_two_layer  # noqa: E402


def _route(route, K, m, d, dtype_name, device_name, block, out_path, queue):
    dtype = getattr(torch, dtype_name)
    device = torch.device(device_name)
    gen = torch.Generator().manual_seed(K)
    X = torch.randn(K, d, generator=gen, dtype=torch.float64)
    X = (X / X.norm(dim=1, keepdim=True)).to(device=device, dtype=dtype)
    net = TwoLayerReLU(d, m, seed=1, dtype=dtype, device=device)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    if route == "generic":  # warm torch.func up on a tiny problem (import and tracing costs)
        ntk_empirical(TwoLayerReLU(d, 4, dtype=dtype, device=device), X[:2])
    start = time.perf_counter()
    if route == "structured":
        H = ntk_two_layer(net, X)
    elif route == "generic":
        H = ntk_empirical(net, X, block_size=block, max_cache_bytes=2**33)
    else:
        H = ntk_infinite(X)
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    seconds = time.perf_counter() - start
    torch.save(H.cpu(), out_path)
    queue.put((seconds, peak))


def measure(route, K, m, d, dtype, device, block, tmp):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    path = os.path.join(tmp, f"{route}.pt")
    proc = ctx.Process(target=_route, args=(route, K, m, d, dtype, str(device), block, path,
                                            queue))
    proc.start()
    seconds, peak = queue.get()
    proc.join()
    return seconds, peak, torch.load(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["256:4096", "1024:4096", "2048:4096"],
                        help="K:m pairs (points : width)")
    parser.add_argument("--d", type=int, default=64, help="input dimension")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--block", type=int, default=256, help="generic route's block size")
    parser.add_argument("--skip-generic-above", type=int, default=10**9,
                        help="skip the generic route when K·m exceeds this")
    parser.add_argument("--json", help="write the rows as JSON here")
    args = parser.parse_args()
    device = resolve_device(args.device)
    record = provenance(device)
    rows = []
    header = (f"{'K':>6} {'m':>6} {'d':>3} | {'struct s':>9} {'MiB':>7} | {'generic s':>9} "
              f"{'MiB':>7} | {'ratio':>7} | {'H∞ s':>7} | {'max rel diff':>12}")
    print(f"device {device}, {args.dtype}, threads {torch.get_num_threads()}")
    print(header)
    print("-" * len(header))
    for size in args.sizes:
        K, m = (int(v) for v in size.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            t_s, p_s, H_s = measure("structured", K, m, args.d, args.dtype, device, args.block,
                                    tmp)
            t_i, _, _ = measure("infinite", K, m, args.d, args.dtype, device, args.block, tmp)
            if K * m <= args.skip_generic_above:
                t_g, p_g, H_g = measure("generic", K, m, args.d, args.dtype, device,
                                        args.block, tmp)
                diff = float((H_s - H_g).abs().max() / H_s.abs().max())
            else:
                t_g = p_g = diff = float("nan")
        row = {"K": K, "m": m, "d": args.d, "dtype": args.dtype, "device": str(device),
               "structured_s": t_s, "structured_peak_mib": p_s, "generic_s": t_g,
               "generic_peak_mib": p_g, "ratio": t_g / t_s, "infinite_s": t_i,
               "max_rel_diff": diff}
        rows.append(row)
        print(f"{K:>6} {m:>6} {args.d:>3} | {t_s:>9.3f} {p_s:>7.0f} | {t_g:>9.2f} {p_g:>7.0f} | "
              f"{t_g / t_s:>6.0f}× | {t_i:>7.3f} | {diff:>12.1e}", flush=True)
    tol = 1e-4 if args.dtype == "float32" else 1e-12
    bad = [r for r in rows if r["max_rel_diff"] == r["max_rel_diff"] and r["max_rel_diff"] > tol]
    if bad:
        raise SystemExit(f"routes disagree beyond {tol:g}: {bad}")
    if args.json:
        settings = {k: v for k, v in vars(args).items() if k != "json"}
        write_json_atomic(args.json, {"provenance": mark_finished(record),
                                      "settings": settings,
                                      "rows": rows})


if __name__ == "__main__":
    main()
