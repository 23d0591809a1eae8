"""Regularised regression in a Hilbert space: the closed form of mobahi2020, Section 1.

The equation labels are the book's (chapter ``greens-function``). Problem
``constrained-problem``: minimise ``R(f)`` subject to ``(1/K) Σ_k (f(x_k) - y_k)² ≤ ε``. With the
Green's function ``g`` of ``R`` and ``G[j, k] = g(x_j, x_k) / K``:

* collapse: if ``‖y‖² ≤ Kε`` the zero function is feasible and optimal, ``f* ≡ 0`` (``c = ∞``);
  :func:`collapses` is the one place that decides it;
* otherwise ``closed-form``: ``f*(x) = g_xᵀ (cI + G)⁻¹ y`` with ``g_x[k] = g(x, x_k) / K``
  (:func:`~selfdistill.mobahi2020.greens_fit.fit_greens`),
* where ``c > 0`` solves ``c-equation``: ``Σ_k (c z_k / (c + d_k))² = Kε``, ``G = Vᵀ diag(d) V``,
  ``z = V y``,
* and ``c-bounds``: ``d_min / (r - 1) ≤ c ≤ d_max / (r - 1)`` with ``r = ‖y‖ / √(Kε)``.

Vector outputs ``Y ∈ ℝ^{K×C}`` share one ``c``, with ``‖y‖ → ‖Y‖_F``. Everything runs in float64 on
any device; the scalar root-find of ``c-equation`` runs on the CPU over ``K`` numbers.

This module holds the Gram matrix, its eigenbasis, the collapse test and the root-find of
``c-equation``; :mod:`~selfdistill.mobahi2020.greens_fit` builds the fit from them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from selfdistill.core.device import VERIFY_DTYPE, as_tensor
from selfdistill.core.eigensolver import checked_eigh
from selfdistill.core.validate import (
    Integer,
    Optional,
    Positive,
    Real,
    SymmetricMatrix,
    Tensor,
    check_finite,
    check_ndim,
    check_same_length,
    validate_params,
)
from selfdistill.mobahi2020.kernels import Kernel

__all__ = [
    "SQ_NORM_RTOL", "Eigenbasis", "c_bounds", "collapse_threshold", "collapses", "eigenbasis",
    "gram", "solve_c", "squared_norm",
]

#: ``‖y‖²`` and similar: a finite real number ``≥ 0``
_SQ_NORM = Real(0.0, math.inf, upper_open=True)

#: unit roundoff of float64
_U = float(np.finfo(np.float64).eps) / 2

#: :func:`solve_c` refuses a ``y_sq_norm`` further than this (relative) from ``‖z‖²``: ``z = V y``
#: keeps the norm to about ``K u`` (``V`` orthogonal to rounding), far below this
SQ_NORM_RTOL = 1e-8


def squared_norm(y: torch.Tensor | np.ndarray, name: str = "y") -> float:
    """``‖y‖²`` (Frobenius for ``(K, C)``): squares in float64, summed with ``math.fsum``.

    The sum is correctly rounded, so every route (CPU, CUDA, NumPy) gets the same number.

    Parameters
    ----------
    y : torch.Tensor or array_like, any shape
        Real, finite and non-empty; any dtype and device (read as float64 on the CPU). Its norm
        decides collapse (:func:`collapses`), so a NaN or an empty array must not reach that test.
    name : str
        The argument's name in error messages.

    Returns
    -------
    float
        ``Σ y_i²``, correctly rounded.

    Raises
    ------
    ValueError
        Naming ``name``: complex, non-numeric, empty or non-finite input.

    Examples
    --------
    >>> squared_norm([3.0, 4.0])
    25.0
    """
    if isinstance(y, torch.Tensor):
        if y.is_complex():
            raise ValueError(f"{name} is complex ({y.dtype}); accepted: real numbers only")
        values = y.detach().cpu().numpy()
    else:
        if np.iscomplexobj(y):
            raise ValueError(f"{name} is complex; accepted: real numbers only")
        try:
            values = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} = {str(y)[:60]!r} could not be read as a numeric array; "
                             "accepted: real, finite numbers") from None
    values = values.astype(np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"{name} has shape {tuple(np.shape(y))} with no entries; accepted: at "
                         "least one real, finite number")
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise ValueError(f"{name} has {bad} non-finite entries (NaN or inf); all must be finite")
    return math.fsum(values * values)


@validate_params(y_sq_norm=_SQ_NORM, K=Integer(1), eps=Positive())
def collapses(y_sq_norm: float, K: int, eps: float) -> bool:
    """True when ``‖y‖² ≤ Kε``: the zero function meets the budget and the fit collapses.

    The one home of the collapse test: :func:`solve_c`,
    :func:`~selfdistill.mobahi2020.greens_fit.fit_greens`,
    :func:`selfdistill.mobahi2020.rounds.self_distill`,
    :func:`selfdistill.mobahi2020.oracles.refit_rounds`,
    :func:`selfdistill.mobahi2020.fit_studies.eps_sweep` and
    :func:`selfdistill.mobahi2020.finite_difference.solve_discretised` all call it, with
    ``y_sq_norm`` from :func:`squared_norm`, so all of them decide alike even at ``ε`` one ulp from
    the threshold.

    Parameters
    ----------
    y_sq_norm : float
        ``‖y‖²`` in ``[0, inf)``, from :func:`squared_norm`.
    K : int
        Number of training points, ``≥ 1``.
    eps : float
        Budget ``ε`` in ``(0, inf)``.

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        A parameter outside its range, naming it.

    Examples
    --------
    >>> collapses(1.0, 10, 0.1), collapses(1.0, 10, 0.099)
    (True, False)
    """
    return y_sq_norm <= K * eps


def collapse_threshold(y: torch.Tensor | np.ndarray) -> float:
    """``ε* = ‖y‖² / K``: the fit is the zero function for ``ε ≥ ε*`` (up to one rounding).

    Parameters
    ----------
    y : torch.Tensor or array_like, shape ``(K,)`` or ``(K, C)``
        Real, finite, non-empty; any dtype and device.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        A wrong number of dimensions, or ``y`` refused by :func:`squared_norm`.

    Examples
    --------
    >>> collapse_threshold([1.0, -1.0, 2.0, 0.0])
    1.5
    """
    ndim = len(np.shape(y))
    if ndim not in (1, 2):
        raise ValueError(f"y has shape {tuple(np.shape(y))} ({ndim} dimensions); accepted "
                         "numbers of dimensions: [1, 2]")
    return squared_norm(y) / np.shape(y)[0]


def gram(kernel: Kernel, x: torch.Tensor) -> torch.Tensor:
    """The paper's Gram matrix ``G[j, k] = g(x_j, x_k) / K`` (the one place that applies ``1/K``).

    Parameters
    ----------
    kernel : Kernel
        The Green's function ``g``.
    x : torch.Tensor or array_like, shape ``(K,)`` or ``(K, d)``
        Inputs, under the kernels' input contract (:meth:`Kernel.__call__
        <selfdistill.mobahi2020.kernels.Kernel.__call__>`).

    Returns
    -------
    torch.Tensor
        Shape ``(K, K)``, symmetric, the dtype and device of ``kernel(x, x)``.

    Raises
    ------
    ValueError
        ``kernel`` not a :class:`~selfdistill.mobahi2020.kernels.Kernel`, or ``x`` refused by it.

    Examples
    --------
    >>> import torch
    >>> from selfdistill.mobahi2020.kernels import ExponentialKernel
    >>> gram(ExponentialKernel(1.0), [0.0, 1.0])
    tensor([[0.2500, 0.0920],
            [0.0920, 0.2500]], dtype=torch.float64)
    """
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel = {kernel!r} is not a selfdistill.mobahi2020.kernels.Kernel")
    values = kernel(x, x)
    return values / values.shape[0]


@dataclass(frozen=True)
class Eigenbasis:
    """Eigenpairs of ``G = Vᵀ diag(d) V``: ``d`` ascending, eigenvectors as rows of ``V``.

    Attributes
    ----------
    d : torch.Tensor, shape ``(K,)``
        Eigenvalues, ascending, positive, float64 on ``G``'s device.
    V : torch.Tensor, shape ``(K, K)``
        Eigenvectors as rows, float64 on the same device.
    """

    d: torch.Tensor
    V: torch.Tensor

    @property
    def condition(self) -> float:
        """``κ = d_max / d_min``."""
        return float(self.d[-1] / self.d[0])

    def coords(self, y: torch.Tensor) -> torch.Tensor:
        """``z = V y``, the targets in the eigenbasis.

        Parameters
        ----------
        y : torch.Tensor, shape ``(K,)`` or ``(K, C)``
            Float64 on the basis' device.

        Returns
        -------
        torch.Tensor
            The shape of ``y``.
        """
        return self.V @ y


@validate_params(G=SymmetricMatrix())
def eigenbasis(G: torch.Tensor) -> Eigenbasis:
    """Eigendecompose a symmetric positive definite Gram matrix, ``G = Vᵀ diag(d) V``.

    Parameters
    ----------
    G : torch.Tensor, shape ``(K, K)``, ``K ≥ 1``
        Real, finite, symmetric (:func:`~selfdistill.core.validate.check_symmetric`'s one
        tolerance) and positive definite; any floating dtype (decomposed in float64), any device.

    Returns
    -------
    Eigenbasis
        ``d`` ascending and ``V``, float64 on ``G``'s device.

    Raises
    ------
    ValueError
        If ``G`` is empty, not square, not symmetric, not finite, or not numerically positive
        definite: smallest eigenvalue ``d_min ≤ K · u · d_max`` with ``u`` the unit roundoff
        (float64: ``2⁻⁵³``), i.e. ``κ ≥ 1 / (K u)``.

    Notes
    -----
    The eigensolver is :func:`selfdistill.core.eigensolver.checked_eigh` (the fastest route
    measured on the device; ``SELFDISTILL_EIGH`` forces one).

    Why ``K u d_max``: ``eigh`` is backward stable, its eigenvalues are exact for ``G + E`` with
    ``‖E‖₂ ≤ p(K) u ‖G‖₂`` (``p(K)`` of order ``K`` for Householder tridiagonalisation), and
    forming ``G`` adds entry-wise relative errors of a few ``u``, ``‖ΔG‖₂ ≤ ‖ΔG‖_F ≲ √K u d_max``.
    By Weyl's inequality every eigenvalue may move by about ``K u d_max``, so an ``d_min`` at or
    below that has no correct digit, not even its sign.

    Examples
    --------
    >>> import torch
    >>> basis = eigenbasis(torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64))
    >>> basis.d
    tensor([1., 3.], dtype=torch.float64)
    >>> basis.condition
    3.0
    """
    if G.shape[0] == 0:
        raise ValueError("G has shape (0, 0); accepted: K × K with K ≥ 1 (one point or more)")
    # G passed SymmetricMatrix (real, finite, square, symmetric): the device's fastest route
    d, vectors = checked_eigh(G.to(VERIFY_DTYPE))
    d_min, d_max = float(d[0]), float(d[-1])
    floor = G.shape[0] * _U * max(abs(d_max), 1e-300)  # K u d_max, see the docstring
    if d_min <= floor:
        raise ValueError(
            f"G is not positive definite: smallest eigenvalue {d_min:.3e} ≤ {floor:.3e} "
            f"(largest {d_max:.3e}); repeated inputs, or a kernel too wide for their spacing?"
        )
    return Eigenbasis(d=d, V=vectors.T.contiguous())


@validate_params(y_norm=_SQ_NORM, K=Integer(1), eps=Positive(), y_sq_norm=Optional(_SQ_NORM))
def c_bounds(d: torch.Tensor, y_norm: float, K: int, eps: float, *,
             y_sq_norm: float | None = None) -> tuple[float, float]:
    """The bounds ``c-bounds`` on ``c``: ``(d_min / (r - 1), d_max / (r - 1))``.

    Parameters
    ----------
    d : torch.Tensor or array_like, shape ``(K,)``
        Eigenvalues of ``G``, all positive and finite (any order, dtype and device).
    y_norm : float
        ``‖y‖`` in ``[0, inf)``.
    K : int
        Number of training points, ``K = len(d) ≥ 1``.
    eps : float
        Training-error budget ``ε`` in ``(0, inf)``; ``r = ‖y‖ / √(Kε)``.
    y_sq_norm : float, optional
        ``‖y‖²`` in ``[0, inf)`` where at hand: ``r - 1 = (‖y‖² - Kε) / (Kε (r + 1))`` is then free
        of cancellation, even one rounding step above the collapse threshold, where ``r`` itself
        rounds to 1.

    Returns
    -------
    tuple of float
        ``(lower, upper)``.

    Raises
    ------
    ValueError
        A parameter outside its range, ``len(d) ≠ K``, a non-positive eigenvalue, or a problem
        that collapses (``‖y‖² ≤ Kε``, ``c`` infinite).

    Examples
    --------
    >>> c_bounds([1.0, 4.0], 3.0, 2, 0.5)
    (0.5, 2.0)
    """
    if not isinstance(d, torch.Tensor):
        d = as_tensor("d", d, torch.device("cpu"))
    check_ndim("d", d, (1,))
    check_finite("d", d)
    if d.shape[0] != K:
        raise ValueError(f"d has {d.shape[0]} eigenvalues but K = {K}; they must match")
    if bool((d <= 0).any()):
        raise ValueError(f"d has {int((d <= 0).sum())} non-positive eigenvalues; all must be > 0")
    target = K * eps
    if y_sq_norm is None:
        r_minus_1 = y_norm / math.sqrt(target) - 1
    else:
        total = y_sq_norm
        r_minus_1 = (total - target) / (target * (math.sqrt(total / target) + 1))
    if r_minus_1 <= 0:
        raise ValueError(f"‖y‖ / √(Kε) - 1 = {r_minus_1:.3g} ≤ 0: the problem collapses, "
                         "c is infinite")
    return float(d.min()) / r_minus_1, float(d.max()) / r_minus_1


@validate_params(z=Tensor((1, 2)), eps=Positive(), y_sq_norm=Optional(_SQ_NORM))
def solve_c(basis: Eigenbasis, z: torch.Tensor, eps: float, y_sq_norm: float | None = None
            ) -> float:
    """Solve ``c-equation`` for ``c``; ``math.inf`` when the problem collapses (``‖y‖² ≤ Kε``).

    The left side of ``c-equation`` increases strictly in ``c``, and ``c-bounds`` bracket the
    root, so Brent's method on that bracket converges to full float64 precision. Where the root
    lies on a bracket end (targets along the top or bottom eigenvector), that end is returned.

    Parameters
    ----------
    basis : Eigenbasis
        The eigenbasis of ``G`` (:func:`eigenbasis`), ``K`` eigenvalues.
    z : torch.Tensor, shape ``(K,)`` or ``(K, C)``
        The targets in the eigenbasis, ``V y``, real and finite, any device (the root-find runs
        on the CPU in float64).
    eps : float
        Training-error budget ``ε`` in ``(0, inf)``.
    y_sq_norm : float, optional
        ``‖y‖²`` in ``[0, inf)`` from the targets themselves (:func:`squared_norm`; default
        ``‖z‖²``, equal up to rounding): the collapse threshold is then exactly the one a reader
        computes.

    Returns
    -------
    float
        ``c > 0``, or ``math.inf`` when the problem collapses.

    Raises
    ------
    ValueError
        ``basis`` not an :class:`Eigenbasis`; ``z`` not a finite real tensor of ``K`` rows;
        ``eps`` or ``y_sq_norm`` outside its range; ``y_sq_norm`` further than
        :data:`SQ_NORM_RTOL` relative from ``‖z‖²``.

    Examples
    --------
    >>> import torch
    >>> basis = eigenbasis(torch.eye(2, dtype=torch.float64))
    >>> z = torch.tensor([3.0, 4.0], dtype=torch.float64)
    >>> solve_c(basis, z, 2.0)  # κ = 1: c (‖z‖ / √(Kε) - 1) = d, so c = 1/(2.5 - 1)
    0.6666666666666666
    >>> solve_c(basis, z, 12.5)
    inf
    """
    if not isinstance(basis, Eigenbasis):
        raise ValueError(f"basis must be an Eigenbasis (from eigenbasis(G)); got {type(basis)}")
    check_same_length("z", z, "basis.d", basis.d)
    d = basis.d.detach().cpu().numpy().astype(np.float64)
    zz = z.detach().cpu().numpy().astype(np.float64)
    s = zz**2 if zz.ndim == 1 else (zz**2).sum(axis=1)
    K = d.shape[0]
    target = K * eps
    z_sq_norm = math.fsum(s)
    if y_sq_norm is None:
        total = z_sq_norm
    else:
        total = y_sq_norm
        if abs(total - z_sq_norm) > SQ_NORM_RTOL * max(total, z_sq_norm):
            raise ValueError(
                f"y_sq_norm = {y_sq_norm!r} is not ‖y‖² of these targets: ‖z‖² = "
                f"{z_sq_norm:.6g}; accepted: within {SQ_NORM_RTOL:g} relative of ‖z‖² "
                "(squared_norm of the y with z = V y)")
    if collapses(total, K, eps):
        return math.inf
    lo, hi = c_bounds(torch.from_numpy(d), math.sqrt(total), K, eps, y_sq_norm=total)

    def excess(c: float) -> float:
        return float(np.sum(s * (c / (c + d)) ** 2)) - target

    if hi - lo <= 4 * np.finfo(float).eps * hi or excess(lo) >= 0:
        return lo  # κ = 1, or the root on the lower end (targets along the bottom eigenvector)
    if excess(hi) <= 0:
        return hi  # the root on the upper end (targets along the top eigenvector)
    return float(
        brentq(excess, lo, hi, xtol=np.finfo(float).tiny, rtol=4 * np.finfo(float).eps, maxiter=500)
    )
