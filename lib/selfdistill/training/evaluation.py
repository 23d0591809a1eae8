"""Predictions and metrics of a trained network: logits in chunks, accuracy, NLL and MSE."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from selfdistill.core.validate import Integer, Tensor, check_labels, validate_params

__all__ = ["evaluate", "predict_logits"]


def _autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; nothing on the CPU (float32)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
@validate_params(x=Tensor((2, 3, 4, 5), finite=False), chunk=Integer(1))
def predict_logits(model: nn.Module, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Logits of ``model`` in eval mode on ``x``, in chunks, without gradients.

    The model's mode is restored afterwards; bf16 autocast and channels_last on CUDA.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, *shape)`` inputs to ``(n, K)`` logits, on ``x``'s device.
    x : torch.Tensor
        Shape ``(n, *shape)``, floating point, on the model's device.
    chunk : int, optional
        Examples per forward pass, ``≥ 1``.

    Returns
    -------
    torch.Tensor
        Shape ``(n, K)``, float32, on ``x``'s device.

    Raises
    ------
    ValueError
        If ``x`` is not a real tensor with 2 to 5 dimensions, or ``chunk < 1``.
    """
    was_training = model.training
    model.eval()
    fmt = torch.channels_last if (x.is_cuda and x.ndim == 4) else torch.contiguous_format
    out = []
    with _autocast(x.device):
        for i in range(0, x.shape[0], chunk):
            out.append(model(x[i:i + chunk].contiguous(memory_format=fmt)).float())
    model.train(was_training)
    return torch.cat(out)


@validate_params(x=Tensor((2, 3, 4, 5), finite=False))
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Accuracy, NLL (mean cross-entropy) and MSE to one-hot labels of ``model`` on ``(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(n, *shape)`` inputs to ``(n, K)`` logits.
    x : torch.Tensor
        Shape ``(n, *shape)``, on the model's device.
    y : torch.Tensor
        Shape ``(n,)``, integer class indices in ``[0, K − 1]``, on ``x``'s device.

    Returns
    -------
    dict of str to float
        ``acc`` (fraction of argmax hits), ``nll`` (mean cross-entropy, nats) and ``mse``
        (mean over the ``n K`` entries of ``(logit − one-hot)²``).

    Raises
    ------
    ValueError
        If ``x`` is not a real tensor of 2–5 dimensions, or ``y`` is not ``(n,)`` integer labels
        in range on ``x``'s device (:func:`selfdistill.core.validate.check_labels`).
    """
    # dtype, shape and device before any work; the range once the model gives K
    check_labels("y", y, 2**62, rows=x.shape[0], device=x.device)
    logits = predict_logits(model, x)
    y = check_labels("y", y, logits.shape[1])
    onehot = F.one_hot(y, logits.shape[1]).float()
    return {"acc": float((logits.argmax(1) == y).float().mean()),
            "nll": float(F.cross_entropy(logits, y)),
            "mse": float(F.mse_loss(logits, onehot))}
