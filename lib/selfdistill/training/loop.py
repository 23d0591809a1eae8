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

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from selfdistill.core.validate import Integer, Options, check_int, validate_params
from selfdistill.data.classification import Dataset, augment
from selfdistill.training import checkpoint as ckpt
from selfdistill.training.config import TrainConfig
from selfdistill.training.evaluation import _autocast, evaluate, predict_logits
from selfdistill.training.models import build_model
from selfdistill.training.objectives import Batch, CrossEntropy, Objective

# TrainConfig, evaluate and predict_logits live in their own modules and are imported here too
__all__ = ["TrainResult", "generations", "train"]


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The network after the last epoch, in eval mode, on the data's device.
    best_model : torch.nn.Module
        A copy with the weights of the best validation epoch (``ties`` of :func:`train`).
    history : list of dict
        One record per epoch: ``epoch`` (1-based), ``train_loss``, ``lr``, and ``<set>_acc``,
        ``<set>_nll``, ``<set>_mse`` for ``val``, ``test`` and every extra set.
    best_epoch : int
        1-based epoch of ``best_model``.
    config : TrainConfig
        The run's configuration.
    resumed_from : int
        The epoch the run resumed from (0: it started afresh).
    extra : dict
        ``objective``: the objective's description; ``eval_seconds``: wall time spent in the
        per-epoch evaluations (for the benchmark).
    """

    model: nn.Module
    best_model: nn.Module
    history: list[dict[str, float]]
    best_epoch: int
    config: TrainConfig
    resumed_from: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> dict[str, float]:
        """The last epoch's record."""
        return self.history[-1]

    @property
    def best(self) -> dict[str, float]:
        """The best epoch's record."""
        return self.history[self.best_epoch - 1]

    def curve(self, key: str) -> list[float]:
        """One metric over epochs, e.g. ``curve("test_acc")``."""
        return [h[key] for h in self.history]


def _check_inputs(config: TrainConfig, data: Dataset, objective: Objective,
                  teacher: nn.Module | None) -> None:
    """The checks that relate the arguments of :func:`train` (each alone is checked by its
    constraint): the configuration, its data set, the batch size against the data, the teacher
    an objective needs, augmentation only of images."""
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


@dataclass
class _Run:
    """The state of one run that the phases of :func:`train` share and a checkpoint saves."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    teacher: nn.Module | None
    fmt: torch.memory_format | None  # channels_last for images on CUDA
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    best_acc: float = -1.0
    best_state: dict[str, torch.Tensor] | None = None
    start: int = 0
    eval_seconds: float = 0.0


def _setup(config: TrainConfig, data: Dataset, teacher: nn.Module | None) -> _Run:
    """Phase 1: the model (seeded by ``config.seed``), SGD with weight decay on the weights only
    (not on biases and normalisation parameters), the run's generator (seed ``config.seed + 1``)
    and the frozen teacher, all on the data's device."""
    device = data.x_train.device
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
    return _Run(model, optimizer, generator, teacher, fmt)


def _resume(run: _Run, state: dict[str, Any], objective: Objective, config: TrainConfig,
            checkpoint: str | Path) -> None:
    """Phase 1b: restore a checkpoint's state into ``run`` and ``objective``; a state this run
    cannot take is a ``ValueError`` naming the file and the first error."""
    try:
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.generator.set_state(state["generator"].to("cpu"))
        objective.load_state_dict(state["objective"])
        run.history, run.best_epoch = list(state["history"]), int(state["best_epoch"])
        run.best_acc, run.best_state = float(state["best_acc"]), state["best_model"]
        run.start = check_int("epoch (of the checkpoint)", state["epoch"], 0, config.epochs)
    except (AttributeError, KeyError, RuntimeError, TypeError, ValueError) as err:
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"checkpoint = {ckpt.cut(repr(str(checkpoint)))} holds a state "
                         f"this run cannot resume ({type(err).__name__}: "
                         f"{ckpt.cut(text)}); remove it or choose another path") from None


def _train_epoch(run: _Run, config: TrainConfig, data: Dataset, objective: Objective,
                 epoch: int) -> dict[str, float]:
    """Phase 2: one epoch of SGD over a seeded permutation (the last partial batch is dropped);
    returns the epoch's record so far: ``epoch`` (1-based), mean ``train_loss``, last ``lr``."""
    model, generator, teacher, fmt = run.model, run.generator, run.teacher, run.fmt
    device = data.x_train.device
    n, bs = data.x_train.shape[0], config.batch_size
    per_epoch = n // bs
    total = per_epoch * config.epochs
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
        for group in run.optimizer.param_groups:
            group["lr"] = config.lr_at(step, total)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        run.optimizer.step()
        objective.after_step(model, batch)
        loss_sum += loss.detach()
    return {"epoch": epoch + 1, "train_loss": float(loss_sum) / per_epoch,
            "lr": config.lr_at(min((epoch + 1) * per_epoch, total) - 1, total)}


def _evaluate_epoch(run: _Run, data: Dataset,
                    extra_sets: dict[str, tuple[torch.Tensor, torch.Tensor]],
                    record: dict[str, float], ties: str) -> None:
    """Phase 3: accuracy, NLL and MSE on the validation, test and extra sets into ``record``
    (timed into ``run.eval_seconds``); append it to the history and keep a copy of the weights
    when the validation accuracy (the test accuracy without a validation set) is the best so far
    (``ties``: the first or the last epoch of equal best score)."""
    tick = time.perf_counter()
    sets = {"val": (data.x_val, data.y_val), "test": (data.x_test, data.y_test), **extra_sets}
    for name, (xs, ys) in sets.items():
        if xs.shape[0]:
            record.update({f"{name}_{k}": v for k, v in evaluate(run.model, xs, ys).items()})
    run.eval_seconds += time.perf_counter() - tick
    run.history.append(record)
    score = record.get("val_acc", record["test_acc"])
    if score > run.best_acc or (ties == "last" and score == run.best_acc):
        run.best_epoch, run.best_acc = int(record["epoch"]), score
        run.best_state = {k: v.detach().clone() for k, v in run.model.state_dict().items()}


def _save_checkpoint(run: _Run, objective: Objective, checkpoint: str | Path,
                     fingerprint: dict[str, Any], epoch: int) -> None:
    """Phase 4: write everything a resumed run needs (:data:`_STATE_KEYS`), atomically."""
    ckpt.save(checkpoint, fingerprint, {
        "epoch": epoch, "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(), "generator": run.generator.get_state(),
        "objective": objective.state_dict(), "history": run.history,
        "best_epoch": run.best_epoch, "best_acc": run.best_acc, "best_model": run.best_state})


@validate_params(ties=Options("first", "last"))
def train(config: TrainConfig, data: Dataset, objective: Objective | None = None,
          teacher: nn.Module | None = None, checkpoint: str | Path | None = None,
          eval_sets: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
          callback: Callable[[int, dict[str, float]], None] | None = None,
          progress: bool | None = None, ties: str = "first") -> TrainResult:
    """Train one network: setup, then per epoch training, evaluation and a checkpoint.

    Every input is checked before any training (an unwritable ``checkpoint`` path too); nothing
    is written before the first epoch. The phases: :func:`_setup` (seeded model, optimiser,
    generator), :func:`_resume` (from ``checkpoint`` when it exists), then per epoch
    :func:`_train_epoch`, :func:`_evaluate_epoch` (and the best epoch), :func:`_save_checkpoint`
    and ``callback``.

    Parameters
    ----------
    config : TrainConfig
        The run's hyper-parameters (checked by :meth:`TrainConfig.check`).
    data : Dataset
        On the device the run uses; ``data.name`` must be ``config.dataset``.
    objective : Objective, optional
        How a batch's logits become a loss (default :class:`CrossEntropy`).
    teacher : torch.nn.Module, optional
        A trained model, frozen here (eval mode, no gradients), whose float32 logits on each
        augmented batch reach the objective as ``batch.teacher``.
    checkpoint : str or pathlib.Path, optional
        A file written after every epoch (atomically) and, when it exists, resumed from; a
        checkpoint of another configuration, data or objective is refused.
    eval_sets : dict of str to (torch.Tensor, torch.Tensor), optional
        Extra ``(x, y)`` pairs, ``x`` ``(n, *shape)`` and ``y`` ``(n,)`` int64 on the data's
        device, evaluated every epoch as ``<name>_acc``, ``<name>_nll``, ``<name>_mse``.
    callback : callable, optional
        ``callback(epoch, record)`` after each epoch's checkpoint (``epoch`` 1-based); an
        exception there interrupts the run.
    progress : bool, optional
        Show a tqdm bar (default: on a terminal only).
    ties : {"first", "last"}, optional
        Which epoch of equal best validation accuracy is kept (``"last"``: zhang2020's released
        code saves when ``val_acc >= max``).

    Returns
    -------
    TrainResult
        The last and best models (eval mode), the per-epoch history, the best epoch.

    Raises
    ------
    ValueError
        For a bad configuration, a data set other than ``config.dataset``, a batch larger than
        the training set, a missing teacher, augmentation of vectors, an unwritable or foreign
        checkpoint, or ``ties`` not in ``{"first", "last"}``.

    Examples
    --------
    >>> from selfdistill.data.classification import load_dataset
    >>> data = load_dataset("blobs", torch.device("cpu"), train_size=128)
    >>> config = TrainConfig(dataset="blobs", epochs=2, batch_size=64, width=8)
    >>> result = train(config, data, progress=False)
    >>> [h["epoch"] for h in result.history], result.best_epoch in (1, 2)
    ([1, 2], True)
    >>> sorted(k for k in result.last if k.startswith("val_"))
    ['val_acc', 'val_mse', 'val_nll']
    """
    objective = objective if objective is not None else CrossEntropy()
    _check_inputs(config, data, objective, teacher)
    device = data.x_train.device
    extra_sets = dict(eval_sets or {})
    fingerprint, state = None, None
    if checkpoint:  # the digests of the data cost a pass over it: only when checkpointing
        ckpt.check_writable(checkpoint)
        fingerprint = ckpt.fingerprint(config, data, objective, teacher)
        state = ckpt.load(checkpoint, fingerprint, device, _STATE_KEYS)

    run = _setup(config, data, teacher)
    if state is not None:
        _resume(run, state, objective, config, checkpoint)

    from tqdm import tqdm

    bar = tqdm(range(run.start, config.epochs),
               disable=None if progress is None else not progress,
               desc=f"{config.model} {objective.name}", leave=False, initial=run.start,
               total=config.epochs)
    for epoch in bar:
        record = _train_epoch(run, config, data, objective, epoch)
        _evaluate_epoch(run, data, extra_sets, record, ties)
        if checkpoint:
            _save_checkpoint(run, objective, checkpoint, fingerprint, epoch + 1)
        if callback is not None:
            callback(epoch + 1, record)
    run.model.eval()
    best_model = copy.deepcopy(run.model)
    best_model.load_state_dict(run.best_state)
    return TrainResult(run.model, best_model.eval(), run.history, run.best_epoch, config,
                       run.start, {"objective": objective.describe(),
                                   "eval_seconds": run.eval_seconds})


@validate_params(count=Integer(1, 1000), teacher_from=Options("best", "last"))
def generations(config: TrainConfig, data: Dataset, objective: Callable[[int], Objective],
                count: int, teacher_from: str = "best", checkpoint_dir: str | Path | None = None,
                **kwargs: Any) -> list[TrainResult]:
    """Train ``count`` generations; generation ``g > 0`` is taught by generation ``g − 1``, frozen.

    Each generation is a fresh network with seed ``config.seed + g``.

    Parameters
    ----------
    config : TrainConfig
        Generation 0's configuration.
    data : Dataset
        The data of every generation.
    objective : callable
        ``objective(g)`` gives generation ``g``'s :class:`Objective` (generation 0 has no
        teacher).
    count : int
        Number of generations, in ``[1, 1000]``.
    teacher_from : {"best", "last"}, optional
        The teacher is the previous generation's best-validation model (zhang2020) or its last
        (mobahi2020's rounds).
    checkpoint_dir : str or pathlib.Path, optional
        A folder for ``generation-<g>.pt`` checkpoints (resumable).
    **kwargs
        Passed to :func:`train` (``eval_sets``, ``progress``, ``ties``, ...).

    Returns
    -------
    list of TrainResult
        One per generation, in order.

    Raises
    ------
    ValueError
        If ``count`` or ``teacher_from`` is out of range, or a run refuses its inputs.
    """
    results: list[TrainResult] = []
    for g in range(count):
        teacher = None
        if g:
            teacher = results[-1].best_model if teacher_from == "best" else results[-1].model
        path = Path(checkpoint_dir) / f"generation-{g}.pt" if checkpoint_dir else None
        cfg = TrainConfig(**{**asdict(config), "seed": config.seed + g})
        results.append(train(cfg, data, objective(g), teacher, path, **kwargs))
    return results
