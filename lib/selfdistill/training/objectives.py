"""Training objectives: how a mini-batch's logits become a loss. The trainer knows no loss.

An :class:`Objective` receives the student's float32 logits (n, K) and a :class:`Batch` (inputs,
labels as given to training, positions in the training set, the frozen teacher's logits on the same
augmented inputs when there is a teacher). Built-ins: :class:`CrossEntropy`, :class:`MSE` (one-hot
targets, or the teacher's outputs: mobahi2020's rounds), :class:`SoftTargets` (any target function,
e.g. the label smoothing, self-distillation and Beta-smoothing targets of
:mod:`selfdistill.zhang2020.targets`), :class:`LossFunction` (any loss callable), and
:class:`EpochTargets` (targets rebuilt once per epoch from the previous epoch's network, as
dong2019's noisy-label rules).

Hooks an objective may use: ``start_epoch(epoch, predict)`` (``predict()`` returns the current
network's logits on the unaugmented training inputs), ``after_step(model, batch)``, and
``state_dict``/``load_state_dict`` so a resumed run continues exactly. ``describe()`` enters the
checkpoint's fingerprint: a checkpoint from another objective is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["Batch", "CrossEntropy", "EpochTargets", "LossFunction", "MSE",
           "Objective", "SoftTargets", "soft_cross_entropy"]


@dataclass
class Batch:
    """One mini-batch: ``x`` ``(n, *shape)`` inputs after augmentation, ``y`` (n,) int64 labels as
    given to training (possibly noisy), ``index`` (n,) their positions in the training set,
    ``teacher`` (n, K) float32 teacher logits or ``None``; ``epoch`` and global ``step``
    (0-based); ``num_classes`` K; ``generator`` the run's seeded generator on the device."""

    x: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor
    teacher: torch.Tensor | None
    epoch: int
    step: int
    num_classes: int
    generator: torch.Generator | None = None


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of −Σ_k t_k log softmax(s)_k; ``targets`` (n, K) rows on the simplex."""
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ")
    return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()


class Objective:
    """Base class: override :meth:`loss`; the hooks default to doing nothing."""

    name = "objective"
    needs_teacher = False

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        raise NotImplementedError

    def start_epoch(self, epoch: int, predict: Callable[[], torch.Tensor]) -> None:
        """Called before each epoch's first step."""

    def after_step(self, model: torch.nn.Module, batch: Batch) -> None:
        """Called after each optimiser step."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters (part of the checkpoint fingerprint)."""
        return {"name": self.name}


class CrossEntropy(Objective):
    """Cross-entropy with the given labels."""

    name = "cross-entropy"

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(logits, batch.y)


class MSE(Objective):
    """Mean squared error against one-hot labels, or against the teacher's outputs when a teacher
    is given (each of mobahi2020's rounds regresses on the previous round's outputs):
    (1/(nK)) Σ_i ‖s_i − t_i‖²."""

    name = "mse"

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        if batch.teacher is not None:
            target = batch.teacher
        else:
            target = F.one_hot(batch.y, batch.num_classes).to(logits.dtype)
        return F.mse_loss(logits, target)


class SoftTargets(Objective):
    """Soft cross-entropy against ``target_fn(batch) -> (n, K)`` target distributions.

    ``target_fn`` is any of the library's target functions wrapped to read the batch (labels,
    teacher logits); ``params`` are recorded in the fingerprint.
    """

    def __init__(self, target_fn: Callable[[Batch], torch.Tensor], name: str,
                 needs_teacher: bool = False, **params: Any) -> None:
        self.target_fn, self.name, self.needs_teacher = target_fn, name, needs_teacher
        self.params = params

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return soft_cross_entropy(logits, self.target_fn(batch).to(logits.dtype))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


class LossFunction(Objective):
    """Any loss ``fn(logits, batch) -> scalar`` (e.g. a self-distillation loss with α and T)."""

    def __init__(self, fn: Callable[[torch.Tensor, Batch], torch.Tensor], name: str,
                 needs_teacher: bool = False, **params: Any) -> None:
        self.fn, self.name, self.needs_teacher, self.params = fn, name, needs_teacher, params

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return self.fn(logits, batch)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


class EpochTargets(Objective):
    """Targets rebuilt at the start of every epoch from the previous epoch's network.

    ``rule(y, probs, previous, epoch) -> (n, K)``: ``y`` (n,) the given labels, ``probs`` (n, K) the
    network's softmax on the unaugmented training inputs at the end of the previous epoch,
    ``previous`` (n, K) the targets of the previous epoch (one-hot labels at the start), ``epoch``
    the epoch about to run. Epochs before ``warmup`` use the one-hot labels. The loss is the soft
    cross-entropy against the current targets. The targets are part of the state (resume).
    """

    def __init__(self, rule: Callable[..., torch.Tensor], y: torch.Tensor, num_classes: int,
                 name: str, warmup: int = 0, **params: Any) -> None:
        self.rule, self.name, self.warmup, self.params = rule, name, warmup, params
        self.y = y
        self.targets = F.one_hot(y, num_classes).float()

    def start_epoch(self, epoch: int, predict: Callable[[], torch.Tensor]) -> None:
        if epoch >= self.warmup and epoch > 0:
            probs = torch.softmax(predict().float(), dim=1)
            self.targets = self.rule(self.y, probs, self.targets, epoch).float()

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return soft_cross_entropy(logits, self.targets[batch.index])

    def state_dict(self) -> dict[str, Any]:
        return {"targets": self.targets}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.targets = state["targets"].to(self.y.device)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "warmup": self.warmup, **self.params}
