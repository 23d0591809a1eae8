"""Synthetic teachers that separate confidence diversity from predictive uncertainty (zhang2020).

zhang2020 associate the gains of self-distillation with the *diversity* of the teacher's
predictions, besides their uncertainty. To test that association the two must be varied
independently. A teacher here is a table of probabilities over the training set,

    q_i = c_i e_{y_i} + (1 − c_i) s_{y_i},

with true-class confidence ``c_i`` and a class-structured spread ``s_y`` over the other classes
(:func:`class_spread`: classes whose means are close in input space share more mass, as a trained
network's mistakes do; not i.i.d. noise). Three teachers (:func:`make_teachers`):

- ``"diverse"``: ``c_i`` spread evenly over ``[c_low, c_high]`` by the example's difficulty rank
  (distance to its class mean: easy examples confident);
- ``"flat"``: one constant ``c`` chosen by bisection so that the mean entropy equals the diverse
  teacher's: equal uncertainty, no diversity;
- ``"shifted"``: the diverse confidences lowered by ``shift`` (a whole number of histogram bins),
  so the diversity (histogram entropy) is the same and the mean entropy higher.

Students (:func:`student_accuracy`) are trained on the released self-distillation loss with the
table as the teacher at temperature T (``softmax(log q / T)``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from selfdistill.core.validate import (
    Integer,
    Positive,
    Real,
    check_in_range,
    check_labels,
    check_positive,
    validate_params,
)
from selfdistill.data.classification import Dataset
from selfdistill.training.loop import TrainConfig, train
from selfdistill.training.objectives import LossFunction
from selfdistill.zhang2020 import metrics, targets

__all__ = ["accuracy_pairs", "class_spread", "describe_teacher", "make_teachers",
           "student_accuracy"]


@validate_params(num_classes=Integer(2), width=Positive())
def class_spread(x: torch.Tensor, y: torch.Tensor, num_classes: int,
                 width: float = 1.0) -> torch.Tensor:
    """Class-structured spreads ``s_y`` over the other classes: zero on the diagonal,
    ``∝ exp(−d_yk² / (width · median d²))`` off it, with ``d_yk`` the distance between the means
    of classes y and k in input space.

    Parameters
    ----------
    x : torch.Tensor
        Inputs ``(n, ...)`` (flattened), any device.
    y : torch.Tensor
        ``(n,)`` integer class indices in ``[0, num_classes − 1]``, every class present, on
        ``x``'s device.
    num_classes : int
        ``C ≥ 2``.
    width : float
        Width of the similarity kernel, > 0.

    Returns
    -------
    torch.Tensor
        ``(C, C)``, float64, CPU, rows on the simplex.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels do not match ``x``.
    """
    y = check_labels("y", y, num_classes, rows=x.shape[0], device=x.device).cpu()
    x = x.reshape(x.shape[0], -1).double().cpu()
    means = torch.stack([x[y == k].mean(0) for k in range(num_classes)])
    d2 = torch.cdist(means, means).pow(2)
    off = ~torch.eye(num_classes, dtype=torch.bool)
    w = torch.exp(-d2 / (width * d2[off].median())) * off
    return w / w.sum(1, keepdim=True)


def _probs(c: torch.Tensor, y: torch.Tensor, spread: torch.Tensor) -> torch.Tensor:
    onehot = torch.nn.functional.one_hot(y, spread.shape[0]).double()
    return c[:, None] * onehot + (1 - c[:, None]) * spread[y]


def _mean_entropy(q: torch.Tensor) -> float:
    return float(metrics.predictive_entropy(q).mean())


@validate_params(c_high=Real(0.5, 1.0, lower_open=True, upper_open=True),
                 c_low=Real(0.5, 1.0, lower_open=True, upper_open=True),
                 shift=Real(0.0, 0.5, upper_open=True), width=Positive())
def make_teachers(data: Dataset, c_low: float = 0.75, c_high: float = 0.99,
                  shift: float = 0.2, width: float = 0.25) -> dict[str, torch.Tensor]:
    """Three teachers over the training set (module docstring).

    Parameters
    ----------
    data : Dataset
        Its training inputs (n, ...) and labels (n,) define the class spread and the ranking.
    c_low, c_high : float
        Range of the diverse teacher's true-class confidences, ``0.5 < c_low < c_high < 1`` (each
        declared in ``(0.5, 1)``, their order checked in the body).
    shift : float
        How far the shifted teacher's confidences lie below, in ``[0, c_low − 0.5)`` (declared in
        ``[0, 0.5)``, the upper end ``c_low − 0.5`` checked in the body); a whole
        number of histogram bins keeps the diversity exactly. ``c_low − shift > 0.5`` keeps the
        label the top class: every teacher is right on every training example.
    width : float
        Width of the class-similarity kernel (:func:`class_spread`), > 0.

    Returns
    -------
    dict of str to Tensor
        ``"flat"``, ``"diverse"``, ``"shifted"``: probabilities (n, C), float64, CPU, rows on
        the simplex.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    check_in_range("c_low", c_low, 0.5, c_high, lower_open=True)
    check_in_range("shift", shift, 0.0, c_low - 0.5, upper_open=True)
    x, y = data.x_train.reshape(data.x_train.shape[0], -1).double().cpu(), data.y_train.cpu()
    spread = class_spread(x, y, data.num_classes, width)
    means = torch.stack([x[y == k].mean(0) for k in range(data.num_classes)])
    dist = (x - means[y]).norm(dim=1)
    rank = torch.empty(len(y), dtype=torch.float64)
    rank[torch.argsort(dist, stable=True)] = torch.arange(len(y), dtype=torch.float64)
    easy = 1 - (rank + 0.5) / len(y)  # 1 for the example closest to its class mean
    c_div = c_low + (c_high - c_low) * easy
    teachers = {"diverse": _probs(c_div, y, spread),
                "shifted": _probs(c_div - shift, y, spread)}
    target = _mean_entropy(teachers["diverse"])
    lo, hi = 1 / data.num_classes, 1.0 - 1e-12  # mean entropy falls as c rises
    for _ in range(100):
        mid = (lo + hi) / 2
        flat = _probs(torch.full_like(c_div, mid), y, spread)
        lo, hi = (mid, hi) if _mean_entropy(flat) > target else (lo, mid)
    teachers["flat"] = _probs(torch.full_like(c_div, (lo + hi) / 2), y, spread)
    return {k: teachers[k] for k in ("flat", "diverse", "shifted")}


@validate_params(T=Positive(), n_bins=Integer(1, 10**6))
def describe_teacher(q: torch.Tensor, y: torch.Tensor, T: float, n_bins: int = 20) -> dict:
    """Mean entropy and confidence diversity of the tempered teacher ``softmax(log q / T)`` on the
    training set.

    Parameters
    ----------
    q : torch.Tensor
        Teacher probabilities ``(n, C)``, positive, rows on the simplex (e.g. from
        :func:`make_teachers`).
    y : torch.Tensor
        ``(n,)`` integer class indices.
    T : float
        Temperature, > 0.
    n_bins : int
        Histogram bins, in ``[1, 10⁶]``.

    Returns
    -------
    dict
        ``entropy`` (mean, nats), ``diversity`` (histogram entropy of the true-class
        confidences, nats) and ``variance`` (of those confidences), floats.

    Raises
    ------
    ValueError
        If an argument is outside its range or the tables do not match.
    """
    qT = torch.softmax(torch.log(q) / T, 1)
    div = metrics.confidence_diversity(qT, y.cpu(), n_bins)
    return {"entropy": _mean_entropy(qT), "diversity": abs(float(div.entropy)),
            "variance": float(div.variance)}


@validate_params(seeds=Integer(1, 100), alpha=Real(0.0, 1.0))
def student_accuracy(config: TrainConfig, data: Dataset, teachers: dict[str, torch.Tensor],
                     temperatures: tuple[float, ...], seeds: int,
                     alpha: float = 0.4) -> list[dict]:
    """Students of each teacher table at each temperature, and a cross-entropy student.

    Parameters
    ----------
    config : TrainConfig
        Training settings; seed ``s`` runs with ``config.seed + 100 s``, and every arm of a seed
        starts from the same initialisation and data order (paired by seed).
    data : Dataset
        The training set the tables cover, row for row.
    teachers : dict of str to Tensor
        Probabilities (n_train, C), e.g. from :func:`make_teachers`; the student sees ``softmax(log
        q / T)`` through the released loss (:func:`selfdistill.zhang2020.targets.sd_loss`).
    temperatures : tuple of float
        Each > 0.
    seeds : int
        In [1, 100].
    alpha : float
        Teacher weight in [0, 1].

    Returns
    -------
    list of dict
        One row per seed and arm: ``seed``, ``teacher`` (``"none"`` for cross-entropy, with
        ``T = 0``), ``T``, ``acc`` (test accuracy of the best-validation model, ties to the last
        epoch as the released code keeps).

    Raises
    ------
    ValueError
        If an argument is outside its range or a table does not cover the training set.
    """
    temperatures = tuple(check_positive("temperatures", T) for T in temperatures)
    n = data.x_train.shape[0]
    for name, q in teachers.items():
        if tuple(q.shape) != (n, data.num_classes):
            raise ValueError(f"teachers[{name!r}] has shape {tuple(q.shape)}; expected "
                             f"{(n, data.num_classes)} (one row per training example)")
    device = data.x_train.device
    logs = {k: torch.log(q).float().to(device) for k, q in teachers.items()}
    rows = []
    for s in range(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        res = train(cfg, data, ties="last")
        rows.append({"seed": s, "teacher": "none", "T": 0.0, "acc": res.best["test_acc"]})
        for T in temperatures:
            for name, table in logs.items():
                objective = LossFunction(
                    lambda lg, b, t=table, T=T: targets.sd_loss(lg, b.y, t[b.index], alpha, T),
                    f"sd-table-{name}", teacher=name, T=T, alpha=alpha)
                res = train(cfg, data, objective, ties="last")
                rows.append({"seed": s, "teacher": name, "T": float(T),
                             "acc": res.best["test_acc"]})
    return rows


@validate_params(T=Real(0.0, math.inf, upper_open=True))
def accuracy_pairs(rows: list[dict], a: str, b: str, T: float) -> tuple[np.ndarray, np.ndarray]:
    """Accuracies of the students of teachers ``a`` and ``b`` at temperature ``T``, each
    ``(seeds,)``, ordered by seed (rows of :func:`student_accuracy`).

    Parameters
    ----------
    rows : list of dict
        Rows of :func:`student_accuracy`, each with ``teacher``, ``T``, ``seed`` and ``acc``.
    a, b : str
        The two teachers' names.
    T : float
        The temperature, in ``[0, inf)`` (matched exactly against each row's ``T``; ``0`` is the
        cross-entropy student's, teacher ``"none"``).

    Returns
    -------
    acc_a, acc_b : numpy.ndarray
        Shape ``(seeds,)`` each, float64, ordered by seed: paired where both teachers ran the
        same seeds.

    Raises
    ------
    ValueError
        If ``T`` is outside ``[0, inf)`` or a teacher has no row at ``T``.
    """
    def acc(name: str) -> np.ndarray:
        sub = sorted((r for r in rows if r["teacher"] == name and r["T"] == float(T)),
                     key=lambda r: r["seed"])
        if not sub:
            raise ValueError(f"teacher = {name!r} at T = {T} is not in the rows")
        return np.array([r["acc"] for r in sub])

    return acc(a), acc(b)
