"""Label-noise models with seeds (dong2019 §6; the protocol is ours, the paper's is not known).

Conventions. Labels are integer class indices in ``{0, ..., C-1}`` (int64 tensors of shape (n,)), or
for the binary model ±1 values. Every model draws from a ``torch.Generator`` (CPU), so a seed makes
the corruption repeatable on any device; the returned tensors live on the device of the labels.

Symmetric noise comes in two conventions that the literature mixes up:

* ``"other"``: with probability ``rate`` a label is replaced by one of the **other** ``C - 1``
  classes, uniformly. The flip rate (fraction of labels that end up wrong) is ``rate``.
  Transition matrix ``T = (1 - rate) I + rate/(C-1) (11ᵀ - I)``.
* ``"any"``: with probability ``rate`` a label is redrawn uniformly from **all** ``C`` classes (it
  may land on the true class). The flip rate is ``rate (C-1)/C``.
  ``T = (1 - rate) I + rate/C 11ᵀ``.

:func:`convert_symmetric_rate` maps a rate of one convention to the rate of the other that gives the
same transition matrix. Pair-flip noise sends class ``k`` to ``(k + 1) mod C`` with probability
``rate``. ``T[i, j] = P(noisy = j | clean = i)``; rows sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy import stats

from selfdistill.core.validate import check_choice, check_in_range, check_int, check_ndim

__all__ = [
    "NoisyLabels",
    "binary_flip",
    "binomial_interval",
    "convert_symmetric_rate",
    "empirical_transition",
    "pair_flip",
    "pair_transition",
    "symmetric_noise",
    "symmetric_transition",
]

SYMMETRIC_CONVENTIONS = ("other", "any")


@dataclass(frozen=True)
class NoisyLabels:
    """Result of a noise model.

    Attributes
    ----------
    noisy : torch.Tensor
        (n,) the corrupted labels ỹ (int64 class indices, or float64 ±1 for the binary model).
    clean : torch.Tensor
        (n,) the true labels y*, same dtype and device.
    corrupted : torch.Tensor
        (n,) bool, ``noisy != clean``.
    """

    noisy: torch.Tensor
    clean: torch.Tensor
    corrupted: torch.Tensor

    @property
    def realised_rate(self) -> float:
        """Fraction of labels that are wrong."""
        return float(self.corrupted.double().mean())


def _check_labels(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    check_ndim("labels", labels, (1,))
    if labels.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise ValueError(f"labels have dtype {labels.dtype}; accepted: integer class indices")
    if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(
            f"labels range over [{int(labels.min())}, {int(labels.max())}]; accepted: "
            f"[0, {n_classes - 1}] for n_classes = {n_classes}"
        )
    return labels.long()


def convert_symmetric_rate(rate: float, n_classes: int, *, source: str = "any") -> float:
    """Rate of the other symmetric convention with the same transition matrix.

    ``"any"`` at rate r equals ``"other"`` at rate r (C-1)/C; the inverse multiplies by C/(C-1).
    An ``"other"`` rate above (C-1)/C has no ``"any"`` equivalent (it is beyond uniform labels).
    """
    check_int("n_classes", n_classes, 2)
    check_choice("source", source, SYMMETRIC_CONVENTIONS)
    factor = (n_classes - 1) / n_classes
    if source == "any":
        return check_in_range("rate", rate, 0.0, 1.0) * factor
    return check_in_range("rate", rate, 0.0, factor) / factor


def symmetric_transition(rate: float, n_classes: int, convention: str = "other") -> torch.Tensor:
    """(C, C) float64 transition matrix of symmetric noise, ``T[i, j] = P(ỹ = j | y* = i)``."""
    check_int("n_classes", n_classes, 2)
    check_choice("convention", convention, SYMMETRIC_CONVENTIONS)
    rate = check_in_range("rate", rate, 0.0, 1.0)
    eye = torch.eye(n_classes, dtype=torch.float64)
    ones = torch.ones(n_classes, n_classes, dtype=torch.float64)
    if convention == "other":
        return (1 - rate) * eye + rate / (n_classes - 1) * (ones - eye)
    return (1 - rate) * eye + rate / n_classes * ones


def pair_transition(rate: float, n_classes: int) -> torch.Tensor:
    """(C, C) float64 transition matrix of pair-flip noise k → (k+1) mod C."""
    check_int("n_classes", n_classes, 2)
    rate = check_in_range("rate", rate, 0.0, 1.0)
    eye = torch.eye(n_classes, dtype=torch.float64)
    return (1 - rate) * eye + rate * torch.roll(eye, shifts=1, dims=1)


def symmetric_noise(labels: torch.Tensor, rate: float, n_classes: int,
                    generator: torch.Generator, convention: str = "other") -> NoisyLabels:
    """Corrupt class labels with symmetric noise (see the module docstring for ``convention``).

    Parameters
    ----------
    labels : (n,) integer tensor of classes in [0, n_classes).
    rate : float in [0, 1]: probability that a label is resampled.
    n_classes : int ≥ 2.
    generator : torch.Generator on the CPU (the draws are made there, then moved to the device).
    convention : ``"other"`` (to any other class) or ``"any"`` (to any class).
    """
    check_int("n_classes", n_classes, 2)
    check_choice("convention", convention, SYMMETRIC_CONVENTIONS)
    rate = check_in_range("rate", rate, 0.0, 1.0)
    clean = _check_labels(labels, n_classes)
    n = clean.shape[0]
    hit = torch.rand(n, generator=generator, dtype=torch.float64) < rate
    if convention == "other":
        shift = torch.randint(1, n_classes, (n,), generator=generator)
        drawn = (clean.cpu() + shift) % n_classes  # uniform over the C-1 other classes
    else:
        drawn = torch.randint(0, n_classes, (n,), generator=generator)
    noisy = torch.where(hit, drawn, clean.cpu()).to(clean.device)
    return NoisyLabels(noisy, clean, noisy != clean)


def pair_flip(labels: torch.Tensor, rate: float, n_classes: int,
              generator: torch.Generator) -> NoisyLabels:
    """Corrupt class labels by pair flips: class k becomes (k+1) mod C with probability ``rate``."""
    check_int("n_classes", n_classes, 2)
    rate = check_in_range("rate", rate, 0.0, 1.0)
    clean = _check_labels(labels, n_classes)
    hit = torch.rand(clean.shape[0], generator=generator, dtype=torch.float64) < rate
    noisy = torch.where(hit, (clean.cpu() + 1) % n_classes, clean.cpu()).to(clean.device)
    return NoisyLabels(noisy, clean, noisy != clean)


def binary_flip(labels: torch.Tensor, rate: float, generator: torch.Generator) -> NoisyLabels:
    """Flip ±1 labels independently with probability ``rate`` (float64 in and out)."""
    check_ndim("labels", labels, (1,))
    rate = check_in_range("rate", rate, 0.0, 1.0)
    if labels.numel() and not bool((labels.abs() == 1).all()):
        raise ValueError("labels must be ±1 for binary_flip; got other values")
    clean = labels.to(torch.float64)
    hit = torch.rand(clean.shape[0], generator=generator, dtype=torch.float64) < rate
    noisy = torch.where(hit.to(clean.device), -clean, clean)
    return NoisyLabels(noisy, clean, noisy != clean)


def empirical_transition(noisy: NoisyLabels, n_classes: int) -> torch.Tensor:
    """(C, C) float64 row-normalised counts of (clean, noisy) pairs (rows of unseen classes: 0)."""
    check_int("n_classes", n_classes, 2)
    clean = _check_labels(noisy.clean, n_classes).cpu()
    out = _check_labels(noisy.noisy, n_classes).cpu()
    counts = torch.zeros(n_classes * n_classes, dtype=torch.float64)
    counts.index_add_(0, clean * n_classes + out, torch.ones_like(clean, dtype=torch.float64))
    counts = counts.reshape(n_classes, n_classes)
    return counts / counts.sum(1, keepdim=True).clamp_min(1.0)


def binomial_interval(n: int, rate: float, confidence: float = 0.999) -> tuple[float, float]:
    """Central ``confidence`` interval of the fraction k/n for k ~ Binomial(n, rate) (scipy)."""
    check_int("n", n, 1)
    rate = check_in_range("rate", rate, 0.0, 1.0)
    confidence = check_in_range("confidence", confidence, 0.0, 1.0, lower_open=True,
                                upper_open=True)
    lo, hi = stats.binom.interval(confidence, n, rate)
    return float(lo) / n, float(hi) / n
