"""Shared test helpers: tolerances set in one place, and an informative closeness check.

Every tolerance used by the suite is either defined here or derived in the test from a quantity
the test measures (a grid step, a condition number), with the reasoning next to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "TOLERANCES",
    "Tolerances",
    "TINY_TRAINING",
    "assert_close",
    "tol",
    "unit_roundoff",
]


def unit_roundoff(dtype: torch.dtype = torch.float64) -> float:
    """``u = machine epsilon / 2``: largest relative error of one correctly rounded operation."""
    return torch.finfo(dtype).eps / 2


@dataclass(frozen=True)
class Tolerances:
    """Relative tolerances for one floating-point dtype."""

    #: a few dozen operations on O(1), well-scaled data with no cancellation (sums of K <= 50
    #: terms, a kernel evaluation): error <~ K u, so allow ~ 64 u with headroom
    roundoff: float
    #: an eigendecomposition or dense solve of a well-conditioned K x K system (cond <= ~100,
    #: K <= 50): backward stable, so error <~ K u cond ~ 5e3 u; tests with a measured condition
    #: number scale their own tolerance with it instead
    solve: float
    #: the active constraint (1/K)||f(x) - y||^2 = eps after Brent's root find of c-equation
    #: (rtol 4u in c) and an O(K)-term residual sum: each step costs a few K u relative, far
    #: below 1e-12
    constraint: float


#: the float64 entries are what the suite uses (all verification runs in float64); the float32
#: entries scale the same reasoning by u32 / u64 ~ 5e8 and are there for device comparisons only
TOLERANCES: dict[torch.dtype, Tolerances] = {
    # u = 1.1e-16: roundoff 64 u ~ 7e-15 -> 1e-14; solve 5e3 u ~ 6e-13 -> 1e-12; constraint 1e-12
    torch.float64: Tolerances(roundoff=1e-14, solve=1e-12, constraint=1e-12),
    # u = 6.0e-8: roundoff 64 u ~ 4e-6 -> 1e-5; solve 5e3 u ~ 3e-4 -> 1e-3; constraint likewise
    torch.float32: Tolerances(roundoff=1e-5, solve=1e-3, constraint=1e-3),
}

#: numerical quadrature (scipy.integrate.quad asked for epsabs=epsrel=1e-12 on smooth, rapidly
#: decaying integrands): its own error is ~1e-12; 1e-8 leaves four orders of headroom yet is six
#: orders below any error a wrong symbol (a missing factor 2, l vs l^2) would produce
RTOL_QUADRATURE = 1e-8


def tol(kind: str, dtype: torch.dtype = torch.float64) -> float:
    """The relative tolerance ``kind`` ("roundoff", "solve", "constraint") for ``dtype``."""
    return getattr(TOLERANCES[dtype], kind)


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16):
            value = value.to(torch.float32)
        return value.numpy().astype(np.float64)
    return np.asarray(value, dtype=np.float64)


def _summary(name: str, arr: np.ndarray, limit: int = 12) -> str:
    if arr.ndim == 0:
        return f"  {name}: {arr.item()!r}"
    flat = arr.ravel()
    shown = np.array2string(flat[:limit], precision=17, separator=", ", max_line_width=10_000)
    more = f" ... ({flat.size - limit} more)" if flat.size > limit else ""
    return f"  {name} (shape {arr.shape}): {shown}{more}"


def assert_close(actual, expected, rtol: float, atol: float = 0.0, what: str = "") -> None:
    """Assert ``|actual - expected| <= atol + rtol * |expected|`` elementwise.

    Accepts Python floats, NumPy arrays and torch tensors (any device; compared in float64).
    Shapes must match exactly, except that a scalar ``expected`` is compared with every entry.
    Infinities must match in sign and position; any NaN fails. On failure the message shows both
    sides, the largest absolute and relative errors and the index where each occurs.
    """
    a = _to_numpy(actual)
    e = _to_numpy(expected)
    label = f" [{what}]" if what else ""
    if e.ndim != 0 and a.shape != e.shape:
        raise AssertionError(f"assert_close{label}: shape {a.shape} != expected shape {e.shape}")
    e_b = np.broadcast_to(e, a.shape)
    if np.isnan(a).any() or np.isnan(e_b).any():
        raise AssertionError(
            f"assert_close{label}: NaN present\n{_summary('actual', a)}\n{_summary('expected', e)}"
        )
    both_inf = np.isinf(a) & np.isinf(e_b) & (np.sign(a) == np.sign(e_b))
    with np.errstate(invalid="ignore", over="ignore"):
        abs_err = np.where(both_inf, 0.0, np.abs(a - e_b))
        scale = np.abs(e_b)
        rel_err = np.where(both_inf, 0.0, abs_err / np.where(scale > 0, scale, np.inf))
        rel_err = np.where((scale == 0) & (abs_err > 0), np.inf, rel_err)
        bad = ~(abs_err <= atol + rtol * scale) & ~both_inf
    if not bad.any():
        return
    i_abs = np.unravel_index(int(np.argmax(abs_err)), a.shape) if a.ndim else ()
    i_rel = np.unravel_index(int(np.argmax(rel_err)), a.shape) if a.ndim else ()
    raise AssertionError(
        f"assert_close{label} failed: {int(bad.sum())} of {a.size} entries outside "
        f"|actual - expected| <= {atol:.3g} + {rtol:.3g} * |expected|\n"
        f"{_summary('actual', a)}\n{_summary('expected', e)}\n"
        f"  max abs error {float(abs_err[i_abs]):.6e} at index {tuple(int(i) for i in i_abs)}: "
        f"actual {float(a[i_abs])!r}, expected {float(e_b[i_abs])!r}\n"
        f"  max rel error {float(rel_err[i_rel]):.6e} at index {tuple(int(i) for i in i_rel)}: "
        f"actual {float(a[i_rel])!r}, expected {float(e_b[i_rel])!r}"
    )


def _tiny_training():
    from selfdistill.training.loop import TrainConfig

    return TrainConfig(epochs=2, batch_size=64, width=8, lr=0.5)


#: the smallest training that still runs every phase: the experiment-protocol tests use it with
#: the ``digits`` fixture of conftest.py
TINY_TRAINING = _tiny_training()
