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

from selfdistill.core.validate import (
    Integer,
    Options,
    Real,
    Tensor,
    check_in_range,
    check_labels,
    validate_params,
)

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

#: the two conventions of symmetric noise (see the module docstring)
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
        """Fraction of labels that are wrong (``nan`` for no labels)."""
        return float(self.corrupted.double().mean())


@validate_params(rate=Real(0.0, 1.0), num_classes=Integer(2),
                 source=Options(*SYMMETRIC_CONVENTIONS))
def convert_symmetric_rate(rate: float, num_classes: int, *, source: str = "any") -> float:
    """Rate of the other symmetric convention with the same transition matrix.

    ``"any"`` at rate r equals ``"other"`` at rate ``r (C−1)/C``; the inverse multiplies by
    ``C/(C−1)``. An ``"other"`` rate above ``(C−1)/C`` has no ``"any"`` equivalent (it is beyond
    uniform labels).

    Parameters
    ----------
    rate : float
        The rate in the ``source`` convention: in ``[0, 1]`` for ``"any"``, in
        ``[0, (C−1)/C]`` for ``"other"``.
    num_classes : int
        ``C ≥ 2``.
    source : {"any", "other"}, optional
        The convention of ``rate``.

    Returns
    -------
    float
        The rate in the other convention.

    Raises
    ------
    ValueError
        If ``num_classes``, ``source`` or ``rate`` (for its convention) is out of range.

    Examples
    --------
    >>> convert_symmetric_rate(0.5, 10, source="any")
    0.45
    >>> round(convert_symmetric_rate(0.45, 10, source="other"), 12)
    0.5
    """
    factor = (num_classes - 1) / num_classes
    if source == "any":
        return rate * factor
    return check_in_range("rate", rate, 0.0, factor) / factor


@validate_params(rate=Real(0.0, 1.0), num_classes=Integer(2),
                 convention=Options(*SYMMETRIC_CONVENTIONS))
def symmetric_transition(rate: float, num_classes: int, convention: str = "other") -> torch.Tensor:
    """Transition matrix of symmetric noise, ``T[i, j] = P(ỹ = j | y* = i)``.

    Parameters
    ----------
    rate : float
        In ``[0, 1]``, the probability that a label is resampled.
    num_classes : int
        ``C ≥ 2``.
    convention : {"other", "any"}, optional
        ``"other"``: ``T = (1 − rate) I + rate/(C−1) (11ᵀ − I)``; ``"any"``:
        ``T = (1 − rate) I + rate/C 11ᵀ`` (see the module docstring).

    Returns
    -------
    torch.Tensor
        Shape ``(C, C)``, float64, on the CPU; rows sum to 1.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> symmetric_transition(0.2, 3).tolist()
    [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    """
    eye = torch.eye(num_classes, dtype=torch.float64)
    ones = torch.ones(num_classes, num_classes, dtype=torch.float64)
    if convention == "other":
        return (1 - rate) * eye + rate / (num_classes - 1) * (ones - eye)
    return (1 - rate) * eye + rate / num_classes * ones


@validate_params(rate=Real(0.0, 1.0), num_classes=Integer(2))
def pair_transition(rate: float, num_classes: int) -> torch.Tensor:
    """Transition matrix of pair-flip noise ``k → (k + 1) mod C``.

    Parameters
    ----------
    rate : float
        In ``[0, 1]``, the probability that a label flips to the next class.
    num_classes : int
        ``C ≥ 2``.

    Returns
    -------
    torch.Tensor
        Shape ``(C, C)``, float64, on the CPU: ``(1 − rate) I + rate P`` with ``P`` the cyclic
        shift.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> pair_transition(0.25, 3).tolist()
    [[0.75, 0.25, 0.0], [0.0, 0.75, 0.25], [0.25, 0.0, 0.75]]
    """
    eye = torch.eye(num_classes, dtype=torch.float64)
    return (1 - rate) * eye + rate * torch.roll(eye, shifts=1, dims=1)


@validate_params(rate=Real(0.0, 1.0), num_classes=Integer(2),
                 convention=Options(*SYMMETRIC_CONVENTIONS))
def symmetric_noise(labels: torch.Tensor, rate: float, num_classes: int,
                    generator: torch.Generator, convention: str = "other") -> NoisyLabels:
    """Corrupt class labels with symmetric noise (see the module docstring for ``convention``).

    The draws are made on the CPU from ``generator`` (a uniform per label for the hit, then the
    new class), so a seed gives the same corruption on any device.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(n,)``, integer class indices in ``[0, num_classes − 1]``, on any device
        (:func:`selfdistill.core.validate.check_labels`).
    rate : float
        In ``[0, 1]``: the probability that a label is resampled.
    num_classes : int
        ``C ≥ 2``.
    generator : torch.Generator
        A seeded generator on the CPU.
    convention : {"other", "any"}, optional
        ``"other"``: to one of the other ``C − 1`` classes; ``"any"``: to any of the ``C``.

    Returns
    -------
    NoisyLabels
        int64 tensors ``(n,)`` on the labels' device.

    Raises
    ------
    ValueError
        If an argument is out of range or ``labels`` are not class indices in range.

    Examples
    --------
    >>> labels = torch.arange(6) % 3
    >>> out = symmetric_noise(labels, 1.0, 3, torch.Generator().manual_seed(0))
    >>> bool(out.corrupted.all()), out.realised_rate
    (True, 1.0)
    """
    clean = check_labels("labels", labels, num_classes)
    n = clean.shape[0]
    hit = torch.rand(n, generator=generator, dtype=torch.float64) < rate
    if convention == "other":
        shift = torch.randint(1, num_classes, (n,), generator=generator)
        drawn = (clean.cpu() + shift) % num_classes  # uniform over the C-1 other classes
    else:
        drawn = torch.randint(0, num_classes, (n,), generator=generator)
    noisy = torch.where(hit, drawn, clean.cpu()).to(clean.device)
    return NoisyLabels(noisy, clean, noisy != clean)


@validate_params(rate=Real(0.0, 1.0), num_classes=Integer(2))
def pair_flip(labels: torch.Tensor, rate: float, num_classes: int,
              generator: torch.Generator) -> NoisyLabels:
    """Corrupt class labels by pair flips: class ``k`` becomes ``(k + 1) mod C`` w.p. ``rate``.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(n,)``, integer class indices in ``[0, num_classes − 1]``, on any device.
    rate : float
        In ``[0, 1]``.
    num_classes : int
        ``C ≥ 2``.
    generator : torch.Generator
        A seeded generator on the CPU (one uniform per label).

    Returns
    -------
    NoisyLabels
        int64 tensors ``(n,)`` on the labels' device.

    Raises
    ------
    ValueError
        If an argument is out of range or ``labels`` are not class indices in range.

    Examples
    --------
    >>> pair_flip(torch.tensor([0, 1, 2]), 1.0, 3, torch.Generator()).noisy.tolist()
    [1, 2, 0]
    """
    clean = check_labels("labels", labels, num_classes)
    hit = torch.rand(clean.shape[0], generator=generator, dtype=torch.float64) < rate
    noisy = torch.where(hit, (clean.cpu() + 1) % num_classes, clean.cpu()).to(clean.device)
    return NoisyLabels(noisy, clean, noisy != clean)


@validate_params(labels=Tensor((1,)), rate=Real(0.0, 1.0))
def binary_flip(labels: torch.Tensor, rate: float, generator: torch.Generator) -> NoisyLabels:
    """Flip ±1 labels independently with probability ``rate``.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(n,)``, entries ±1 (the library's convention,
        :func:`selfdistill.data.digits.signed_labels`), any real dtype, on any device.
    rate : float
        In ``[0, 1]``.
    generator : torch.Generator
        A seeded generator on the CPU (one uniform per label).

    Returns
    -------
    NoisyLabels
        float64 tensors ``(n,)`` on the labels' device.

    Raises
    ------
    ValueError
        If ``labels`` is not a finite 1-D tensor of ±1 values, or ``rate`` is out of range.

    Examples
    --------
    >>> binary_flip(torch.tensor([1.0, -1.0]), 1.0, torch.Generator()).noisy.tolist()
    [-1.0, 1.0]
    """
    if labels.numel() and not bool((labels.abs() == 1).all()):
        bad = labels[labels.abs() != 1]
        raise ValueError(f"labels holds {bad.numel()} values other than ±1 (e.g. "
                         f"{float(bad[0])!r}); accepted: ±1 labels")
    clean = labels.to(torch.float64)
    hit = torch.rand(clean.shape[0], generator=generator, dtype=torch.float64) < rate
    noisy = torch.where(hit.to(clean.device), -clean, clean)
    return NoisyLabels(noisy, clean, noisy != clean)


@validate_params(num_classes=Integer(2))
def empirical_transition(noisy: NoisyLabels, num_classes: int) -> torch.Tensor:
    """Row-normalised counts of (clean, noisy) pairs: the realised transition matrix.

    Parameters
    ----------
    noisy : NoisyLabels
        Class-index labels (from :func:`symmetric_noise` or :func:`pair_flip`).
    num_classes : int
        ``C ≥ 2``.

    Returns
    -------
    torch.Tensor
        Shape ``(C, C)``, float64, on the CPU; a row of a class that never occurs is 0.

    Raises
    ------
    ValueError
        If ``num_classes`` is out of range or the labels are not class indices in range.

    Examples
    --------
    >>> clean = torch.tensor([0, 0, 1, 1])
    >>> noisy = NoisyLabels(torch.tensor([0, 1, 1, 1]), clean, torch.tensor([False, True,
    ...                     False, False]))
    >>> empirical_transition(noisy, 2).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    """
    clean = check_labels("noisy.clean", noisy.clean, num_classes).cpu()
    out = check_labels("noisy.noisy", noisy.noisy, num_classes, rows=clean.shape[0]).cpu()
    counts = torch.zeros(num_classes * num_classes, dtype=torch.float64)
    counts.index_add_(0, clean * num_classes + out, torch.ones_like(clean, dtype=torch.float64))
    counts = counts.reshape(num_classes, num_classes)
    return counts / counts.sum(1, keepdim=True).clamp_min(1.0)


@validate_params(n=Integer(1), rate=Real(0.0, 1.0),
                 confidence=Real(0.0, 1.0, lower_open=True, upper_open=True))
def binomial_interval(n: int, rate: float, confidence: float = 0.999) -> tuple[float, float]:
    """Central ``confidence`` interval of the fraction ``k/n`` for ``k ~ Binomial(n, rate)``.

    Parameters
    ----------
    n : int
        Number of draws, ``≥ 1``.
    rate : float
        Success probability, in ``[0, 1]``.
    confidence : float, optional
        In ``(0, 1)``.

    Returns
    -------
    tuple of float
        ``(low, high)`` fractions from scipy's ``binom.interval``.

    Raises
    ------
    ValueError
        If an argument is out of range.

    Examples
    --------
    >>> binomial_interval(100, 0.0)
    (0.0, 0.0)
    """
    lo, hi = stats.binom.interval(confidence, n, rate)
    return float(lo) / n, float(hi) / n
