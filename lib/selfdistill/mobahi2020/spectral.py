"""Spectral filters of self-distillation and its equivalent kernel (mobahi2020, Sections 4–5).

Everything here is a function of the eigenbasis ``G = Vᵀ diag(d) V``
(:class:`~selfdistill.mobahi2020.hilbert. Eigenbasis`), the original targets in that basis ``z0 = V
y0`` and the diagonal ``B`` of the self-distilled filter ``B_t = Π_{i=0}^{t} A_i``, ``A_i = diag(d /
(c_i + d))``, which the rounds engine computes. The training predictions of round ``t`` are ``f_t(X)
= Vᵀ B_t z0``.

* Single fits: one fit with constant ``c`` is the filter ``A(c) = d / (c + d)``.
  :func:`best_single_fit` finds the single fit closest to ``f_t`` at the training inputs, i.e.
  the ``c`` minimising
  ``Σ_k z0_k² (A_k(c) - B_k)²`` (the ℓ2 distance between the filters weighted by the label energy);
  :func:`matched_single_fit` the single fit with the same training error against ``y0`` (one fit
  "with a larger ε"). :func:`pair_ratio` is ``φ(c) = (d_k/d_j)(c + d_j)/(c + d_k)``, the ratio
  ``A_k/A_j`` of one fit, always above ``d_k/d_j`` for ``d_k < d_j``.
* Equivalent kernel (:class:`EquivalentKernel`): ``f_t`` is kernel ridge regression on ``y0`` with
  regularisation constant 1 (the paper's ``1/K`` convention) and the kernel whose Gram matrix is
  ``G† = Vᵀ B (I - B)⁻¹ V``; its RKHS norm, trace and the standard Rademacher bound.
* Independent routes for checks: :func:`dense_round_filter` and :func:`dense_equivalent` build the
  same matrices by dense solves from the constants ``c_i`` alone, never using the eigenbasis;
  :func:`empirical_rademacher` computes the kernel class's empirical Rademacher complexity by
  enumerating sign vectors (or Monte Carlo for large ``K``).

All maths in float64 on the tensors' device.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from selfdistill.core.device import VERIFY_DTYPE
from selfdistill.core.validate import (
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    check_positive,
)
from selfdistill.mobahi2020.hilbert import Eigenbasis, solve_c

__all__ = [
    "BestSingleFit",
    "EquivalentKernel",
    "best_single_fit",
    "dense_equivalent",
    "dense_filters",
    "dense_round_filter",
    "dense_single_fits",
    "empirical_rademacher",
    "filter_diagonal",
    "filter_distance",
    "filter_predict",
    "matched_single_fit",
    "pair_ratio",
    "rounds_below_ratio",
    "single_fit_filter",
]


def _check_diag(name: str, v: torch.Tensor, K: int) -> torch.Tensor:
    check_ndim(name, v, (1,))
    if v.shape[0] != K:
        raise ValueError(f"{name} has shape {tuple(v.shape)}; expected ({K},), one per eigenvalue")
    return check_finite(name, v)


def _check_filter(B: torch.Tensor, K: int, strict: bool = False) -> torch.Tensor:
    _check_diag("B", B, K)
    top_ok = bool((B < 1).all()) if strict else bool((B <= 1).all())
    if not (bool((B >= 0).all()) and top_ok):
        interval = "[0, 1)" if strict else "[0, 1]"
        raise ValueError(f"B has entries in [{float(B.min()):.3g}, {float(B.max()):.3g}]; "
                         f"a filter diagonal lies in {interval}")
    return B


def single_fit_filter(d: torch.Tensor, c: float) -> torch.Tensor:
    """The spectral filter of one fit, ``A(c) = d / (c + d)``, shape ``(K,)``.

    ``c = inf`` (a collapsed fit) gives zeros; ``c = 0`` (interpolation) gives ones.
    """
    c = check_in_range("c", c, 0.0, math.inf)
    check_ndim("d", d, (1,))
    check_finite("d", d)
    if math.isinf(c):
        return torch.zeros_like(d)
    return d / (c + d)


def pair_ratio(d_k: float, d_j: float, c: float | np.ndarray) -> float | np.ndarray:
    """``φ(c) = (d_k/d_j)(c + d_j)/(c + d_k)``: the ratio ``A_k(c)/A_j(c)`` of one fit.

    For ``0 < d_k < d_j`` it decreases strictly in ``c``, from 1 at ``c = 0`` toward ``d_k/d_j``
    as ``c → ∞``, and exceeds ``d_k/d_j`` at every finite ``c`` (mobahi2020 §4). Vectorised in c.
    """
    check_positive("d_k", d_k)
    check_in_range("d_j", d_j, d_k, math.inf, lower_open=True, upper_open=True)
    c_arr = np.asarray(c, dtype=np.float64)
    if not (np.isfinite(c_arr).all() and (c_arr >= 0).all()):
        raise ValueError(f"c = {c!r} has negative or non-finite entries; accepted: [0, inf) "
                         "(a collapsed fit, c = inf, has no ratio)")
    ratio = (d_k / d_j) * (c_arr + d_j) / (c_arr + d_k)
    return float(ratio) if ratio.ndim == 0 else ratio


def rounds_below_ratio(d_k: float, d_j: float, c0: float) -> int:
    """The first round ``t`` at which ``φ(c0)^{t+1} < d_k/d_j``.

    Because ``c_i ≥ c0`` and ``φ`` decreases, ``B_t[k]/B_t[j] = Π_{i≤t} φ(c_i) ≤ φ(c0)^{t+1}``: from
    this round on (if the rounds have not collapsed) the self-distilled ratio is below ``d_k/d_j``,
    which no single fit reaches. Round 0 is a single fit, so the answer is at least 1.
    """
    phi0 = pair_ratio(d_k, d_j, check_positive("c0", c0))
    # φ0^{t+1} < d_k/d_j  ⇔  t + 1 > log(d_k/d_j) / log φ0  (both logs negative)
    need = math.log(d_k / d_j) / math.log(phi0)
    return max(1, math.floor(need))


def filter_distance(d: torch.Tensor, z0: torch.Tensor, B: torch.Tensor, c: float) -> float:
    """``‖Vᵀ (A(c) - B) z0‖ = (Σ_k z0_k² (A_k(c) - B_k)²)^{1/2}``.

    The ℓ2 distance at the training inputs between the single fit with constant ``c`` and the
    predictions ``Vᵀ B z0`` (equal to the label-energy-weighted distance between the filters).
    """
    K = d.shape[0]
    _check_diag("z0", z0, K)
    _check_filter(B, K)
    return float(((single_fit_filter(d, c) - B) * z0).square().sum().sqrt())


@dataclass(frozen=True)
class BestSingleFit:
    """A single fit compared with a self-distilled filter.

    ``c``: its constant; ``distance``: :func:`filter_distance` at ``c``; ``relative``: that
    distance over ``‖Vᵀ B z0‖``, the size of the self-distilled predictions (``c = inf``, the
    zero function, has relative distance 1).
    """

    c: float
    distance: float
    relative: float


def best_single_fit(d: torch.Tensor, z0: torch.Tensor, B: torch.Tensor, n_grid: int = 400
                    ) -> BestSingleFit:
    """The single fit closest to the filter ``B`` at the training inputs.

    Minimises ``h(c) = Σ_k z0_k² (d_k/(c + d_k) - B_k)²`` over ``c ∈ [0, ∞]``: a grid of
    ``n_grid`` values of ``log c`` spanning ``[d_min e^{-12}, d_max e^{12}]`` (beyond which
    ``A(c)`` is within ``e^{-12}`` of its limits 1 and 0), the two limits themselves, then
    bounded Brent on ``log c`` between the best grid point's neighbours. ``h`` need not be
    unimodal; the grid is what finds the basin.
    """
    K = d.shape[0]
    check_int("n_grid", n_grid, 10, 10**6)
    _check_diag("z0", z0, K)
    _check_filter(B, K)
    dd = d.detach().cpu().numpy().astype(np.float64)
    w = z0.detach().cpu().numpy().astype(np.float64) ** 2
    b = B.detach().cpu().numpy().astype(np.float64)
    size = math.sqrt(float(np.sum(w * b**2)))

    def h(log_c: float) -> float:
        c = math.exp(log_c)
        return float(np.sum(w * (dd / (c + dd) - b) ** 2))

    logs = np.linspace(math.log(dd.min()) - 12, math.log(dd.max()) + 12, n_grid)
    values = np.array([h(u) for u in logs])
    i = int(np.argmin(values))
    lo, hi = logs[max(i - 1, 0)], logs[min(i + 1, n_grid - 1)]
    res = minimize_scalar(h, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    candidates = [(float(res.fun), math.exp(float(res.x))), (float(values[i]), math.exp(logs[i])),
                  (float(np.sum(w * (1 - b) ** 2)), 0.0), (float(np.sum(w * b**2)), math.inf)]
    best_h, best_c = min(candidates)
    distance = math.sqrt(best_h)
    return BestSingleFit(c=best_c, distance=distance,
                         relative=distance / size if size > 0 else math.inf)


def matched_single_fit(basis: Eigenbasis, z0: torch.Tensor, B: torch.Tensor) -> BestSingleFit:
    """The single fit with the same training error against ``y0`` as the filter ``B``.

    ``ε' = (1/K) Σ_k z0_k² (1 - B_k)²`` is the training error of ``f_t`` against the original
    labels; one fit with budget ``ε'`` ("a larger ε") has the constant ``c'`` from the c-equation.
    """
    K = basis.d.shape[0]
    _check_diag("z0", z0, K)
    _check_filter(B, K)
    eps_matched = float((z0 * (1 - B)).square().sum()) / K
    c = solve_c(basis, z0, eps_matched) if eps_matched > 0 else 0.0
    distance = filter_distance(basis.d, z0, B, c)
    size = float((B * z0).square().sum().sqrt())
    return BestSingleFit(c=c, distance=distance,
                         relative=distance / size if size > 0 else math.inf)


@dataclass(frozen=True)
class EquivalentKernel:
    """The kernel ``g†_t`` for which ``f_t`` is plain kernel ridge regression on ``y0``.

    With ``M = B (I - B)⁻¹`` (diagonal, ``B`` in ``[0, 1)``):

    * Gram (paper's ``1/K`` convention): ``G† = Vᵀ M V``, :attr:`gram`, shape ``(K, K)``;
    * cross-kernel: ``g†_x = g_x Vᵀ D⁻¹ M V`` with ``g_x[k] = g(x, x_k)/K``, :meth:`cross`;
    * the kernel itself: ``g†(x, x') = K g_x Vᵀ D⁻¹ M D⁻¹ V g_{x'}ᵀ``, :meth:`value`;
    * ridge regression with constant 1: ``f_t(x) = g†_x (I + G†)⁻¹ y0``, since
      ``M (I + M)⁻¹ = B``; :meth:`predict` evaluates it in the eigenbasis, ``g_x Vᵀ D⁻¹ B z0``;
    * ``‖f_t‖²_{H†} = (1/K) Σ_k B_k (1 - B_k) z0_k²``, :meth:`norm_sq`;
    * ``tr G† = Σ_k B_k / (1 - B_k)``, :attr:`trace`; the standard bound on the empirical
      Rademacher complexity of ``{f : ‖f‖_{H†} ≤ ρ}`` is ``ρ (tr G† / K)^{1/2}``,
      :meth:`rademacher_bound` (a textbook bound for kernel classes, Bartlett and Mendelson 2002;
      the paper's exact theorem is not confirmed).
    """

    basis: Eigenbasis
    B: torch.Tensor

    def __post_init__(self) -> None:
        _check_filter(self.B, self.basis.d.shape[0], strict=True)

    @property
    def K(self) -> int:
        return self.basis.d.shape[0]

    @property
    def m(self) -> torch.Tensor:
        """``B / (1 - B)``, the eigenvalues of ``G†``, shape ``(K,)``."""
        return self.B / (1 - self.B)

    @property
    def gram(self) -> torch.Tensor:
        """``G† = Vᵀ diag(m) V``, shape ``(K, K)``."""
        V = self.basis.V
        return V.T @ (self.m[:, None] * V)

    @property
    def trace(self) -> float:
        """``tr G† = Σ_k B_k / (1 - B_k)``."""
        return float(self.m.sum())

    def _check_g(self, name: str, g: torch.Tensor) -> torch.Tensor:
        check_ndim(name, g, (2,))
        if g.shape[1] != self.K:
            raise ValueError(f"{name} has shape {tuple(g.shape)}; expected (n, {self.K}): "
                             "g(x, x_k)/K for new inputs x against the K training inputs")
        return check_finite(name, g)

    def cross(self, g_new: torch.Tensor) -> torch.Tensor:
        """``g†_x[k] = g†(x, x_k)/K`` for rows ``g_new = g(x, x_k)/K``; shape ``(n, K)``."""
        self._check_g("g_new", g_new)
        V, d = self.basis.V, self.basis.d
        return (g_new @ V.T) * (self.m / d) @ V

    def value(self, g_a: torch.Tensor, g_b: torch.Tensor) -> torch.Tensor:
        """``g†(a_i, b_j)`` for rows ``g_a = g(a, x_k)/K``, ``g_b = g(b, x_k)/K``; ``(n, m)``."""
        self._check_g("g_a", g_a)
        self._check_g("g_b", g_b)
        V, d = self.basis.V, self.basis.d
        return self.K * ((g_a @ V.T) * (self.m / d**2)) @ (g_b @ V.T).T

    def predict(self, g_new: torch.Tensor, z0: torch.Tensor) -> torch.Tensor:
        """``f_t(x) = g_x Vᵀ D⁻¹ B z0`` in the eigenbasis, shape ``(n,)``."""
        self._check_g("g_new", g_new)
        _check_diag("z0", z0, self.K)
        return g_new @ (self.basis.V.T @ (self.B / self.basis.d * z0))

    def norm_sq(self, z0: torch.Tensor) -> float:
        """``‖f_t‖²_{H†} = (1/K) Σ_k B_k (1 - B_k) z0_k²``."""
        _check_diag("z0", z0, self.K)
        return float((self.B * (1 - self.B) * z0.square()).sum()) / self.K

    def rademacher_bound(self, radius: float) -> float:
        """``ρ (tr G† / K)^{1/2}``: bound on the empirical Rademacher complexity of the ball
        ``‖f‖_{H†} ≤ ρ`` at the training inputs (Jensen on the exact value, see
        :func:`empirical_rademacher`)."""
        check_in_range("radius", radius, 0.0, math.inf, upper_open=True)
        return radius * math.sqrt(self.trace / self.K)


def empirical_rademacher(kernel_matrix: torch.Tensor, radius: float, n_samples: int = 0,
                         generator: torch.Generator | None = None) -> tuple[float, float]:
    """Empirical Rademacher complexity of ``{f : ‖f‖_H ≤ ρ}`` at ``K`` points.

    ``R = E_σ sup_f (1/K) Σ_k σ_k f(x_k) = (ρ/K) E_σ (σᵀ 𝒦 σ)^{1/2}`` with ``𝒦[j, k] = g(x_j, x_k)``
    (no ``1/K``; the sup is Cauchy–Schwarz in ``H``). ``n_samples = 0`` enumerates all ``2^K``
    sign vectors (``K ≤ 20``) and returns ``(R, 0)``; otherwise Monte Carlo with ``n_samples``
    sign vectors from ``generator``, returning ``(estimate, standard error)``.
    """
    check_ndim("kernel_matrix", kernel_matrix, (2,))
    check_finite("kernel_matrix", kernel_matrix)
    K = kernel_matrix.shape[0]
    check_in_range("radius", radius, 0.0, math.inf, upper_open=True)
    check_int("n_samples", n_samples, 0, 10**7)
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


def dense_round_filter(G: torch.Tensor, cs: list[float]) -> torch.Tensor:
    """The matrix ``P_t = Π_{i=0}^{t} G (c_i I + G)⁻¹`` by dense solves, shape ``(K, K)``.

    Independent of any eigendecomposition: ``P_t y0`` are round ``t``'s predictions at the
    training inputs, and ``diag(V P_t Vᵀ)`` is ``B_t``. Infinite ``c_i`` (collapse) give zero.
    """
    check_ndim("G", G, (2,))
    check_finite("G", G)
    K = G.shape[0]
    eye = torch.eye(K, dtype=G.dtype, device=G.device)
    P = eye.clone()
    for i, c in enumerate(cs):
        c = check_in_range(f"cs[{i}]", c, 0.0, math.inf, lower_open=True)
        if math.isinf(c):
            return torch.zeros_like(G)
        P = G @ torch.linalg.solve(c * eye + G, P)  # G and (cI + G)⁻¹ commute
    return P


def dense_equivalent(G: torch.Tensor, cs: list[float], g_new: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(G†, g†_x)`` by dense solves from the constants ``c_i`` alone.

    ``G† = P (I - P)⁻¹`` with ``P`` from :func:`dense_round_filter`, and ``g†_x = g_x G⁻¹ G†``
    (rows of ``g_new`` are ``g(x, x_k)/K``). No eigenbasis: the check route of
    :class:`EquivalentKernel`.
    """
    P = dense_round_filter(G, cs)
    eye = torch.eye(G.shape[0], dtype=G.dtype, device=G.device)
    G_dagger = torch.linalg.solve(eye - P, P)
    G_dagger = (G_dagger + G_dagger.T) / 2
    return G_dagger, g_new @ torch.linalg.solve(G, G_dagger)


def filter_diagonal(basis: Eigenbasis, P: torch.Tensor) -> torch.Tensor:
    """``diag(V P Vᵀ)``: the filter of a matrix ``P`` that commutes with ``G``, shape ``(K,)``.

    Reads ``B_t`` off :func:`dense_round_filter`; the off-diagonal part of ``V P Vᵀ`` is rounding.
    """
    check_ndim("P", P, (2,))
    K = basis.d.shape[0]
    if tuple(P.shape) != (K, K):
        raise ValueError(f"P has shape {tuple(P.shape)}; expected ({K}, {K})")
    return torch.diagonal(basis.V @ P @ basis.V.T).clone()


def filter_predict(basis: Eigenbasis, g_new: torch.Tensor, z0: torch.Tensor,
                   filt: torch.Tensor) -> torch.Tensor:
    """The function with filter ``filt`` at new inputs: ``g_x Vᵀ D⁻¹ diag(filt) z0``, ``(n,)``.

    ``filt = A(c)`` gives the single fit with constant ``c``; ``filt = B_t`` gives ``f_t``. Rows of
    ``g_new`` are ``g(x, x_k)/K``.
    """
    K = basis.d.shape[0]
    check_ndim("g_new", g_new, (2,))
    if g_new.shape[1] != K:
        raise ValueError(f"g_new has shape {tuple(g_new.shape)}; expected (n, {K})")
    _check_diag("z0", z0, K)
    _check_filter(filt, K)
    return g_new @ (basis.V.T @ (filt / basis.d * z0))


def dense_filters(G: torch.Tensor, cs: list[float], basis: Eigenbasis) -> torch.Tensor:
    """``B_t`` for ``t = 0 … len(cs) - 1`` by dense solves, shape ``(len(cs), K)``.

    Row ``t`` is :func:`filter_diagonal` of :func:`dense_round_filter` over ``cs[:t+1]``. Tiny
    entries carry an absolute rounding error of about ``K u`` times the largest entry.
    """
    rows = [filter_diagonal(basis, dense_round_filter(G, list(cs[: t + 1])))
            for t in range(len(cs))]
    return torch.stack(rows) if rows else G.new_zeros((0, G.shape[0]))


def dense_single_fits(G: torch.Tensor, y: torch.Tensor, cs: np.ndarray) -> torch.Tensor:
    """Training predictions ``G (c I + G)⁻¹ y`` of single fits, one per ``c``: ``(len(cs), K)``.

    Batched dense solves, no eigenbasis: the brute-force route to :func:`best_single_fit`.
    """
    check_ndim("G", G, (2,))
    check_ndim("y", y, (1,))
    c = torch.as_tensor(np.asarray(cs, dtype=np.float64), device=G.device)
    if not bool((c > 0).all() and torch.isfinite(c).all()):
        raise ValueError("cs must be positive and finite")
    K = G.shape[0]
    systems = c[:, None, None] * torch.eye(K, dtype=G.dtype, device=G.device) + G
    return (G @ torch.linalg.solve(systems, y.expand(len(c), K)[..., None]))[..., 0]
