"""dong2019's deep-network experiment under label noise (our protocol; the paper's is not known).

:func:`noisy_label_arms`: plain training (last and best epoch), distillation from an early-stopped
teacher, the self-distillation rules A/B/C. Rows carry the per-epoch curves (test, clean and
corrupted training subsets, memorisation of wrong labels).
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from selfdistill.core.validate import Integer, Options, Real, check_choice, validate_params
from selfdistill.data.classification import Dataset
from selfdistill.data.noise import pair_flip, symmetric_noise
from selfdistill.dong2019 import sd_rules
from selfdistill.training.loop import TrainConfig, train
from selfdistill.training.objectives import (
    CrossEntropy,
    EpochTargets,
    LossFunction,
    soft_cross_entropy,
)
from selfdistill.training.protocol import seed_range

__all__ = ["noisy_label_arms"]


@validate_params(noise=Options("symmetric", "pair"), rate=Real(0.0, 0.9, lower_open=True),
                 seeds=Integer(1, 100), alpha_max=Real(0.0, 1.0), warmup=Integer(0),
                 ramp=Integer(1))
def noisy_label_arms(config: TrainConfig, data: Dataset, noise: str, rate: float, seeds: int,
                     alpha_max: float = 0.8, warmup: int = 3, ramp: int = 4,
                     rules: tuple[str, ...] = ("A", "B", "C"),
                     teachers: tuple[str, ...] = ("best",)) -> list[dict]:
    """dong2019-style arms of a trained network under label noise, paired by seed.

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

    Parameters
    ----------
    config : TrainConfig
        Training settings; seed ``s`` runs with ``config.seed + 100 s`` (noise seed
        ``config.seed + 100 s + 31``); its device is the runs' device.
    data : Dataset
        Clean labels; the noise is applied to the training labels only.
    noise : {"symmetric", "pair"}
        ``"symmetric"``: to another class uniformly; ``"pair"``: k → k+1.
    rate : float
        Noise rate in ``(0, 0.9]``.
    seeds : int
        Number of seeds, in ``[1, 100]``.
    alpha_max : float
        Final α of the self-distillation rules, in ``[0, 1]``.
    warmup, ramp : int
        Epochs at α = 0 (≥ 0) and of the linear ramp (≥ 1).
    rules : tuple of str
        Self-distillation rules, each ``"A"``, ``"B"`` or ``"C"``.
    teachers : tuple of str
        Distillation teachers, each ``"best"`` or ``"last"``.

    Returns
    -------
    list of dict
        One row per seed and arm (keys above; curves as lists of floats).

    Raises
    ------
    ValueError
        If an argument is outside its range or a rule or teacher is unknown.
    """
    for rule in rules:
        check_choice("rules", rule, sd_rules.RULES)
    for which in teachers:
        check_choice("teachers", which, ("best", "last"))
    rows = []
    for s in seed_range(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        gen = torch.Generator().manual_seed(cfg.seed + 31)
        corrupt = (symmetric_noise(data.y_train, rate, data.num_classes, gen) if noise ==
                   "symmetric" else pair_flip(data.y_train, rate, data.num_classes, gen))
        noisy = data.with_train_labels(corrupt.noisy)
        c = corrupt.corrupted
        sets = {"clean": (data.x_train[~c], data.y_train[~c]),
                "corrupt": (data.x_train[c], data.y_train[c]),
                "memorised": (data.x_train[c], corrupt.noisy[c])}
        schedule = sd_rules.WarmupRamp(warmup, ramp, alpha_max)
        ce = train(cfg, noisy, CrossEntropy(), eval_sets=sets)
        arms = {"ce": ce}
        for which in teachers:
            teacher = ce.best_model if which == "best" else ce.model
            arms["distil" if which == "best" else "distil-last"] = train(
                cfg, noisy, LossFunction(
                    lambda lg, b: soft_cross_entropy(lg, torch.softmax(b.teacher, 1)),
                    "distil", True), teacher, eval_sets=sets)
        onehot = F.one_hot(corrupt.noisy, data.num_classes).float()
        for rule in rules:
            def step(y, p, prev, epoch, rule=rule, onehot=onehot, schedule=schedule):
                return sd_rules.rule_target(rule, onehot, prev, p, schedule(epoch))
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
