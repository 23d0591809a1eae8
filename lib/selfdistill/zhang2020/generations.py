"""zhang2020's generations in the released code's regime (the ``generations`` chapter).

The authors' released code (ZhiluZhang123/neurips_2020_distillation, read for its conventions):

- ``train_distillation.py``: generation 0 trains with cross-entropy; generation g > 0 trains a
  fresh network on ``(1 − α) CE(y, p) + α CE(softmax(t / T), p)``: only the teacher is softened,
  there is no ``T²`` factor, defaults α = 0.4, T = 4, and the teacher is the previous
  generation's best-validation checkpoint. Every model is evaluated at T = 1 (``evaluate_test``
  is called with ``temp=1``): test accuracy, NLL and ECE with 20 equal-width bins.
- ``train_smoothing.py``: label smoothing with ε over the *other* classes, the confidence
  penalty ``CE − β H(p)``, and Beta smoothing (α = 0.6, a = 3, EMA cap λ = 0.999, the EMA counter
  incremented before ``min(1 − 1/(step + 1), λ)``; :class:`selfdistill.zhang2020.smoothing.EMA`
  follows it).
- The soft cross-entropies take ``log(p + 1e-8)``; the library takes ``log_softmax`` (the
  ``beta-smoothing`` chapter measures the difference).

:func:`generations_regime` runs, per seed, the generation chain and the smoothing baselines,
each model described by :func:`describe`. "Teachers that fit their training data": the book's
setting trains long enough that generation 0 reaches (near) 100 % training accuracy, as a
ResNet-34 does on CIFAR-100 in 150 epochs; the chapter checks it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from selfdistill.core.validate import Integer, Positive, Real, validate_params
from selfdistill.data.classification import Dataset
from selfdistill.training.loop import TrainConfig, generations, predict_logits, train
from selfdistill.training.models import build_model
from selfdistill.training.objectives import Batch, CrossEntropy, LossFunction, Objective
from selfdistill.zhang2020 import metrics, targets
from selfdistill.zhang2020.smoothing import EMA, beta_smoothing_loss

__all__ = ["BetaSmoothing", "describe", "generations_regime", "matched_eps_ls", "paired",
           "sd_objective"]


@validate_params(alpha=Real(0.0, 1.0), T=Positive())
def sd_objective(alpha: float, T: float) -> Objective:
    """The released self-distillation loss as a trainer objective (zhang2020, §1 of the notes).

    Parameters
    ----------
    alpha : float
        Teacher weight α in [0, 1] of ``(1 − α) CE(e_y, p) + α CE(softmax(t/T), p)``.
    T : float
        Teacher temperature, > 0; only the teacher is softened, no ``T²`` factor.

    Returns
    -------
    Objective
        Reads the frozen teacher's logits (n, C) from each batch
        (:func:`selfdistill.zhang2020.targets.sd_loss`).

    Raises
    ------
    ValueError
        If ``alpha`` is outside ``[0, 1]`` or ``T ≤ 0``.

    Examples
    --------
    >>> sd_objective(0.4, 4.0).describe()
    {'name': 'self-distillation', 'alpha': 0.4, 'T': 4.0}
    """
    return LossFunction(lambda lg, b: targets.sd_loss(lg, b.y, b.teacher, alpha, T),
                        "self-distillation", True, alpha=alpha, T=T)


@validate_params(alpha_beta=Real(0.0, 1.0), a=Positive())
def matched_eps_ls(alpha_beta: float, a: float) -> float:
    """Label smoothing that moves the same mean mass off the label as Beta smoothing.

    Parameters
    ----------
    alpha_beta : float
        Beta smoothing's mixing weight α in [0, 1].
    a : float
        Shape of ``Beta(a, 1)``, > 0 (mean ``a/(a + 1)``).

    Returns
    -------
    float
        ``ε = α (1 − E b) = α / (a + 1)``, for label smoothing over the other classes.

    Raises
    ------
    ValueError
        If ``alpha_beta`` is outside ``[0, 1]`` or ``a ≤ 0``.

    Examples
    --------
    >>> matched_eps_ls(0.6, 3.0)
    0.15
    """
    return alpha_beta / (a + 1)


@validate_params(T=Positive(), n_bins=Integer(2, 1000))
def describe(model: torch.nn.Module, data: Dataset, T: float, n_bins: int) -> dict:
    """Metrics of one trained model, float64.

    Parameters
    ----------
    model : torch.nn.Module
        On the data's device.
    data : Dataset
        Its training and test sets.
    T : float
        The temperature the model hands on as a teacher, > 0.
    n_bins : int
        Equal-width bins, in ``[2, 1000]``.

    Returns
    -------
    dict
        Test set at T = 1 (as the released code evaluates): ``acc``, ``nll``, ``ece``,
        ``probs`` (n_test, C) float64. Training inputs: ``train_acc``; at temperature T:
        ``diversity`` (entropy of the histogram of true-class confidences, nats), ``variance``
        of those confidences and the mean predictive ``entropy`` (nats); ``diversity_1`` the same
        histogram entropy at T = 1.

    Raises
    ------
    ValueError
        If ``T ≤ 0`` or ``n_bins`` is outside ``[2, 1000]``.
    """
    test = torch.softmax(predict_logits(model, data.x_test).double(), 1)
    logits = predict_logits(model, data.x_train).double()
    p1, pT = torch.softmax(logits, 1), torch.softmax(logits / T, 1)
    div = metrics.confidence_diversity(pT, data.y_train, n_bins)
    return {"probs": test, "acc": float(metrics.accuracy(test, data.y_test)),
            "nll": float(metrics.nll(test, data.y_test)),
            "ece": float(metrics.ece(test, data.y_test, n_bins)),
            "train_acc": float(metrics.accuracy(p1, data.y_train)),
            "diversity": float(div.entropy), "variance": float(div.variance),
            "entropy": float(metrics.predictive_entropy(pT).mean()),
            "diversity_1": float(metrics.confidence_diversity(p1, data.y_train,
                                                              n_bins).entropy)}


@validate_params(seeds=Integer(1, 100), generations_=Integer(1, 10), alpha=Real(0.0, 1.0),
                 T=Positive(), alpha_beta=Real(0.0, 1.0), a=Positive(),
                 ema_decay=Real(0.0, 1.0, upper_open=True), n_bins=Integer(2, 1000))
def generations_regime(config: TrainConfig, data: Dataset, seeds: int, generations_: int = 2,
                       alpha: float = 0.4, T: float = 4.0, alpha_beta: float = 0.6,
                       a: float = 3.0, ema_decay: float = 0.999,
                       n_bins: int = 20) -> list[dict]:
    """zhang2020's generations and smoothing baselines, paired by seed.

    Methods: ``"ce"`` (generation 0), ``"sd-1"`` … ``"sd-G"`` (each taught by the previous
    generation's best-validation model, frozen), ``"beta"`` (Beta smoothing, α_β, a, EMA cap)
    and ``"ls"`` (label smoothing over the other classes at the matched amount
    :func:`matched_eps_ls`). Seed ``s`` runs with ``config.seed + 100 s``; all methods of a seed
    share the data and the initialisation of generation 0.

    Parameters
    ----------
    config : TrainConfig
        Training settings (its device is the runs' device).
    data : Dataset
        Training, validation and test sets.
    seeds : int
        Number of seeds, in ``[1, 100]``.
    generations\\_ : int
        Self-distillation generations G after generation 0, in ``[1, 10]`` (``generations_``:
        the trailing underscore keeps it apart from
        :func:`~selfdistill.training.loop.generations`).
    alpha, T : float
        Self-distillation weight in ``[0, 1]`` and temperature > 0.
    alpha_beta, a : float
        Beta smoothing's mixing weight in ``[0, 1]`` and Beta shape > 0.
    ema_decay : float
        EMA cap in ``[0, 1)``.
    n_bins : int
        Bins of the metrics, in ``[2, 1000]``.

    Returns
    -------
    list of dict
        One row per seed and method: ``seed``, ``method``, ``best_epoch`` and the metrics of
        :func:`describe` of its best-validation model (the last epoch of equal best validation
        accuracy, as the released code keeps).

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    eps = matched_eps_ls(alpha_beta, a)
    rows = []
    for s in range(seeds):
        cfg = replace(config, seed=config.seed + 100 * s)
        chain = generations(cfg, data, lambda g: CrossEntropy() if g == 0 else
                            sd_objective(alpha, T), generations_ + 1, "best", ties="last")
        arms = {"ce": chain[0]} | {f"sd-{g}": r for g, r in enumerate(chain) if g}
        arms["ls"] = train(cfg, data, LossFunction(
            lambda lg, b: targets.label_smoothing_loss(lg, b.y, eps), "ls", eps=eps),
            ties="last")
        torch.manual_seed(cfg.seed + 7919)  # the EMA model's own initialisation
        ema = build_model(cfg.model, data.shape, data.num_classes, cfg.width, cfg.depth)
        arms["beta"] = train(cfg, data, BetaSmoothing(ema.to(data.x_train.device), alpha_beta,
                                                      a, ema_decay), ties="last")
        for name, res in arms.items():
            rows.append({"seed": s, "method": name, "best_epoch": res.best_epoch,
                         **describe(res.best_model, data, T, n_bins)})
    return rows


def paired(rows: list[dict], key: str, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``key`` for methods ``a`` and ``b``, paired by seed.

    Parameters
    ----------
    rows : list of dict
        As :func:`generations_regime` returns.
    key : str
        A metric of :func:`describe`.
    a, b : str
        Methods.

    Returns
    -------
    tuple of numpy.ndarray
        Each float64 ``(seeds,)``, ordered by seed.

    Raises
    ------
    ValueError
        If a method is missing or the two have different numbers of seeds.

    Examples
    --------
    >>> rows = [{"seed": 0, "method": "ce", "acc": 0.9}, {"seed": 0, "method": "ls", "acc": 0.8}]
    >>> paired(rows, "acc", "ce", "ls")
    (array([0.9]), array([0.8]))
    """
    def values(method: str) -> np.ndarray:
        sub = sorted((r for r in rows if r["method"] == method), key=lambda r: r["seed"])
        if not sub:
            raise ValueError(f"method = {method!r} is not in the rows")
        return np.array([r[key] for r in sub], dtype=np.float64)

    va, vb = values(a), values(b)
    if va.shape != vb.shape:
        raise ValueError(f"methods {a!r} and {b!r} have {va.size} and {vb.size} seeds")
    return va, vb


class BetaSmoothing(Objective):
    """Beta smoothing (zhang2020, released code) as a trainer objective.

    Parameters
    ----------
    ema_model : torch.nn.Module
        The student's architecture with its own initialisation, on the student's device.
    alpha_beta : float
        Mixing weight α_β in ``[0, 1]``.
    a : float
        Shape of ``Beta(a, 1)``, > 0.
    ema_decay : float
        EMA cap in ``[0, 1)``.

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Notes
    -----
    ``ema_model`` is a network of the student's architecture with its own initialisation; it becomes
    the EMA teacher (:class:`~selfdistill.zhang2020.smoothing.EMA`, decay cap ``ema_decay``), is run
    on the same augmented batch in train mode without gradients, and its true-class confidences rank
    the batch for the sorted ``Beta(a, 1)`` assignment
    (:func:`~selfdistill.zhang2020.smoothing.beta_smoothing_loss`, mixing weight ``alpha_beta``).
    :meth:`describe` keeps the key ``"alpha"`` (part of the checkpoint fingerprint).
    The run's seeded generator draws the Beta values, so a resumed run draws the same ones.
    """

    name = "beta-smoothing"

    @validate_params(alpha_beta=Real(0.0, 1.0), a=Positive())
    def __init__(self, ema_model: torch.nn.Module, alpha_beta: float = 0.6, a: float = 3.0,
                 ema_decay: float = 0.999) -> None:
        self.ema, self.alpha_beta, self.a = EMA(ema_model, ema_decay), alpha_beta, a

    def loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The Beta-smoothing loss of a batch, the EMA model's confidences ranking it."""
        with torch.no_grad():
            ema_logits = self.ema.model(batch.x).float()
        return beta_smoothing_loss(logits, batch.y, ema_logits, self.alpha_beta, self.a,
                                   batch.generator)

    def after_step(self, model: torch.nn.Module, batch: Batch) -> None:
        """One EMA update from the student."""
        self.ema.update(model)

    def state_dict(self) -> dict[str, Any]:
        """The EMA state, for checkpoints."""
        return self.ema.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.ema.load_state_dict(state)

    def describe(self) -> dict[str, Any]:
        """Name and hyper-parameters."""
        return {"name": self.name, "alpha": self.alpha_beta, "a": self.a,
                "ema_decay": self.ema.ema_decay}
