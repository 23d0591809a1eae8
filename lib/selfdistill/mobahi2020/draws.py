"""Self-distillation over many noise draws at once (mobahi2020's illustrative example, many times).

With the inputs fixed, every draw of the label noise shares one Gram matrix, so every arm is a
spectral filter on one eigenbasis: round ``t`` of self-distillation at budget ε is the filter
``B_t`` of :mod:`selfdistill.mobahi2020.rounds`, one ridge fit at constant ``c`` the filter ``d/(c +
d)``.
:func:`batch_rounds` runs the rounds of all draws together (vectorised Newton steps for each
round's ``c_t`` on the ``c``-equation, from the bounds ``d_min/(r − 1) ≤ c ≤ d_max/(r − 1)``);
:func:`filter_errors` turns filters into test errors against a known function by a quadratic form,
without evaluating any fit on the grid.

The engine of record is :func:`selfdistill.mobahi2020.rounds.self_distill`; this module is a second,
batched implementation, checked against it in ``tests/mobahi2020/test_draws.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from selfdistill.core.validate import (
    Integer,
    Real,
    Seed,
    check_in_range,
    validate_params,
)

if TYPE_CHECKING:
    from selfdistill.mobahi2020.kernels import Kernel

__all__ = ["DrawStudy", "SineDraws", "batch_rounds", "draw_study", "filter_errors", "sine_draws"]


#: Newton steps per c_t at most: monotone, quadratic convergence from the c-bounds bracket
_NEWTON_STEPS = 40


def _solve_c(d: np.ndarray, z: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per row of ``z`` (shape ``(n, K)``), the root ``c`` of ``Σ_k (c z_k/(c + d_k))² =
    target`` (shape ``(n,)``, each below ``‖z‖²``).

    ``λ = 1/c`` solves ``‖z/(1 + λd)‖ = √target``, a trust-region secular equation: Newton's
    method on ``ψ(λ) = 1/‖p(λ)‖ − 1/√target``, concave and increasing, converges monotonically
    from the lower end ``λ = (r − 1)/d_max`` of the c-bounds bracket (Reinsch; Moré and
    Sorensen), ``r = ‖z‖/√target``; it stops when no row moves by more than a few ulps."""
    r = np.sqrt((z**2).sum(1) / target)
    lam, lam_hi = (r - 1) / d.max(), (r - 1) / d.min()
    z2, inv = z * z, 1.0 / np.sqrt(target)
    for _ in range(_NEWTON_STEPS):
        q = 1.0 / (1.0 + lam[:, None] * d)
        norm2 = (z2 * q * q).sum(1)
        step = (1.0 / np.sqrt(norm2) - inv) / ((d * z2 * q**3).sum(1) / norm2**1.5)
        new = np.clip(lam - step, (r - 1) / d.max(), lam_hi)
        done = bool(np.all(np.abs(new - lam) <= 4 * np.finfo(np.float64).eps * new))
        lam = new
        if done:
            break
    return 1.0 / lam


@validate_params(max_rounds=Integer(1, 10**5))
def batch_rounds(d: np.ndarray, Z: np.ndarray, eps: float | np.ndarray, max_rounds: int = 200
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Rounds (``thm-sd-recursion``) at budget ``eps`` for every draw at once, on the CPU.

    Parameters
    ----------
    d : array_like, shape ``(K,)``
        Eigenvalues of ``G``, positive (read as float64 NumPy).
    Z : array_like, shape ``(n, K)``
        The coordinates ``z_0 = V y_0`` of ``n`` label vectors in the eigenbasis.
    eps : float or array_like of shape ``(n,)``
        One budget for all rows, or one per row; each positive and finite.
    max_rounds : int
        Rounds computed at most, in ``[1, 1e5]``.

    Returns
    -------
    B : array, shape ``(T, n, K)``
        The filter ``B_t`` of each draw, ``T`` the largest number of non-collapsed rounds (at most
        ``max_rounds``); zero from a draw's collapse on.
    c : array, shape ``(T, n)``
        The constants ``c_t``; ``inf`` once collapsed.

    Raises
    ------
    ValueError
        ``Z`` not of shape ``(n, K)``, a non-positive eigenvalue, a budget not positive and
        finite, or ``max_rounds`` outside its range.

    Examples
    --------
    >>> import numpy as np
    >>> B, c = batch_rounds(np.ones(4), np.array([[2.7, 0.0, 3.6, 0.0]]), 0.25)
    >>> B.shape, [round(float(v), 6) for v in c[:, 0]]  # κ = 1: c_t = 1/(r_t - 1), r_t = 4.5 - t
    ((4, 1, 4), [0.285714, 0.4, 0.666667, 2.0])
    """
    d = np.asarray(d, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[1] != d.shape[0]:
        raise ValueError(f"Z has shape {Z.shape}; expected (n, {d.shape[0]})")
    if not bool((d > 0).all()):
        raise ValueError("d must be positive (a positive-definite Gram matrix)")
    n, K = Z.shape
    eps_rows = np.broadcast_to(np.asarray(eps, dtype=np.float64), (n,))
    if np.ndim(eps) == 0:
        check_in_range("eps", float(eps), 0.0, np.inf, lower_open=True)
    elif np.shape(eps) != (n,) or not bool(np.all(np.isfinite(eps_rows) & (eps_rows > 0))):
        raise ValueError(f"eps has shape {np.shape(eps)}; accepted: one positive finite budget, "
                         f"or one per row, shape ({n},)")
    target = K * eps_rows
    Bs, cs = [], []
    b = np.ones((n, K))
    for _ in range(max_rounds):
        y = b * Z
        alive = (y**2).sum(1) > target
        if not alive.any():
            break
        c = np.full(n, np.inf)
        c[alive] = _solve_c(d, y[alive], target[alive])
        a = np.where(alive[:, None], d / (c[:, None] + d), 0.0)
        b = b * a
        Bs.append(b.copy())
        cs.append(c)
    if not Bs:
        return np.zeros((0, n, K)), np.zeros((0, n))
    return np.stack(Bs), np.stack(cs)


def filter_errors(H: np.ndarray, truth: np.ndarray, Z: np.ndarray, B: np.ndarray,
                  shared: bool = False) -> np.ndarray:
    """Mean squared error on a grid of the fits ``f = H (B ∘ z_0)`` against ``truth``, by the
    quadratic form ``wᵀ(HᵀH/N)w − 2wᵀHᵀs/N + sᵀs/N`` (no fit is evaluated on the grid).

    Parameters
    ----------
    H : numpy.ndarray, shape ``(N, K)``
        Maps filtered coordinates to the grid: ``H = g_grid Vᵀ D⁻¹`` with
        ``g_grid[i, k] = g(x_i, x_k)/K``.
    truth : numpy.ndarray, shape ``(N,)``
        The function on the grid.
    Z : numpy.ndarray, shape ``(n, K)``
        Coordinates ``z_0`` of the draws.
    B : numpy.ndarray, shape ``(..., n, K)``, or ``(..., K)`` with ``shared=True``
        Filters (one for all draws when shared).
    shared : bool
        Whether ``B`` is shared by every draw.

    Returns
    -------
    numpy.ndarray
        Shape ``(..., n)``.
    """
    N = H.shape[0]
    M, h, s2 = H.T @ H / N, H.T @ truth / N, float(truth @ truth) / N
    W = B[..., None, :] * Z if shared else B * Z
    return np.einsum("...k,kl,...l->...", W, M, W) - 2 * W @ h + s2


@dataclass(frozen=True)
class DrawStudy:
    """Test errors over noise draws.

    Attributes
    ----------
    eps, c_grid : numpy.ndarray
        The grids of budgets and of single-fit constants.
    sd : list of numpy.ndarray
        ``sd[e]``: shape ``(T_e, n)``, round ``t`` at budget ``eps[e]`` (the zero function's
        error from a draw's collapse on).
    single : numpy.ndarray, shape ``(len(c_grid), n)``
        One ridge fit at each ``c``.
    collapse : list of numpy.ndarray
        ``collapse[e]``: per draw, the number of non-collapsed rounds at ``eps[e]``.
    """

    eps: np.ndarray
    c_grid: np.ndarray
    sd: list[np.ndarray]
    single: np.ndarray
    collapse: list[np.ndarray]

    def sd_best(self) -> np.ndarray:
        """Per draw, the lowest error over every budget and round (truth-tuned), shape ``(n,)``."""
        return np.min([e.min(0) for e in self.sd], axis=0)

    def single_best(self) -> np.ndarray:
        """Per draw, the lowest error of one ridge fit over ``c_grid`` (truth-tuned), ``(n,)``."""
        return self.single.min(0)


@validate_params(max_rounds=Integer(1, 10**5))
def draw_study(d: np.ndarray, H: np.ndarray, truth: np.ndarray, Z: np.ndarray,
               eps: np.ndarray, c_grid: np.ndarray, max_rounds: int = 200) -> DrawStudy:
    """Test errors of self-distillation (every budget of ``eps``, every round) and of one ridge
    fit (every ``c`` of ``c_grid``) for the draws ``Z``.

    Parameters
    ----------
    d : numpy.ndarray, shape ``(K,)``
        Eigenvalues, positive.
    H, truth, Z
        As in :func:`filter_errors`.
    eps : array_like, shape ``(E,)``
        Budgets, each positive and finite.
    c_grid : array_like, shape ``(M,)``
        Single-fit constants, each ``≥ 0``.
    max_rounds : int
        As in :func:`batch_rounds`: in ``[1, 1e5]``.

    Returns
    -------
    DrawStudy

    Raises
    ------
    ValueError
        What :func:`batch_rounds` refuses.
    """
    sd, collapse = [], []
    for e in np.asarray(eps, dtype=np.float64):
        B, c = batch_rounds(d, Z, float(e), max_rounds)
        sd.append(filter_errors(H, truth, Z, B))
        collapse.append(np.isfinite(c).sum(0))
    c_grid = np.asarray(c_grid, dtype=np.float64)
    filters = d / (c_grid[:, None] + d)  # (len(c_grid), K)
    single = filter_errors(H, truth, Z, filters, shared=True)
    return DrawStudy(np.asarray(eps, dtype=np.float64), c_grid, sd, single, collapse)


@dataclass(frozen=True)
class SineDraws:
    """The toy problem's spectral pieces and ``n`` fresh noise draws (NumPy float64).

    Attributes
    ----------
    d : numpy.ndarray, shape ``(K,)``
        Eigenvalues, ascending.
    H, truth : numpy.ndarray, shapes ``(N, K)`` and ``(N,)``
        For :func:`filter_errors` on ``N`` grid points of ``[0, 1]``.
    Z : numpy.ndarray, shape ``(n, K)``
        The draws' coordinates.
    z : numpy.ndarray, shape ``(1, K)``
        The published labels' coordinates.
    """

    d: np.ndarray
    H: np.ndarray
    truth: np.ndarray
    Z: np.ndarray
    z: np.ndarray


@validate_params(noise=Real(0.0, 10.0, lower_open=True), draws=Integer(2, 10**6), seed=Seed(),
                 grid_points=Integer(2, 10**7))
def sine_draws(kernel: Kernel, x: np.ndarray, y: np.ndarray, noise: float, draws: int,
               seed: int, grid_points: int = 1001) -> SineDraws:
    """``draws`` label vectors ``sin 2πx + noise·N(0, 1)`` at the inputs ``x``, with the
    published labels ``y`` kept apart, in the eigenbasis of ``kernel``'s Gram matrix (one float64
    eigendecomposition for all, on the CPU).

    Parameters
    ----------
    kernel : Kernel
        The Green's function ``g``.
    x, y : array_like, shape ``(K,)``
        Inputs and published labels.
    noise : float
        Standard deviation of the noise, in ``(0, 10]``.
    draws : int
        ``n``, in ``[2, 1e6]``.
    seed : int
        Seed of NumPy's generator, in ``[0, SEED_MAX]``.
    grid_points : int
        ``N``, in ``[2, 1e7]``.

    Returns
    -------
    SineDraws

    Raises
    ------
    ValueError
        A parameter outside its range, or a Gram matrix refused by
        :func:`~selfdistill.mobahi2020.hilbert.eigenbasis`.
    """
    import torch

    from selfdistill.mobahi2020.hilbert import eigenbasis, gram
    x_t = torch.as_tensor(np.asarray(x, dtype=np.float64))
    K = x_t.shape[0]
    basis = eigenbasis(gram(kernel, x_t))
    d, V = basis.d.cpu().numpy(), basis.V.cpu().numpy()
    grid = torch.linspace(0, 1, grid_points, dtype=torch.float64)
    H = (kernel(grid, x_t) / K).numpy() @ V.T / d
    rng = np.random.default_rng(seed)
    Y = np.sin(2 * np.pi * np.asarray(x)) + noise * rng.standard_normal((draws, K))
    return SineDraws(d, H, np.sin(2 * np.pi * grid.numpy()), Y @ V.T,
                     (V @ np.asarray(y, dtype=np.float64))[None])
