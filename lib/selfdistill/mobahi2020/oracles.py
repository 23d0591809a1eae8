"""Independent routes of mobahi2020: each recomputes what a solver computes by another algorithm,
sharing no code with it, so that agreement is evidence. :data:`CHECKS` names, for each oracle, the
functions it is an independent route for (a common test checks it never calls them). The discretised
solve (:mod:`~selfdistill.mobahi2020.finite_difference`) is the other route, for ``closed-form``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
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
    Real,
    SymmetricMatrix,
    Tensor,
    check_finite,
    check_in_range,
    check_int,
    validate_params,
)
from selfdistill.mobahi2020.greens_fit import training_data
from selfdistill.mobahi2020.hilbert import Eigenbasis, collapses, squared_norm
from selfdistill.mobahi2020.kernels import Kernel
from selfdistill.mobahi2020.rounds import MAX_ROUNDS, _targets  # the rounds' input contract
from selfdistill.mobahi2020.spectral import filter_diagonal

#: a radius ``ρ``: a finite real number ``≥ 0``
_RADIUS = Real(0.0, math.inf, upper_open=True)

__all__ = [
    "CHECKS", "RefitRounds", "c_by_bisection", "dense_equivalent", "dense_filters",
    "dense_round_filter", "dense_single_fits", "empirical_rademacher", "green_identity_error",
    "near_collapse_prediction", "refit_rounds",
]

#: for each oracle, the solvers it is an independent route for (it never calls them)
CHECKS: dict[str, tuple[str, ...]] = {
    "c_by_bisection": ("selfdistill.mobahi2020.hilbert.solve_c",
                       "selfdistill.mobahi2020.greens_fit.fit_greens",
                       "selfdistill.mobahi2020.hilbert.eigenbasis"),
    "near_collapse_prediction": ("selfdistill.mobahi2020.greens_fit.fit_greens",
                                 "selfdistill.mobahi2020.hilbert.solve_c",
                                 "selfdistill.mobahi2020.hilbert.eigenbasis"),
    # checks ĝ = 1/û between a kernel's two closed forms g and û, both its inputs; it replaces
    # the Fourier transform of g (by quadrature), which no library function computes
    "green_identity_error": (),
    "dense_round_filter": ("selfdistill.mobahi2020.rounds.self_distill",
                           "selfdistill.mobahi2020.hilbert.eigenbasis"),
    "dense_filters": ("selfdistill.mobahi2020.rounds.self_distill",),
    "dense_equivalent": ("selfdistill.mobahi2020.spectral.EquivalentKernel",
                         "selfdistill.mobahi2020.hilbert.eigenbasis"),
    "dense_single_fits": ("selfdistill.mobahi2020.spectral.best_single_fit",
                          "selfdistill.mobahi2020.spectral.single_fit_filter",
                          "selfdistill.mobahi2020.hilbert.eigenbasis"),
    "empirical_rademacher": ("selfdistill.mobahi2020.spectral.EquivalentKernel",),
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
    kernel, x, y : Kernel, array_like ``(K,)`` or ``(K, d)``, array_like ``(K,)`` or ``(K, C)``
        As for :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`.
    eps : float
        Budget ``ε`` in ``(0, inf)``.
    device : str or torch.device
        Where ``G`` is built; the solves run on the CPU in float64.

    Returns
    -------
    float
        ``c``; ``math.inf`` when the problem collapses.

    Raises
    ------
    ValueError
        ``eps`` outside ``(0, inf)``, or data refused by ``fit_greens``'s contract.

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
    kernel, x, y, eps, device
        As for :func:`c_by_bisection`, with its refusals (``ε`` meant just below ``‖y‖²/K``).

    Returns
    -------
    torch.Tensor
        ``f(x_k)``, the shape of ``y``, float64 on ``device``.
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
        ``omegas`` not a non-empty, finite 1-D real array (``NotImplementedError``: no symbol).

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
    """Rounds retrained from scratch (:func:`refit_rounds`), laid out as
    :class:`~selfdistill.mobahi2020.rounds.Rounds`: ``c`` ``(n,)`` float64 on the CPU; ``y``
    ``(n + 1, K[, C])`` float64 on ``G``'s device; ``alpha`` ``(n, K[, C])`` with
    ``f_t(x) = g_xᵀ alpha[t]``; ``collapse_round``; ``evaluations``, the dense solves spent."""

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
        The Gram matrix, real, finite, symmetric, any floating dtype (solved in float64), device.
    y0, eps, rounds
        As in :func:`~selfdistill.mobahi2020.rounds.self_distill`; ``y0`` goes to ``G``'s device.

    Returns
    -------
    RefitRounds

    Raises
    ------
    ValueError
        ``G`` refused by :func:`~selfdistill.core.validate.check_symmetric`; ``y0``, ``eps`` or
        ``rounds`` as in ``self_distill``; a non-finite dense solve.
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


@validate_params(kernel_matrix=SymmetricMatrix(), radius=_RADIUS, n_samples=Integer(0, 10**7))
def empirical_rademacher(kernel_matrix: torch.Tensor, radius: float, n_samples: int = 0,
                         generator: torch.Generator | None = None) -> tuple[float, float]:
    """Empirical Rademacher complexity of ``{f : ‖f‖_H ≤ ρ}`` at ``K`` points.

    ``R = E_σ sup_f (1/K) Σ_k σ_k f(x_k) = (ρ/K) E_σ (σᵀ 𝒦 σ)^{1/2}`` with ``𝒦[j, k] = g(x_j, x_k)``
    (no ``1/K``; the sup is Cauchy–Schwarz in ``H``). ``n_samples = 0`` enumerates all ``2^K``
    sign vectors (``K ≤ 20``) and returns ``(R, 0)``; otherwise Monte Carlo with ``n_samples``
    sign vectors from ``generator``, returning ``(estimate, standard error)``. The independent
    route for :meth:`~selfdistill.mobahi2020.spectral.EquivalentKernel.rademacher_bound`.

    Parameters
    ----------
    kernel_matrix : torch.Tensor, shape ``(K, K)``
        ``𝒦``, real, finite and symmetric, any dtype and device (computed in float64).
    radius : float
        ``ρ`` in ``[0, inf)``.
    n_samples : int
        ``0`` for exact enumeration (then ``K ≤ 20``), else Monte Carlo samples in ``[1, 1e7]``.
    generator : torch.Generator, optional
        The CPU generator of the Monte Carlo signs (seed it for repeatable estimates).

    Returns
    -------
    tuple of float
        ``(R, 0.0)`` exactly, or ``(estimate, standard error)``.

    Raises
    ------
    ValueError
        A parameter outside its range, or ``K > 20`` for exact enumeration.

    Examples
    --------
    >>> import torch
    >>> empirical_rademacher(torch.eye(2, dtype=torch.float64), 1.0)  # E‖σ‖/K = √2/2
    (0.7071067811865476, 0.0)
    """
    K = kernel_matrix.shape[0]
    Km = kernel_matrix.to(VERIFY_DTYPE)
    if n_samples == 0:
        check_int("K (points, for exact enumeration)", K, 1, 20)
        signs = torch.tensor(list(itertools.product((-1.0, 1.0), repeat=K)),
                             dtype=VERIFY_DTYPE, device=Km.device)
    else:
        bits = torch.randint(0, 2, (n_samples, K), generator=generator, dtype=torch.int64)
        signs = (2.0 * bits - 1).to(VERIFY_DTYPE).to(Km.device)
    quad = ((signs @ Km) * signs).sum(1).clamp_min(0).sqrt() * (radius / K)
    if n_samples == 0:
        return float(quad.mean()), 0.0
    return float(quad.mean()), float(quad.std() / math.sqrt(n_samples))


@validate_params(G=SymmetricMatrix())
def dense_round_filter(G: torch.Tensor, cs: Sequence[float]) -> torch.Tensor:
    """The matrix ``P_t = Π_{i=0}^{t} G (c_i I + G)⁻¹`` by dense solves, shape ``(K, K)``.

    Independent of any eigendecomposition: ``P_t y0`` are round ``t``'s predictions at the
    training inputs, and ``diag(V P_t Vᵀ)`` is ``B_t`` (``thm-sd-recursion``).

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``
        The Gram matrix, real, finite and symmetric; the result has its dtype and device.
    cs : sequence of float
        ``c_0 … c_t``, each in ``(0, inf]``; an infinite ``c_i`` (collapse) gives zero.

    Returns
    -------
    torch.Tensor
        ``P_t``, shape ``(K, K)``.

    Raises
    ------
    ValueError
        ``G`` refused by :func:`~selfdistill.core.validate.check_symmetric`, or a ``cs[i]``
        outside ``(0, inf]``, naming it.
    """
    K = G.shape[0]
    eye = torch.eye(K, dtype=G.dtype, device=G.device)
    P = eye.clone()
    for i, c in enumerate(cs):
        c = check_in_range(f"cs[{i}]", c, 0.0, math.inf, lower_open=True)
        if math.isinf(c):
            return torch.zeros_like(G)
        P = G @ torch.linalg.solve(c * eye + G, P)  # G and (cI + G)⁻¹ commute
    return P


@validate_params(G=SymmetricMatrix(), g_new=Tensor((2,)))
def dense_equivalent(G: torch.Tensor, cs: Sequence[float], g_new: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(G†, g†_x)`` by dense solves from the constants ``c_i`` alone.

    ``G† = P (I - P)⁻¹`` with ``P`` from :func:`dense_round_filter`, and ``g†_x = g_x G⁻¹ G†``.
    No eigenbasis: the check route of :class:`~selfdistill.mobahi2020.spectral.EquivalentKernel`.

    Parameters
    ----------
    G, cs
        As in :func:`dense_round_filter` (every ``c_i`` finite, so that ``I - P`` is invertible).
    g_new : torch.Tensor, shape ``(n, K)``
        Rows ``g(x, x_k)/K`` at new inputs, ``G``'s dtype and device.

    Returns
    -------
    tuple of torch.Tensor
        ``G†`` of shape ``(K, K)`` (symmetrised) and ``g†_x`` of shape ``(n, K)``.

    Raises
    ------
    ValueError
        As in ``dense_round_filter``, or ``g_new`` not a finite 2-D real tensor.
    """
    P = dense_round_filter(G, cs)
    eye = torch.eye(G.shape[0], dtype=G.dtype, device=G.device)
    G_dagger = torch.linalg.solve(eye - P, P)
    G_dagger = (G_dagger + G_dagger.T) / 2
    return G_dagger, g_new @ torch.linalg.solve(G, G_dagger)


@validate_params(G=SymmetricMatrix())
def dense_filters(G: torch.Tensor, cs: Sequence[float], basis: Eigenbasis) -> torch.Tensor:
    """``B_t`` for ``t = 0 … len(cs) - 1`` by dense solves, shape ``(len(cs), K)``.

    Row ``t`` is :func:`~selfdistill.mobahi2020.spectral.filter_diagonal` of
    :func:`dense_round_filter` over ``cs[:t+1]``: the basis only reads the diagonal off. Tiny
    entries carry an absolute rounding error of about ``K u`` times the largest entry.

    Parameters
    ----------
    G, cs
        As in :func:`dense_round_filter`.
    basis : Eigenbasis
        The eigenbasis of ``G``, ``K`` eigenvalues.

    Returns
    -------
    torch.Tensor
        Shape ``(len(cs), K)``, ``G``'s dtype and device; refusals as in ``dense_round_filter``.
    """
    rows = [filter_diagonal(basis, dense_round_filter(G, list(cs[: t + 1])))
            for t in range(len(cs))]
    return torch.stack(rows) if rows else G.new_zeros((0, G.shape[0]))


@validate_params(G=SymmetricMatrix(), y=Tensor((1,)))
def dense_single_fits(G: torch.Tensor, y: torch.Tensor, cs: Any) -> torch.Tensor:
    """Training predictions ``G (c I + G)⁻¹ y`` of single fits, one per ``c``: ``(len(cs), K)``.

    Batched dense solves, no eigenbasis: the brute-force route to
    :func:`~selfdistill.mobahi2020.spectral.best_single_fit`.

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``
        Real, finite, symmetric; the result, shape ``(n, K)``, has its dtype and device.
    y : torch.Tensor, shape ``(K,)``
        Targets, finite, ``G``'s dtype and device.
    cs : array_like, shape ``(n,)``
        Constants, each positive and finite (else ``ValueError``, as for bad ``G`` or ``y``).

    Returns
    -------
    torch.Tensor
    """
    c = torch.as_tensor(np.asarray(cs, dtype=np.float64), device=G.device)
    if not bool((c > 0).all() and torch.isfinite(c).all()):
        raise ValueError("cs must be positive and finite")
    K = G.shape[0]
    systems = c[:, None, None] * torch.eye(K, dtype=G.dtype, device=G.device) + G
    return (G @ torch.linalg.solve(systems, y.expand(len(c), K)[..., None]))[..., 0]
