"""An independent route to (E1): discretise ``R(f) = ∫_a^b f² + ℓ² f'²`` and solve directly.

Nothing here uses a Green's function, a representer form or an eigendecomposition. On the grid
``s_i = a + i h`` (``i = 0..N``) the regulariser becomes ``R_h(f) = fᵀ M f`` with
``M = diag(w) + (ℓ²/h) L``: trapezoid weights ``w`` and the free-end difference Laplacian ``L``.
``f(x_k)`` is read off by linear interpolation, ``f(x) ≈ S f``. The constrained problem

    minimise fᵀ M f  subject to  (1/K) ‖S f - y‖² ≤ ε

is zero when ``‖y‖² ≤ Kε``; otherwise its KKT condition, with multiplier ``1/c``, is the banded
system ``(cK M + SᵀS) f = Sᵀ y``, and ``c`` is the root of ``(1/K)‖S f(c) - y‖² = ε`` (increasing in
``c``). Each solve costs ``O(N)``. A consistent second-order scheme: errors fall like ``h²``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solveh_banded
from scipy.optimize import brentq

from .validate import check_in_range, check_int, check_positive

__all__ = ["DiscreteSolution", "convergence_order", "solve_discretised"]


@dataclass(frozen=True)
class DiscreteSolution:
    """Grid nodes ``s`` (``N+1``), values ``f`` on them (``(N+1,)`` or ``(N+1, C)``), and ``c``."""

    s: np.ndarray
    f: np.ndarray
    c: float
    training_error: float

    @property
    def h(self) -> float:
        return float(self.s[1] - self.s[0])

    @property
    def collapsed(self) -> bool:
        return math.isinf(self.c)


def _interpolation(x: np.ndarray, lower: float, h: float, n_cells: int):
    """Cell index ``i`` and weight ``θ`` with ``f(x) ≈ (1-θ) f_i + θ f_{i+1}``."""
    pos = (x - lower) / h
    i = np.clip(np.floor(pos).astype(int), 0, n_cells - 1)
    return i, pos - i


def _banded_system(
    c: float, K: int, length: float, h: float, n_cells: int, i: np.ndarray, theta: np.ndarray
) -> np.ndarray:
    """Upper banded form (2 rows) of ``cK M + SᵀS``."""
    n = n_cells + 1
    diag = np.full(n, 2.0 * length**2 / h + h)
    diag[[0, -1]] = length**2 / h + h / 2
    upper = np.full(n, -(length**2) / h)
    ab = np.vstack([upper, diag]) * (c * K)
    np.add.at(ab[1], i, (1 - theta) ** 2)
    np.add.at(ab[1], i + 1, theta**2)
    np.add.at(ab[0], i + 1, theta * (1 - theta))
    ab[0, 0] = 0.0
    return ab


def solve_discretised(
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    length: float,
    lower: float,
    upper: float,
    n_cells: int,
) -> DiscreteSolution:
    """Solve the discretised (E1) on ``[lower, upper]`` with ``n_cells`` cells (CPU, float64).

    ``x`` has shape ``(K,)`` inside ``[lower, upper]``; ``y`` has shape ``(K,)`` or ``(K, C)``.
    """
    eps = check_positive("eps", eps)
    length = check_positive("length", length)
    check_in_range("upper", upper, lower, math.inf, lower_open=True)
    check_int("n_cells", n_cells, 2, 10**8)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
        raise ValueError(f"x must have shape (K,) and y (K,) or (K, C); got {x.shape}, {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite")
    if x.min() < lower or x.max() > upper:
        raise ValueError(f"x has points outside [lower, upper] = [{lower:g}, {upper:g}]")
    K = x.shape[0]
    h = (upper - lower) / n_cells
    s = lower + h * np.arange(n_cells + 1)
    i, theta = _interpolation(x, lower, h, n_cells)

    if float(np.sum(y**2)) <= K * eps:
        return DiscreteSolution(s=s, f=np.zeros((n_cells + 1,) + y.shape[1:]), c=math.inf,
                                training_error=float(np.sum(y**2)) / K)

    rhs = np.zeros((n_cells + 1,) + y.shape[1:])
    w = theta if y.ndim == 1 else theta[:, None]
    np.add.at(rhs, i, (1 - w) * y)
    np.add.at(rhs, i + 1, w * y)

    def solve(c: float) -> np.ndarray:
        return solveh_banded(_banded_system(c, K, length, h, n_cells, i, theta), rhs)

    def error(f: np.ndarray) -> float:
        w_f = (1 - theta) if f.ndim == 1 else (1 - theta)[:, None]
        fit = w_f * f[i] + (1 - w_f) * f[i + 1]
        return float(np.sum((fit - y) ** 2)) / K

    def excess(log_c: float) -> float:
        return error(solve(math.exp(log_c))) - eps

    lo, hi = -1.0, 1.0
    while excess(lo) > 0:
        lo -= 4.0
    while excess(hi) < 0:
        hi += 4.0
    log_c = brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    f = solve(math.exp(log_c))
    return DiscreteSolution(s=s, f=f, c=math.exp(log_c), training_error=error(f))


def convergence_order(h: np.ndarray, err: np.ndarray) -> float:
    """Observed order ``p`` in ``err ≈ C hᵖ``: least-squares slope of ``log err`` on ``log h``."""
    h = np.asarray(h, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    if h.shape != err.shape or h.size < 2 or (h <= 0).any() or (err <= 0).any():
        raise ValueError("h and err must be positive arrays of equal length ≥ 2")
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])
