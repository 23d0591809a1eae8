"""Regularised regression in a Hilbert space: the closed form of mobahi2020, Section 1.

Problem (E1): minimise ``R(f)`` subject to ``(1/K) Σ_k (f(x_k) - y_k)² ≤ ε``. With the Green's
function ``g`` of ``R`` and ``G[j, k] = g(x_j, x_k) / K``:

* collapse: if ``‖y‖² ≤ Kε`` the zero function is feasible and optimal, ``f* ≡ 0`` (``c = ∞``);
* otherwise (E2): ``f*(x) = g_xᵀ (cI + G)⁻¹ y`` with ``g_x[k] = g(x, x_k) / K``,
* where ``c > 0`` solves (E3): ``Σ_k (c z_k / (c + d_k))² = Kε``, ``G = Vᵀ diag(d) V``, ``z = V y``,
* and (E4): ``d_min / (r - 1) ≤ c ≤ d_max / (r - 1)`` with ``r = ‖y‖ / √(Kε)``.

Vector outputs ``Y ∈ ℝ^{K×C}`` share one ``c``, with ``‖y‖ → ‖Y‖_F``. Everything runs in float64 on
any device; the scalar root-find of (E3) runs on the CPU over ``K`` numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from .device import VERIFY_DTYPE, as_tensor, resolve_device
from .kernels import Kernel
from .validate import check_finite, check_ndim, check_positive, check_same_length

__all__ = ["Eigenbasis", "GreensFit", "c_bounds", "eigenbasis", "fit_greens", "gram", "solve_c"]


def gram(kernel: Kernel, x: torch.Tensor) -> torch.Tensor:
    """The paper's Gram matrix ``G[j, k] = g(x_j, x_k) / K``, shape ``(K, K)``."""
    return kernel(x, x) / x.shape[0]


@dataclass(frozen=True)
class Eigenbasis:
    """Eigenpairs of ``G = Vᵀ diag(d) V``: ``d`` ascending, eigenvectors as rows of ``V``."""

    d: torch.Tensor
    V: torch.Tensor

    @property
    def condition(self) -> float:
        """``κ = d_max / d_min``."""
        return float(self.d[-1] / self.d[0])

    def coords(self, y: torch.Tensor) -> torch.Tensor:
        """``z = V y``, the targets in the eigenbasis."""
        return self.V @ y


def eigenbasis(G: torch.Tensor) -> Eigenbasis:
    """Eigendecompose a symmetric positive definite Gram matrix.

    Raises ``ValueError`` if ``G`` is not square, not symmetric, or not numerically positive
    definite (smallest eigenvalue ``≤ K · u · d_max`` with ``u`` the unit roundoff).
    """
    check_ndim("G", G, (2,))
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"G has shape {tuple(G.shape)}; a Gram matrix must be square")
    check_finite("G", G)
    asym = float((G - G.T).abs().max())
    scale = float(G.abs().max())
    if asym > 1e-12 * max(scale, 1e-300):
        raise ValueError(f"G is not symmetric: max |G - Gᵀ| = {asym:.3e} (scale {scale:.3e})")
    d, vectors = torch.linalg.eigh(G.to(VERIFY_DTYPE))
    d_min, d_max = float(d[0]), float(d[-1])
    floor = G.shape[0] * torch.finfo(VERIFY_DTYPE).eps * max(abs(d_max), 1e-300)
    if d_min <= floor:
        raise ValueError(
            f"G is not positive definite: smallest eigenvalue {d_min:.3e} ≤ {floor:.3e} "
            f"(largest {d_max:.3e}); repeated inputs, or a kernel too wide for their spacing?"
        )
    return Eigenbasis(d=d, V=vectors.T.contiguous())


def c_bounds(d: torch.Tensor, y_norm: float, K: int, eps: float, *,
             y_sq_norm: float | None = None) -> tuple[float, float]:
    """Bounds (E4) on ``c``: ``(d_min / (r - 1), d_max / (r - 1))``, ``r = ‖y‖ / √(Kε)``.

    Requires a non-collapsed problem, ``‖y‖² > Kε``. Pass ``y_sq_norm = ‖y‖²`` where it is at
    hand: ``r - 1 = (‖y‖² - Kε) / (Kε (r + 1))`` is then free of cancellation, even one rounding
    step above the collapse threshold, where ``r`` itself rounds to 1.
    """
    target = K * eps
    if y_sq_norm is None:
        r_minus_1 = y_norm / math.sqrt(target) - 1
    else:
        total = float(y_sq_norm)
        r_minus_1 = (total - target) / (target * (math.sqrt(total / target) + 1))
    if r_minus_1 <= 0:
        raise ValueError(f"‖y‖ / √(Kε) - 1 = {r_minus_1:.3g} ≤ 0: the problem collapses, "
                         "c is infinite")
    return float(d.min()) / r_minus_1, float(d.max()) / r_minus_1


def solve_c(basis: Eigenbasis, z: torch.Tensor, eps: float, y_sq_norm: float | None = None
            ) -> float:
    """Solve (E3) for ``c``; ``math.inf`` when the problem collapses (``‖y‖² ≤ Kε``).

    ``y_sq_norm`` is ``‖y‖²`` computed from the targets themselves (default ``‖z‖²``, equal up to
    rounding): the collapse threshold is then exactly the one a reader computes from ``y``. The
    left side of (E3) increases strictly in ``c``, and the bounds (E4) bracket the root, so
    Brent's method on that bracket converges to full float64 precision.
    """
    check_positive("eps", eps)
    d = basis.d.detach().cpu().numpy().astype(np.float64)
    zz = z.detach().cpu().numpy().astype(np.float64)
    s = zz**2 if zz.ndim == 1 else (zz**2).sum(axis=1)
    K = d.shape[0]
    target = K * eps
    total = float(s.sum()) if y_sq_norm is None else float(y_sq_norm)
    if total <= target:
        return math.inf
    lo, hi = c_bounds(torch.from_numpy(d), math.sqrt(total), K, eps, y_sq_norm=total)

    def excess(c: float) -> float:
        return float(np.sum(s * (c / (c + d)) ** 2)) - target

    if hi - lo <= 4 * np.finfo(float).eps * hi or excess(lo) >= 0:
        return lo
    if excess(hi) <= 0:
        return hi
    return float(
        brentq(excess, lo, hi, xtol=np.finfo(float).tiny, rtol=4 * np.finfo(float).eps, maxiter=500)
    )


@dataclass(frozen=True)
class GreensFit:
    """The solution of (E1): ``f(x) = g_xᵀ α``, ``α = (cI + G)⁻¹ y`` (``α = 0`` when collapsed)."""

    kernel: Kernel
    x: torch.Tensor
    y: torch.Tensor
    eps: float
    c: float
    alpha: torch.Tensor
    basis: Eigenbasis

    @property
    def K(self) -> int:
        return self.x.shape[0]

    @property
    def collapsed(self) -> bool:
        """True when ``‖y‖² ≤ Kε`` and the solution is the zero function."""
        return math.isinf(self.c)

    def __call__(self, x_new: torch.Tensor) -> torch.Tensor:
        """Evaluate ``f`` at new inputs, shape ``(n,)`` or ``(n, C)``."""
        x_new = as_tensor("x_new", x_new, self.x.device)
        return (self.kernel(x_new, self.x) / self.K) @ self.alpha

    def train_predictions(self) -> torch.Tensor:
        """``f(x_k)`` for the training inputs: ``G α``."""
        return gram(self.kernel, self.x) @ self.alpha

    def training_error(self) -> float:
        """``(1/K) Σ_k ‖f(x_k) - y_k‖²``, which equals ``ε`` unless the problem collapsed."""
        return float((self.train_predictions() - self.y).square().sum() / self.K)


def fit_greens(
    kernel: Kernel,
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    eps: float,
    device: str | torch.device = "auto",
) -> GreensFit:
    """Solve (E1) in closed form (E2), with ``c`` from (E3).

    Parameters
    ----------
    kernel : the Green's function ``g`` of the regulariser.
    x : training inputs, shape ``(K,)`` or ``(K, d)``.
    y : targets, shape ``(K,)`` or ``(K, C)`` (vector outputs share one ``c``).
    eps : training-error budget ``ε > 0``.
    device : ``"auto"``, ``"cpu"``, ``"cuda"``; all maths in float64.
    """
    eps = check_positive("eps", eps)
    dev = resolve_device(device)
    x_t = as_tensor("x", x, dev)
    y_t = as_tensor("y", y, dev)
    check_ndim("x", x_t, (1, 2))
    check_ndim("y", y_t, (1, 2))
    check_finite("x", x_t)
    check_finite("y", y_t)
    check_same_length("x", x_t, "y", y_t)
    if x_t.shape[0] < 1:
        raise ValueError("x has no rows; at least one training point is needed")
    basis = eigenbasis(gram(kernel, x_t))
    z = basis.coords(y_t)
    c = solve_c(basis, z, eps, y_sq_norm=float(y_t.square().sum()))
    if math.isinf(c):
        alpha = torch.zeros_like(y_t)
    else:
        scale = 1 / (c + basis.d)
        alpha = basis.V.T @ (scale[:, None] * z if z.ndim == 2 else scale * z)
        check_finite("alpha (the solve's result)", alpha)
    return GreensFit(kernel=kernel, x=x_t, y=y_t, eps=eps, c=c, alpha=alpha, basis=basis)
