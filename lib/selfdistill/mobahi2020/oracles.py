"""Independent routes of mobahi2020's fit: each recomputes what a solver computes by a different
algorithm, sharing no code with it, so that agreement is evidence.

:data:`CHECKS` declares, for each oracle here, the library functions it is an independent route
for; a common test checks that no oracle calls them, directly or through this module. The other
independent routes of the package live beside what they check: the discretised solve
(:mod:`~selfdistill.mobahi2020.finite_difference`) for ``closed-form`` and the dense filters
(``dense_*`` in :mod:`~selfdistill.mobahi2020.spectral`) for ``B_t`` and the equivalent kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.optimize import brentq

from selfdistill.core.device import VERIFY_DTYPE
from selfdistill.core.validate import (
    Integer,
    Optional,
    Positive,
    SymmetricMatrix,
    check_finite,
    validate_params,
)
from selfdistill.mobahi2020.greens_fit import training_data
from selfdistill.mobahi2020.hilbert import collapses, squared_norm
from selfdistill.mobahi2020.kernels import Kernel

# the input contract of the rounds (targets as the engine reads them) and its round limit: shared
# checks, not the solver
from selfdistill.mobahi2020.rounds import MAX_ROUNDS, _targets

__all__ = [
    "CHECKS", "RefitRounds", "c_by_bisection", "green_identity_error", "near_collapse_prediction",
    "refit_rounds",
]

#: for each oracle, the solvers it is an independent route for (it never calls them)
CHECKS: dict[str, tuple[str, ...]] = {
    "c_by_bisection": ("selfdistill.mobahi2020.hilbert.solve_c",
                       "selfdistill.mobahi2020.greens_fit.fit_greens",
                       "selfdistill.mobahi2020.hilbert.eigenbasis"),
    "near_collapse_prediction": ("selfdistill.mobahi2020.greens_fit.fit_greens",
                                 "selfdistill.mobahi2020.hilbert.solve_c",
                                 "selfdistill.mobahi2020.hilbert.eigenbasis"),
    # checks the relation ĝ = 1/û between a kernel's two closed forms, g (``kernel(x, t)``) and
    # û (``kernel.symbol``), both its inputs; what it replaces is the Fourier transform of g, done
    # by quadrature here and computed by no library function
    "green_identity_error": (),
    "refit_rounds": ("selfdistill.mobahi2020.rounds.self_distill",
                     "selfdistill.mobahi2020.rounds.self_distill_fixed_c",
                     "selfdistill.mobahi2020.hilbert.solve_c",
                     "selfdistill.mobahi2020.hilbert.eigenbasis"),
}


@validate_params(eps=Positive())
def c_by_bisection(kernel: Kernel, x: Any, y: Any, eps: float, device: str = "auto") -> float:
    """``c`` of ``c-equation`` by plain bisection on the dense residual, sharing no code with
    :func:`~selfdistill.mobahi2020.hilbert.solve_c`.

    The root of ``‖c (cI + G)⁻¹ y‖² = Kε`` (``c-equation`` before the eigendecomposition), with
    ``G = kernel(x, x) / K`` built here and each residual from a dense Cholesky solve (SciPy, on
    the CPU): no eigenbasis, no bracket from ``c-bounds``. The bracket starts at
    ``[1e-300, 1e300]`` and is halved in ``log c`` until its ends are adjacent floats.

    Parameters
    ----------
    kernel : Kernel
        The Green's function ``g``.
    x : torch.Tensor or array_like, shape ``(K,)`` or ``(K, d)``
        Training inputs, as for :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`.
    y : torch.Tensor or array_like, shape ``(K,)`` or ``(K, C)``
        Targets, as for ``fit_greens``.
    eps : float
        Budget ``ε`` in ``(0, inf)``.
    device : str or torch.device
        Where ``G`` is built (``"auto"``, ``"cpu"``, ``"cuda"``); the solves run on the CPU in
        float64.

    Returns
    -------
    float
        ``c``; ``math.inf`` when the problem collapses
        (:func:`~selfdistill.mobahi2020.hilbert.collapses`).

    Raises
    ------
    ValueError
        ``eps`` outside ``(0, inf)``, or data refused by
        :func:`~selfdistill.mobahi2020.greens_fit.training_data`.

    Examples
    --------
    >>> from selfdistill.data.toy import toy_sine
    >>> from selfdistill.mobahi2020.kernels import ExponentialKernel
    >>> x, y = toy_sine()
    >>> round(c_by_bisection(ExponentialKernel(0.1), x, y, 0.05, "cpu"), 6)
    0.265652
    """
    x_t, y_t = training_data(kernel, x, y, device)
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


@validate_params(eps=Positive())
def near_collapse_prediction(kernel: Kernel, x: Any, y: Any, eps: float, device: str = "auto"
                             ) -> torch.Tensor:
    """First-order fit at the training inputs just below the collapse threshold.

    For large ``c``, ``(cI + G)⁻¹ = (I - G/c + …)/c``, so ``f(x) = G y / c + O(c⁻²)``, and
    ``c-equation`` reads ``‖y‖² - 2 yᵀG y / c + O(c⁻²) = Kε``. Hence
    ``f(x_k) ≈ (‖y‖² - Kε) G y / (2 yᵀ G y)``, relative error ``O(1 - ε/ε*)``. Dense products
    only, with ``G = kernel(x, x) / K`` built here: no root-find, no eigendecomposition.

    Parameters
    ----------
    kernel, x, y, device
        As for :func:`c_by_bisection`.
    eps : float
        Budget ``ε`` in ``(0, inf)``, meant just below ``ε* = ‖y‖²/K``.

    Returns
    -------
    torch.Tensor
        ``f(x_k)``, the shape of ``y``, float64 on ``device``.

    Raises
    ------
    ValueError
        ``eps`` outside ``(0, inf)``, or data refused by ``training_data``.
    """
    x_t, y_t = training_data(kernel, x, y, device)
    K = x_t.shape[0]
    G = kernel(x_t, x_t) / K
    Gy = G @ y_t
    return Gy * (squared_norm(y_t) - K * eps) / (2 * float((y_t * Gy).sum()))


def green_identity_error(kernel: Kernel, omegas: Any) -> float:
    """``max_ω |ĝ(ω) û(ω) - 1|`` with ``ĝ`` by quadrature of ``2 ∫_0^∞ g(x, 0) cos(ωx) dx``.

    An independent check that a whole-line kernel is the Green's function of its regulariser
    (the relation ``ĝ = 1/û`` of the book's notation page): the transform is computed numerically
    (QUADPACK's cosine-weighted rule), never in closed form.

    Parameters
    ----------
    kernel : Kernel
        A whole-line kernel with a :meth:`~selfdistill.mobahi2020.kernels.Kernel.symbol`.
    omegas : array_like, shape ``(n,)``, ``n ≥ 1``
        Frequencies ``ω``, real and finite (read as float64 NumPy).

    Returns
    -------
    float
        The largest ``|ĝ(ω) û(ω) - 1|``.

    Raises
    ------
    ValueError
        ``omegas`` not a non-empty, finite 1-D real array.
    NotImplementedError
        A kernel without a whole-line symbol.

    Examples
    --------
    >>> from selfdistill.mobahi2020.kernels import ExponentialKernel
    >>> green_identity_error(ExponentialKernel(0.3), [0.0, 1.0, 10.0]) < 1e-9
    True
    """
    from scipy.integrate import quad

    freqs = _frequencies(omegas)
    zero = torch.zeros(1, dtype=torch.float64)

    def g(r: float) -> float:
        return float(kernel(torch.tensor([r], dtype=torch.float64), zero)[0, 0])

    # cut the range where g has fallen below 1e-30 of g(0): the neglected tail is negligible
    cutoff = 1e-3
    while g(cutoff) > 1e-30 * g(0.0):
        cutoff *= 2
    worst = 0.0
    for w in freqs:
        if w == 0:
            value = 2 * quad(g, 0, cutoff, epsabs=1e-13, epsrel=1e-11, limit=500)[0]
        else:
            value = 2 * quad(g, 0, cutoff, weight="cos", wvar=w, epsabs=1e-13, epsrel=1e-11,
                             limit=500)[0]
        symbol = float(kernel.symbol(torch.tensor(w, dtype=torch.float64)))
        worst = max(worst, abs(value * symbol - 1))
    return worst


def _frequencies(omegas: Any) -> np.ndarray:
    if np.iscomplexobj(omegas):
        raise ValueError("omegas is complex; accepted: a 1-D array of real, finite frequencies")
    try:
        arr = np.asarray(omegas, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"omegas = {str(omegas)[:60]!r} is not numeric; accepted: a 1-D array "
                         "of real, finite frequencies") from None
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(f"omegas has shape {arr.shape} with {int((~np.isfinite(arr)).sum())} "
                         "non-finite entries; accepted: a 1-D array of n ≥ 1 real, finite "
                         "frequencies")
    return arr


@dataclass(frozen=True)
class RefitRounds:
    """Rounds retrained from scratch (:func:`refit_rounds`): same layout as :class:`Rounds`.

    Attributes
    ----------
    c : torch.Tensor, shape ``(n,)``
        ``c_t``, float64 on the CPU.
    y : torch.Tensor, shape ``(n + 1, K)`` or ``(n + 1, K, C)``
        Targets ``y_0 … y_n``, float64 on ``G``'s device.
    alpha : torch.Tensor, shape ``(n, K)`` or ``(n, K, C)``
        Coefficients with ``f_t(x) = g_xᵀ alpha[t]``.
    collapse_round : int or None
        As in :class:`Rounds`.
    evaluations : int
        The number of dense solves spent.
    """

    c: torch.Tensor
    y: torch.Tensor
    alpha: torch.Tensor
    collapse_round: int | None
    evaluations: int


@validate_params(G=SymmetricMatrix(), eps=Positive(), rounds=Optional(Integer(0, MAX_ROUNDS)))
def refit_rounds(G: torch.Tensor, y0: torch.Tensor, eps: float,
                 rounds: int | None = None) -> RefitRounds:
    """Self-distillation by retraining every round: no eigendecomposition (the independent route
    to :func:`self_distill`).

    Round ``t`` finds ``c_t`` as the root of ``‖c (cI + G)⁻¹ y_t‖² = Kε`` by Brent's method in
    ``log c``, each evaluation a dense LU solve (``torch.linalg.solve``). The bracket needs no
    eigenvalues: ``c_hi = 2ĝ / (r_t - 1)`` with ``ĝ = min(tr G, max_j Σ_k |G_jk|) ≥ d_max``
    (the residual there is ``≥ 4r_t²/(r_t + 1)² · Kε > Kε``), and ``c_lo`` steps down from
    ``c_hi`` by ``10³`` until the residual is ``< Kε``. Then ``α_t = (c_t I + G)⁻¹ y_t`` and
    ``y_{t+1} = G α_t = y_t - c_t α_t``.

    Collapse is decided first, by :func:`selfdistill.mobahi2020.hilbert.collapses` on
    :func:`selfdistill.mobahi2020.hilbert.squared_norm` (as :func:`self_distill` and
    :func:`selfdistill.mobahi2020.greens_fit.fit_greens` decide it). Just above the threshold the
    margin at ``c_hi`` tends to 0 as ``r_t → 1`` and rounding of the residual can erase it: the root
    then lies within rounding of ``c_hi`` and ``c_hi`` is returned, as
    :func:`selfdistill.mobahi2020.hilbert.solve_c` returns its bracket's end.

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``
        The Gram matrix, real, finite and symmetric
        (:func:`~selfdistill.core.validate.check_symmetric`), any floating dtype (solved in
        float64) and device.
    y0, eps, rounds
        As in :func:`~selfdistill.mobahi2020.rounds.self_distill`; ``y0`` goes to ``G``'s
        device.

    Returns
    -------
    RefitRounds

    Raises
    ------
    ValueError
        ``G`` not a finite symmetric real tensor; ``y0``, ``eps`` or ``rounds`` as in
        :func:`~selfdistill.mobahi2020.rounds.self_distill`; a non-finite dense solve.
    """
    G = G.to(VERIFY_DTYPE)
    K = G.shape[0]
    y = _targets("y0", y0, K, G.device)
    eye = torch.eye(K, dtype=VERIFY_DTYPE, device=G.device)
    g_hat = min(float(torch.trace(G)), float(G.abs().sum(dim=1).max()))
    target = K * eps
    counter = [0]

    def excess(log_c: float, targets: torch.Tensor) -> float:
        counter[0] += 1
        c = math.exp(log_c)
        return float((c * torch.linalg.solve(c * eye + G, targets)).square().sum()) - target

    ys, cs, alphas = [y], [], []
    collapse = None
    limit = MAX_ROUNDS if rounds is None else rounds
    for t in range(limit + 1):
        sq = squared_norm(y, "y0" if t == 0 else "y_t")
        if collapses(sq, K, eps):
            collapse = t
            break
        if t == limit:
            break
        r_minus_1 = (sq - target) / (target * (math.sqrt(sq / target) + 1))
        hi = math.log(2 * g_hat / r_minus_1)  # the factor 2 keeps the residual > Kε strictly
        if excess(hi, y) <= 0:
            log_c = hi  # r_t within rounding of 1: the root is not resolved beyond c_hi
        else:
            lo = hi - 3 * math.log(10)
            while excess(lo, y) >= 0:
                lo -= 3 * math.log(10)
            log_c = brentq(excess, lo, hi, args=(y,), xtol=1e-15, rtol=4 * np.finfo(float).eps,
                           maxiter=200)
        c = math.exp(log_c)
        alpha = torch.linalg.solve(c * eye + G, y)
        counter[0] += 1
        check_finite("alpha (the dense solve's result)", alpha)
        y = y - c * alpha
        ys.append(y)
        cs.append(c)
        alphas.append(alpha)
    if rounds is None and collapse is None:
        raise ValueError(f"no collapse within MAX_ROUNDS = {MAX_ROUNDS} rounds; pass rounds=")
    alpha_t = torch.stack(alphas) if alphas else y.new_zeros((0, *y.shape))
    return RefitRounds(c=torch.tensor(cs, dtype=VERIFY_DTYPE), y=torch.stack(ys), alpha=alpha_t,
                       collapse_round=collapse, evaluations=counter[0])
