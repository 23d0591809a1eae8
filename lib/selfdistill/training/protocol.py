"""The deep-network protocol shared by the three papers' chapters: book or paper scale, seeds,
summaries over seeds, and the interrupted-and-resumed training check.

The experiments themselves live with their papers: :func:`selfdistill.mobahi2020.deep.deep_rounds`,
:mod:`selfdistill.zhang2020.generations`, :func:`selfdistill.dong2019.deep.noisy_label_arms`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from selfdistill.core.chapters import Chapter, ParameterError, shorten
from selfdistill.core.validate import check_choice, check_int
from selfdistill.data.cifar import CIFAR_CHECKSUMS
from selfdistill.data.classification import Dataset, load_dataset
from selfdistill.training.loop import TrainConfig, train

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


def book_or_paper(chapter: str, scale: str, device: torch.device, book: TrainConfig,
                  seed: int, root=None, train_size: int | None = None):
    """The chapter's configuration and data: ``book`` on its embedded data set, or the paper-scale
    :data:`PAPER` entry on CIFAR from ``root``/``SELFDISTILL_DATA`` (``ValueError`` with the
    command to set it when the folder is missing)."""
    check_choice("scale", scale, ("book", "paper"))
    if scale == "book":
        cfg = replace(book, seed=seed)
        return cfg, load_dataset(cfg.dataset, device, seed=seed, train_size=train_size)
    cfg = replace(PAPER[chapter], seed=seed)
    try:
        return cfg, load_dataset(cfg.dataset, device, seed=seed, root=root)
    except ValueError as err:
        raise ValueError(f"scale = 'paper' needs {cfg.dataset} in its python format: {err}. Put "
                         "it in a folder and run with SELFDISTILL_DATA=/that/folder on a GPU") \
            from None


def interrupted_run_difference(config: TrainConfig, data: Dataset, make_objective, stop_at: int,
                               folder) -> dict[str, float]:
    """Train twice, once straight through and once interrupted after epoch ``stop_at`` and resumed
    from its checkpoint in ``folder``; return the largest absolute weight difference and whether the
    per-epoch histories are identical (1.0) or not (0.0)."""
    from pathlib import Path

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


def seed_range(seeds: int) -> range:
    """The seed indices ``0 … seeds − 1`` of a multi-seed experiment (1 ≤ ``seeds`` ≤ 100)."""
    return range(check_int("seeds", seeds, 1, 100))






def summarise(rows: list[dict], by: str, keys: tuple[str, ...]) -> dict:
    """Mean, standard deviation (ddof 1) and standard error over seeds of ``keys``, per value of
    ``by``: ``{group: {key: (mean, std, se)}}``, groups in first-seen order."""
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
    one line for the command line."""
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
