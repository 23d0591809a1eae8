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

from selfdistill.core.validate import Integer, Options, Tensor, check_labels, validate_params

__all__ = ["Batch", "CrossEntropy", "EpochTargets", "LossFunction", "MSE",
           "Objective", "SoftTargets", "soft_cross_entropy"]


@dataclass
class Batch:
    """One mini-batch, as the trainer hands it to an :class:`Objective`.

    Attributes
    ----------
    x : torch.Tensor
        Shape ``(n, *shape)``, the inputs after augmentation, on the run's device.
    y : torch.Tensor
        Shape ``(n,)``, int64, the labels as given to training (possibly noisy).
    index : torch.Tensor
        Shape ``(n,)``, int64, the examples' positions in the training set.
    teacher : torch.Tensor or None
        Shape ``(n, K)``, float32, the frozen teacher's logits on the same augmented ``x``.
    epoch, step : int
        0-based epoch and global step.
    num_classes : int
        ``K``.
    generator : torch.Generator or None
        The run's seeded generator on the device (for objectives that draw).
    """

    x: torch.Tensor
    y: torch.Tensor
    index: torch.Tensor
    teacher: torch.Tensor | None
    epoch: int
    step: int
    num_classes: int
    generator: torch.Generator | None = None


@validate_params(logits=Tensor((2,), finite=False), targets=Tensor((2,), finite=False),
                 reduction=Options("mean", "sum", "none"))
def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                       reduction: str = "mean") -> torch.Tensor:
    """The one soft cross-entropy: ``−Σ_k t_k log softmax(s)_k`` per row, reduced over the batch.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(n, K)``, the student's logits ``s``, floating point (not checked for
        finiteness: this runs on every batch).
    targets : torch.Tensor
        Shape ``(n, K)``, rows on the simplex, the same dtype and device.
    reduction : {"mean", "sum", "none"}, default "mean"
        Over the batch: the mean (the trainer's loss), the sum, or one value per row.

    Returns
    -------
    torch.Tensor
        Shape ``()`` (``(n,)`` for ``"none"``) on the logits' device, differentiable in
        ``logits``.

    Raises
    ------
    ValueError
        If either is not a real 2-D tensor, their shapes differ, or ``reduction`` is unknown.

    Examples
    --------
    >>> logits = torch.zeros(2, 4, dtype=torch.float64)
    >>> round(float(soft_cross_entropy(logits, torch.full((2, 4), 0.25, dtype=torch.float64))), 6)
    1.386294
    """
    if logits.shape != targets.shape:
        raise ValueError(f"logits has shape {tuple(logits.shape)} but targets has shape "
                         f"{tuple(targets.shape)}; they must match")
    rows = -(targets * F.log_softmax(logits, dim=1)).sum(1)
    if reduction == "none":
        return rows
    return rows.sum() if reduction == "sum" else rows.mean()


class Objective:
    """Base class of the training objectives: override :meth:`loss`; the hooks do nothing.

    Attributes
    ----------
    name : str
        Shown in progress bars and part of :meth:`describe`.
    needs_teacher : bool
        :func:`~selfdistill.training.loop.train` refuses to run without a teacher when true.
    """

    name = "objective"
    needs_teacher = False

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The scalar loss of ``logits`` ``(n, K)`` float32 on ``batch``; override this."""
        raise NotImplementedError

    def start_epoch(self, epoch: int, predict: Callable[[], torch.Tensor]) -> None:
        """Called before each epoch's first step; ``predict()`` gives the network's logits
        ``(n_train, K)`` on the unaugmented training inputs."""

    def after_step(self, model: torch.nn.Module, batch: Batch) -> None:
        """Called after each optimiser step."""

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs (tensors and plain containers only)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters (part of the checkpoint fingerprint)."""
        return {"name": self.name}


class CrossEntropy(Objective):
    """Cross-entropy with the given labels (the default objective of training).

    Examples
    --------
    >>> batch = Batch(torch.zeros(2, 3), torch.tensor([0, 2]), torch.arange(2), None, 0, 0, 3)
    >>> round(float(CrossEntropy().loss(torch.zeros(2, 3), batch)), 6)  # log 3
    1.098612
    """

    name = "cross-entropy"

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy of ``logits`` ``(n, K)`` with ``batch.y``."""
        return F.cross_entropy(logits, batch.y)


class MSE(Objective):
    """Mean squared error against one-hot labels, or against the teacher's outputs when a teacher
    is given (each of mobahi2020's rounds regresses on the previous round's outputs):
    (1/(nK)) Σ_i ‖s_i − t_i‖²."""

    name = "mse"

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean over ``n K`` entries of ``(s − t)²``, ``t`` the teacher's logits or one-hot."""
        if batch.teacher is not None:
            target = batch.teacher
        else:
            target = F.one_hot(batch.y, batch.num_classes).to(logits.dtype)
        return F.mse_loss(logits, target)


class SoftTargets(Objective):
    """Soft cross-entropy against ``target_fn(batch) -> (n, K)`` target distributions.

    Parameters
    ----------
    target_fn : callable
        ``target_fn(batch)`` returns ``(n, K)`` rows on the simplex: any of the library's target
        functions wrapped to read the batch (labels, teacher logits).
    name : str
        The objective's name.
    needs_teacher : bool, optional
        Whether the targets read ``batch.teacher``.
    **params
        Hyper-parameters, recorded in the checkpoint's fingerprint.
    """

    def __init__(self, target_fn: Callable[[Batch], torch.Tensor], name: str,
                 needs_teacher: bool = False, **params: Any) -> None:
        self.target_fn, self.name, self.needs_teacher = target_fn, name, needs_teacher
        self.params = params

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """:func:`soft_cross_entropy` of ``logits`` against ``target_fn(batch)``."""
        return soft_cross_entropy(logits, self.target_fn(batch).to(logits.dtype))

    def describe(self) -> dict[str, Any]:
        """Name and ``params``."""
        return {"name": self.name, **self.params}


class LossFunction(Objective):
    """Any loss ``fn(logits, batch) -> scalar`` (e.g. a self-distillation loss with α and T).

    Parameters
    ----------
    fn : callable
        ``fn(logits, batch)`` returns a scalar tensor differentiable in ``logits``.
    name : str
        The objective's name.
    needs_teacher : bool, optional
        Whether ``fn`` reads ``batch.teacher``.
    **params
        Hyper-parameters, recorded in the checkpoint's fingerprint.
    """

    def __init__(self, fn: Callable[[torch.Tensor, Batch], torch.Tensor], name: str,
                 needs_teacher: bool = False, **params: Any) -> None:
        self.fn, self.name, self.needs_teacher, self.params = fn, name, needs_teacher, params

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """``fn(logits, batch)``."""
        return self.fn(logits, batch)

    def describe(self) -> dict[str, Any]:
        """Name and ``params``."""
        return {"name": self.name, **self.params}


class EpochTargets(Objective):
    """Targets rebuilt at the start of every epoch from the previous epoch's network.

    The loss is the soft cross-entropy against the current targets; the targets are part of the
    state (a resumed run continues with them). Epochs before ``warmup`` use the one-hot labels.

    Parameters
    ----------
    rule : callable
        ``rule(y, probs, previous, epoch) -> (n, K)``: ``y`` ``(n,)`` the given labels,
        ``probs`` ``(n, K)`` the network's softmax on the unaugmented training inputs at the end
        of the previous epoch, ``previous`` ``(n, K)`` the targets of the previous epoch (one-hot
        labels at the start), ``epoch`` the epoch about to run.
    y : torch.Tensor
        Shape ``(n_train,)``, integer labels in ``[0, num_classes − 1]`` on the run's device
        (the training labels, in the training set's order).
    num_classes : int
        ``K ≥ 2``.
    name : str
        The objective's name.
    warmup : int, optional
        Epochs trained on the one-hot labels first, ``≥ 0``.
    **params
        Hyper-parameters, recorded in the checkpoint's fingerprint.

    Raises
    ------
    ValueError
        If ``y`` are not class indices in range, or ``num_classes`` or ``warmup`` is out of
        range.
    Notes
    -----
    dong2019's deep noisy-label rules A, B and C, equation ``sd-rules-deep`` of the book
    (chapter ``noisy-labels-deep``), are rules of this objective
    (:func:`selfdistill.dong2019.deep.noisy_label_arms`).
    """

    @validate_params(num_classes=Integer(2), warmup=Integer(0))
    def __init__(self, rule: Callable[..., torch.Tensor], y: torch.Tensor, num_classes: int,
                 name: str, warmup: int = 0, **params: Any) -> None:
        y = check_labels("y", y, num_classes)
        self.rule, self.name, self.warmup, self.params = rule, name, warmup, params
        self.y = y
        self.targets = F.one_hot(y, num_classes).float()

    def start_epoch(self, epoch: int, predict: Callable[[], torch.Tensor]) -> None:
        """Rebuild the targets with ``rule`` (from epoch ``max(1, warmup)`` on)."""
        if epoch >= self.warmup and epoch > 0:
            probs = torch.softmax(predict().float(), dim=1)
            self.targets = self.rule(self.y, probs, self.targets, epoch).float()

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """:func:`soft_cross_entropy` against the current targets of the batch's examples."""
        return soft_cross_entropy(logits, self.targets[batch.index])

    def state_dict(self) -> dict[str, Any]:
        """The current targets ``(n_train, K)``."""
        return {"targets": self.targets}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the targets onto the labels' device."""
        self.targets = state["targets"].to(self.y.device)

    def describe(self) -> dict[str, Any]:
        """Name, ``warmup`` and ``params``."""
        return {"name": self.name, "warmup": self.warmup, **self.params}
