"""Full-batch gradient descent on a network's training outputs (dong2019, §1).

Plain GD, ``θ ← θ − η ∇_θ L(θ)``, on every parameter with ``requires_grad``, with the sum loss of
dong2019 §1, ``L = ½ Σ_i ‖f(x_i) − y_i‖²`` (no ``1/n``: then in the kernel regime
``u(k+1) − y ≈ (I − ηH)(u(k) − y)`` with ``H`` the NTK Gram matrix itself, see
:mod:`selfdistill.dong2019.dynamics`), or the summed soft-target cross-entropy
``L = −Σ_i Σ_c y_ic log softmax(f(x_i))_c`` (``n`` times the one soft cross-entropy,
:func:`selfdistill.training.objectives.soft_cross_entropy`). Targets may change from step to
step through ``target_fn`` (self-distillation rules build them from the previous outputs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from selfdistill.core.validate import (
    Integer,
    Optional,
    Options,
    Positive,
    Tensor,
    validate_params,
)
from selfdistill.training.objectives import soft_cross_entropy

__all__ = ["GDHistory", "train_full_batch_gd"]

LOSSES = ("mse", "ce")


@dataclass(frozen=True)
class GDHistory:
    """What :func:`train_full_batch_gd` recorded, at steps ``0, r, 2r, …`` and the last step.

    Attributes
    ----------
    steps : numpy.ndarray
        int64 ``(R,)``: number of updates done before each record.
    outputs : torch.Tensor
        ``(R, n)`` or ``(R, n, C)``, detached, on the model's device: training outputs ``u(k)``.
    losses : numpy.ndarray
        float64 ``(R,)``: the loss at ``u(k)`` against the targets in force at step k (the last
        record uses the last step's targets).
    eval_outputs : torch.Tensor or None
        ``(R, n_eval)`` or ``(R, n_eval, C)`` on ``X_eval``, or None.
    targets : torch.Tensor
        ``(R, n)`` or ``(R, n, C)``: the targets in force at each record (the given ``y`` unless
        ``target_fn`` changes them).
    """

    steps: np.ndarray
    outputs: torch.Tensor
    losses: np.ndarray
    eval_outputs: torch.Tensor | None
    targets: torch.Tensor


def _loss(kind: str, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if kind == "mse":
        return (out - y).square().sum() / 2
    return soft_cross_entropy(out, y, "sum")


@validate_params(X=Tensor((2,)), y=Tensor((1, 2)), lr=Positive(), steps=Integer(0),
                 record_every=Integer(1), loss=Options(*LOSSES), X_eval=Optional(Tensor((2,))))
def train_full_batch_gd(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    lr: float,
    steps: int,
    record_every: int = 1,
    *,
    loss: str = "mse",
    X_eval: torch.Tensor | None = None,
    target_fn: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
) -> GDHistory:
    """Train ``model`` in place by ``steps`` full-batch GD updates ``θ ← θ − η ∇_θ L(θ)``: the one
    GD engine of dong2019.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, d)`` to ``(n,)`` or ``(n, C)``; its parameters with ``requires_grad`` are
        trained.
    X : torch.Tensor
        Training inputs ``(n, d)``, finite, on the model's device and dtype.
    y : torch.Tensor
        Targets shaped like ``model(X)``, ``(n,)`` or ``(n, C)``, finite, on the model's device
        (cast to the output dtype).
    lr : float
        Step size η > 0.
    steps : int
        Number of updates, ≥ 0.
    record_every : int
        Record every this many steps, ≥ 1 (the last step is always recorded).
    loss : {"mse", "ce"}
        ``"mse"``: ``½ Σ‖u − y‖²``, the dynamics of :mod:`selfdistill.dong2019.dynamics`;
        ``"ce"``: the summed soft-target cross-entropy (``y`` rows are distributions, outputs are
        logits ``(n, C)``).
    X_eval : torch.Tensor, optional
        Inputs ``(n_eval, d)`` whose outputs are recorded too (test accuracy).
    target_fn : callable, optional
        ``target_fn(k, u_k) -> targets`` called before update ``k`` (k = 0, 1, …) with the
        detached outputs ``u(k)``; its return value (shape of ``y``) is the target for that
        update. ``None``: the fixed ``y``.

    Returns
    -------
    GDHistory

    Raises
    ------
    ValueError
        If an argument is outside its range, the shapes do not match or no parameter is
        trainable.
    FloatingPointError
        If the loss becomes non-finite (η too large: GD diverges when ηλ_max > 2).

    Examples
    --------
    >>> model = torch.nn.Linear(1, 1, bias=False).double()
    >>> _ = torch.nn.init.zeros_(model.weight)
    >>> X = torch.ones(2, 1, dtype=torch.float64)
    >>> y = torch.ones(2, 1, dtype=torch.float64)
    >>> hist = train_full_batch_gd(model, X, y, 0.25, 2)
    >>> hist.losses.tolist()  # the residual halves each step: lr λ = 0.25 · 2
    [1.0, 0.25, 0.0625]
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameter with requires_grad = True: nothing to train")
    if X_eval is not None:
        if X_eval.shape[1] != X.shape[1]:
            raise ValueError(f"X_eval has shape {tuple(X_eval.shape)}; expected (n_eval, "
                             f"{X.shape[1]}) like X")
    with torch.no_grad():
        out0 = model(X)
    if tuple(y.shape) != tuple(out0.shape):
        raise ValueError(f"y has shape {tuple(y.shape)} but model(X) has {tuple(out0.shape)}")
    if loss == "ce" and out0.ndim != 2:
        raise ValueError(f"loss = 'ce' needs outputs (n, C), got {tuple(out0.shape)}")
    y = y.to(out0)

    rec_steps, outputs, losses, evals, targets = [], [], [], [], []

    def record(k: int, out: torch.Tensor, target: torch.Tensor, value: float) -> None:
        rec_steps.append(k)
        outputs.append(out.detach().clone())
        losses.append(value)
        targets.append(target.detach().clone())
        if X_eval is not None:
            with torch.no_grad():
                evals.append(model(X_eval).detach().clone())

    target = y
    for k in range(steps + 1):
        out = model(X)
        if target_fn is not None and k < steps:
            target = target_fn(k, out.detach()).to(out)
            if target.shape != y.shape:
                raise ValueError(f"target_fn returned shape {tuple(target.shape)} at step {k}; "
                                 f"expected {tuple(y.shape)}")
        value = _loss(loss, out, target)
        if not bool(torch.isfinite(value.detach())):
            raise FloatingPointError(
                f"loss is {float(value.detach())} at step {k}: lr = {lr} too large?")
        if k % record_every == 0 or k == steps:
            record(k, out, target, float(value.detach()))
        if k == steps:
            break
        grads = torch.autograd.grad(value, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.sub_(lr * g)
    return GDHistory(
        steps=np.asarray(rec_steps, dtype=np.int64),
        outputs=torch.stack(outputs),
        losses=np.asarray(losses, dtype=np.float64),
        eval_outputs=torch.stack(evals) if X_eval is not None else None,
        targets=torch.stack(targets),
    )
