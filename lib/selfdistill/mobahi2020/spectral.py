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
* The independent routes for checks live in :mod:`~selfdistill.mobahi2020.oracles`:
  ``dense_round_filter`` and ``dense_equivalent`` build the same matrices by dense solves from the
  constants ``c_i`` alone, never using the eigenbasis; ``empirical_rademacher`` computes the kernel
  class's empirical Rademacher complexity by enumerating sign vectors (or Monte Carlo).

All maths in float64 on the tensors' device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from selfdistill.core.validate import (
    Integer,
    Positive,
    Real,
    Tensor,
    check_finite,
    check_in_range,
    check_ndim,
    validate_params,
)
from selfdistill.mobahi2020.hilbert import Eigenbasis, solve_c

__all__ = [
    "BestSingleFit",
    "EquivalentKernel",
    "best_single_fit",
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


@validate_params(d=Tensor((1,)), c=Real(0.0, math.inf))
def single_fit_filter(d: torch.Tensor, c: float) -> torch.Tensor:
    """The spectral filter of one fit, ``A(c) = d / (c + d)``.

    Parameters
    ----------
    d : torch.Tensor, shape ``(K,)``
        Eigenvalues, finite; the result has their dtype and device.
    c : float
        In ``[0, inf]``: ``c = inf`` (a collapsed fit) gives zeros, ``c = 0`` (interpolation)
        ones.

    Returns
    -------
    torch.Tensor
        Shape ``(K,)``.

    Raises
    ------
    ValueError
        ``d`` not a finite 1-D real tensor, or ``c`` outside ``[0, inf]``.

    Examples
    --------
    >>> import torch
    >>> single_fit_filter(torch.tensor([1.0, 3.0]), 1.0)
    tensor([0.5000, 0.7500])
    """
    if math.isinf(c):
        return torch.zeros_like(d)
    return d / (c + d)


@validate_params(d_k=Positive(), d_j=Positive())
def pair_ratio(d_k: float, d_j: float, c: float | np.ndarray) -> float | np.ndarray:
    """``φ(c) = (d_k/d_j)(c + d_j)/(c + d_k)``: the ratio ``A_k(c)/A_j(c)`` of one fit.

    For ``0 < d_k < d_j`` it decreases strictly in ``c``, from 1 at ``c = 0`` toward ``d_k/d_j``
    as ``c → ∞``, and exceeds ``d_k/d_j`` at every finite ``c`` (mobahi2020 §4).

    Parameters
    ----------
    d_k, d_j : float
        Eigenvalues, ``0 < d_k < d_j < inf`` (each declared in ``(0, inf)``, the order checked in
        the body).
    c : float or array_like
        Constants in ``[0, inf)`` (vectorised).

    Returns
    -------
    float or numpy.ndarray
        ``φ(c)``, a float for a scalar ``c``, else an array of ``c``'s shape.

    Raises
    ------
    ValueError
        ``d_k`` outside ``(0, inf)``, ``d_j`` outside ``(d_k, inf)``, or a ``c`` negative or not
        finite.

    Examples
    --------
    >>> pair_ratio(1.0, 2.0, 0.0), pair_ratio(1.0, 2.0, 2.0)
    (1.0, 0.6666666666666666)
    """
    check_in_range("d_j", d_j, d_k, math.inf, lower_open=True, upper_open=True)
    c_arr = np.asarray(c, dtype=np.float64)
    if not (np.isfinite(c_arr).all() and (c_arr >= 0).all()):
        raise ValueError(f"c = {c!r} has negative or non-finite entries; accepted: [0, inf) "
                         "(a collapsed fit, c = inf, has no ratio)")
    ratio = (d_k / d_j) * (c_arr + d_j) / (c_arr + d_k)
    return float(ratio) if ratio.ndim == 0 else ratio


@validate_params(d_k=Positive(), d_j=Positive(), c0=Positive())
def rounds_below_ratio(d_k: float, d_j: float, c0: float) -> int:
    """The first round ``t`` at which ``φ(c0)^{t+1} < d_k/d_j`` (``thm-bt-ratio``).

    Because ``c_i ≥ c0`` and ``φ`` decreases, ``B_t[k]/B_t[j] = Π_{i≤t} φ(c_i) ≤ φ(c0)^{t+1}``: from
    this round on (if the rounds have not collapsed) the self-distilled ratio is below ``d_k/d_j``,
    which no single fit reaches. Round 0 is a single fit, so the answer is at least 1.

    Parameters
    ----------
    d_k, d_j : float
        As in :func:`pair_ratio`.
    c0 : float
        The constant of round 0, in ``(0, inf)``.

    Returns
    -------
    int
        ``≥ 1``.

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.
    """
    phi0 = pair_ratio(d_k, d_j, c0)
    # φ0^{t+1} < d_k/d_j  ⇔  t + 1 > log(d_k/d_j) / log φ0  (both logs negative)
    need = math.log(d_k / d_j) / math.log(phi0)
    return max(1, math.floor(need))


@validate_params(c=Real(0.0, math.inf))
def filter_distance(d: torch.Tensor, z0: torch.Tensor, B: torch.Tensor, c: float) -> float:
    """``‖Vᵀ (A(c) - B) z0‖ = (Σ_k z0_k² (A_k(c) - B_k)²)^{1/2}``.

    The ℓ2 distance at the training inputs between the single fit with constant ``c`` and the
    predictions ``Vᵀ B z0`` (equal to the label-energy-weighted distance between the filters).

    Parameters
    ----------
    d : torch.Tensor, shape ``(K,)``
        Eigenvalues.
    z0 : torch.Tensor, shape ``(K,)``
        Targets in the eigenbasis, ``d``'s dtype and device.
    B : torch.Tensor, shape ``(K,)``
        A filter diagonal, entries in ``[0, 1]``.
    c : float
        In ``[0, inf]``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A wrong shape, non-finite entries, ``B`` outside ``[0, 1]`` or ``c`` outside ``[0, inf]``.
    """
    K = d.shape[0]
    _check_diag("z0", z0, K)
    _check_filter(B, K)
    return float(((single_fit_filter(d, c) - B) * z0).square().sum().sqrt())


@dataclass(frozen=True)
class BestSingleFit:
    """A single fit compared with a self-distilled filter.

    Attributes
    ----------
    c : float
        Its constant, in ``[0, inf]``.
    distance : float
        :func:`filter_distance` at ``c``.
    relative : float
        That distance over ``‖Vᵀ B z0‖``, the size of the self-distilled predictions (``c = inf``,
        the zero function, has relative distance 1).
    """

    c: float
    distance: float
    relative: float


@validate_params(d=Tensor((1,)), n_grid=Integer(10, 10**6))
def best_single_fit(d: torch.Tensor, z0: torch.Tensor, B: torch.Tensor, n_grid: int = 400
                    ) -> BestSingleFit:
    """The single fit closest to the filter ``B`` at the training inputs.

    Minimises ``h(c) = Σ_k z0_k² (d_k/(c + d_k) - B_k)²`` over ``c ∈ [0, ∞]``: a grid of
    ``n_grid`` values of ``log c`` spanning ``[d_min e^{-12}, d_max e^{12}]`` (beyond which
    ``A(c)`` is within ``e^{-12}`` of its limits 1 and 0), the two limits themselves, then
    bounded Brent on ``log c`` between the best grid point's neighbours. ``h`` need not be
    unimodal; the grid is what finds the basin.

    Parameters
    ----------
    d, z0, B
        As in :func:`filter_distance` (``d`` positive).
    n_grid : int
        Grid points, in ``[10, 1e6]``.

    Returns
    -------
    BestSingleFit

    Raises
    ------
    ValueError
        As in :func:`filter_distance`, or ``n_grid`` outside its range.

    Examples
    --------
    >>> import torch
    >>> d = torch.tensor([1.0, 3.0], dtype=torch.float64)
    >>> z0 = torch.tensor([1.0, 1.0], dtype=torch.float64)
    >>> fit = best_single_fit(d, z0, single_fit_filter(d, 2.0))  # B is a single fit itself
    >>> round(fit.c, 6), fit.distance < 1e-9
    (2.0, True)
    """
    K = d.shape[0]
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
    labels; one fit with budget ``ε'`` ("a larger ε") has the constant ``c'`` from ``c-equation``.

    Parameters
    ----------
    basis : Eigenbasis
        The eigenbasis of ``G``.
    z0, B
        As in :func:`filter_distance`, on the basis' device.

    Returns
    -------
    BestSingleFit

    Raises
    ------
    ValueError
        As in :func:`filter_distance`.
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

    Parameters
    ----------
    basis : Eigenbasis
        The eigenbasis of ``G``; every tensor here is float64 on its device.
    B : torch.Tensor, shape ``(K,)``
        The filter ``B_t``, entries in ``[0, 1)``.

    Raises
    ------
    ValueError
        ``B`` of the wrong shape, not finite, or outside ``[0, 1)``.
    """

    basis: Eigenbasis
    B: torch.Tensor

    def __post_init__(self) -> None:
        _check_filter(self.B, self.basis.d.shape[0], strict=True)

    @property
    def K(self) -> int:
        """Number of training points."""
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
        """``g†_x[k] = g†(x, x_k)/K`` for rows ``g_new = g(x, x_k)/K``, both of shape ``(n, K)``
        (a ``ValueError`` names a wrong shape or non-finite rows, here and below)."""
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
        :func:`~selfdistill.mobahi2020.oracles.empirical_rademacher`).

        Parameters
        ----------
        radius : float
            ``ρ`` in ``[0, inf)``, else ``ValueError``.

        Returns
        -------
        float
        """
        radius = check_in_range("radius", radius, 0.0, math.inf, upper_open=True)
        return radius * math.sqrt(self.trace / self.K)


def filter_diagonal(basis: Eigenbasis, P: torch.Tensor) -> torch.Tensor:
    """``diag(V P Vᵀ)``: the filter of a matrix ``P`` that commutes with ``G``, shape ``(K,)``.

    Reads ``B_t`` off :func:`~selfdistill.mobahi2020.oracles.dense_round_filter`; the off-diagonal
    part of ``V P Vᵀ`` is rounding.

    Parameters
    ----------
    basis : Eigenbasis
        ``K`` eigenvalues.
    P : torch.Tensor, shape ``(K, K)``
        On the basis' device and dtype.

    Returns
    -------
    torch.Tensor
        Shape ``(K,)``.

    Raises
    ------
    ValueError
        ``P`` not of shape ``(K, K)``.
    """
    K = basis.d.shape[0]
    if tuple(P.shape) != (K, K):
        raise ValueError(f"P has shape {tuple(P.shape)}; expected ({K}, {K})")
    return torch.diagonal(basis.V @ P @ basis.V.T).clone()


def filter_predict(basis: Eigenbasis, g_new: torch.Tensor, z0: torch.Tensor,
                   filt: torch.Tensor) -> torch.Tensor:
    """The function with filter ``filt`` at new inputs: ``g_x Vᵀ D⁻¹ diag(filt) z0``, ``(n,)``.

    ``filt = A(c)`` gives the single fit with constant ``c``; ``filt = B_t`` gives ``f_t``.

    Parameters
    ----------
    basis : Eigenbasis
        ``K`` eigenvalues; every tensor on its device, float64.
    g_new : torch.Tensor, shape ``(n, K)``
        Rows ``g(x, x_k)/K`` at new inputs.
    z0 : torch.Tensor, shape ``(K,)``
        Targets in the eigenbasis.
    filt : torch.Tensor, shape ``(K,)``
        A filter diagonal, entries in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``.

    Raises
    ------
    ValueError
        A wrong shape, non-finite entries, or ``filt`` outside ``[0, 1]``.
    """
    K = basis.d.shape[0]
    check_ndim("g_new", g_new, (2,))
    if g_new.shape[1] != K:
        raise ValueError(f"g_new has shape {tuple(g_new.shape)}; expected (n, {K})")
    _check_diag("z0", z0, K)
    _check_filter(filt, K)
    return g_new @ (basis.V.T @ (filt / basis.d * z0))
