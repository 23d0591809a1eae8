"""The hyper-parameters of one training run, checked against constraints declared once."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from selfdistill.core.validate import SEED_MAX, Constraint, Integer, Options, Real
from selfdistill.data.classification import DATASETS
from selfdistill.training.models import MODELS

__all__ = ["SCHEDULES", "TrainConfig"]

#: learning-rate schedules of :class:`TrainConfig`
SCHEDULES = ("constant", "cosine", "step")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run (units: epochs, examples, learning rate per step).

    Attributes
    ----------
    model : str
        One of :data:`~selfdistill.training.models.MODELS`.
    dataset : str
        One of :data:`~selfdistill.data.classification.DATASETS`; the data given to
        :func:`train` must be this one.
    epochs : int
        Passes over the training set, in ``[1, 100000]``.
    batch_size : int
        Examples per SGD step, in ``[1, 10**7]`` and at most the training set's size; the last
        partial batch of an epoch is dropped.
    lr : float
        Peak learning rate (the step size of SGD), in ``(0, 10]``.
    momentum : float
        SGD momentum, in ``[0, 1)``.
    weight_decay : float
        L2 weight decay on weights (not on biases or normalisation parameters), in ``[0, 1]``.
    schedule : str
        ``"constant"``; ``"cosine"`` (to 0 over the run, per step); ``"step"`` (×0.1 at 1/3 and
        2/3 of the run, zhang2020's released setting). See :meth:`lr_at`.
    augment : bool
        Random crop (zero padding ``padding``) and horizontal flip of images
        (:func:`selfdistill.data.classification.augment`).
    padding : int
        Crop padding, in ``[0, 64]``.
    width, depth : int
        Hidden width in ``[1, 4096]`` and MLP depth in ``[1, 64]``; see
        :func:`~selfdistill.training.models.build_model`.
    seed : int
        Seeds the initial weights (``seed``) and the run's generator (``seed + 1``: shuffling,
        augmentation), in ``[0, 2**32 − 2]`` so that ``seed + 1`` is a seed too.

    Examples
    --------
    >>> TrainConfig(epochs=3).check().epochs
    3
    >>> TrainConfig(lr=0.0).check()
    Traceback (most recent call last):
    ...
    ValueError: lr = 0.0 is outside the accepted range (0, 10]
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

    #: what each field accepts, declared once (``augment`` is any truth value)
    CONSTRAINTS: ClassVar[dict[str, Constraint]] = {
        "model": Options(*MODELS),
        "dataset": Options(*DATASETS),
        "epochs": Integer(1, 100_000),
        "batch_size": Integer(1, 10**7),
        "lr": Real(0.0, 10.0, lower_open=True),
        "momentum": Real(0.0, 1.0, upper_open=True),
        "weight_decay": Real(0.0, 1.0),
        "schedule": Options(*SCHEDULES),
        "padding": Integer(0, 64),
        "width": Integer(1, 4096),
        "depth": Integer(1, 64),
        "seed": Integer(0, SEED_MAX - 1),
    }

    def check(self) -> TrainConfig:
        """Check every field against :attr:`CONSTRAINTS`, in the order of the fields.

        Returns
        -------
        TrainConfig
            ``self``, unchanged.

        Raises
        ------
        ValueError
            Naming the first bad field, its value and what it accepts.
        """
        for name, constraint in self.CONSTRAINTS.items():
            constraint(name, getattr(self, name))
        return self

    def lr_at(self, step: int, total: int) -> float:
        """Learning rate of step ``step`` (0-based) of a run of ``total`` steps.

        ``cosine``: ``lr · (1 + cos(π step/total))/2``; ``step``: ``lr · 0.1^k`` with ``k`` the
        number of thirds of the run passed; ``constant``: ``lr``.

        Examples
        --------
        >>> config = TrainConfig(lr=0.1, schedule="step")
        >>> [round(config.lr_at(s, 9), 6) for s in (0, 3, 6)]
        [0.1, 0.01, 0.001]
        """
        t = step / total
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * t))
        if self.schedule == "step":
            return self.lr * (0.1 ** (int(t >= 1 / 3) + int(t >= 2 / 3)))
        return self.lr
