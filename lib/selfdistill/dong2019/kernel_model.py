"""Distillation and self-distillation in the kernel (linearised, NTK) model (dong2019 §3–§4).

Kernel gradient descent from zero on targets ỹ with training Gram matrix ``H`` (n, n) and step
``η`` moves the training outputs as ``u_{k+1} = u_k - η H (u_k - ŷ_k)`` and a test output as
``f_{k+1}(x) = f_k(x) - η k(x, X) (u_k - ŷ_k)``. With fixed targets the closed form is

    f_k(x) = k(x, X) H⁻¹ [I - (I - η H)^k] ỹ                                       (filter)

so in the eigenbasis ``H = V diag(λ) Vᵀ`` each direction is multiplied by ``φ_k(λ) = 1 -
(1-ηλ)^k``. This module holds the distillation consequences: ``j`` rounds of early-stopped students
give the product ``φ_k(λ)^j``; a student trained to convergence is the kernel interpolant of its
targets; soft self-distillation (rule A) is GD on the rescaled clock ``η (1 - α_t)``. The step-by-
step simulation :func:`kernel_gd` never uses a closed form: it is the independent route for every
closed form here. All tensors are float64 on the device of ``H``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    check_positive,
)
from selfdistill.dong2019.sd_rules import hard_labels, noisy_accuracy, sd_target

__all__ = [
    "KernelRun",
    "cluster_averages",
    "converged_student",
    "distill_closed_form",
    "kernel_gd",
    "kernel_sd",
    "margin",
    "product_filter",
    "soft_sd_closed_form",
]

Targets = Callable[[int, torch.Tensor], torch.Tensor]


def _check_gram(H: torch.Tensor) -> int:
    check_ndim("H", H, (2,))
    if H.shape[0] != H.shape[1]:
        raise ValueError(f"H has shape {tuple(H.shape)}; it must be square (n, n)")
    check_finite("H", H)
    return H.shape[0]


def _check_step(H: torch.Tensor, eta: float) -> float:
    eta = check_positive("eta", eta)
    lam_max = float(torch.linalg.eigvalsh(H)[-1])
    if eta * lam_max >= 2:
        raise ValueError(f"eta = {eta} gives η λ_max = {eta * lam_max:.3g} ≥ 2: GD diverges; "
                         f"accepted: eta in (0, {2 / lam_max:.4g})")
    return eta


def product_filter(lam: torch.Tensor, eta: float, steps: int, rounds: int = 1) -> torch.Tensor:
    """``φ_k(λ)^j = [1 - (1 - ηλ)^k]^j``: j rounds of k GD steps each, started from zero."""
    eta = check_positive("eta", eta)
    steps, rounds = check_int("steps", steps, 0), check_int("rounds", rounds, 1)
    return (1 - (1 - eta * lam) ** steps) ** rounds


def distill_closed_form(H: torch.Tensor, Kx: torch.Tensor, y: torch.Tensor, eta: float,
                        steps: int, rounds: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Training outputs (n,) and test outputs (m,) after ``rounds`` early-stopped rounds.

    Round 1 is the teacher trained ``steps`` GD steps from 0 on ``y``; round r+1 is a fresh student
    trained ``steps`` steps from 0 on the training outputs of round r. ``Kx`` is k(x, X), (m, n).
    Outputs: ``u = V φ^j Vᵀ y`` and ``f = Kx V (φ^j / λ) Vᵀ y`` (H must be positive definite).
    """
    n = _check_gram(H)
    check_ndim("Kx", Kx, (2,))
    if Kx.shape[1] != n or y.shape != (n,):
        raise ValueError(f"Kx {tuple(Kx.shape)} and y {tuple(y.shape)} must be (m, {n}), ({n},)")
    lam, V = torch.linalg.eigh(H)
    if float(lam[0]) <= 0:
        raise ValueError(f"H has smallest eigenvalue {float(lam[0]):.3g}; it must be > 0")
    coef = V.T @ y
    phi = product_filter(lam, eta, steps, rounds)
    return V @ (phi * coef), Kx @ (V @ (phi / lam * coef))


def converged_student(H: torch.Tensor, Kx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Test outputs of a student trained to convergence on ``targets``: ``k(x, X) H⁻¹ targets``.

    GD from 0 with fixed targets converges to the kernel interpolant when H is positive definite.
    Solved by Cholesky; returns (m,) float64.
    """
    _check_gram(H)
    L = torch.linalg.cholesky(H)
    return Kx @ torch.cholesky_solve(targets.reshape(-1, 1), L).reshape(-1)


@dataclass(frozen=True)
class KernelRun:
    """Trajectory of a step-by-step kernel GD run.

    ``u`` (steps+1, n) training outputs, ``f`` (m,) final test outputs (empty if no ``Kx``),
    ``targets`` (steps, n) the targets used at each step, ``alphas`` (steps,) the α_t used.
    """

    u: torch.Tensor
    f: torch.Tensor
    targets: torch.Tensor
    alphas: torch.Tensor


def kernel_gd(H: torch.Tensor, targets: Targets, eta: float, steps: int,
              Kx: torch.Tensor | None = None, u0: torch.Tensor | None = None,
              f0: torch.Tensor | None = None) -> KernelRun:
    """Iterate ``u ← u - η H (u - ŷ_t)``, ``f ← f - η Kx (u - ŷ_t)`` with ``ŷ_t = targets(t, u)``.

    The direct simulation (no eigendecomposition, no closed form). Starts from ``u0`` (default 0).
    """
    n = _check_gram(H)
    eta, steps = _check_step(H, eta), check_int("steps", steps, 0)
    u = torch.zeros(n, dtype=H.dtype, device=H.device) if u0 is None else u0.clone()
    Kx = torch.zeros(0, n, dtype=H.dtype, device=H.device) if Kx is None else Kx
    f = torch.zeros(Kx.shape[0], dtype=H.dtype, device=H.device) if f0 is None else f0.clone()
    us, used = [u], []
    for t in range(steps):
        target = targets(t, u)
        residual = u - target
        u, f = u - eta * (H @ residual), f - eta * (Kx @ residual)
        us.append(u)
        used.append(target)
    stacked = torch.stack(used) if used else torch.zeros(0, n, dtype=H.dtype, device=H.device)
    return KernelRun(torch.stack(us), f, stacked, torch.zeros(0, dtype=H.dtype))


def kernel_sd(H: torch.Tensor, noisy: torch.Tensor, eta: float, epochs: int, rule: str,
              schedule: Callable[..., float]) -> KernelRun:
    """Self-distillation with rule ``"A"``, ``"B"`` or ``"C"`` in the kernel model, one GD step per
    epoch: at epoch t the targets are built from ``noisy`` and the previous outputs ``u_t``.

    ``schedule(t, accuracy)`` gives α_t; ``accuracy`` is the agreement of ``u_t`` with ``noisy``.
    """
    alphas: list[float] = []
    state = {"previous": noisy}

    def targets(t: int, u: torch.Tensor) -> torch.Tensor:
        alpha = schedule(t, noisy_accuracy(u, noisy)) if t else 0.0  # u_0 = 0 carries nothing
        alphas.append(alpha)
        state["previous"] = sd_target(rule, noisy, state["previous"], u, alpha)
        return state["previous"]

    run = kernel_gd(H, targets, eta, epochs)
    return KernelRun(run.u, run.f, run.targets, torch.tensor(alphas, dtype=H.dtype))


def soft_sd_closed_form(H: torch.Tensor, noisy: torch.Tensor, eta: float,
                        alphas: Sequence[float]) -> torch.Tensor:
    """Training outputs (T+1, n) of soft SD from 0 by the rescaled clock (no simulation):

    ``u_{t+1} - ỹ = (I - η (1 - α_t) H)(u_t - ỹ)``, i.e. ``u_T = V [1 - Π_t (1 - η(1-α_t)λ)] Vᵀ ỹ``.
    """
    _check_gram(H)
    eta = check_positive("eta", eta)
    a = torch.tensor([check_in_range("alphas", x, 0.0, 1.0) for x in alphas], dtype=H.dtype,
                     device=H.device)
    lam, V = torch.linalg.eigh(H)
    factors = 1 - eta * (1 - a)[:, None] * lam[None, :]  # (T, n)
    prods = torch.cat([torch.ones_like(lam)[None], torch.cumprod(factors, 0)])
    return ((1 - prods) * (V.T @ noisy)[None, :]) @ V.T


def cluster_averages(values: torch.Tensor, cluster: torch.Tensor) -> torch.Tensor:
    """Replace each entry of ``values`` (n,) by the mean over its cluster (``cluster`` (n,) int64
    ids, as returned by :func:`selfdistill.data.sphere.clusterable_sphere`)."""
    check_ndim("values", values, (1,))
    if cluster.shape != values.shape:
        raise ValueError(f"cluster has shape {tuple(cluster.shape)}; expected "
                         f"{tuple(values.shape)} like values")
    k = int(cluster.max()) + 1
    sums = torch.zeros(k, dtype=values.dtype, device=values.device)
    sums.index_add_(0, cluster, values)
    counts = torch.bincount(cluster, minlength=k).to(values.dtype)
    return (sums / counts)[cluster]


def margin(u: torch.Tensor, y: torch.Tensor) -> float:
    """``min_i y_i u_i`` for ±1 labels (n,): positive when every sign is right."""
    return float((u * y).min())


def label_agreement(u: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of entries whose sign (or argmax) agrees with ``y``."""
    return float((hard_labels(u) == hard_labels(y)).double().mean())
