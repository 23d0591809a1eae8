"""An independent route to ``constrained-problem`` (the book's label; mobahi2020, Section 1):
discretise ``R(f) = ∫_a^b f² + ℓ² f'²`` and solve directly.

Nothing here uses a Green's function, a representer form or an eigendecomposition. On a
piecewise-uniform grid of cells at most ``h = (b - a) / N`` with every data point a node
(:func:`_nodes`), the regulariser becomes
``R_h(f) = fᵀ M f``: trapezoid weights for ``∫ f²`` and first differences for ``ℓ² ∫ f'²`` (free
ends). ``S`` picks the data nodes, ``f(x_k) = (S f)_k``. The constrained problem

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

from selfdistill.core.validate import (
    Integer,
    Positive,
    Real,
    check_in_range,
    validate_params,
)
from selfdistill.mobahi2020.hilbert import collapses, squared_norm

__all__ = ["DiscreteSolution", "convergence_order", "solve_discretised"]


@dataclass(frozen=True)
class DiscreteSolution:
    """The discretised solution (NumPy float64, CPU).

    Attributes
    ----------
    s : numpy.ndarray, shape ``(n,)``
        Grid nodes, ascending.
    f : numpy.ndarray, shape ``(n,)`` or ``(n, C)``
        Values on the nodes.
    c : float
        ``c = 1/λ``; ``inf`` when collapsed.
    training_error : float
        ``(1/K) Σ_k (f(x_k) - y_k)²``.
    n_cells : int
        The nominal cell count: no cell is longer than ``h = (b - a) / n_cells``.
    """

    s: np.ndarray
    f: np.ndarray
    c: float
    training_error: float
    n_cells: int

    @property
    def h(self) -> float:
        """The nominal cell length ``(b - a) / n_cells``."""
        return float(self.s[-1] - self.s[0]) / self.n_cells

    @property
    def collapsed(self) -> bool:
        """True when ``‖y‖² ≤ Kε`` and ``f ≡ 0``."""
        return math.isinf(self.c)


def _nodes(x: np.ndarray, lower: float, upper: float, n_cells: int, level: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """A piecewise-uniform grid with every data point as a node, and each point's node index.

    The ends and the data points split ``[lower, upper]`` into intervals; one of length ``L`` gets
    ``ceil(L n_cells / (upper - lower)) · 2^level`` equal cells, so no cell exceeds the nominal
    ``h = (upper - lower) / (n_cells 2^level)`` and none is shorter than ``min(h/2, L)``. Raising
    ``level`` by one halves every cell: the grids are nested, so the error constant is the same
    from grid to grid and the observed order is clean. Data on nodes matter: the solution has a
    kink at each ``x_k``, and a kink inside a cell would cost the scheme its second order.
    """
    breaks = np.unique(np.concatenate([[lower], x, [upper]]))
    lengths = np.diff(breaks)
    counts = np.ceil(lengths * n_cells / (upper - lower) - 1e-9).astype(int).clip(min=1) * 2**level
    pieces = [np.linspace(a, b, m + 1)[:-1] for a, b, m in zip(breaks[:-1], breaks[1:], counts,
                                                                   strict=True)]
    nodes = np.concatenate([*pieces, [upper]])
    nodes[np.searchsorted(nodes, breaks[1:-1])] = breaks[1:-1]  # data exactly on their nodes
    return nodes, np.searchsorted(nodes, x)


def _banded_system(c: float, K: int, length: float, nodes: np.ndarray, index: np.ndarray
                   ) -> np.ndarray:
    """Upper banded form (2 rows) of ``cK M + SᵀS`` on a non-uniform grid."""
    cells = np.diff(nodes)
    weights = np.zeros(nodes.size)  # trapezoid weights of ∫ f²
    weights[:-1] += cells / 2
    weights[1:] += cells / 2
    stiff = length**2 / cells  # ℓ² ∫ f'² with first differences
    diag = weights.copy()
    diag[:-1] += stiff
    diag[1:] += stiff
    upper = np.zeros(nodes.size)
    upper[1:] = -stiff
    ab = np.vstack([upper, diag]) * (c * K)
    np.add.at(ab[1], index, 1.0)
    return ab


@validate_params(eps=Positive(), length=Positive(),
                 lower=Real(-math.inf, math.inf, lower_open=True, upper_open=True),
                 upper=Real(-math.inf, math.inf, lower_open=True, upper_open=True),
                 n_cells=Integer(2, 10**8), level=Integer(0, 20))
def solve_discretised(
    x: np.ndarray,
    y: np.ndarray,
    eps: float,
    length: float,
    lower: float,
    upper: float,
    n_cells: int,
    level: int = 0,
) -> DiscreteSolution:
    """Solve the discretised ``constrained-problem`` on ``[lower, upper]`` (CPU, float64).

    Parameters
    ----------
    x : array_like, shape ``(K,)``, ``K ≥ 1``
        Finite, inside ``[lower, upper]``. Real input of any dtype (float32, integers, torch
        tensors on any device) is converted to float64 NumPy; complex input is refused.
    y : array_like, shape ``(K,)`` or ``(K, C)``
        Finite, converted like ``x``.
    eps : float
        Training-error budget ``ε`` in ``(0, inf)``; collapse (``f = 0``, ``c = inf``) is decided
        by :func:`selfdistill.mobahi2020.hilbert.collapses`, the one home of that test.
    length : float
        ``ℓ`` in ``(0, inf)`` of ``R(f) = ∫ f² + ℓ² f'²``.
    lower, upper : float
        The interval, finite, ``lower < upper``.
    n_cells : int
        In ``[2, 1e8]``, with ``n_cells · 2^level ≤ 1e8``.
    level : int
        In ``[0, 20]``. The grid has about ``n_cells · 2^level`` cells, each at most
        ``h = (upper - lower) / (n_cells 2^level)``, with every ``x_k`` a node; raising ``level``
        halves every cell (nested grids).

    Returns
    -------
    DiscreteSolution
        Nodes, values, ``c = 1/λ`` and the training error.

    Raises
    ------
    ValueError
        Naming the argument, for every violation of the above.

    Examples
    --------
    >>> sol = solve_discretised([0.25, 0.75], [1.0, -1.0], 0.1, 0.2, 0.0, 1.0, 16)
    >>> sol.n_cells, round(sol.training_error, 9)
    (16, 0.1)
    """
    upper = check_in_range("upper", upper, lower, math.inf, lower_open=True, upper_open=True)
    if n_cells * 2**level > 10**8:
        raise ValueError(f"n_cells · 2^level = {n_cells * 2**level} cells is above the limit 1e8")
    x, y = _real_array("x", x), _real_array("y", y)
    if x.ndim != 1 or x.shape[0] < 1:
        raise ValueError(f"x has shape {x.shape}; accepted: (K,) with K ≥ 1")
    if y.ndim not in (1, 2):
        raise ValueError(f"y has shape {y.shape}; accepted: (K,) or (K, C)")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}; they must match")
    for name, arr in (("x", x), ("y", y)):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} non-finite entries "
                             "(NaN or inf); all must be finite")
    if x.min() < lower or x.max() > upper:
        raise ValueError(f"x has points outside [lower, upper] = [{lower:g}, {upper:g}]")
    K = x.shape[0]
    s, index = _nodes(x, lower, upper, n_cells, level)
    n_cells = n_cells * 2**level

    if collapses(squared_norm(y), K, eps):
        return DiscreteSolution(s=s, f=np.zeros((s.size,) + y.shape[1:]), c=math.inf,
                                training_error=squared_norm(y) / K, n_cells=n_cells)

    rhs = np.zeros((s.size,) + y.shape[1:])
    np.add.at(rhs, index, y)

    def solve(c: float) -> np.ndarray:
        return solveh_banded(_banded_system(c, K, length, s, index), rhs)

    def error(f: np.ndarray) -> float:
        return float(np.sum((f[index] - y) ** 2)) / K

    def excess(log_c: float) -> float:
        return error(solve(math.exp(log_c))) - eps

    lo, hi = -1.0, 1.0
    while excess(lo) > 0:
        lo -= 4.0
    while excess(hi) < 0:
        hi += 4.0
    log_c = brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    f = solve(math.exp(log_c))
    return DiscreteSolution(s=s, f=f, c=math.exp(log_c), training_error=error(f), n_cells=n_cells)


def _real_array(name: str, value) -> np.ndarray:
    """``value`` as a float64 array; complex or non-numeric input raises ``ValueError``."""
    if hasattr(value, "detach"):  # a torch tensor, on any device
        value = value.detach().cpu().numpy()
    if np.iscomplexobj(value):
        raise ValueError(f"{name} is complex; accepted: real numbers only")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} could not be read as a numeric array: {err}") from None


def convergence_order(h: np.ndarray, err: np.ndarray) -> float:
    """Observed order ``p`` in ``err ≈ C hᵖ``: least-squares slope of ``log err`` on ``log h``.

    Parameters
    ----------
    h, err : array_like, shape ``(n,)``, ``n ≥ 2``
        Spacings (at least two different) and errors, all positive and finite.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Shapes that differ, fewer than two points or spacings, or non-positive or non-finite
        entries.

    Examples
    --------
    >>> round(convergence_order([0.1, 0.05, 0.025], [1e-2, 2.5e-3, 6.25e-4]), 6)
    2.0
    """
    h = np.asarray(h, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    if (h.shape != err.shape or h.size < 2 or not (np.isfinite(h).all() and np.isfinite(err).all())
            or (h <= 0).any() or (err <= 0).any()):
        raise ValueError("h and err must be positive arrays of equal length ≥ 2, all finite")
    if np.unique(h).size < 2:
        raise ValueError("h must hold at least two different spacings to fit an order")
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])
