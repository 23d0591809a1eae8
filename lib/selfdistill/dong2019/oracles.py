"""Independent routes for the dong2019 chapters: quadrature over the angle, width studies,
Lanczos, Monte Carlo over noise draws by plain iteration.

Nothing here calls the closed form of :func:`selfdistill.dong2019.ntk.ntk_infinite`: the quadrature
integrates the definition ``E_w[…]`` over ``w ~ N(0, I)`` reduced to the plane of the two inputs.
:data:`CHECKS` names, for each oracle, the library functions it is an independent route for; none
of them is called by the oracle (a common test walks the calls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.integrate import quad

from selfdistill.core.validate import (
    SEED_MAX,
    Integer,
    Optional,
    Options,
    Positive,
    Real,
    Seed,
    SymmetricMatrix,
    Tensor,
    check_int,
    validate_params,
)
from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_two_layer

__all__ = [
    "KernelMotion", "WidthStudy", "angular_quadrature", "direction_moments",
    "kernel_motion", "linear_noise_draws", "network_noise_draws", "sign_flip_noise",
    "top_energy_lanczos", "width_study",
]

_DYN = "selfdistill.dong2019.dynamics."
#: for each oracle, the library functions it is an independent route for (it calls none of them)
CHECKS: dict[str, tuple[str, ...]] = {
    "angular_quadrature": ("selfdistill.dong2019.ntk.ntk_infinite",),
    "width_study": ("selfdistill.dong2019.ntk.ntk_infinite",),
    "top_energy_lanczos": (_DYN + "spectrum", _DYN + "energy_profile"),
    "sign_flip_noise": (),
    "direction_moments": (_DYN + "early_stopping_risk",),
    "network_noise_draws": (_DYN + "early_stopping_risk",),
    "linear_noise_draws": (_DYN + "early_stopping_risk",),
    "kernel_motion": (),
}


@validate_params(theta=Real(0.0, math.pi), layers=Options("first", "both"))
def angular_quadrature(theta: float, layers: str = "first") -> float:
    """``E_w[NTK term]`` for two unit vectors at angle θ, by ``scipy.integrate.quad``: the
    independent route for the book's ``ntk-closed-form``.

    Only the projection of ``w`` on the plane of ``x, z`` matters: write it ``r (cos φ, sin φ)``
    with ``φ`` uniform and ``r² ~ χ²_2`` (mean 2). Then
    ``E[xᵀz 1{wᵀx≥0}1{wᵀz≥0}] = cos θ · (1/2π) ∫ 1{cos φ ≥ 0}1{cos(φ−θ) ≥ 0} dφ`` and
    ``E[σ(wᵀx)σ(wᵀz)] = E[r²] (1/2π) ∫ σ(cos φ) σ(cos(φ−θ)) dφ``, integrated with the kinks as
    break points (relative accuracy asked: 1e-12).

    Parameters
    ----------
    theta : float
        The angle θ in ``[0, π]``.
    layers : {"first", "both"}
        The first-layer term only, or both layers' terms.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If θ is outside ``[0, π]`` or ``layers`` is unknown.

    Examples
    --------
    >>> round(angular_quadrature(0.0), 10)  # cos 0 · (π − 0)/(2π)
    0.5
    """
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
    """Relative Frobenius errors of empirical NTKs (:func:`width_study`).

    Attributes
    ----------
    widths : numpy.ndarray
        int64 ``(W,)``.
    errors : numpy.ndarray
        ``‖H_m − H∞‖_F / ‖H∞‖_F``, float64 ``(W, seeds)``: per width (rows) and seed (columns).
    """

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


@validate_params(X=Tensor((2,)), H_inf=SymmetricMatrix(), seeds=Integer(1, 1000), seed=Seed())
def width_study(
    X: torch.Tensor, H_inf: torch.Tensor, widths, seeds: int, seed: int = 0,
    train_output: bool = False,
) -> WidthStudy:
    """Empirical NTKs of ``seeds`` random :class:`TwoLayerReLU` nets per width, against ``H_inf``.

    Parameters
    ----------
    X : torch.Tensor
        Inputs ``(n, d)``, finite; the nets live on its device (float64).
    H_inf : torch.Tensor
        The limit ``(n, n)``, symmetric, on ``X``'s device.
    widths : sequence of int
        Widths ``m`` (each < 1000 of them).
    seeds : int
        Networks per width, in ``[1, 1000]``; net ``s`` of width index ``j`` has seed
        ``seed·10⁶ + 1000·j + s``: every net is independent.
    seed : int
        The study's seed, with ``seed·10⁶ + 1000·(len(widths) − 1) + seeds − 1 ≤ SEED_MAX``.
    train_output : bool
        Whether the nets' output layers count (the ``"both"`` kernel).

    Returns
    -------
    WidthStudy

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    widths = np.asarray(widths, dtype=np.int64)
    check_int("seed", seed, 0, (SEED_MAX - 1000 * (len(widths) - 1) - (seeds - 1)) // 10**6)
    ref = float(H_inf.norm())
    errors = np.empty((len(widths), seeds))
    for j, m in enumerate(widths):
        for s in range(seeds):
            net = TwoLayerReLU(X.shape[1], int(m), train_output=train_output,
                               seed=seed * 10**6 + 1000 * j + s, device=X.device)
            errors[j, s] = float((ntk_two_layer(net, X) - H_inf).norm()) / ref
    return WidthStudy(widths, errors)


@validate_params(H=SymmetricMatrix(), v=Tensor((1, 2)), k=Integer(1))
def top_energy_lanczos(H: torch.Tensor, v: torch.Tensor, k: int) -> float:
    """Share of ``‖v‖²`` in the span of the top-``k`` eigenvectors of ``H``, by Lanczos.

    ``scipy.sparse.linalg.eigsh`` (ARPACK, implicitly restarted Lanczos, tolerance 1e-13): a
    different eigen-solver from the dense ``torch.linalg.eigh`` of
    :mod:`selfdistill.dong2019.dynamics`.

    Parameters
    ----------
    H : torch.Tensor
        Symmetric ``(n, n)``, any device (copied to the CPU).
    v : torch.Tensor
        ``(n,)`` or ``(n, C)`` (columns pooled).
    k : int
        Number of top eigenvectors, in ``[1, n − 1]`` (≥ 1 declared, the upper end checked in the
        body).

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``H`` is not symmetric or ``k`` is outside ``[1, n − 1]``.

    Examples
    --------
    >>> H = torch.diag(torch.tensor([3.0, 2.0, 1.0], dtype=torch.float64))
    >>> round(top_energy_lanczos(H, torch.ones(3, dtype=torch.float64), 1), 10)
    0.3333333333
    """
    from scipy.sparse.linalg import eigsh

    check_int("k", k, 1, H.shape[0] - 1)
    Hn = H.detach().cpu().numpy()
    _, vecs = eigsh(Hn, k=k, which="LA", tol=1e-13, v0=np.ones(Hn.shape[0]))
    vn = v.detach().cpu().numpy().reshape(Hn.shape[0], -1)
    return float(np.sum((vecs.T @ vn) ** 2) / np.sum(vn**2))


@validate_params(y_star=Tensor((1,)), rho=Real(0.0, 1.0), n_draws=Integer(1))
def sign_flip_noise(y_star: torch.Tensor, rho: float, n_draws: int,
                    generator: torch.Generator) -> torch.Tensor:
    """Noise ``e = ỹ − y*`` of symmetric sign flips at rate ρ: ``e_i = −2 y*_i`` with probability
    ρ, else 0.

    Parameters
    ----------
    y_star : torch.Tensor
        Clean ±1 labels ``(n,)``, any device.
    rho : float
        Flip probability in ``[0, 1]``.
    n_draws : int
        Number of draws, ≥ 1.
    generator : torch.Generator
        A CPU generator; the draws come from it.

    Returns
    -------
    torch.Tensor
        ``(n_draws, n)``, float64, CPU.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    flips = torch.rand(n_draws, y_star.shape[0], generator=generator, dtype=torch.float64)
    return -2 * y_star.cpu()[None, :] * (flips < rho).to(torch.float64)


@validate_params(vectors=Tensor((2,)), draws=Tensor((2,)), center=Optional(Tensor((1,))))
def direction_moments(vectors: torch.Tensor, draws: torch.Tensor,
                      center: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo ``E(v_iᵀ(e − c))²`` per eigenvector: mean and standard error over draws.

    Parameters
    ----------
    vectors : torch.Tensor
        ``(n, n)``, columns ``v_i``.
    draws : torch.Tensor
        Noise draws ``(N, n)``, ``N ≥ 2``; moved to ``vectors``' dtype and device.
    center : torch.Tensor, optional
        ``(n,)`` subtracted from each draw.

    Returns
    -------
    tuple of numpy.ndarray
        Mean and standard error, each float64 ``(n,)``.

    Raises
    ------
    ValueError
        If the tensors are not finite and of the stated numbers of dimensions.
    """
    e = draws.to(vectors) if center is None else draws.to(vectors) - center.to(vectors)[None]
    sq = (e @ vectors).square().cpu().numpy()  # (N, n)
    return sq.mean(0), sq.std(0, ddof=1) / np.sqrt(sq.shape[0])


@validate_params(noise=Tensor((2,)), lr=Positive(), steps=Integer(0))
def network_noise_draws(model: torch.nn.Module, X: torch.Tensor, y_star: torch.Tensor,
                        noise: torch.Tensor, lr: float, steps: int) -> torch.Tensor:
    """Train ``model`` from the same initialisation on ``y* + e`` for each noise draw ``e``, by
    plain full-batch GD (:func:`selfdistill.dong2019.gd.train_full_batch_gd`): the network's
    risk curve, against the kernel prediction of
    :func:`selfdistill.dong2019.dynamics.early_stopping_risk`.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, d)`` to ``(n,)``; restored to its initial state at the end.
    X : torch.Tensor
        Inputs ``(n, d)`` on the model's device.
    y_star : torch.Tensor
        Clean targets ``(n,)``.
    noise : torch.Tensor
        Draws ``(N, n)``.
    lr : float
        Step size > 0.
    steps : int
        GD steps, ≥ 0.

    Returns
    -------
    torch.Tensor
        ``‖u(k) − y*‖²`` for every draw and step: ``(N, steps + 1)``, float64, CPU.

    Raises
    ------
    ValueError
        If an argument is outside its range (or as :func:`~selfdistill.dong2019.gd.
        train_full_batch_gd` raises).
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


@validate_params(H=SymmetricMatrix(), y_star=Tensor((1,)), noise=Tensor((2,)), lr=Positive(),
                 steps=Integer(0))
def linear_noise_draws(H: torch.Tensor, y_star: torch.Tensor, noise: torch.Tensor, lr: float,
                       steps: int) -> torch.Tensor:
    """The risk curves of :func:`network_noise_draws` for the linearised model, by plain
    iteration ``u ← u − ηH(u − ỹ)`` from 0 (no eigen-decomposition; all draws at once as
    columns).

    Parameters
    ----------
    H : torch.Tensor
        Kernel ``(n, n)``, symmetric; any float dtype and device.
    y_star : torch.Tensor
        Clean targets ``(n,)``, on ``H``'s device.
    noise : torch.Tensor
        Draws ``(N, n)``.
    lr : float
        Step size > 0.
    steps : int
        Steps, ≥ 0.

    Returns
    -------
    torch.Tensor
        ``‖u(k) − y*‖²``, ``(N, steps + 1)``, float64, CPU.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    >>> H = torch.eye(2, dtype=torch.float64)
    >>> y = torch.ones(2, dtype=torch.float64)
    >>> linear_noise_draws(H, y, torch.zeros(1, 2, dtype=torch.float64), 0.5, 2).tolist()
    [[2.0, 0.5, 0.125]]
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
    """AIR in a trained network's own kernel, at one width (:func:`kernel_motion`).

    Attributes
    ----------
    width : int
        The width ``m``.
    share_init, share_trained : float
        Share of the targets' energy in the top ``k`` eigen-directions of the empirical NTK at
        initialisation and after training.
    motion : float
        ``‖H_T − H_0‖_F / ‖H_0‖_F``.
    train_mse : float
        Mean squared training error at the end.
    """

    width: int
    share_init: float
    share_trained: float
    motion: float
    train_mse: float


@validate_params(X=Tensor((2,)), y=Tensor((1,)), steps=Integer(1), k=Integer(1), seed=Seed())
def kernel_motion(X: torch.Tensor, y: torch.Tensor, widths: tuple[int, ...], steps: int,
                  k: int, seed: int = 0) -> list[KernelMotion]:
    """Train a :class:`~selfdistill.dong2019.ntk.TwoLayerReLU` (symmetric start, first layer
    trained) of each width by ``steps`` full-batch GD steps of size ``1/λ_max(H_0)`` on ``½‖u −
    y‖²``, and measure its empirical kernel (:func:`selfdistill.dong2019.ntk.ntk_two_layer`) before
    and after.

    Parameters
    ----------
    X : torch.Tensor
        Inputs ``(n, d)``, float64 unit rows; the nets live on its device.
    y : torch.Tensor
        Targets ``(n,)``.
    widths : tuple of int
        Each ≥ 2.
    steps : int
        GD steps, ≥ 1.
    k : int
        Top eigen-directions, in ``[1, n]`` (≥ 1 declared, the upper end checked in the body).
    seed : int
        Initialisation seed of every net, in ``[0, SEED_MAX]``.

    Returns
    -------
    list of KernelMotion
        One per width, in order.

    Raises
    ------
    ValueError
        If an argument is outside its range or the shapes do not match.
    """
    from selfdistill.dong2019.dynamics import energy_profile, spectrum
    from selfdistill.dong2019.gd import train_full_batch_gd

    n = X.shape[0]
    if y.shape != (n,):
        raise ValueError(f"y has shape {tuple(y.shape)}; expected ({n},) like X's rows")
    k = check_int("k", k, 1, n)
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
