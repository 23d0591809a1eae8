"""Independent routes of mobahi2020's fit: each recomputes what a solver computes by a different
algorithm, sharing no code with it, so that agreement is evidence.

:data:`CHECKS` declares, for each oracle here, the library functions it is an independent route
for; a common test checks that no oracle calls them, directly or through this module. The other
independent routes of the package live beside what they check: the discretised solve
(:mod:`~selfdistill.mobahi2020.finite_difference`) for ``closed-form``, the dense refit
(:func:`~selfdistill.mobahi2020.rounds.refit_rounds`) for the spectral rounds, and the dense filters
(``dense_*`` in :mod:`~selfdistill.mobahi2020.spectral`) for ``B_t`` and the equivalent kernel.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from selfdistill.core.validate import Positive, validate_params
from selfdistill.mobahi2020.greens_fit import training_data
from selfdistill.mobahi2020.hilbert import collapses, squared_norm
from selfdistill.mobahi2020.kernels import Kernel

__all__ = ["CHECKS", "c_by_bisection", "green_identity_error", "near_collapse_prediction"]

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
