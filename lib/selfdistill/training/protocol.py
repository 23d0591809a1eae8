"""The deep-network protocol shared by the three papers' chapters: book or paper scale, seeds,
summaries over seeds, and the interrupted-and-resumed training check.

The experiments themselves live with their papers: :func:`selfdistill.mobahi2020.deep.deep_rounds`,
:mod:`selfdistill.zhang2020.generations`, :func:`selfdistill.dong2019.deep.noisy_label_arms`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from selfdistill.core.chapters import Chapter, ParameterError, shorten
from selfdistill.core.validate import (
    Integer,
    Optional,
    Options,
    Seed,
    check_choice,
    check_int,
    validate_params,
)
from selfdistill.data.cifar import CIFAR_CHECKSUMS
from selfdistill.data.classification import Dataset, load_dataset
from selfdistill.training.config import TrainConfig
from selfdistill.training.loop import train
from selfdistill.training.objectives import Objective

__all__ = ["PAPER", "book_or_paper", "check_paper_data", "interrupted_run_difference",
           "seed_range", "summarise"]

#: paper-scale settings (ours; the papers' exact protocols are unknown beyond the notes): CIFAR on a
#: GPU, data from SELFDISTILL_DATA. zhang2020's released code: SGD 0.1, momentum 0.9, wd 1e-4,
#: batch 128, 150 epochs, step decay; the other two papers' settings are ours.
PAPER = {
    "deep-rounds": TrainConfig(model="resnet18", dataset="cifar10", epochs=40, batch_size=256,
                               lr=0.2, weight_decay=5e-4, schedule="cosine", augment=True),
    "generations": TrainConfig(model="resnet34", dataset="cifar100", epochs=150, batch_size=128,
                               lr=0.1, weight_decay=1e-4, schedule="step", augment=True),
    "noisy-labels-deep": TrainConfig(model="resnet18", dataset="cifar10", epochs=100,
                                     batch_size=128, lr=0.05, weight_decay=5e-4,
                                     schedule="cosine", augment=True),
}


@validate_params(scale=Options("book", "paper"), seed=Seed(), train_size=Optional(Integer(1)))
def book_or_paper(chapter: str, scale: str, device: torch.device, book: TrainConfig,
                  seed: int, root: str | os.PathLike | None = None,
                  train_size: int | None = None) -> tuple[TrainConfig, Dataset]:
    """The chapter's configuration and data at book or paper scale.

    Parameters
    ----------
    chapter : str
        The chapter; at paper scale one of :data:`PAPER`'s keys.
    scale : {"book", "paper"}
        ``"book"``: ``book`` on its embedded data set; ``"paper"``: the :data:`PAPER` entry on
        CIFAR from ``root`` or ``SELFDISTILL_DATA``.
    device : torch.device
        Where the data set is placed.
    book : TrainConfig
        The book-scale configuration.
    seed : int
        The run's seed (configuration and data split), in ``[0, 2**32 − 1]``.
    root : str or os.PathLike, optional
        The CIFAR folder (paper scale).
    train_size : int, optional
        Book scale only: keep the first ``train_size`` training examples.

    Returns
    -------
    config : TrainConfig
        With ``seed`` set.
    data : Dataset
        On ``device``.

    Raises
    ------
    ValueError
        For a bad ``scale``, ``seed``, ``train_size`` or paper-scale ``chapter``, or, at paper
        scale, a missing CIFAR folder (with the command to set it).
    """
    if scale == "book":
        cfg = replace(book, seed=seed)
        return cfg, load_dataset(cfg.dataset, device, seed=seed, train_size=train_size)
    cfg = replace(PAPER[check_choice("chapter", chapter, tuple(PAPER))], seed=seed)
    try:
        return cfg, load_dataset(cfg.dataset, device, seed=seed, root=root)
    except ValueError as err:
        raise ValueError(f"scale = 'paper' needs {cfg.dataset} in its python format: {err}. Put "
                         "it in a folder and run with SELFDISTILL_DATA=/that/folder on a GPU") \
            from None


@validate_params(stop_at=Integer(1))
def interrupted_run_difference(config: TrainConfig, data: Dataset,
                               make_objective: Callable[[], Objective], stop_at: int,
                               folder: str | os.PathLike) -> dict[str, float]:
    """Train twice, straight through and interrupted after epoch ``stop_at`` then resumed.

    Parameters
    ----------
    config : TrainConfig
        The run (at least two epochs).
    data : Dataset
        Its data.
    make_objective : callable
        ``make_objective()`` gives a fresh :class:`~selfdistill.training.objectives.Objective`
        for each of the three calls of :func:`~selfdistill.training.loop.train`.
    stop_at : int
        The epoch after which the run is interrupted, in ``[1, epochs − 1]``.
    folder : str or os.PathLike
        Where the checkpoint ``interrupted.pt`` is written (replaced if present).

    Returns
    -------
    dict of str to float
        ``max_weight_difference`` (largest absolute difference of the final floating-point
        weights), ``histories_equal`` (1.0 or 0.0) and ``resumed_from`` (the epoch resumed
        from).

    Raises
    ------
    ValueError
        If ``stop_at`` is out of range, or a run refuses its inputs.
    """
    check_int("stop_at", stop_at, 1, config.epochs - 1)

    class _Stop(Exception):
        pass

    def stop(epoch, record):
        if epoch == stop_at:
            raise _Stop

    whole = train(config, data, make_objective())
    path = Path(folder) / "interrupted.pt"
    path.unlink(missing_ok=True)
    try:
        train(config, data, make_objective(), checkpoint=path, callback=stop)
    except _Stop:
        pass
    resumed = train(config, data, make_objective(), checkpoint=path)
    diff = max(float((a - b).abs().max()) for a, b in
               zip(whole.model.state_dict().values(), resumed.model.state_dict().values(),
                   strict=True) if a.is_floating_point())
    return {"max_weight_difference": diff, "histories_equal": float(whole.history ==
                                                                    resumed.history),
            "resumed_from": float(resumed.resumed_from)}


@validate_params(seeds=Integer(1, 100))
def seed_range(seeds: int) -> range:
    """The seed indices ``0 … seeds − 1`` of a multi-seed experiment.

    Parameters
    ----------
    seeds : int
        The number of seeds, in ``[1, 100]``.

    Returns
    -------
    range
        ``range(seeds)``.

    Raises
    ------
    ValueError
        If ``seeds`` is out of range.

    Examples
    --------
    >>> list(seed_range(3))
    [0, 1, 2]
    """
    return range(seeds)


def summarise(rows: list[dict], by: str, keys: tuple[str, ...]) -> dict:
    """Mean, standard deviation (ddof 1) and standard error over seeds, per group.

    Parameters
    ----------
    rows : list of dict
        One row per run, holding ``by`` and every key of ``keys``.
    by : str
        The key whose values form the groups (e.g. ``"method"``).
    keys : tuple of str
        The numeric keys summarised.

    Returns
    -------
    dict
        ``{group: {key: (mean, std, se)}}``, groups in first-seen order; ``std`` is 0 for one
        row.

    Examples
    --------
    >>> rows = [{"m": "a", "acc": 0.5}, {"m": "a", "acc": 0.7}]
    >>> [round(float(v), 6) for v in summarise(rows, "m", ("acc",))["a"]["acc"]]
    [0.6, 0.141421, 0.1]
    """
    import numpy as np

    out: dict = {}
    for group in dict.fromkeys(r[by] for r in rows):
        sub = [r for r in rows if r[by] == group]
        out[group] = {}
        for k in keys:
            v = np.array([r[k] for r in sub], dtype=np.float64)
            std = float(v.std(ddof=1)) if len(v) > 1 else 0.0
            out[group][k] = (float(v.mean()), std, std / np.sqrt(len(v)))
    return out


def check_paper_data(chapter: Chapter, values: dict[str, Any]) -> None:
    """Refuse ``scale paper`` of a chapter whose paper-scale data set is not on disk (folder
    ``$SELFDISTILL_DATA`` and the data set's files), before the chapter runs: ``ParameterError``,
    one line for the command line.

    Parameters
    ----------
    chapter : Chapter
        The chapter to run; one without a ``scale`` parameter, or not in :data:`PAPER`, or whose
        paper-scale data set is not CIFAR, passes.
    values : dict of str to object
        The run's parameter overrides by name (``scale`` read from here, else its default).

    Raises
    ------
    ParameterError
        (a ``ValueError``) when ``scale`` is ``"paper"`` and ``SELFDISTILL_DATA`` is unset or its
        data set's folder lacks a file, saying how to provide it.
    """
    params = chapter.parameters()
    if "scale" not in params or values.get("scale", params["scale"].default) != "paper":
        return
    if chapter.name not in PAPER:
        return
    dataset = PAPER[chapter.name].dataset
    if dataset not in CIFAR_CHECKSUMS:
        return
    table = dict(CIFAR_CHECKSUMS[dataset])
    root = os.environ.get("SELFDISTILL_DATA", "")
    how = (f"put the python-format {dataset} ({table['folder']}/) in a folder and run with "
           "SELFDISTILL_DATA=/that/folder (nothing is downloaded)")
    if not root:
        raise ParameterError(f"parameter 'scale' = 'paper' needs {dataset}, but "
                             f"SELFDISTILL_DATA is unset; {how}")
    folder = Path(root) / table.pop("folder")
    missing = [name for name in table if not (folder / name).is_file()]
    if missing:
        raise ParameterError(f"parameter 'scale' = 'paper' needs {dataset}: "
                             f"{shorten(str(folder))} lacks {', '.join(missing[:3])}"
                             f"{', …' if len(missing) > 3 else ''}; {how}")
