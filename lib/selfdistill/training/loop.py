"""The training engine: one loop for every deep-network chapter.

:func:`train` trains one network on a :class:`~selfdistill.data.classification.Dataset` held on the
device, with a pluggable :class:`~selfdistill.training.objectives.Objective` and an optional frozen
teacher; SGD with momentum and a per-step learning-rate schedule; bf16 autocast and channels_last on
CUDA, float32 on the CPU; evaluation after every epoch (validation, test and any extra sets), with
the best-validation and the last epoch both reported; a checkpoint after every epoch, written
atomically, from which an interrupted run resumes to exactly the same result on the CPU
(:mod:`selfdistill.training.checkpoint`).
:func:`generations` chains runs, each student taught by the previous generation, frozen.
Progress bars (tqdm) show on a terminal and stay quiet elsewhere (the book build).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from selfdistill.core.validate import check_choice, check_in_range, check_int
from selfdistill.data.classification import DATASETS, Dataset, augment
from selfdistill.training import checkpoint as ckpt
from selfdistill.training.models import MODELS, build_model
from selfdistill.training.objectives import Batch, CrossEntropy, Objective

__all__ = ["TrainConfig", "TrainResult", "evaluate", "generations", "predict_logits", "train"]

SCHEDULES = ("constant", "cosine", "step")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run (units: epochs, examples, learning rate per step).

    ``schedule``: ``"constant"``; ``"cosine"`` (to 0 over the run); ``"step"`` (×0.1 at 1/3 and 2/3
    of the run, zhang2020's released setting). ``augment``: random crop (padding ``padding``) and
    horizontal flip for images. ``width``/``depth``: see
    :func:`~selfdistill.training.models.build_model`.
    """

    model: str = "mlp"
    dataset: str = "digits-vec"
    epochs: int = 20
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    augment: bool = False
    padding: int = 4
    width: int = 64
    depth: int = 2
    seed: int = 0

    def check(self) -> TrainConfig:
        """Validate every field; raise ``ValueError`` naming the first bad one."""
        check_choice("model", self.model, MODELS)
        check_choice("dataset", self.dataset, DATASETS)
        check_int("epochs", self.epochs, 1, 100_000)
        check_int("batch_size", self.batch_size, 1, 10**7)
        check_in_range("lr", self.lr, 0.0, 10.0, lower_open=True)
        check_in_range("momentum", self.momentum, 0.0, 1.0, upper_open=True)
        check_in_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("padding", self.padding, 0, 64)
        check_int("width", self.width, 1, 4096)
        check_int("depth", self.depth, 1, 64)
        check_int("seed", self.seed, 0, 2**63 - 1)
        return self

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate of step ``step`` of ``total`` (0-based)."""
        t = step / total
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * t))
        if self.schedule == "step":
            return self.lr * (0.1 ** (int(t >= 1 / 3) + int(t >= 2 / 3)))
        return self.lr


@dataclass
class TrainResult:
    """What a run returns: ``model`` (last epoch, eval mode), ``best_model`` (best validation
    accuracy, first such epoch), ``history`` (one dict per epoch: ``train_loss``, ``lr``,
    ``<set>_acc``, ``<set>_nll``, ``<set>_mse`` for val, test and every extra set), ``best_epoch``
    (1-based), ``config``; ``extra`` holds the objective's description and ``eval_seconds``, the
    wall time spent in the per-epoch evaluations (for the benchmark)."""

    model: nn.Module
    best_model: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    config: TrainConfig
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> dict[str, float]:
        return self.history[-1]

    @property
    def best(self) -> dict[str, float]:
        return self.history[self.best_epoch - 1]

    def curve(self, key: str) -> list[float]:
        """One metric over epochs, e.g. ``curve("test_acc")``."""
        return [h[key] for h in self.history]


def _autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing on the CPU (float32)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Logits (n, K) float32 of ``model`` in eval mode on ``x`` ``(n, *shape)``, in chunks."""
    was_training = model.training
    model.eval()
    fmt = torch.channels_last if (x.is_cuda and x.ndim == 4) else torch.contiguous_format
    out = []
    with _autocast(x.device):
        for i in range(0, x.shape[0], chunk):
            out.append(model(x[i:i + chunk].contiguous(memory_format=fmt)).float())
    model.train(was_training)
    return torch.cat(out)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Accuracy, NLL (mean cross-entropy) and MSE to one-hot labels of ``model`` on (x, y)."""
    logits = predict_logits(model, x)
    onehot = F.one_hot(y, logits.shape[1]).float()
    return {"acc": float((logits.argmax(1) == y).float().mean()),
            "nll": float(F.cross_entropy(logits, y)),
            "mse": float(F.mse_loss(logits, onehot))}


def _check_inputs(config: TrainConfig, data: Dataset, objective: Objective,
                  teacher: nn.Module | None) -> None:
    config.check()
    if config.dataset != data.name:
        raise ValueError(f"config.dataset = {config.dataset!r} but data is {data.name!r}")
    n = data.x_train.shape[0]
    if config.batch_size > n:
        raise ValueError(f"batch_size = {config.batch_size} is larger than the {n} training "
                         f"examples; accepted: integers in [1, {n}]")
    if objective.needs_teacher and teacher is None:
        raise ValueError(f"objective {objective.name!r} needs a teacher; teacher = None")
    if config.augment and data.x_train.ndim != 4:
        raise ValueError("augment = True needs images (n, C, H, W); this data set has vectors")


#: what a checkpoint's state holds (a file lacking one is refused, naming the key)
_STATE_KEYS = ("epoch", "model", "optimizer", "generator", "objective", "history", "best_epoch",
               "best_acc", "best_model")


def train(config: TrainConfig, data: Dataset, objective: Objective | None = None,
          teacher: nn.Module | None = None, checkpoint: str | Path | None = None,
          eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
          callback: Callable[[int, dict[str, float]], None] | None = None,
          progress: bool | None = None, ties: str = "first") -> TrainResult:
    """Train one network; see the module docstring.

    ``data`` on the device the run uses; ``teacher`` a trained model (frozen here, eval mode) whose
    logits on each augmented batch reach the objective; ``checkpoint`` a file: written after every
    epoch (atomically) and, when it exists, resumed from (a checkpoint of another configuration is
    refused with ``ValueError``); ``eval_sets`` extra (x, y) pairs evaluated every epoch;
    ``callback(epoch, record)`` after each epoch's checkpoint (an exception there interrupts the
    run); ``ties`` which epoch of equal best validation accuracy is kept: ``"first"``, or
    ``"last"`` (zhang2020's released code saves when ``val_acc >= max``). Every input is checked
    before any training (an unwritable ``checkpoint`` path too); nothing is written before the
    first epoch.
    """
    objective = objective if objective is not None else CrossEntropy()
    _check_inputs(config, data, objective, teacher)
    check_choice("ties", ties, ("first", "last"))
    device = data.x_train.device
    extra_sets = dict(eval_sets or {})
    fingerprint, state = None, None
    if checkpoint:  # the digests of the data cost a pass over it: only when checkpointing
        ckpt.check_writable(checkpoint)
        fingerprint = ckpt.fingerprint(config, data, objective, teacher)
        state = ckpt.load(checkpoint, fingerprint, device, _STATE_KEYS)

    torch.manual_seed(config.seed)
    model = build_model(config.model, data.shape, data.num_classes, config.width, config.depth)
    fmt = torch.channels_last if (device.type == "cuda" and data.x_train.ndim == 4) else None
    model = model.to(device, memory_format=fmt) if fmt else model.to(device)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config.lr, momentum=config.momentum)
    generator = torch.Generator(device=device).manual_seed(config.seed + 1)
    if teacher is not None:
        teacher = teacher.to(device).eval().requires_grad_(False)

    n, bs = data.x_train.shape[0], config.batch_size
    per_epoch = n // bs
    total = per_epoch * config.epochs
    history: list[dict[str, float]] = []
    best_epoch, best_acc, best_state = 0, -1.0, None
    start, eval_seconds = 0, 0.0
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            generator.set_state(state["generator"].to("cpu"))
            objective.load_state_dict(state["objective"])
            history, best_epoch = list(state["history"]), int(state["best_epoch"])
            best_acc, best_state = float(state["best_acc"]), state["best_model"]
            start = check_int("epoch (of the checkpoint)", state["epoch"], 0, config.epochs)
        except (AttributeError, KeyError, RuntimeError, TypeError, ValueError) as err:
            text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"checkpoint = {ckpt.cut(repr(str(checkpoint)))} holds a state "
                             f"this run cannot resume ({type(err).__name__}: "
                             f"{ckpt.cut(text)}); remove it or choose another path") from None

    from tqdm import tqdm

    bar = tqdm(range(start, config.epochs), disable=None if progress is None else not progress,
               desc=f"{config.model} {objective.name}", leave=False, initial=start,
               total=config.epochs)
    for epoch in bar:
        model.train()
        objective.start_epoch(epoch, lambda: predict_logits(model, data.x_train))
        perm = torch.randperm(n, device=device, generator=generator)
        loss_sum = torch.zeros((), device=device)
        for b in range(per_epoch):
            step = epoch * per_epoch + b
            index = perm[b * bs:(b + 1) * bs]
            x = data.x_train[index]
            if config.augment:
                x = augment(x, generator, config.padding)
            if fmt is not None:
                x = x.contiguous(memory_format=fmt)
            with _autocast(device):
                t_logits = teacher(x).float() if teacher is not None else None
                logits = model(x).float()
            batch = Batch(x, data.y_train[index], index, t_logits, epoch, step,
                          data.num_classes, generator)
            loss = objective.loss(logits, batch)
            for group in optimizer.param_groups:
                group["lr"] = config.lr_at(step, total)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            objective.after_step(model, batch)
            loss_sum += loss.detach()
        record = {"epoch": epoch + 1, "train_loss": float(loss_sum) / per_epoch,
                  "lr": config.lr_at(min((epoch + 1) * per_epoch, total) - 1, total)}
        tick = time.perf_counter()
        sets = {"val": (data.x_val, data.y_val), "test": (data.x_test, data.y_test), **extra_sets}
        for name, (xs, ys) in sets.items():
            if xs.shape[0]:
                record.update({f"{name}_{k}": v for k, v in evaluate(model, xs, ys).items()})
        eval_seconds += time.perf_counter() - tick
        history.append(record)
        score = record.get("val_acc", record["test_acc"])
        if score > best_acc or (ties == "last" and score == best_acc):
            best_epoch, best_acc = epoch + 1, score
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if checkpoint:
            ckpt.save(checkpoint, fingerprint, {
                "epoch": epoch + 1, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                "objective": objective.state_dict(), "history": history,
                "best_epoch": best_epoch, "best_acc": best_acc, "best_model": best_state})
        if callback is not None:
            callback(epoch + 1, record)
    model.eval()
    best_model = copy.deepcopy(model)
    best_model.load_state_dict(best_state)
    return TrainResult(model, best_model.eval(), history, best_epoch, config, start,
                       {"objective": objective.describe(), "eval_seconds": eval_seconds})


def generations(config: TrainConfig, data: Dataset, objective: Callable[[int], Objective],
                count: int, teacher_from: str = "best", checkpoint_dir: str | Path | None = None,
                **kwargs: Any) -> list[TrainResult]:
    """Train ``count`` generations; generation g > 0 is taught by generation g − 1, frozen.

    ``objective(g)`` gives generation g's objective (generation 0 has no teacher); ``teacher_from``
    ``"best"`` (best-validation model, zhang2020) or ``"last"`` (mobahi2020's rounds). Each
    generation is a fresh network with seed ``config.seed + g``.
    """
    check_int("count", count, 1, 1000)
    check_choice("teacher_from", teacher_from, ("best", "last"))
    results: list[TrainResult] = []
    for g in range(count):
        teacher = None
        if g:
            teacher = results[-1].best_model if teacher_from == "best" else results[-1].model
        path = Path(checkpoint_dir) / f"generation-{g}.pt" if checkpoint_dir else None
        cfg = TrainConfig(**{**asdict(config), "seed": config.seed + g})
        results.append(train(cfg, data, objective(g), teacher, path, **kwargs))
    return results
