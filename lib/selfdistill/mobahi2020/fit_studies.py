"""Studies of one fit: ``c(ε)`` over a sweep of budgets, the closed form against the discretised
solve on refining grids, and the effect of the domain (mobahi2020, Section 1; chapter
``greens-function``).

Each puts the closed form (:mod:`~selfdistill.mobahi2020.hilbert`) beside an independent route
(:mod:`~selfdistill.mobahi2020.finite_difference`); the independent routes themselves live in
:mod:`~selfdistill.mobahi2020.oracles` and :mod:`~selfdistill.mobahi2020.finite_difference`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import Integer, Positive, Real, check_positive, validate_params
from selfdistill.mobahi2020.finite_difference import convergence_order, solve_discretised
from selfdistill.mobahi2020.greens_fit import fit_greens, training_data
from selfdistill.mobahi2020.hilbert import c_bounds, eigenbasis, gram, solve_c, squared_norm
from selfdistill.mobahi2020.kernels import ExponentialKernel, Kernel, NeumannExponentialKernel

__all__ = [
    "ConvergenceStudy", "EpsSweep", "cells_for", "convergence_study", "domain_study", "eps_sweep",
]


@dataclass(frozen=True)
class ConvergenceStudy:
    """Closed form vs discretised solve on refining grids (relative max errors, per grid).

    Attributes
    ----------
    n_cells : numpy.ndarray of int, shape ``(n_grids,)``
        Nominal cells of each grid.
    h : numpy.ndarray, shape ``(n_grids,)``
        Largest cell of each grid.
    err_f, err_c : numpy.ndarray, shape ``(n_grids,)``
        ``max_i |f_h(s_i) - f(s_i)| / max_i |f(s_i)|`` and ``|c_h - c| / c``.
    c_closed : float
        ``c`` of the closed form.
    c_discrete : numpy.ndarray, shape ``(n_grids,)``
        ``c_h`` of each grid.
    """

    n_cells: np.ndarray
    h: np.ndarray
    err_f: np.ndarray
    err_c: np.ndarray
    c_closed: float
    c_discrete: np.ndarray

    def order(self, finest: int = 4) -> tuple[float, float]:
        """Observed orders of ``err_f`` and ``err_c`` over the ``finest`` grids.

        Parameters
        ----------
        finest : int
            How many of the finest grids the slope is fitted over (at least 2).

        Returns
        -------
        tuple of float
            The orders ``(p_f, p_c)`` (:func:`~selfdistill.mobahi2020.finite_difference.
            convergence_order`).
        """
        tail = slice(-finest, None)
        return (convergence_order(self.h[tail], self.err_f[tail]),
                convergence_order(self.h[tail], self.err_c[tail]))


@validate_params(eps=Positive(), length=Positive(),
                 lower=Real(-math.inf, math.inf, lower_open=True, upper_open=True),
                 upper=Real(-math.inf, math.inf, lower_open=True, upper_open=True),
                 n_cells=Integer(2, 10**8), n_grids=Integer(2, 20))
def convergence_study(
    x: np.ndarray, y: np.ndarray, eps: float, length: float, lower: float, upper: float,
    n_cells: int, n_grids: int, device: str = "auto",
) -> ConvergenceStudy:
    """Solve ``constrained-problem`` by finite differences on ``n_grids`` nested grids
    (``n_cells`` cells, then every cell halved each time) and compare with ``closed-form``.

    The closed form uses the matching free-end (Neumann) Green's function on ``[lower, upper]``.

    Parameters
    ----------
    x : array_like, shape ``(K,)``
        Training inputs inside ``[lower, upper]``.
    y : array_like, shape ``(K,)`` or ``(K, C)``
        Targets.
    eps : float
        Budget ``ε`` in ``(0, inf)``, below the collapse threshold ``‖y‖²/K``.
    length : float
        ``ℓ`` in ``(0, inf)`` of ``R(f) = ∫ f² + ℓ² f'²``.
    lower, upper : float
        The interval, finite (declared), ``lower < upper`` (checked by the free-end kernel).
    n_cells : int
        Cells of the coarsest grid, in ``[2, 1e8]`` (:func:`cells_for` picks one).
    n_grids : int
        Number of nested grids, in ``[2, 20]``.
    device : str or torch.device
        Where the closed form runs; the discretised solve runs on the CPU.

    Returns
    -------
    ConvergenceStudy

    Raises
    ------
    ValueError
        A parameter outside its range (naming it), or an ``eps`` that collapses the problem.
    """
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


@validate_params(eps=Positive(), length=Positive())
def domain_study(x: np.ndarray, y: np.ndarray, eps: float, length: float,
                 paddings: np.ndarray, device: str = "auto") -> np.ndarray:
    """Relative max difference on ``[min x, max x]`` between the whole-line fit and the fit with the
    free-end kernel on ``[min x - P, max x + P]``, for each padding ``P``.

    Parameters
    ----------
    x, y : array_like
        Training data, as for :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`.
    eps : float
        Budget ``ε`` in ``(0, inf)``.
    length : float
        ``ℓ`` in ``(0, inf)`` of both kernels.
    paddings : array_like, shape ``(n,)``
        Paddings ``P``, each in ``(0, inf)``.
    device : str or torch.device
        Where the fits run.

    Returns
    -------
    numpy.ndarray, shape ``(n,)``
        ``max |f_P - f_ℝ| / max |f_ℝ|`` on 1001 points of ``[min x, max x]``.

    Raises
    ------
    ValueError
        A parameter outside its range, naming it (``paddings[k]`` for a padding).
    """
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
    """``c(ε)`` with its bounds ``c-bounds``; ``c = inf``, bounds ``nan`` where it collapses.

    Attributes
    ----------
    eps, c, lower, upper : numpy.ndarray, shape ``(n,)``
        The budgets, ``c``, and the bounds ``c-bounds``.
    collapse_eps : float
        ``ε* = ‖y‖²/K``, the threshold from which the fit is zero.
    """

    eps: np.ndarray
    c: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    collapse_eps: float


def eps_sweep(kernel: Kernel, x: np.ndarray, y: np.ndarray, eps: np.ndarray,
              device: str = "auto") -> EpsSweep:
    """``c`` and its bounds ``c-bounds`` for each ``ε``: one eigendecomposition, then a root-find
    per ``ε`` (:func:`selfdistill.mobahi2020.hilbert.solve_c`).

    Collapse is decided as in :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`.

    Parameters
    ----------
    kernel, x, y, device
        As for :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`.
    eps : array_like or torch.Tensor, shape ``(n,)``, ``n ≥ 1``
        Budgets, each finite and ``> 0``.

    Returns
    -------
    EpsSweep

    Raises
    ------
    ValueError
        Before any work: data refused by ``fit_greens``'s contract, or a budget outside
        ``(0, inf)``, naming ``eps[k]``.

    Examples
    --------
    >>> from selfdistill.data.toy import toy_sine
    >>> from selfdistill.mobahi2020.kernels import ExponentialKernel
    >>> x, y = toy_sine()
    >>> sweep = eps_sweep(ExponentialKernel(0.1), x, y, [0.05, 1.0], "cpu")
    >>> bool(sweep.lower[0] <= sweep.c[0] <= sweep.upper[0]), float(sweep.c[1])
    (True, inf)
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


@validate_params(length=Positive(), span=Positive(), cells_per_length=Integer(1, 10**6))
def cells_for(length: float, span: float, cells_per_length: int = 4) -> int:
    """The coarsest grid of a convergence study: ``cells_per_length`` cells per ``ℓ`` over ``span``.

    Grids are set relative to ``ℓ``: at ``h ≤ ℓ/64`` the second-order error is in its asymptotic
    regime, and the discrete system's condition grows like ``(ℓ/h)²``, so float64 rounding floors
    the error near ``h/ℓ ≈ 1e-3`` (for ``ℓ ≈ 1``). Eight nested grids from 4 cells per ``ℓ``
    (to 512) stay between the two.

    Parameters
    ----------
    length : float
        ``ℓ`` in ``(0, inf)``.
    span : float
        Length of the interval, in ``(0, inf)``.
    cells_per_length : int
        In ``[1, 1e6]``.

    Returns
    -------
    int
        ``max(2, ⌈cells_per_length · span / ℓ⌉)``.

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.

    Examples
    --------
    >>> cells_for(0.1, 2.0)
    80
    """
    return max(2, math.ceil(cells_per_length * span / length))
