"""Independent routes for the dong2019 NTK chapters: quadrature over the angle, width studies.

Nothing here calls the closed form of :func:`selfdistill.ntk.ntk_infinite`: the quadrature
integrates the definition ``E_w[…]`` over ``w ~ N(0, I)`` reduced to the plane of the two inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import quad

from .ntk import TwoLayerReLU, ntk_two_layer
from .validate import check_choice, check_int

__all__ = ["WidthStudy", "angular_quadrature", "width_study"]


def angular_quadrature(theta: float, layers: str = "first") -> float:
    """``E_w[NTK term]`` for two unit vectors at angle θ, by ``scipy.integrate.quad``.

    Only the projection of ``w`` on the plane of ``x, z`` matters: write it ``r (cos φ, sin φ)``
    with ``φ`` uniform and ``r² ~ χ²_2`` (mean 2). Then
    ``E[xᵀz 1{wᵀx≥0}1{wᵀz≥0}] = cos θ · (1/2π) ∫ 1{cos φ ≥ 0}1{cos(φ−θ) ≥ 0} dφ`` and
    ``E[σ(wᵀx)σ(wᵀz)] = E[r²] (1/2π) ∫ σ(cos φ) σ(cos(φ−θ)) dφ``, integrated with the kinks as
    break points (relative accuracy asked: 1e-12).
    """
    check_choice("layers", layers, ("first", "both"))
    breaks = sorted({(k * math.pi / 2 + s * theta) % (2 * math.pi) for k in (1, 3) for s in (0, 1)})

    def both_on(phi):
        return float(math.cos(phi) >= 0 and math.cos(phi - theta) >= 0)

    def relus(phi):
        return max(math.cos(phi), 0.0) * max(math.cos(phi - theta), 0.0)

    opts = dict(points=breaks, limit=200, epsabs=1e-14, epsrel=1e-12)
    value = math.cos(theta) * quad(both_on, 0, 2 * math.pi, **opts)[0] / (2 * math.pi)
    if layers == "both":
        value += 2.0 * quad(relus, 0, 2 * math.pi, **opts)[0] / (2 * math.pi)
    return value


@dataclass(frozen=True)
class WidthStudy:
    """Relative Frobenius errors ``‖H_m − H∞‖_F / ‖H∞‖_F`` per width (rows) and seed (columns)."""

    widths: np.ndarray
    errors: np.ndarray

    @property
    def rms(self) -> np.ndarray:
        """Root mean square over seeds: its square has expectation exactly ∝ 1/m."""
        return np.sqrt(np.mean(self.errors**2, axis=1))

    def slope(self) -> tuple[float, float]:
        """Least-squares slope and intercept of ``log rms`` against ``log m``."""
        slope, intercept = np.polyfit(np.log(self.widths), np.log(self.rms), 1)
        return float(slope), float(intercept)


def width_study(
    X: torch.Tensor, H_inf: torch.Tensor, widths, n_seeds: int, seed: int = 0,
    train_output: bool = False,
) -> WidthStudy:
    """Empirical NTKs of ``n_seeds`` random :class:`TwoLayerReLU` nets per width, against ``H_inf``.

    Seeds ``seed·10⁶ + 1000·j + s`` for width index j and seed s: every net is independent.
    """
    check_int("n_seeds", n_seeds, 1)
    check_int("seed", seed, 0, 2**40)
    widths = np.asarray(widths, dtype=np.int64)
    ref = float(H_inf.norm())
    errors = np.empty((len(widths), n_seeds))
    for j, m in enumerate(widths):
        for s in range(n_seeds):
            net = TwoLayerReLU(X.shape[1], int(m), train_output=train_output,
                               seed=seed * 10**6 + 1000 * j + s, device=X.device)
            errors[j, s] = float((ntk_two_layer(net, X) - H_inf).norm()) / ref
    return WidthStudy(widths, errors)
