"""Self-distillation rules for noisy labels, usable by any trainer (dong2019 §4, our versions).

The paper's abstract describes "a self-distillation algorithm that sequentially distils knowledge
from the network at the previous training epoch"; its exact rule and schedule are not known. The
book studies three labelled rules. At epoch ``t`` the targets are built from the given noisy labels
``ỹ`` and the previous epoch's outputs ``p_{t-1}``:

* A (soft):      ``ŷ(t) = (1 - α_t) ỹ + α_t p_{t-1}``
* B (hard):      ``ŷ(t) = (1 - α_t) ỹ + α_t onehot(argmax p_{t-1})``  (``sign`` for ±1 outputs)
* C (recursive): ``ŷ(t) = (1 - α_t) ŷ(t-1) + α_t p_{t-1}``

Targets are (n, C) float tensors (one-hot rows, or soft rows) or (n,) float tensors for a single
±1 output. At ``α_t = 0`` every rule returns the plain labels (C returns its previous targets,
which start as ``ỹ``). Schedules are small callables ``schedule(t, accuracy=None) -> α_t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from selfdistill.core.validate import (
    Options,
    Real,
    Tensor,
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    validate_params,
)

__all__ = [
    "RULES",
    "Adaptive",
    "Constant",
    "LinearRamp",
    "WarmupRamp",
    "hard_labels",
    "hard_target",
    "noisy_accuracy",
    "recursive_target",
    "rule_target",
    "soft_target",
]

RULES = ("A", "B", "C")
#: α_t, a weight in [0, 1]
ALPHA = Real(0.0, 1.0)


def _pair(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    check_ndim(name_a, a, (1, 2))
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} but {name_b} has "
                         f"{tuple(b.shape)}; they must match")
    check_finite(name_a, a)  # a NaN would spread into every later target
    check_finite(name_b, b)


@validate_params(p=Tensor((1, 2)))  # finite: argmax and sign of NaN are arbitrary labels
def hard_labels(p: torch.Tensor) -> torch.Tensor:
    """Hard version of outputs: one-hot of the argmax per row, or ±1 by sign.

    Parameters
    ----------
    p : torch.Tensor
        Outputs ``(n, C)`` or ``(n,)`` (a single output), finite; any float dtype and device.

    Returns
    -------
    torch.Tensor
        Shape, dtype and device of ``p``: one-hot rows, or ±1 (a tie ``p = 0`` maps to +1).

    Raises
    ------
    ValueError
        If ``p`` is not a finite 1- or 2-d tensor.

    Examples
    --------
    >>> hard_labels(torch.tensor([0.3, -0.2, 0.0]))
    tensor([ 1., -1.,  1.])
    """
    if p.ndim == 1:
        return torch.where(p >= 0, 1.0, -1.0).to(p.dtype)
    return torch.nn.functional.one_hot(p.argmax(1), p.shape[1]).to(p.dtype)


@validate_params(alpha=ALPHA)
def soft_target(noisy: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule A (soft): ``ŷ(t) = (1 - α_t) ỹ + α_t p_{t-1}``.

    Parameters
    ----------
    noisy : torch.Tensor
        The given labels ỹ: ``(n, C)`` rows (one-hot or soft) or ``(n,)`` ±1 values; finite,
        any float dtype and device.
    p_prev : torch.Tensor
        The previous epoch's outputs, shape, dtype and device of ``noisy``.
    alpha : float
        α_t in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape of ``noisy``, on its device.

    Raises
    ------
    ValueError
        If ``alpha`` is outside ``[0, 1]`` or the tensors are not finite, 1- or 2-d and of one
        shape.

    Examples
    --------
    >>> soft_target(torch.tensor([1.0, -1.0]), torch.tensor([0.5, 0.5]), 0.5)
    tensor([ 0.7500, -0.2500])
    """
    _pair("noisy", noisy, "p_prev", p_prev)
    return (1 - alpha) * noisy + alpha * p_prev


@validate_params(alpha=ALPHA)
def hard_target(noisy: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule B (hard): ``ŷ(t) = (1 - α_t) ỹ + α_t onehot(argmax p_{t-1})`` (``sign`` for a
    single output).

    Parameters
    ----------
    noisy : torch.Tensor
        The given labels ỹ: ``(n, C)`` rows (one-hot or soft) or ``(n,)`` ±1 values; finite,
        any float dtype and device.
    p_prev : torch.Tensor
        The previous epoch's outputs, shape, dtype and device of ``noisy``.
    alpha : float
        α_t in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape of ``noisy``, on its device.

    Raises
    ------
    ValueError
        If ``alpha`` is outside ``[0, 1]`` or the tensors are not finite, 1- or 2-d and of one
        shape.

    Examples
    --------
    >>> hard_target(torch.tensor([1.0, -1.0]), torch.tensor([0.5, 0.5]), 0.5)
    tensor([1., 0.])
    """
    _pair("noisy", noisy, "p_prev", p_prev)
    return (1 - alpha) * noisy + alpha * hard_labels(p_prev)


@validate_params(alpha=ALPHA)
def recursive_target(previous: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule C (recursive): ``ŷ(t) = (1 - α_t) ŷ(t-1) + α_t p_{t-1}``; start it with
    ``previous = ỹ``.

    Parameters
    ----------
    previous : torch.Tensor
        The previous targets ŷ(t-1) (ỹ at the start): ``(n, C)`` rows or ``(n,)`` values;
        finite, any float dtype and device.
    p_prev : torch.Tensor
        The previous epoch's outputs, shape, dtype and device of ``previous``.
    alpha : float
        α_t in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape of ``previous``, on its device.

    Raises
    ------
    ValueError
        If ``alpha`` is outside ``[0, 1]`` or the tensors are not finite, 1- or 2-d and of one
        shape.
    """
    _pair("previous", previous, "p_prev", p_prev)
    return (1 - alpha) * previous + alpha * p_prev


@validate_params(rule=Options(*RULES), alpha=ALPHA)
def rule_target(rule: str, noisy: torch.Tensor, previous: torch.Tensor, p_prev: torch.Tensor,
                alpha: float) -> torch.Tensor:
    """The target of self-distillation rule ``"A"``, ``"B"`` or ``"C"`` at one epoch.

    Parameters
    ----------
    rule : {"A", "B", "C"}
        :func:`soft_target`, :func:`hard_target` or :func:`recursive_target`.
    noisy : torch.Tensor
        The given labels ỹ, ``(n, C)`` or ``(n,)``, finite; any float dtype and device.
    previous : torch.Tensor
        The previous targets ŷ(t-1), shape of ``noisy`` (used by rule C only).
    p_prev : torch.Tensor
        The previous epoch's outputs, shape of ``noisy``.
    alpha : float
        α_t in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape of ``noisy``, on its device.

    Raises
    ------
    ValueError
        If the rule is unknown, ``alpha`` is outside ``[0, 1]`` or the tensors do not match.

    Examples
    --------
    >>> y, u = torch.tensor([1.0, -1.0]), torch.tensor([-0.5, -0.5])
    >>> rule_target("B", y, y, u, 1.0)
    tensor([-1., -1.])
    """
    if rule == "A":
        return soft_target(noisy, p_prev, alpha)
    if rule == "B":
        return hard_target(noisy, p_prev, alpha)
    return recursive_target(previous, p_prev, alpha)


def noisy_accuracy(p: torch.Tensor, noisy: torch.Tensor) -> float:
    """Fraction of rows where the outputs' hard label agrees with the noisy labels.

    Parameters
    ----------
    p : torch.Tensor
        Outputs ``(n, C)`` or ``(n,)``, finite; any float dtype and device.
    noisy : torch.Tensor
        Labels, shape and device of ``p``.

    Returns
    -------
    float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If the tensors are not finite, 1- or 2-d and of one shape.

    Examples
    --------
    >>> noisy_accuracy(torch.tensor([0.2, 0.4]), torch.tensor([1.0, -1.0]))
    0.5
    """
    _pair("p", p, "noisy", noisy)
    agree = (hard_labels(p) == hard_labels(noisy)).all(dim=-1) if p.ndim == 2 else (
        hard_labels(p) == hard_labels(noisy))
    return float(agree.double().mean())


@dataclass(frozen=True)
class Constant:
    """Constant schedule ``α_t = alpha`` for every epoch.

    Parameters
    ----------
    alpha : float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``alpha`` is outside ``[0, 1]``.

    Calling the schedule with an epoch ``t ≥ 0`` (and the accuracy on the noisy labels, unused
    here) returns α_t; a ``ValueError`` names a negative or non-integer ``t``.

    Examples
    --------
    >>> Constant(0.3)(5)
    0.3
    """

    alpha: float

    def __post_init__(self) -> None:
        check_in_range("alpha", self.alpha, 0.0, 1.0)

    def __call__(self, t: int, accuracy: float | None = None) -> float:
        check_int("t", t, 0)
        return float(self.alpha)


@dataclass(frozen=True)
class LinearRamp:
    """Linear ramp ``α_t = alpha_max · min(t / ramp, 1)``: from 0 at t = 0 to ``alpha_max`` at
    t = ramp.

    Parameters
    ----------
    alpha_max : float
        In ``[0, 1]``.
    ramp : int
        Epochs of the ramp, ≥ 1.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Calling the schedule with an epoch ``t ≥ 0`` (and the accuracy on the noisy labels, unused
    here) returns α_t; a ``ValueError`` names a negative or non-integer ``t``.

    Examples
    --------
    >>> LinearRamp(0.8, 4)(1)
    0.2
    """

    alpha_max: float
    ramp: int

    def __post_init__(self) -> None:
        check_in_range("alpha_max", self.alpha_max, 0.0, 1.0)
        check_int("ramp", self.ramp, 1)

    def __call__(self, t: int, accuracy: float | None = None) -> float:
        check_int("t", t, 0)
        return float(self.alpha_max * min(t / self.ramp, 1.0))


@dataclass(frozen=True)
class WarmupRamp:
    """Warm-up, then a ramp: ``α_t = 0`` for t < warmup, then linear, reaching ``alpha_max`` at
    t = warmup + ramp.

    Parameters
    ----------
    warmup : int
        Epochs at α = 0, ≥ 0.
    ramp : int
        Epochs of the ramp, ≥ 1.
    alpha_max : float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Calling the schedule with an epoch ``t ≥ 0`` (and the accuracy on the noisy labels, unused
    here) returns α_t; a ``ValueError`` names a negative or non-integer ``t``.

    Examples
    --------
    >>> [WarmupRamp(2, 2)(t) for t in range(5)]
    [0.0, 0.0, 0.0, 0.5, 1.0]
    """

    warmup: int
    ramp: int
    alpha_max: float = 1.0

    def __post_init__(self) -> None:
        check_int("warmup", self.warmup, 0)
        check_int("ramp", self.ramp, 1)
        check_in_range("alpha_max", self.alpha_max, 0.0, 1.0)

    def __call__(self, t: int, accuracy: float | None = None) -> float:
        check_int("t", t, 0)
        return float(self.alpha_max * min(max(t - self.warmup, 0) / self.ramp, 1.0))


@dataclass(frozen=True)
class Adaptive:
    """Adaptive schedule: ``α_t`` = the current accuracy on the noisy labels (capped at
    ``alpha_max``), after warm-up.

    The rule a third-party implementation attributes to the paper (unverified); 0 for t < warmup.

    Parameters
    ----------
    warmup : int
        Epochs at α = 0, ≥ 0.
    alpha_max : float
        In ``[0, 1]``.

    Raises
    ------
    ValueError
        If an argument is outside its range; when called after the warm-up without an accuracy
        in ``[0, 1]``.

    Examples
    --------
    >>> Adaptive(warmup=1)(3, accuracy=0.8)
    0.8
    """

    warmup: int = 0
    alpha_max: float = 1.0

    def __post_init__(self) -> None:
        check_int("warmup", self.warmup, 0)
        check_in_range("alpha_max", self.alpha_max, 0.0, 1.0)

    def __call__(self, t: int, accuracy: float | None = None) -> float:
        check_int("t", t, 0)
        if t < self.warmup:
            return 0.0
        if accuracy is None:
            raise ValueError("accuracy = None; the adaptive schedule needs the current accuracy "
                             "on the noisy labels, a number in [0, 1]")
        return float(min(check_in_range("accuracy", accuracy, 0.0, 1.0), self.alpha_max))
