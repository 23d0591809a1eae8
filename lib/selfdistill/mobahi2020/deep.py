"""mobahi2020's rounds with deep networks, each round trained to a fixed training tolerance.

The theory's rounds (:mod:`selfdistill.mobahi2020.rounds`) fit each round's targets up to the same
training error ε. This module does the same with networks: round 0 fits the (possibly noisy) one-hot
labels, round t a fresh network fits round t − 1's outputs on the training inputs, and every round
stops at the first epoch whose training MSE to its own targets is at most ``eps`` (the ε of the
theory). The last layer starts at zero, so every round starts from the zero function, as the
minimum-norm solutions of the theory do, and the stopping time plays the part of the regularisation
constant: with gradient descent from zero, stopping after T steps of size η acts like ridge
regression with c ≈ 1/(ηT) on the network's tangent kernel, so a falling T is a growing (amplified)
c_t.

A round whose targets are already within ``eps`` of zero stops before its first step: it returns
the zero function (the theory's collapse).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from selfdistill.core.validate import (
    Constraint,
    Integer,
    Options,
    Real,
    Seed,
    validate_params,
)
from selfdistill.data.classification import Dataset
from selfdistill.data.noise import symmetric_noise
from selfdistill.training.loop import TrainConfig, generations, predict_logits
from selfdistill.training.models import build_model
from selfdistill.training.objectives import MSE
from selfdistill.training.protocol import seed_range

__all__ = ["PAPER", "ToleranceConfig", "deep_rounds", "setup", "tolerance_rounds"]


@dataclass(frozen=True)
class ToleranceConfig:
    """Settings of :func:`tolerance_rounds` (all ours; the paper's are unknown).

    :func:`tolerance_rounds` checks the fields declared in ``__constraints__`` before any work,
    naming them ``cfg.<field>``.

    Parameters
    ----------
    eps : float
        Training tolerance ε of every round (MSE averaged over examples and classes), in
        ``(0, 1]``.
    noise : float
        Rate of symmetric label noise on the training labels, in ``[0, 0.9]`` (0 for none).
    lr : float
        Learning rate (step size) of plain gradient descent (SGD without momentum), in
        ``(0, 100]``.
    batch_size : int
        0 for full-batch gradient descent (book scale), else a mini-batch size (``≤ 1e6``).
    max_epochs : int
        Cap on the epochs of one round, in ``[1, 1e6]`` (a round that hits it is flagged).
    model, width, depth : str, int, int
        The network (:func:`selfdistill.training.models.build_model`).
    dtype : {"float32", "float64"}
        Either way, hundreds of full-batch gradient steps amplify the last-bit differences
        between CPU kernel paths (``ATEN_CPU_CAPABILITY``) into different stopping epochs and
        accuracies (measured, in float64 too): results are repeatable on one machine and path,
        not across paths.
    """

    __constraints__: ClassVar[dict[str, Constraint]] = {
        "eps": Real(0.0, 1.0, lower_open=True),
        "noise": Real(0.0, 0.9),
        "lr": Real(0.0, 100.0, lower_open=True),
        "batch_size": Integer(0, 10**6),
        "max_epochs": Integer(1, 10**6),
        "dtype": Options("float32", "float64"),
    }

    eps: float = 0.005
    noise: float = 0.3
    lr: float = 2.0
    batch_size: int = 0
    max_epochs: int = 2000
    model: str = "mlp"
    width: int = 128
    depth: int = 2
    dtype: str = "float32"


#: paper-scale settings (ours, not run on a GPU yet): ResNet-18 on CIFAR-10, mini-batch SGD.
PAPER = ToleranceConfig(eps=0.005, noise=0.3, lr=0.05, batch_size=128, max_epochs=200,
                        model="resnet18", width=64, depth=2, dtype="float32")


@validate_params(scale=Options("book", "paper"), seed=Seed(), train_size=Integer(1))
def setup(scale: str, cfg: ToleranceConfig, device: torch.device, seed: int,
          train_size: int, root: str | Path | None = None) -> tuple[ToleranceConfig, Dataset]:
    """The configuration and data of a scale.

    Parameters
    ----------
    scale : {"book", "paper"}
        ``"book"``: ``cfg`` on ``train_size`` examples of digits (vectors); ``"paper"``:
        :data:`PAPER` on all of CIFAR-10 (from ``root`` or ``SELFDISTILL_DATA``).
    cfg : ToleranceConfig
        The book-scale settings.
    device : torch.device
        Where the data go.
    seed : int
        The split's seed, in ``[0, SEED_MAX]``.
    train_size : int
        Training examples at book scale, in ``[1, number of training examples]`` (≥ 1 declared,
        the upper end checked by the loader); unused at paper scale.
    root : str or Path, optional
        CIFAR-10's folder.

    Returns
    -------
    tuple
        ``(ToleranceConfig, Dataset)``.

    Raises
    ------
    ValueError
        An unknown ``scale``, a bad ``seed`` or ``train_size``, or what the loader refuses.
    """
    from selfdistill.data.classification import load_dataset

    if scale == "book":
        return cfg, load_dataset("digits-vec", device, seed=seed, train_size=train_size)
    return PAPER, load_dataset("cifar10", device, seed=seed, root=root)


def _as(data: Dataset, dtype: torch.dtype) -> Dataset:
    """``data`` with its inputs in ``dtype`` (labels unchanged)."""
    from dataclasses import replace

    return replace(data, x_train=data.x_train.to(dtype), x_val=data.x_val.to(dtype),
                   x_test=data.x_test.to(dtype))


def _fit(cfg: ToleranceConfig, data: Dataset, target: torch.Tensor, seed: int):
    torch.manual_seed(seed)
    model = build_model(cfg.model, data.shape, data.num_classes, cfg.width,
                        cfg.depth).to(device=data.x_train.device, dtype=target.dtype)
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    torch.nn.init.zeros_(last.weight)
    torch.nn.init.zeros_(last.bias)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
    n = len(target)
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    for epoch in range(cfg.max_epochs + 1):
        with torch.no_grad():
            model.eval()
            if float(F.mse_loss(model(data.x_train), target)) <= cfg.eps:
                return model, epoch, True
            model.train()
        if epoch == cfg.max_epochs:
            break
        if cfg.batch_size == 0:
            batches = [torch.arange(n)]
        else:
            batches = torch.randperm(n, generator=gen).split(cfg.batch_size)
        for idx in batches:
            idx = idx.to(target.device)
            loss = F.mse_loss(model(data.x_train[idx]), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, cfg.max_epochs, False


@validate_params(rounds=Integer(1, 50), seeds=Integer(1, 100), seed=Seed())
def tolerance_rounds(cfg: ToleranceConfig, data: Dataset, rounds: int, seeds: int,
                     seed: int = 0) -> list[dict[str, Any]]:
    """Run ``rounds`` rounds for each of ``seeds`` seeds (seed ``seed + 100 s``).

    Seed s draws its own label noise (generator ``seed + 100 s + 31``) on ``data``'s training
    labels; ``data`` is the same for every seed (draw a new split per seed by loading it per
    seed and calling once per seed).

    Parameters
    ----------
    cfg : ToleranceConfig
        The settings, checked before any work.
    data : Dataset
        Training and test sets on one device (the inputs are cast to ``cfg.dtype``).
    rounds : int
        In ``[1, 50]``.
    seeds : int
        The number of seeds, in ``[1, 100]``.
    seed : int
        The base seed, in ``[0, SEED_MAX]``.

    Returns
    -------
    list of dict, one per seed and round t, with keys ``seed``, ``round``, ``epochs`` (epochs to
    reach ``eps``; 0 for a collapsed round), ``reached`` (bool), ``mse_labels`` (MSE of the
    round's training outputs y_{t+1} to the one-hot **noisy** labels y_0, the theory's
    ‖y_0 − y_{t+1}‖²/(KC)), ``mse_clean`` (to the clean one-hot labels), ``shrink``
    (‖y_{t+1}‖/‖y_t‖, the per-round shrink factor; y_0 the one-hot labels), ``train_acc``
    (against the noisy labels), ``test_acc`` (clean test labels), ``noise_rate`` (realised).

    Raises
    ------
    ValueError
        A parameter or a ``cfg.<field>`` outside its range, naming it.
    """
    for field in fields(cfg):
        if field.name in cfg.__constraints__:
            cfg.__constraints__[field.name](f"cfg.{field.name}", getattr(cfg, field.name))
    dtype = getattr(torch, cfg.dtype)
    data = _as(data, dtype)
    rows = []
    for s in range(seeds):
        base = seed + 100 * s
        labels = data.y_train
        if cfg.noise > 0:
            gen = torch.Generator().manual_seed(base + 31)
            labels = symmetric_noise(data.y_train.cpu(), cfg.noise, data.num_classes,
                                     gen).noisy.to(data.y_train.device)
        y0 = F.one_hot(labels, data.num_classes).to(dtype)
        clean = F.one_hot(data.y_train, data.num_classes).to(dtype)
        target = y0
        for t in range(rounds):
            model, epochs, reached = _fit(cfg, data, target, base + 1000 * (t + 1))
            model.eval()
            with torch.no_grad():
                out = model(data.x_train)
                test = model(data.x_test)
            norm = float(target.norm())
            rows.append({"seed": s, "round": t, "epochs": epochs, "reached": reached,
                         "mse_labels": float(F.mse_loss(out, y0)),
                         "mse_clean": float(F.mse_loss(out, clean)),
                         "shrink": float(out.norm()) / norm if norm > 0 else 0.0,
                         "train_acc": float((out.argmax(1) == labels).float().mean()),
                         "test_acc": float((test.argmax(1) == data.y_test).float().mean()),
                         "noise_rate": float((labels != data.y_train).float().mean())})
            target = out
    return rows


@validate_params(rounds=Integer(1, 50), seeds=Integer(1, 100))
def deep_rounds(config: TrainConfig, data: Dataset, rounds: int, seeds: int
                ) -> list[dict[str, Any]]:
    """mobahi2020's rounds trained with a loss (MSE) for ``seeds`` seeds (``config.seed + 100 s``).

    Parameters
    ----------
    config : TrainConfig
        The trainer's settings (:mod:`selfdistill.training.loop`).
    data : Dataset
        Training and test sets.
    rounds : int
        In ``[1, 50]``.
    seeds : int
        The number of seeds, in ``[1, 100]``.

    Returns
    -------
    list of dict
        One row per seed and round with keys ``seed``, ``round``, ``train_mse`` (MSE of the
        outputs to the one-hot ground truth on the training set), ``train_acc``, ``test_acc``,
        ``test_mse``, ``output_norm`` (root mean square of the training outputs).

    Raises
    ------
    ValueError
        ``rounds`` or ``seeds`` outside its range, or what the trainer refuses.
    """
    rows = []
    for s in seed_range(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        for t, res in enumerate(generations(cfg, data, lambda g: MSE(), rounds, "last")):
            out = predict_logits(res.model, data.x_train)
            onehot = F.one_hot(data.y_train, data.num_classes).float()
            rows.append({"seed": s, "round": t, "train_mse": float(F.mse_loss(out, onehot)),
                         "train_acc": float((out.argmax(1) == data.y_train).float().mean()),
                         "test_acc": res.last["test_acc"], "test_mse": res.last["test_mse"],
                         "output_norm": float(out.pow(2).mean().sqrt())})
    return rows
