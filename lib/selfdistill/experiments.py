"""The deep-network experiments of the three papers, as functions of their parameters.

Each function trains with :func:`selfdistill.train.train` and returns plain tables (lists of
dicts, one row per seed and round/generation/arm) that the chapters plot and check:

- :func:`deep_rounds` (mobahi2020 §7): round 0 fits one-hot labels by MSE; round t a fresh network
  fits round t − 1's outputs by MSE. Rows: training MSE and accuracy against the ground truth,
  test accuracy.
- zhang2020's generations and smoothing methods live in :mod:`selfdistill.zhang_regime` (the
  released code's conventions).
- :func:`noisy_label_arms` (dong2019 §6, our protocol): plain training (last and best epoch),
  distillation from an early-stopped teacher, the self-distillation rules A/B/C. Rows carry the
  per-epoch curves (test, clean and corrupted training subsets, memorisation of wrong labels).
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from . import metrics, noisy_targets, targets
from .data import Dataset, load_dataset
from .noise import pair_flip, symmetric_noise
from .objectives import MSE, CrossEntropy, EpochTargets, LossFunction
from .train import TrainConfig, generations, predict_logits, train
from .validate import check_choice, check_in_range, check_int

__all__ = ["PAPER", "book_or_paper", "deep_rounds", "interrupted_run_difference",
           "ece_float32_top_bin", "noisy_label_arms", "summarise"]

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


def _seeds(seeds: int) -> range:
    return range(check_int("seeds", seeds, 1, 100))


def deep_rounds(config: TrainConfig, data: Dataset, rounds: int, seeds: int) -> list[dict]:
    """mobahi2020's rounds for ``seeds`` seeds (config.seed + 100·s): one row per seed and round.

    Row keys: ``seed``, ``round``, ``train_mse`` (MSE of the outputs to the one-hot ground truth on
    the training set), ``train_acc``, ``test_acc``, ``test_mse``, ``output_norm`` (root mean square
    of the training outputs).
    """
    check_int("rounds", rounds, 1, 50)
    rows = []
    for s in _seeds(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        for t, res in enumerate(generations(cfg, data, lambda g: MSE(), rounds, "last")):
            out = predict_logits(res.model, data.x_train)
            onehot = F.one_hot(data.y_train, data.num_classes).float()
            rows.append({"seed": s, "round": t, "train_mse": float(F.mse_loss(out, onehot)),
                         "train_acc": float((out.argmax(1) == data.y_train).float().mean()),
                         "test_acc": res.last["test_acc"], "test_mse": res.last["test_mse"],
                         "output_norm": float(out.pow(2).mean().sqrt())})
    return rows


def noisy_label_arms(config: TrainConfig, data: Dataset, noise: str, rate: float, seeds: int,
                     alpha_max: float = 0.8, warmup: int = 3, ramp: int = 4,
                     rules: tuple[str, ...] = ("A", "B", "C"),
                     teachers: tuple[str, ...] = ("best",)) -> list[dict]:
    """dong2019-style arms under label noise ``noise`` (``"symmetric"``: to another class uniformly;
    ``"pair"``: k → k+1) at ``rate``, for ``seeds`` seeds (noise seed = run seed).

    Arms: ``"ce"`` (plain cross-entropy; its last and best epoch), ``"distil"`` (a fresh student on
    the softmax of the early-stopped (best-validation) CE model; in ``teachers`` as ``"best"``),
    ``"distil-last"`` (the same from the CE model's last epoch, the converged teacher; ``"last"`` in
    ``teachers``), ``"sd-A"``/``"sd-B"``/``"sd-C"`` (``rules``;
    targets rebuilt each epoch from the previous epoch's network with α_t = 0 for ``warmup``
    epochs, then a linear ramp to ``alpha_max`` over ``ramp`` epochs). Validation labels are clean
    (an oracle for early stopping; stated in the chapter). Each row: ``seed``, ``arm``,
    ``last_acc``, ``best_acc`` (test, at the best-validation epoch), ``corrected`` (last epoch:
    corrupted training examples predicted as their true label), curves ``test_acc``,
    ``clean_acc``, ``corrupt_acc`` (corrupted training examples against their true labels: labels
    corrected), ``memorised`` (corrupted examples predicted as their wrong label).
    """
    check_choice("noise", noise, ("symmetric", "pair"))
    check_in_range("rate", rate, 0.0, 0.9, lower_open=True)
    for rule in rules:
        check_choice("rules", rule, noisy_targets.RULES)
    for which in teachers:
        check_choice("teachers", which, ("best", "last"))
    rows = []
    for s in _seeds(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        gen = torch.Generator().manual_seed(cfg.seed + 31)
        corrupt = (symmetric_noise(data.y_train, rate, data.num_classes, gen) if noise ==
                   "symmetric" else pair_flip(data.y_train, rate, data.num_classes, gen))
        noisy = data.with_train_labels(corrupt.noisy)
        c = corrupt.corrupted
        sets = {"clean": (data.x_train[~c], data.y_train[~c]),
                "corrupt": (data.x_train[c], data.y_train[c]),
                "memorised": (data.x_train[c], corrupt.noisy[c])}
        schedule = noisy_targets.WarmupRamp(warmup, ramp, alpha_max)
        ce = train(cfg, noisy, CrossEntropy(), eval_sets=sets)
        arms = {"ce": ce}
        for which in teachers:
            teacher = ce.best_model if which == "best" else ce.model
            arms["distil" if which == "best" else "distil-last"] = train(
                cfg, noisy, LossFunction(
                    lambda lg, b: targets.soft_cross_entropy(lg, torch.softmax(b.teacher, 1)),
                    "distil", True), teacher, eval_sets=sets)
        onehot = F.one_hot(corrupt.noisy, data.num_classes).float()
        for rule in rules:
            def step(y, p, prev, epoch, rule=rule, onehot=onehot, schedule=schedule):
                return noisy_targets.sd_target(rule, onehot, prev, p, schedule(epoch))
            arms[f"sd-{rule}"] = train(cfg, noisy, EpochTargets(
                step, corrupt.noisy, data.num_classes, f"sd-{rule}", warmup=0, sd_rule=rule,
                alpha_max=alpha_max, warmup_epochs=warmup, ramp=ramp), eval_sets=sets)
        for name, res in arms.items():
            rows.append({"seed": s, "arm": name, "noise": noise, "rate": rate,
                         "realised_rate": float(c.float().mean()),
                         "last_acc": res.last["test_acc"], "best_acc": res.best["test_acc"],
                         "corrected": res.last["corrupt_acc"],
                         **{k: res.curve(f"{k}_acc") for k in ("test", "clean", "corrupt",
                                                               "memorised")}})
    return rows


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


def ece_float32_top_bin(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> float:
    """:func:`selfdistill.metrics.ece` under torchmetrics' convention for confidences that are
    exactly 1 in float32: those examples form a bin of their own (torchmetrics bins float32
    confidences and puts 1.0 past the last edge); the rest are binned by the library. Used to
    compare the library with torchmetrics on trained models, whose top confidences often round
    to 1.0 in float32."""
    conf = probs.max(1).values.float()
    top = conf == 1.0
    n, rest = probs.shape[0], ~top
    value = 0.0
    if bool(rest.any()):
        value += float(rest.sum()) / n * float(metrics.ece(probs[rest], labels[rest], n_bins))
    if bool(top.any()):
        acc = (probs[top].argmax(1) == labels[top]).double().mean()
        value += float(top.sum()) / n * float((acc - 1.0).abs())
    return value
