"""The fit of mobahi2020's constrained problem (Section 1; chapter ``greens-function``).

:func:`fit_greens` solves ``constrained-problem`` in the closed form ``closed-form``,
``f*(x) = g_xᵀ (cI + G)⁻¹ y``, with ``c`` from ``c-equation`` on the eigenbasis of ``G``
(:mod:`~selfdistill.mobahi2020.hilbert`, which holds the Gram matrix, the eigenbasis, the
collapse test and the root-find). Everything runs in float64 on any device.

Accuracy: :func:`fit_greens` estimates the rounding error of ``c`` and of the training error from
the eigenvalues (:meth:`GreensFit.error_estimates`), warns with :class:`IllConditionedWarning`
when either exceeds :data:`WARN_RELATIVE_ERROR`, and refuses (``ValueError``) a budget ``ε`` so
small that the training error cannot be resolved at all in float64.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from selfdistill.core.device import as_tensor, resolve_device
from selfdistill.core.validate import (
    Positive,
    check_finite,
    check_ndim,
    check_same_length,
    validate_params,
)
from selfdistill.mobahi2020.hilbert import Eigenbasis, eigenbasis, gram, solve_c, squared_norm
from selfdistill.mobahi2020.kernels import Kernel

__all__ = [
    "WARN_RELATIVE_ERROR", "GreensFit", "IllConditionedWarning", "fit_greens", "training_data",
]

#: unit roundoff of float64
_U = float(np.finfo(np.float64).eps) / 2

#: :func:`fit_greens` warns when its estimated relative error of ``c`` or of the training error
#: exceeds this (one part in a million)
WARN_RELATIVE_ERROR = 1e-6


class IllConditionedWarning(UserWarning):
    """The fit's estimated rounding error exceeds :data:`WARN_RELATIVE_ERROR`."""


@dataclass(frozen=True)
class GreensFit:
    """The solution of ``constrained-problem``: ``f(x) = g_xᵀ α``, ``α = (cI + G)⁻¹ y``.

    ``α = 0`` and ``c = inf`` when the problem collapses. Calling the fit evaluates ``f``
    (``closed-form``) at new inputs.

    Attributes
    ----------
    kernel : Kernel
        The Green's function ``g``.
    x : torch.Tensor, shape ``(K,)`` or ``(K, d)``
        Training inputs, float64 on the fit's device.
    y : torch.Tensor, shape ``(K,)`` or ``(K, C)``
        Targets, float64 on the fit's device.
    eps : float
        The budget ``ε``.
    c : float
        ``c`` of ``c-equation``; ``inf`` when collapsed.
    alpha : torch.Tensor
        ``α``, the shape of ``y``.
    basis : Eigenbasis
        The eigenbasis of ``G``.
    """

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

    def __call__(self, x_new: torch.Tensor | np.ndarray) -> torch.Tensor:
        """Evaluate ``f`` at new inputs.

        Parameters
        ----------
        x_new : torch.Tensor or array_like, shape ``(n,)`` or ``(n, d)``
            Converted to float64 on the fit's device.

        Returns
        -------
        torch.Tensor
            Shape ``(n,)`` or ``(n, C)``.
        """
        x_new = as_tensor("x_new", x_new, self.x.device)
        return (self.kernel(x_new, self.x) / self.K) @ self.alpha

    def train_predictions(self) -> torch.Tensor:
        """``f(x_k)`` for the training inputs: ``G α``."""
        return gram(self.kernel, self.x) @ self.alpha

    def training_error(self) -> float:
        """``(1/K) Σ_k ‖f(x_k) - y_k‖²``, which equals ``ε`` unless the problem collapsed.

        Computed from the residual ``f(x_k) - y_k``; its relative accuracy is
        ``error_estimates()["training_error"]`` (fit_greens warns when that is poor).
        """
        return float((self.train_predictions() - self.y).square().sum() / self.K)

    def error_estimates(self) -> dict[str, float]:
        """A priori relative rounding errors of ``c`` and of :meth:`training_error`.

        With ``u`` the unit roundoff, eigenvalues carry absolute errors of about ``K u d_max``;
        through ``c-equation`` that moves ``c`` by ``K u κ_w`` relative, with
        ``κ_w = d_max Σw / Σ(w d)``, ``w_k = s_k / (c + d_k)³`` (``≤ κ``), and near the collapse
        threshold the rounding of ``‖y‖²`` adds ``K u ε* / (ε* - ε)``. The computed ``f(x_k)``
        carries ``u (d_max / (c + d_min)) ‖y‖`` per point, against a residual of size ``√(Kε)``:
        a relative error ``K u + 2 √K u r d_max / (c + d_min)`` in the training error. Both are
        upper estimates: tests measure them 3 to 100 times above the error against 60-digit
        arithmetic. Zero for a collapsed fit (its zero is exact).
        """
        if self.collapsed:
            return {"c": 0.0, "training_error": 0.0}
        d = self.basis.d.detach().cpu().numpy()
        z = self.basis.coords(self.y).detach().cpu().numpy()
        s = z**2 if z.ndim == 1 else (z**2).sum(axis=1)
        K, c = self.K, self.c
        w = s / (c + d) ** 3
        kappa_w = d[-1] * w.sum() / max((w * d).sum(), np.finfo(float).tiny)
        total = squared_norm(self.y)
        near = total / max(total - K * self.eps, np.finfo(float).tiny)
        r = math.sqrt(total / (K * self.eps))
        return {"c": K * _U * (kappa_w + near),
                "training_error": K * _U + 2 * math.sqrt(K) * _U * r * d[-1] / (c + d[0])}


def training_data(kernel: Kernel, x: Any, y: Any, device: str | torch.device = "auto"
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Check a kernel and training data the way every fit does.

    Parameters
    ----------
    kernel : Kernel
    x : torch.Tensor or array_like, shape ``(K,)`` or ``(K, d)``, ``K ≥ 1``
        Real and finite; converted to float64.
    y : torch.Tensor or array_like, shape ``(K,)`` or ``(K, C)``, ``C ≥ 1``
        Real and finite; converted to float64.
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    tuple of torch.Tensor
        ``x`` and ``y`` as float64 tensors on the resolved device.

    Raises
    ------
    ValueError
        ``kernel`` not a :class:`~selfdistill.mobahi2020.kernels.Kernel`, an unknown device,
        complex or non-finite data, wrong numbers of dimensions, rows that differ, or no rows or
        columns, naming the argument.
    """
    if not isinstance(kernel, Kernel):
        raise ValueError(f"kernel = {kernel!r} is not a selfdistill.mobahi2020.kernels.Kernel")
    dev = resolve_device(device)
    x_t, y_t = as_tensor("x", x, dev), as_tensor("y", y, dev)
    check_ndim("x", x_t, (1, 2))
    check_ndim("y", y_t, (1, 2))
    check_finite("x", x_t)
    check_finite("y", y_t)
    check_same_length("x", x_t, "y", y_t)
    if x_t.shape[0] < 1:
        raise ValueError("x has no rows; at least one training point is needed")
    for name, t in (("x", x_t), ("y", y_t)):
        if t.ndim == 2 and t.shape[1] == 0:
            raise ValueError(f"{name} has shape {tuple(t.shape)} with no columns; accepted: "
                             f"(K,) or (K, n) with n ≥ 1")
    return x_t, y_t


@validate_params(eps=Positive())
def fit_greens(
    kernel: Kernel,
    x: torch.Tensor | np.ndarray,
    y: torch.Tensor | np.ndarray,
    eps: float,
    device: str | torch.device = "auto",
) -> GreensFit:
    """Solve ``constrained-problem`` in the closed form ``closed-form``, ``c`` from ``c-equation``.

    mobahi2020, Section 1 (equations as labelled in the book's chapter ``greens-function``).

    Parameters
    ----------
    kernel : Kernel
        The Green's function ``g`` of the regulariser.
    x : tensor or array, shape ``(K,)`` or ``(K, d)``, ``K ≥ 1``
        Training inputs, finite, real (float32, integer or NumPy input is converted to float64;
        complex input is refused).
    y : tensor or array, shape ``(K,)`` or ``(K, C)``
        Targets, finite, real, converted like ``x``; vector outputs share one ``c``.
    eps : float
        Training-error budget, ``ε > 0`` finite. ``ε ≥ ‖y‖²/K`` gives the zero function.
    device : ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``
        Where the maths runs, all in float64.

    Returns
    -------
    GreensFit
        ``c`` (``inf`` if collapsed), ``α`` with the shape of ``y``, the eigenbasis of ``G``,
        and the data as float64 tensors on ``device``; callable on new inputs.

    Raises
    ------
    ValueError
        Naming the argument: bad shapes or lengths, non-finite or complex values, ``ε ≤ 0``, a
        numerically singular ``G`` (``κ ≥ 1/(K u)``, see :func:`eigenbasis`), or an ``ε`` below
        what float64 resolves: when the estimated relative error of the training error
        (:meth:`GreensFit.error_estimates`) is 1 or more, i.e. roughly
        ``ε < 4 u² (d_max / d_min)² ‖y‖²``, the fit could not honour the budget and is refused.

    Warns
    -----
    IllConditionedWarning
        When the estimated relative error of ``c`` or of the training error exceeds
        :data:`WARN_RELATIVE_ERROR` (large ``κ``, tiny ``ε``, or ``ε`` within about ``K u 10⁶``
        relative of the collapse threshold); the fit is still returned.
    """
    x_t, y_t = training_data(kernel, x, y, device)
    basis = eigenbasis(gram(kernel, x_t))
    z = basis.coords(y_t)
    c = solve_c(basis, z, eps, y_sq_norm=squared_norm(y_t))
    if math.isinf(c):
        alpha = torch.zeros_like(y_t)
    else:
        scale = 1 / (c + basis.d)
        alpha = basis.V.T @ (scale[:, None] * z if z.ndim == 2 else scale * z)
        check_finite("alpha (the solve's result)", alpha)
    fit = GreensFit(kernel=kernel, x=x_t, y=y_t, eps=eps, c=c, alpha=alpha, basis=basis)
    errors = fit.error_estimates()
    if errors["training_error"] >= 1:
        floor = 4 * _U**2 * basis.condition**2 * squared_norm(y_t)
        raise ValueError(
            f"eps = {eps!r} is below what float64 resolves for these data: the rounding error of "
            f"f(x_k) exceeds √(Kε) (estimated relative error of the training error "
            f"{errors['training_error']:.1e}); accepted: eps ≥ about 4 u² κ² ‖y‖² = {floor:.1e}"
        )
    worst = max(errors.values())
    if worst > WARN_RELATIVE_ERROR:
        warnings.warn(
            f"fit_greens: estimated relative error of c {errors['c']:.1e}, of the training error "
            f"{errors['training_error']:.1e} (κ = {basis.condition:.2e}, ε = {eps:.3e}, "
            f"‖y‖²/K = {squared_norm(y_t) / x_t.shape[0]:.6e})",
            IllConditionedWarning, stacklevel=2)
    return fit
