"""Targets and losses of zhang2020: every method is a cross-entropy to a mixed target.

All functions take logits ``s`` of shape ``(N, C)`` (any float dtype, any device), integer labels
``y`` of shape ``(N,)`` (any integer dtype, on the same device; :func:`~selfdistill.core.validate.
check_labels`) and return tensors on that device. Each loss equals the one soft cross-entropy
(:func:`selfdistill.training.objectives.soft_cross_entropy`) to a target ``m`` whose rows sum to 1,
so its gradient with respect to the logits is ``(p - m) / N`` with ``p = softmax(s)``
(``reduction="mean"``; the book's ``grad-p-minus-m``).

Provenance (zhang2020): the losses and their defaults (α = 0.4, T = 4 for self-distillation; α =
0.6, a = 3, EMA decay 0.999 for Beta smoothing; label smoothing over the other classes) follow the
authors' released code as summarised in the book's notes; the Dirichlet MAP reading is the
paper's framing, derived here. Symbols: ``C`` classes (the paper's K), ``gamma`` the Dirichlet
concentration (the literature's α_i), ``ema_decay`` the EMA cap (the code's λ).
"""

from __future__ import annotations

from typing import Literal

import torch

from selfdistill.core.validate import (
    Integer,
    Options,
    Positive,
    Real,
    check_finite,
    check_in_range,
    check_labels,
    check_ndim,
    validate_params,
)
from selfdistill.training.objectives import soft_cross_entropy

__all__ = [
    "amortized_map_loss",
    "convert_eps_ls",
    "dirichlet_map",
    "label_smoothing_loss",
    "label_smoothing_target",
    "one_hot",
    "sd_loss",
    "sd_target",
    "smoothing_amount",
    "teacher_probs",
]

Reduction = Literal["mean", "sum", "none"]
Smoothing = Literal["uniform", "others"]
REDUCTIONS = ("mean", "sum", "none")
SMOOTHINGS = ("uniform", "others")
#: a weight in [0, 1] (α, ε_LS)
UNIT = Real(0.0, 1.0)


# ---------------------------------------------------------------------------------------- checks
def _check_logits(name: str, logits: torch.Tensor) -> int:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor, got {type(logits)}")
    check_ndim(name, logits, (2,))
    if logits.shape[1] < 2:
        raise ValueError(f"{name} has shape {tuple(logits.shape)}; it needs C >= 2 classes")
    check_finite(name, logits.detach())  # a NaN would turn every loss and target into NaN
    return logits.shape[1]


def _labels(labels: torch.Tensor, like: torch.Tensor, C: int) -> torch.Tensor:
    """The one label check, for the rows and the device of ``like``."""
    return check_labels("labels", labels, C, rows=like.shape[0], device=like.device)


def _check_like(name: str, tensor: torch.Tensor, like: torch.Tensor) -> None:
    if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(like.shape):
        raise ValueError(f"{name} has shape {tuple(getattr(tensor, 'shape', ()))}; expected "
                         f"{tuple(like.shape)}")
    if tensor.device != like.device:
        raise ValueError(f"{name} is on {tensor.device} but the logits on {like.device}")


def _reduce(per_example: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_example.mean()
    return per_example.sum() if reduction == "sum" else per_example


def _cross_entropy(logits: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
    """The one soft cross-entropy (:func:`selfdistill.training.objectives.soft_cross_entropy`)
    with this module's checks (finite targets of the logits' shape and device)."""
    _check_logits("logits", logits)
    _check_like("target", target, logits)
    check_finite("target", target.detach())
    return soft_cross_entropy(logits, target, reduction)


# --------------------------------------------------------------------------------------- basics
@validate_params(C=Integer(2))
def one_hot(labels: torch.Tensor, C: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot rows ``e_y``.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(N,)``, any integer dtype, values in ``[0, C − 1]``; any device.
    C : int
        Number of classes, ≥ 2.
    dtype : torch.dtype
        Floating dtype of the result.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, ``dtype``, on the labels' device.

    Raises
    ------
    ValueError
        If ``C < 2`` or the labels are not integer class indices in range.

    Examples
    --------
    >>> one_hot(torch.tensor([0, 2]), 3)
    tensor([[1., 0., 0.],
            [0., 0., 1.]], dtype=torch.float64)
    """
    labels = check_labels("labels", labels, C)
    return torch.nn.functional.one_hot(labels, C).to(dtype)


def smoothing_amount(target: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Instance-specific smoothing ``ε_i = 1 - m_{i, y_i}``: the mass a target moves off the
    true class (zhang2020's decomposition, the book's ``decomposition``; for SD
    ``ε_i = α (1 - q^T_{i, y_i})``).

    Parameters
    ----------
    target : torch.Tensor
        Shape ``(N, C)``, floating, finite, rows on the simplex; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on ``target``'s device.

    Returns
    -------
    torch.Tensor
        Shape ``(N,)``, ``target``'s dtype and device.

    Raises
    ------
    ValueError
        If ``target`` is not a finite ``(N, C ≥ 2)`` float tensor or the labels do not match it.

    Examples
    --------
    >>> m = torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)
    >>> round(float(smoothing_amount(m, torch.tensor([0]))), 6)
    0.3
    """
    C = _check_logits("target", target)
    labels = _labels(labels, target, C)
    return 1 - target.gather(1, labels[:, None])[:, 0]


# ------------------------------------------------------------------------------ label smoothing
@validate_params(eps_ls=UNIT, C=Integer(2), to=Options(*SMOOTHINGS))
def convert_eps_ls(eps_ls: float, C: int, to: Smoothing) -> float:
    """Convert a label-smoothing weight between the two parameterisations.

    ``"uniform"``: ``(1-ε_u) e_y + ε_u 1/C``; ``"others"`` (zhang2020's released code): ``1-ε_o``
    on ``y`` and ``ε_o/(C-1)`` on each other class. They agree when ``ε_o = ε_u (C-1)/C``.

    Parameters
    ----------
    eps_ls : float
        The weight in the parameterisation other than ``to``: in ``[0, 1]`` (declared) for
        ``to="others"``, in ``[0, (C-1)/C]`` for ``to="uniform"`` (so the result stays in
        ``[0, 1]``; the upper end checked in the body).
    C : int
        Number of classes, ≥ 2.
    to : {"uniform", "others"}
        The parameterisation of the result.

    Returns
    -------
    float
        The same target's weight in the ``to`` parameterisation.

    Raises
    ------
    ValueError
        If ``C < 2``, ``to`` is unknown or ``eps_ls`` is outside its range.

    Examples
    --------
    >>> convert_eps_ls(0.1, 10, to="others")
    0.09
    >>> round(convert_eps_ls(0.09, 10, to="uniform"), 12)
    0.1
    """
    if to == "others":
        return eps_ls * (C - 1) / C
    eps_ls = check_in_range("eps_ls", eps_ls, 0.0, (C - 1) / C)
    return eps_ls * C / (C - 1)


@validate_params(C=Integer(2), eps_ls=UNIT, kind=Options(*SMOOTHINGS))
def label_smoothing_target(labels: torch.Tensor, C: int, eps_ls: float,
                           kind: Smoothing = "others",
                           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Label-smoothed targets.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices; any device.
    C : int
        Number of classes, ≥ 2.
    eps_ls : float
        Smoothing weight ε in ``[0, 1]``.
    kind : {"others", "uniform"}
        ``"uniform"``: ``(1-ε) e_y + ε/C``; ``"others"`` (the released code): ``1-ε`` on ``y`` and
        ``ε/(C-1)`` elsewhere.
    dtype : torch.dtype
        Floating dtype of the result.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, rows on the simplex, on the labels' device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels are not class indices.

    Examples
    --------
    >>> label_smoothing_target(torch.tensor([1]), 3, 0.2)
    tensor([[0.1000, 0.8000, 0.1000]], dtype=torch.float64)
    """
    e = one_hot(labels, C, dtype)
    if kind == "uniform":
        return (1 - eps_ls) * e + eps_ls / C
    return (1 - eps_ls) * e + eps_ls / (C - 1) * (1 - e)


@validate_params(eps_ls=UNIT, kind=Options(*SMOOTHINGS), reduction=Options(*REDUCTIONS))
def label_smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, eps_ls: float,
                         kind: Smoothing = "others", reduction: Reduction = "mean") -> torch.Tensor:
    """Cross-entropy to :func:`label_smoothing_target`.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    eps_ls : float
        Smoothing weight in ``[0, 1]``.
    kind : {"others", "uniform"}
        Parameterisation (:func:`label_smoothing_target`).
    reduction : {"mean", "sum", "none"}
        Over the batch; ``"none"`` gives shape ``(N,)``.

    Returns
    -------
    torch.Tensor
        0-dimensional (or ``(N,)``), the logits' dtype and device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the shapes or devices do not match.
    """
    C = _check_logits("logits", logits)
    labels = _labels(labels, logits, C)
    return _cross_entropy(logits, label_smoothing_target(labels, C, eps_ls, kind, logits.dtype),
                          reduction)


# --------------------------------------------------------------------------- self-distillation
@validate_params(T=Positive())
def teacher_probs(teacher_logits: torch.Tensor, T: float = 4.0) -> torch.Tensor:
    """The softened teacher ``q^T = softmax(t / T)``, detached (the teacher is fixed).

    Parameters
    ----------
    teacher_logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; any device.
    T : float
        Temperature, > 0.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, the logits' dtype and device, no gradient.

    Raises
    ------
    ValueError
        If ``T ≤ 0`` or the logits are not a finite ``(N, C ≥ 2)`` float tensor.
    """
    _check_logits("teacher_logits", teacher_logits)
    return torch.softmax(teacher_logits.detach() / T, dim=1)


@validate_params(alpha=UNIT, T=Positive())
def sd_target(labels: torch.Tensor, teacher_logits: torch.Tensor, alpha: float = 0.4,
              T: float = 4.0) -> torch.Tensor:
    """Self-distillation target ``m = (1-α) e_y + α softmax(t/T)``.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the teacher's device.
    teacher_logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; detached here.
    alpha : float
        Teacher weight α in ``[0, 1]``.
    T : float
        Teacher temperature, > 0.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, rows on the simplex, the teacher's dtype and device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels do not match the teacher.

    Examples
    --------
    >>> m = sd_target(torch.tensor([0]), torch.zeros(1, 2, dtype=torch.float64), 0.4)
    >>> m
    tensor([[0.8000, 0.2000]], dtype=torch.float64)
    """
    C = _check_logits("teacher_logits", teacher_logits)
    labels = _labels(labels, teacher_logits, C)
    q = teacher_probs(teacher_logits, T)
    return (1 - alpha) * one_hot(labels, C, q.dtype) + alpha * q


@validate_params(alpha=UNIT, T=Positive(), reduction=Options(*REDUCTIONS))
def sd_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
            alpha: float = 0.4, T: float = 4.0, reduction: Reduction = "mean") -> torch.Tensor:
    """The released self-distillation loss
    ``ℓ_SD = (1-α) CE(e_y, softmax(s)) + α CE(softmax(t/T), softmax(s))``.

    Only the teacher is softened and there is no ``T²`` factor (zhang2020's released code;
    defaults α = 0.4, T = 4).

    Parameters
    ----------
    logits : torch.Tensor
        Student logits ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    teacher_logits : torch.Tensor
        Shape of ``logits``, on its device; detached.
    alpha : float
        Teacher weight in ``[0, 1]``.
    T : float
        Teacher temperature, > 0.
    reduction : {"mean", "sum", "none"}
        Over the batch.

    Returns
    -------
    torch.Tensor
        0-dimensional (or ``(N,)``), the logits' dtype and device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the shapes or devices do not match.

    Examples
    --------
    >>> s = torch.zeros(2, 3, dtype=torch.float64)
    >>> round(float(sd_loss(s, torch.tensor([0, 1]), s)), 6)  # log 3
    1.098612
    """
    _check_logits("logits", logits)
    _check_like("teacher_logits", teacher_logits, logits)
    return _cross_entropy(logits, sd_target(labels, teacher_logits, alpha, T), reduction)


# ------------------------------------------------------------------------- Dirichlet MAP reading
def _check_gamma(gamma: torch.Tensor, C: int, n: int, device: torch.device) -> None:
    if not isinstance(gamma, torch.Tensor) or tuple(gamma.shape) != (n, C):
        raise ValueError(f"gamma has shape {tuple(getattr(gamma, 'shape', ()))}; expected {(n, C)}")
    if gamma.device != device:
        raise ValueError(f"gamma is on {gamma.device} but the labels on {device}")
    check_finite("gamma", gamma)
    if n and float(gamma.min()) < 1:
        raise ValueError(f"gamma must be >= 1 everywhere (interior mode); min is "
                         f"{float(gamma.min())!r}")


def dirichlet_map(labels: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Per-instance MAP of ``z_i`` under likelihood ``z_{i,y_i}`` and prior ``Dir(γ_i)``
    (the book's ``map-target``).

    The posterior is ``Dir(e_{y_i} + γ_i)``; its mode is
    ``z_i* = (e_{y_i} + γ_i - 1) / (1 + Σ_k (γ_ik - 1))``. With ``γ_i = 1 + β q^T_i`` this is the
    SD target with ``α = β/(1+β)``; with ``γ_i = 1 + β/C`` it is uniform label smoothing with
    ``ε = β/(1+β)``.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on ``gamma``'s device.
    gamma : torch.Tensor
        Dirichlet concentrations ``(N, C)``, floating, finite, every entry ≥ 1 (interior mode).

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, rows on the simplex, ``gamma``'s dtype and device.

    Raises
    ------
    ValueError
        If ``gamma`` is not an ``(N, C)`` tensor ≥ 1 or the labels do not match it.

    Examples
    --------
    >>> dirichlet_map(torch.tensor([0]), torch.tensor([[1.0, 3.0]], dtype=torch.float64))
    tensor([[0.3333, 0.6667]], dtype=torch.float64)
    """
    if not isinstance(gamma, torch.Tensor) or gamma.ndim != 2:
        raise ValueError(f"gamma must be an (N, C) tensor, got {getattr(gamma, 'shape', gamma)}")
    labels = _labels(labels, gamma, gamma.shape[1])
    _check_gamma(gamma, gamma.shape[1], gamma.shape[0], gamma.device)
    w = one_hot(labels, gamma.shape[1], gamma.dtype) + gamma - 1
    return w / w.sum(dim=1, keepdim=True)


@validate_params(reduction=Options(*REDUCTIONS))
def amortized_map_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: torch.Tensor,
                       reduction: Reduction = "mean") -> torch.Tensor:
    """Negative amortized MAP objective ``-Σ_k (e_{y_i,k} + γ_ik - 1) log softmax(s_i)_k``
    (the book's ``amortized-loss``).

    Setting ``z_i = p_θ(x_i)`` in the per-instance log posterior. With ``γ_i = 1 + β q^T_i`` it
    equals ``(1+β) ℓ_SD`` at ``α = β/(1+β)`` (``amortized-is-sd``); its logit gradient is
    ``(1+β)(p - z*)``.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    gamma : torch.Tensor
        Shape ``(N, C)``, every entry ≥ 1, on the logits' device.
    reduction : {"mean", "sum", "none"}
        Over the batch.

    Returns
    -------
    torch.Tensor
        0-dimensional (or ``(N,)``), the logits' dtype and device.

    Raises
    ------
    ValueError
        If the shapes, devices or ``gamma``'s range are wrong.
    """
    C = _check_logits("logits", logits)
    labels = _labels(labels, logits, C)
    _check_gamma(gamma, C, logits.shape[0], logits.device)
    weights = one_hot(labels, C, logits.dtype) + gamma - 1
    return _cross_entropy(logits, weights, reduction)
