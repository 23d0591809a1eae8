"""Distillation and self-distillation in the kernel (linearised, NTK) model (dong2019 §3–§4).

Kernel gradient descent from zero on targets ỹ with training Gram matrix ``H`` (n, n) and step
size ``lr`` (η in the book) moves the training outputs as ``u_{k+1} = u_k - η H (u_k - ŷ_k)`` and
a test output as ``f_{k+1}(x) = f_k(x) - η k(x, X) (u_k - ŷ_k)``. With fixed targets the closed
form is (the book's ``kernel-gd``)

    f_k(x) = k(x, X) H⁻¹ [I - (I - η H)^k] ỹ                                       (filter)

so in the eigenbasis ``H = V diag(λ) Vᵀ`` each direction is multiplied by ``φ_k(λ) = 1 -
(1-ηλ)^k``. This module holds the distillation consequences: ``j`` rounds of early-stopped students
give the product ``φ_k(λ)^j``; a student trained to convergence is the kernel interpolant of its
targets; soft self-distillation (rule A) is GD on the rescaled clock ``η (1 - α_t)`` (the book's
``rescaled-clock``). The step-by-step simulation :func:`kernel_gd` never uses a closed form: it is
the independent route for every closed form here. All tensors are float64 on the device of ``H``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    Integer,
    Optional,
    Options,
    Positive,
    SymmetricMatrix,
    Tensor,
    check_in_range,
    check_ndim,
    validate_params,
)
from selfdistill.dong2019.sd_rules import RULES, hard_labels, noisy_accuracy, rule_target

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


GRAM = SymmetricMatrix()


def _check_step(H: torch.Tensor, lr: float) -> float:
    lam_max = float(torch.linalg.eigvalsh(H)[-1])
    if lr * lam_max >= 2:
        raise ValueError(f"lr = {lr} gives lr λ_max = {lr * lam_max:.3g} ≥ 2: GD diverges; "
                         f"accepted: lr in (0, {2 / lam_max:.4g})")
    return lr


def _check_kx(Kx: torch.Tensor, n: int) -> None:
    if Kx.shape[1] != n:
        raise ValueError(f"Kx has shape {tuple(Kx.shape)}; expected (m, {n}), one column per "
                         "training point")


@validate_params(lam=Tensor((0, 1)), lr=Positive(), steps=Integer(0), rounds=Integer(1))
def product_filter(lam: torch.Tensor, lr: float, steps: int, rounds: int = 1) -> torch.Tensor:
    """The distillation filter ``φ_k(λ)^j = [1 - (1 - ηλ)^k]^j``: j rounds of k GD steps each,
    started from zero (the book's ``kernel-gd``, applied ``j`` times).

    Parameters
    ----------
    lam : torch.Tensor
        Eigenvalues λ, shape ``()`` or ``(n,)``, finite, any float dtype and device.
    lr : float
        Step size η > 0.
    steps : int
        GD steps k ≥ 0 per round.
    rounds : int
        Rounds j ≥ 1.

    Returns
    -------
    torch.Tensor
        Shape, dtype and device of ``lam``.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    >>> product_filter(torch.tensor([0.5, 1.0], dtype=torch.float64), 1.0, 2, rounds=2)
    tensor([0.5625, 1.0000], dtype=torch.float64)
    """
    return (1 - (1 - lr * lam) ** steps) ** rounds


@validate_params(H=GRAM, Kx=Tensor((2,)), y=Tensor((1,)), lr=Positive(), steps=Integer(0),
                 rounds=Integer(1))
def distill_closed_form(H: torch.Tensor, Kx: torch.Tensor, y: torch.Tensor, lr: float,
                        steps: int, rounds: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Training and test outputs after ``rounds`` early-stopped rounds, in closed form.

    Round 1 is the teacher trained ``steps`` GD steps from 0 on ``y``; round r+1 is a fresh student
    trained ``steps`` steps from 0 on the training outputs of round r. Outputs:
    ``u = V φ^j Vᵀ y`` and ``f = Kx V (φ^j / λ) Vᵀ y`` (the book's ``kernel-gd``).

    Parameters
    ----------
    H : torch.Tensor
        Training Gram matrix ``(n, n)``, symmetric positive definite, float64; any device.
    Kx : torch.Tensor
        ``k(x, X)``, shape ``(m, n)``, on ``H``'s device and dtype.
    y : torch.Tensor
        Targets ``(n,)``.
    lr : float
        Step size η > 0.
    steps : int
        GD steps per round, ≥ 0.
    rounds : int
        Rounds, ≥ 1.

    Returns
    -------
    tuple of torch.Tensor
        Training outputs ``(n,)`` and test outputs ``(m,)``, on ``H``'s device.

    Raises
    ------
    ValueError
        If ``H`` is not symmetric positive definite, the shapes do not match or an argument is
        outside its range.
    """
    n = H.shape[0]
    _check_kx(Kx, n)
    if y.shape != (n,):
        raise ValueError(f"y has shape {tuple(y.shape)}; expected ({n},) like H")
    lam, V = torch.linalg.eigh(H)
    if float(lam[0]) <= 0:
        raise ValueError(f"H has smallest eigenvalue {float(lam[0]):.3g}; it must be > 0")
    coef = V.T @ y
    phi = product_filter(lam, lr, steps, rounds)
    return V @ (phi * coef), Kx @ (V @ (phi / lam * coef))


@validate_params(H=GRAM, Kx=Tensor((2,)), targets=Tensor((1,)))
def converged_student(H: torch.Tensor, Kx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Test outputs of a student trained to convergence on ``targets``: ``k(x, X) H⁻¹ targets``.

    GD from 0 with fixed targets converges to the kernel interpolant when H is positive definite.
    Solved by Cholesky.

    Parameters
    ----------
    H : torch.Tensor
        Training Gram matrix ``(n, n)``, symmetric positive definite; any float dtype and device.
    Kx : torch.Tensor
        ``k(x, X)``, shape ``(m, n)``, on ``H``'s device.
    targets : torch.Tensor
        Shape ``(n,)``.

    Returns
    -------
    torch.Tensor
        Shape ``(m,)``, ``H``'s dtype and device.

    Raises
    ------
    ValueError
        If ``H`` is not symmetric or the shapes do not match.
    torch.linalg.LinAlgError
        If ``H`` is not positive definite.

    Examples
    --------
    >>> H = torch.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    >>> f = converged_student(H, H, torch.tensor([1.0, 2.0], dtype=torch.float64))
    >>> [round(v, 12) for v in f.tolist()]  # the interpolant reproduces its targets
    [1.0, 2.0]
    """
    _check_kx(Kx, H.shape[0])
    if targets.shape != (H.shape[0],):
        raise ValueError(f"targets has shape {tuple(targets.shape)}; expected ({H.shape[0]},)")
    L = torch.linalg.cholesky(H)
    return Kx @ torch.cholesky_solve(targets.reshape(-1, 1), L).reshape(-1)


@dataclass(frozen=True)
class KernelRun:
    """Trajectory of a step-by-step kernel GD run (:func:`kernel_gd`, :func:`kernel_sd`).

    Attributes
    ----------
    u : torch.Tensor
        Training outputs ``(steps + 1, n)``, from the start.
    f : torch.Tensor
        Final test outputs ``(m,)`` (empty without ``Kx``).
    targets : torch.Tensor
        The targets used at each step, ``(steps, n)``.
    alphas : torch.Tensor
        The α_t used, ``(steps,)`` (empty for :func:`kernel_gd`).
    """

    u: torch.Tensor
    f: torch.Tensor
    targets: torch.Tensor
    alphas: torch.Tensor


@validate_params(H=GRAM, lr=Positive(), steps=Integer(0), Kx=Optional(Tensor((2,))),
                 u0=Optional(Tensor((1,))), f0=Optional(Tensor((1,))))
def kernel_gd(H: torch.Tensor, targets: Targets, lr: float, steps: int,
              Kx: torch.Tensor | None = None, u0: torch.Tensor | None = None,
              f0: torch.Tensor | None = None) -> KernelRun:
    """Kernel GD step by step: ``u ← u - η H (u - ŷ_t)``, ``f ← f - η Kx (u - ŷ_t)`` with
    ``ŷ_t = targets(t, u)``.

    The direct simulation (no eigendecomposition, no closed form): the independent route for
    :func:`distill_closed_form` and :func:`soft_sd_closed_form`.

    Parameters
    ----------
    H : torch.Tensor
        Training Gram matrix ``(n, n)``, symmetric; any float dtype and device.
    targets : callable
        ``targets(t, u) -> ŷ_t``, ``(n,)`` on ``H``'s device, called before step ``t``.
    lr : float
        Step size η, in ``(0, 2/λ_max(H))`` (GD diverges beyond).
    steps : int
        Number of steps, ≥ 0.
    Kx : torch.Tensor, optional
        ``k(x, X)``, shape ``(m, n)``: test outputs are tracked too.
    u0, f0 : torch.Tensor, optional
        Starting training ``(n,)`` and test ``(m,)`` outputs (default 0).

    Returns
    -------
    KernelRun
        Tensors on ``H``'s device; ``alphas`` empty.

    Raises
    ------
    ValueError
        If ``H`` is not symmetric, ``lr λ_max ≥ 2`` or an argument is outside its range.

    Examples
    --------
    >>> H = torch.eye(2, dtype=torch.float64)
    >>> run = kernel_gd(H, lambda t, u: torch.ones(2, dtype=torch.float64), 0.5, 2)
    >>> run.u[-1]
    tensor([0.7500, 0.7500], dtype=torch.float64)
    """
    n = H.shape[0]
    lr = _check_step(H, lr)
    if Kx is not None:
        _check_kx(Kx, n)
    u = torch.zeros(n, dtype=H.dtype, device=H.device) if u0 is None else u0.clone()
    Kx = torch.zeros(0, n, dtype=H.dtype, device=H.device) if Kx is None else Kx
    f = torch.zeros(Kx.shape[0], dtype=H.dtype, device=H.device) if f0 is None else f0.clone()
    us, used = [u], []
    for t in range(steps):
        target = targets(t, u)
        residual = u - target
        u, f = u - lr * (H @ residual), f - lr * (Kx @ residual)
        us.append(u)
        used.append(target)
    stacked = torch.stack(used) if used else torch.zeros(0, n, dtype=H.dtype, device=H.device)
    return KernelRun(torch.stack(us), f, stacked, torch.zeros(0, dtype=H.dtype))


@validate_params(H=GRAM, noisy=Tensor((1,)), lr=Positive(), epochs=Integer(0),
                 rule=Options(*RULES))
def kernel_sd(H: torch.Tensor, noisy: torch.Tensor, lr: float, epochs: int, rule: str,
              schedule: Callable[..., float]) -> KernelRun:
    """Self-distillation with rule ``"A"``, ``"B"`` or ``"C"`` in the kernel model, one GD step per
    epoch: at epoch t the targets are built from ``noisy`` and the previous outputs ``u_t``
    (:func:`selfdistill.dong2019.sd_rules.rule_target`).

    Parameters
    ----------
    H : torch.Tensor
        Training Gram matrix ``(n, n)``, symmetric; any float dtype and device.
    noisy : torch.Tensor
        Noisy ±1 labels ``(n,)``, on ``H``'s device.
    lr : float
        Step size η, in ``(0, 2/λ_max(H))``.
    epochs : int
        Number of epochs (GD steps), ≥ 0.
    rule : {"A", "B", "C"}
        The self-distillation rule.
    schedule : callable
        ``schedule(t, accuracy) -> α_t`` in ``[0, 1]``; ``accuracy`` is the agreement of ``u_t``
        with ``noisy`` (e.g. :class:`~selfdistill.dong2019.sd_rules.WarmupRamp`).

    Returns
    -------
    KernelRun
        With the α_t used (``alphas[0] = 0``: ``u_0 = 0`` carries nothing).

    Raises
    ------
    ValueError
        If ``H`` is not symmetric, ``lr λ_max ≥ 2``, the rule is unknown or an argument is outside
        its range.
    """
    alphas: list[float] = []
    state = {"previous": noisy}

    def targets(t: int, u: torch.Tensor) -> torch.Tensor:
        alpha = schedule(t, noisy_accuracy(u, noisy)) if t else 0.0  # u_0 = 0 carries nothing
        alphas.append(alpha)
        state["previous"] = rule_target(rule, noisy, state["previous"], u, alpha)
        return state["previous"]

    run = kernel_gd(H, targets, lr, epochs)
    return KernelRun(run.u, run.f, run.targets, torch.tensor(alphas, dtype=H.dtype))


@validate_params(H=GRAM, noisy=Tensor((1,)), lr=Positive())
def soft_sd_closed_form(H: torch.Tensor, noisy: torch.Tensor, lr: float,
                        alphas: Sequence[float]) -> torch.Tensor:
    """Training outputs of soft SD (rule A) from 0 by the rescaled clock, without simulation (the
    book's ``rescaled-clock``):

    ``u_{t+1} - ỹ = (I - η (1 - α_t) H)(u_t - ỹ)``, i.e. ``u_T = V [1 - Π_t (1 - η(1-α_t)λ)] Vᵀ ỹ``.

    Parameters
    ----------
    H : torch.Tensor
        Training Gram matrix ``(n, n)``, symmetric; any float dtype and device.
    noisy : torch.Tensor
        Labels ỹ ``(n,)``, on ``H``'s device.
    lr : float
        Step size η > 0.
    alphas : sequence of float
        α_t in ``[0, 1]`` for ``t = 0 … T−1``.

    Returns
    -------
    torch.Tensor
        Shape ``(T + 1, n)``, ``H``'s dtype and device.

    Raises
    ------
    ValueError
        If ``H`` is not symmetric, ``lr ≤ 0`` or some α_t is outside ``[0, 1]``.
    """
    if noisy.shape != (H.shape[0],):
        raise ValueError(f"noisy has shape {tuple(noisy.shape)}; expected ({H.shape[0]},)")
    a = torch.tensor([check_in_range("alphas", x, 0.0, 1.0) for x in alphas], dtype=H.dtype,
                     device=H.device)
    lam, V = torch.linalg.eigh(H)
    factors = 1 - lr * (1 - a)[:, None] * lam[None, :]  # (T, n)
    prods = torch.cat([torch.ones_like(lam)[None], torch.cumprod(factors, 0)])
    return ((1 - prods) * (V.T @ noisy)[None, :]) @ V.T


@validate_params(values=Tensor((1,)))
def cluster_averages(values: torch.Tensor, cluster: torch.Tensor) -> torch.Tensor:
    """Replace each entry of ``values`` by the mean over its cluster.

    Parameters
    ----------
    values : torch.Tensor
        Shape ``(n,)``, real, finite; any device.
    cluster : torch.Tensor
        Cluster ids ``(n,)``, ``torch.int64`` in ``[0, k − 1]``, on the same device (as returned
        by :func:`selfdistill.data.sphere.clusterable_sphere`).

    Returns
    -------
    torch.Tensor
        Shape ``(n,)``, ``values``' dtype and device.

    Raises
    ------
    ValueError
        If the shapes differ.

    Examples
    --------
    >>> cluster_averages(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 1, 0]))
    tensor([2.5000, 2.0000, 2.5000])
    """
    check_ndim("values", values, (1,))
    if cluster.shape != values.shape:
        raise ValueError(f"cluster has shape {tuple(cluster.shape)}; expected "
                         f"{tuple(values.shape)} like values")
    k = int(cluster.max()) + 1
    sums = torch.zeros(k, dtype=values.dtype, device=values.device)
    sums.index_add_(0, cluster, values)
    counts = torch.bincount(cluster, minlength=k).to(values.dtype)
    return (sums / counts)[cluster]


@validate_params(u=Tensor((1,)), y=Tensor((1,)))
def margin(u: torch.Tensor, y: torch.Tensor) -> float:
    """The margin ``min_i y_i u_i`` of outputs ``u`` on ±1 labels: positive when every sign is
    right.

    Parameters
    ----------
    u, y : torch.Tensor
        Shape ``(n,)``, finite, on one device; ``y`` in {−1, +1}.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``u`` and ``y`` are not finite 1-d tensors of one shape.

    Examples
    --------
    >>> margin(torch.tensor([0.5, -2.0]), torch.tensor([1.0, -1.0]))
    0.5
    """
    if u.shape != y.shape:
        raise ValueError(f"u has shape {tuple(u.shape)} but y has {tuple(y.shape)}; they must "
                         "match")
    return float((u * y).min())


def label_agreement(u: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of entries whose sign (or argmax) agrees with ``y``."""
    return float((hard_labels(u) == hard_labels(y)).double().mean())
