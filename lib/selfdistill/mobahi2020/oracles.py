"""Studies that put the closed form and an independent route side by side."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import check_int, check_positive
from selfdistill.mobahi2020.finite_difference import convergence_order, solve_discretised
from selfdistill.mobahi2020.hilbert import (
    c_bounds,
    collapses,
    eigenbasis,
    fit_greens,
    gram,
    solve_c,
    squared_norm,
    training_data,
)
from selfdistill.mobahi2020.kernels import ExponentialKernel, Kernel, NeumannExponentialKernel

__all__ = [
    "ConvergenceStudy", "EpsSweep", "c_by_bisection", "cells_for", "convergence_study",
    "domain_study", "eps_sweep", "green_identity_error", "near_collapse_prediction",
]


@dataclass(frozen=True)
class ConvergenceStudy:
    """Closed form vs discretised solve on refining grids (relative max errors, per grid)."""

    n_cells: np.ndarray
    h: np.ndarray
    err_f: np.ndarray
    err_c: np.ndarray
    c_closed: float
    c_discrete: np.ndarray

    def order(self, finest: int = 4) -> tuple[float, float]:
        """Observed orders of ``err_f`` and ``err_c`` over the ``finest`` grids."""
        tail = slice(-finest, None)
        return (convergence_order(self.h[tail], self.err_f[tail]),
                convergence_order(self.h[tail], self.err_c[tail]))


def convergence_study(
    x: np.ndarray, y: np.ndarray, eps: float, length: float, lower: float, upper: float,
    n_cells: int, n_grids: int, device: str = "auto",
) -> ConvergenceStudy:
    """Solve ``constrained-problem`` by finite differences on ``n_grids`` nested grids
    (``n_cells`` cells, then every cell halved each time) and compare with ``closed-form``.

    The closed form uses the matching free-end (Neumann) Green's function on ``[lower, upper]``;
    errors are ``max_i |f_h(s_i) - f(s_i)| / max_i |f(s_i)|`` and ``|c_h - c| / c``.
    """
    check_int("n_cells", n_cells, 2, 10**8)
    check_int("n_grids", n_grids, 2, 20)
    fit = fit_greens(NeumannExponentialKernel(length, lower, upper), x, y, eps, device)
    if fit.collapsed:
        raise ValueError(f"eps = {eps!r} collapses the problem (‖y‖² ≤ Kε): nothing to compare")
    rows = []
    for level in range(n_grids):
        sol = solve_discretised(x, y, eps, length, lower, upper, n_cells, level)
        n = sol.n_cells
        exact = fit(torch.from_numpy(sol.s)).cpu().numpy()
        rows.append((n, sol.h, np.abs(sol.f - exact).max() / np.abs(exact).max(),
                     abs(sol.c - fit.c) / fit.c, sol.c))
    n_arr, h, ef, ec, cd = (np.array(col) for col in zip(*rows, strict=True))
    return ConvergenceStudy(n_cells=n_arr.astype(int), h=h, err_f=ef, err_c=ec,
                            c_closed=fit.c, c_discrete=cd)


def domain_study(x: np.ndarray, y: np.ndarray, eps: float, length: float,
                 paddings: np.ndarray, device: str = "auto") -> np.ndarray:
    """Relative max difference on ``[min x, max x]`` between the whole-line fit and the fit with the
    free-end kernel on ``[min x - P, max x + P]``, for each padding ``P``."""
    lo, hi = float(np.min(x)), float(np.max(x))
    grid = torch.linspace(lo, hi, 1001, dtype=torch.float64)
    whole = fit_greens(ExponentialKernel(length), x, y, eps, device)
    f_whole = whole(grid)
    out = []
    for k, pad in enumerate(paddings):
        check_positive(f"paddings[{k}]", pad)
        kernel = NeumannExponentialKernel(length, lo - pad, hi + pad)
        bounded = fit_greens(kernel, x, y, eps, device)
        out.append(float((bounded(grid) - f_whole).abs().max() / f_whole.abs().max()))
    return np.array(out)


@dataclass(frozen=True)
class EpsSweep:
    """``c(ε)`` with its bounds ``c-bounds``; ``c = inf``, bounds ``nan`` where it collapses."""

    eps: np.ndarray
    c: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    collapse_eps: float


def eps_sweep(kernel: Kernel, x: np.ndarray, y: np.ndarray, eps: np.ndarray,
              device: str = "auto") -> EpsSweep:
    """``c`` and its bounds ``c-bounds`` for each ``ε``: one eigendecomposition, then a root-find
    per ``ε`` (:func:`selfdistill.mobahi2020.hilbert.solve_c`).

    ``kernel``, ``x``, ``y`` and ``device`` follow
    :func:`selfdistill.mobahi2020.hilbert.fit_greens`'s contract; ``eps`` is a 1-D array of budgets,
    each finite and ``> 0`` (checked before any work, a ``ValueError`` naming ``eps[k]``). Collapse
    is decided as in ``fit_greens``.
    """
    x_t, y_t = training_data(kernel, x, y, device)
    eps = _budgets(eps)
    basis = eigenbasis(gram(kernel, x_t))
    z = basis.coords(y_t)
    K = x_t.shape[0]
    sq_norm = squared_norm(y_t)  # the same collapse threshold as fit_greens
    norm = math.sqrt(sq_norm)
    cs, lows, highs = [], [], []
    for e in eps:
        c = solve_c(basis, z, float(e), y_sq_norm=sq_norm)
        low, high = (c_bounds(basis.d, norm, K, e, y_sq_norm=sq_norm) if np.isfinite(c)
                     else (np.nan, np.nan))
        cs.append(c)
        lows.append(low)
        highs.append(high)
    return EpsSweep(eps=np.asarray(eps, dtype=float), c=np.array(cs), lower=np.array(lows),
                    upper=np.array(highs), collapse_eps=sq_norm / K)


def _budgets(eps) -> np.ndarray:
    if np.iscomplexobj(eps):
        raise ValueError("eps is complex; accepted: a 1-D array of real budgets > 0")
    arr = np.asarray(eps, dtype=np.float64) if not isinstance(eps, torch.Tensor) else (
        eps.detach().cpu().numpy().astype(np.float64))
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"eps has shape {arr.shape}; accepted: a 1-D array of budgets > 0")
    for k, e in enumerate(arr):
        check_positive(f"eps[{k}]", float(e))
    return arr


def c_by_bisection(kernel: Kernel, x, y, eps: float, device: str = "auto") -> float:
    """``c`` by plain bisection on the dense residual, sharing no code with ``solve_c``.

    The root of ``‖c (cI + G)⁻¹ y‖² = Kε`` (``c-equation`` before the eigendecomposition), with
    ``G = kernel(x, x) / K`` built here and each residual from a dense Cholesky solve (SciPy, on
    the CPU): no
    eigenbasis, no bracket from ``c-bounds``. The bracket starts at ``[1e-300, 1e300]`` and is
    halved in ``log c`` until its ends are adjacent floats; ``inf`` when the problem collapses
    (:func:`selfdistill.mobahi2020.hilbert.collapses`). Inputs follow ``fit_greens``'s contract.
    """
    x_t, y_t = training_data(kernel, x, y, device)
    eps = check_positive("eps", eps)
    K = x_t.shape[0]
    if collapses(squared_norm(y_t), K, eps):
        return math.inf
    from scipy.linalg import cho_factor, cho_solve

    G = (kernel(x_t, x_t) / K).cpu().numpy()
    rhs = y_t.reshape(K, -1).cpu().numpy()
    eye = np.eye(K)

    def excess(c: float) -> float:
        residual = c * cho_solve(cho_factor(c * eye + G), rhs)
        return float(np.sum(residual**2)) - K * eps

    lo, hi = math.log(1e-300), math.log(1e300)
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if excess(math.exp(mid)) < 0 else (lo, mid)
    return math.exp((lo + hi) / 2)


def near_collapse_prediction(kernel: Kernel, x, y, eps: float, device: str = "auto"
                             ) -> torch.Tensor:
    """First-order fit at the training inputs just below the collapse threshold.

    For large ``c``, ``(cI + G)⁻¹ = (I - G/c + …)/c``, so ``f(x) = G y / c + O(c⁻²)``, and
    ``c-equation`` reads ``‖y‖² - 2 yᵀG y / c + O(c⁻²) = Kε``. Hence
    ``f(x_k) ≈ (‖y‖² - Kε) G y / (2 yᵀ G y)``, relative error ``O(1 - ε/ε*)``. Dense products
    only, with ``G = kernel(x, x) / K`` built here. Shape of ``y``.
    """
    x_t, y_t = training_data(kernel, x, y, device)
    eps = check_positive("eps", eps)
    K = x_t.shape[0]
    G = kernel(x_t, x_t) / K
    Gy = G @ y_t
    return Gy * (squared_norm(y_t) - K * eps) / (2 * float((y_t * Gy).sum()))


def green_identity_error(kernel: Kernel, omegas: np.ndarray) -> float:
    """``max_ω |ĝ(ω) û(ω) - 1|`` with ``ĝ`` by quadrature of ``2 ∫_0^∞ g(x, 0) cos(ωx) dx``.

    An independent check that a whole-line kernel is the Green's function of its regulariser:
    the transform is computed numerically (QUADPACK's cosine-weighted rule), never in closed form.
    """
    from scipy.integrate import quad

    zero = torch.zeros(1, dtype=torch.float64)

    def g(r: float) -> float:
        return float(kernel(torch.tensor([r], dtype=torch.float64), zero)[0, 0])

    # cut the range where g has fallen below 1e-30 of g(0): the neglected tail is negligible
    cutoff = 1e-3
    while g(cutoff) > 1e-30 * g(0.0):
        cutoff *= 2
    worst = 0.0
    for w in np.asarray(omegas, dtype=float):
        if w == 0:
            value = 2 * quad(g, 0, cutoff, epsabs=1e-13, epsrel=1e-11, limit=500)[0]
        else:
            value = 2 * quad(g, 0, cutoff, weight="cos", wvar=w, epsabs=1e-13, epsrel=1e-11,
                             limit=500)[0]
        symbol = float(kernel.symbol(torch.tensor(w, dtype=torch.float64)))
        worst = max(worst, abs(value * symbol - 1))
    return worst


def cells_for(length: float, span: float, cells_per_length: int = 4) -> int:
    """The coarsest grid of a convergence study: ``cells_per_length`` cells per ``ℓ`` over ``span``.

    Grids are set relative to ``ℓ``: at ``h ≤ ℓ/64`` the second-order error is in its asymptotic
    regime, and the discrete system's condition grows like ``(ℓ/h)²``, so float64 rounding floors
    the error near ``h/ℓ ≈ 1e-3`` (for ``ℓ ≈ 1``). Eight nested grids from 4 cells per ``ℓ``
    (to 512) stay between the two.
    """
    check_positive("length", length)
    check_positive("span", span)
    check_int("cells_per_length", cells_per_length, 1, 10**6)
    return max(2, math.ceil(cells_per_length * span / length))
