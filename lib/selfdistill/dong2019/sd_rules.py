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
    check_choice,
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
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
    "sd_target",
    "soft_target",
]

RULES = ("A", "B", "C")


def _pair(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    check_ndim(name_a, a, (1, 2))
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {tuple(a.shape)} but {name_b} has "
                         f"{tuple(b.shape)}; they must match")
    check_finite(name_a, a)  # a NaN would spread into every later target
    check_finite(name_b, b)


def hard_labels(p: torch.Tensor) -> torch.Tensor:
    """Hard version of outputs: one-hot of the argmax per row (n, C), or ±1 by sign (n,).

    For a single output a tie ``p = 0`` maps to +1.
    """
    check_ndim("p", p, (1, 2))
    check_finite("p", p)  # argmax and sign of NaN are arbitrary labels
    if p.ndim == 1:
        return torch.where(p >= 0, 1.0, -1.0).to(p.dtype)
    return torch.nn.functional.one_hot(p.argmax(1), p.shape[1]).to(p.dtype)


def soft_target(noisy: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule A: ``(1 - α) ỹ + α p_{t-1}``."""
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    _pair("noisy", noisy, "p_prev", p_prev)
    return (1 - alpha) * noisy + alpha * p_prev


def hard_target(noisy: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule B: ``(1 - α) ỹ + α onehot(argmax p_{t-1})`` (``sign`` for a single output)."""
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    _pair("noisy", noisy, "p_prev", p_prev)
    return (1 - alpha) * noisy + alpha * hard_labels(p_prev)


def recursive_target(previous: torch.Tensor, p_prev: torch.Tensor, alpha: float) -> torch.Tensor:
    """Rule C: ``(1 - α) ŷ(t-1) + α p_{t-1}``; start it with ``previous = ỹ``."""
    alpha = check_in_range("alpha", alpha, 0.0, 1.0)
    _pair("previous", previous, "p_prev", p_prev)
    return (1 - alpha) * previous + alpha * p_prev


def sd_target(rule: str, noisy: torch.Tensor, previous: torch.Tensor, p_prev: torch.Tensor,
              alpha: float) -> torch.Tensor:
    """Dispatch to rule ``"A"``, ``"B"`` or ``"C"`` (``previous`` is used by C only)."""
    check_choice("rule", rule, RULES)
    if rule == "A":
        return soft_target(noisy, p_prev, alpha)
    if rule == "B":
        return hard_target(noisy, p_prev, alpha)
    return recursive_target(previous, p_prev, alpha)


def noisy_accuracy(p: torch.Tensor, noisy: torch.Tensor) -> float:
    """Fraction of rows where the outputs' hard label agrees with the noisy labels."""
    _pair("p", p, "noisy", noisy)
    agree = (hard_labels(p) == hard_labels(noisy)).all(dim=-1) if p.ndim == 2 else (
        hard_labels(p) == hard_labels(noisy))
    return float(agree.double().mean())


@dataclass(frozen=True)
class Constant:
    """``α_t = alpha`` for every epoch."""

    alpha: float

    def __post_init__(self) -> None:
        check_in_range("alpha", self.alpha, 0.0, 1.0)

    def __call__(self, t: int, accuracy: float | None = None) -> float:
        check_int("t", t, 0)
        return float(self.alpha)


@dataclass(frozen=True)
class LinearRamp:
    """``α_t = alpha_max · min(t / ramp, 1)``: from 0 at t = 0 to ``alpha_max`` at t = ramp."""

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
    """``α_t = 0`` for t < warmup, then linear, reaching ``alpha_max`` at t = warmup + ramp."""

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
    """``α_t`` = the current accuracy on the noisy labels (capped at ``alpha_max``), after warm-up.

    The rule a third-party implementation attributes to the paper (unverified); 0 for t < warmup.
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
