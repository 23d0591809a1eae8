"""Independent routes for the dong2019 NTK chapters: quadrature over the angle, width studies.

Nothing here calls the closed form of :func:`selfdistill.dong2019.ntk.ntk_infinite`: the quadrature
integrates the definition ``E_w[…]`` over ``w ~ N(0, I)`` reduced to the plane of the two inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import quad

from selfdistill.core.validate import check_choice, check_int
from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_two_layer

__all__ = [
    "KernelMotion", "WidthStudy", "angular_quadrature", "direction_moments", "kernel_motion",
    "linear_noise_draws",
    "network_noise_draws", "sign_flip_noise", "top_energy_lanczos", "width_study",
]


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


def top_energy_lanczos(H: torch.Tensor, v: torch.Tensor, k: int) -> float:
    """Share of ``‖v‖²`` in the span of the top-``k`` eigenvectors of ``H``, by Lanczos.

    ``scipy.sparse.linalg.eigsh`` (ARPACK, implicitly restarted Lanczos, tolerance 1e-13): a
    different eigen-solver from the dense ``torch.linalg.eigh`` of
    :mod:`selfdistill.dong2019.dynamics`. ``v`` is (n,) or (n, C) (columns pooled).
    """
    from scipy.sparse.linalg import eigsh

    check_int("k", k, 1, H.shape[0] - 1)
    Hn = H.detach().cpu().numpy()
    _, vecs = eigsh(Hn, k=k, which="LA", tol=1e-13, v0=np.ones(Hn.shape[0]))
    vn = v.detach().cpu().numpy().reshape(Hn.shape[0], -1)
    return float(np.sum((vecs.T @ vn) ** 2) / np.sum(vn**2))


def sign_flip_noise(y_star: torch.Tensor, rho: float, n_draws: int,
                    generator: torch.Generator) -> torch.Tensor:
    """Noise ``e = ỹ − y*`` of symmetric sign flips at rate ρ: (n_draws, n), ``e_i = −2 y*_i``
    with probability ρ, else 0. ``y*`` is ±1 (n,); draws come from the CPU ``generator``."""
    check_int("n_draws", n_draws, 1)
    flips = torch.rand(n_draws, y_star.shape[0], generator=generator, dtype=torch.float64)
    return -2 * y_star.cpu()[None, :] * (flips < rho).to(torch.float64)


def direction_moments(vectors: torch.Tensor, draws: torch.Tensor, center=None):
    """Monte Carlo ``E(v_iᵀ(e − c))²`` per eigenvector: mean and standard error over draws.

    ``vectors`` (n, n) columns ``v_i``; ``draws`` (N, n); ``center`` optional (n,) subtracted
    from each draw. Returns two float64 numpy arrays (n,).
    """
    e = draws.to(vectors) if center is None else draws.to(vectors) - center.to(vectors)[None]
    sq = (e @ vectors).square().cpu().numpy()  # (N, n)
    return sq.mean(0), sq.std(0, ddof=1) / np.sqrt(sq.shape[0])


def network_noise_draws(model: torch.nn.Module, X: torch.Tensor, y_star: torch.Tensor,
                        noise: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Train ``model`` from the same initialisation on ``y* + e`` for each noise draw ``e``.

    ``noise`` (N, n); plain full-batch GD (:func:`selfdistill.dong2019.gd.train_full_batch_gd`) for
    ``steps`` steps. Returns ``‖u(k) − y*‖²`` for every draw and step: (N, steps + 1), float64
    CPU. The model is restored to its initial state at the end.
    """
    from selfdistill.dong2019.gd import train_full_batch_gd

    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}
    risks = []
    for e in noise:
        model.load_state_dict(initial)
        hist = train_full_batch_gd(model, X, y_star + e.to(y_star), lr, steps)
        risks.append((hist.outputs - y_star).square().sum(1).cpu())
    model.load_state_dict(initial)
    return torch.stack(risks).to(torch.float64)


def linear_noise_draws(H: torch.Tensor, y_star: torch.Tensor, noise: torch.Tensor, lr: float,
                       steps: int) -> torch.Tensor:
    """The same for the linearised model, by plain iteration ``u ← u − ηH(u − ỹ)`` from 0.

    No eigen-decomposition: all draws at once as columns. Returns (N, steps + 1), float64 CPU.
    """
    targets = y_star[:, None] + noise.T.to(y_star)  # (n, N)
    u = torch.zeros_like(targets)
    risks = [(u - y_star[:, None]).square().sum(0)]
    for _ in range(steps):
        u = u - lr * (H @ (u - targets))
        risks.append((u - y_star[:, None]).square().sum(0))
    return torch.stack(risks, dim=1).cpu().to(torch.float64)


@dataclass(frozen=True)
class KernelMotion:
    """AIR in a trained network's own kernel, at one width.

    ``share_init`` / ``share_trained``: share of the targets' energy in the top ``k`` eigen-
    directions of the empirical NTK at initialisation / after training; ``motion``:
    ``‖H_T − H_0‖_F / ‖H_0‖_F``; ``train_mse``: mean squared training error at the end.
    """

    width: int
    share_init: float
    share_trained: float
    motion: float
    train_mse: float


def kernel_motion(X: torch.Tensor, y: torch.Tensor, widths: tuple[int, ...], steps: int,
                  k: int, seed: int = 0) -> list[KernelMotion]:
    """Train a :class:`~selfdistill.dong2019.ntk.TwoLayerReLU` (symmetric start, first layer
    trained) of each width by ``steps`` full-batch GD steps of size ``1/λ_max(H_0)`` on ``½‖u −
    y‖²``, and measure its empirical kernel (:func:`selfdistill.dong2019.ntk.ntk_two_layer`) before
    and after.

    ``X`` (n, d) float64 unit rows, ``y`` (n,) targets; ``k`` in [1, n]. Returns one
    :class:`KernelMotion` per width, in order.
    """
    from selfdistill.dong2019.dynamics import energy_profile, spectrum
    from selfdistill.dong2019.gd import train_full_batch_gd

    n = X.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y has shape {tuple(y.shape)}; expected ({n},) like X's rows")
    k, steps = check_int("k", k, 1, n), check_int("steps", steps, 1)
    out = []
    for m in widths:
        net = TwoLayerReLU(X.shape[1], check_int("widths", m, 2), seed=seed, symmetric=True,
                           device=X.device)
        H0 = ntk_two_layer(net, X)
        train_full_batch_gd(net, X, y, 1.0 / float(torch.linalg.eigvalsh(H0)[-1]), steps,
                            record_every=steps)
        HT = ntk_two_layer(net, X)
        with torch.no_grad():
            mse = float((net(X) - y).square().mean())
        out.append(KernelMotion(
            int(m), float(energy_profile(spectrum(H0), y)[k - 1]),
            float(energy_profile(spectrum(HT), y)[k - 1]),
            float((HT - H0).norm() / H0.norm()), mse))
    return out
