"""Synthetic teachers and predictors of known calibration for the zhang2020 chapters.

Nothing here is learned: the teachers are random logits with an instance-specific margin, and the
predictors draw their confidence and their correctness from stated distributions, so that their
calibration error is known in closed form (``calibration_gap``) and the binned ECE can be checked
against it. All tensors are float64 on the requested device; seeds make runs repeatable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from selfdistill.core.validate import (
    Integer,
    Real,
    check_in_range,
    check_labels,
    validate_params,
)

__all__ = [
    "Predictions",
    "calibration_gap",
    "ece_bias_normal",
    "predictor",
    "teacher_logits",
]

F64 = torch.float64


_SCALE = Real(0.0, 100.0)


@validate_params(C=Integer(2), margin=_SCALE, noise=_SCALE, structure=_SCALE)
def teacher_logits(labels: torch.Tensor, C: int, margin: float = 3.0, noise: float = 1.0,
                   generator: torch.Generator | None = None,
                   structure: float = 0.0) -> torch.Tensor:
    """Synthetic teacher logits ``t_i = μ_i e_{y_i} + structure · r_{y_i} + noise · z_i`` with
    ``μ_i ~ U(0, 2·margin)``, ``z_i`` standard normal and ``r_{yk} = cos(2π (k − y)/C)`` (classes
    near ``y`` on a ring are similar).

    A teacher whose confidence varies from example to example (easy and hard inputs) and, with
    ``structure > 0``, whose mistakes follow a class structure instead of i.i.d. noise.

    Parameters
    ----------
    labels : torch.Tensor
        ``(N,)`` integer class indices in ``[0, C − 1]``; any device.
    C : int
        Number of classes, ≥ 2.
    margin, noise, structure : float
        Each in ``[0, 100]``.
    generator : torch.Generator, optional
        A CPU generator; the draws are moved (the same draws for every ``structure``).

    Returns
    -------
    torch.Tensor
        ``(N, C)``, float64, on the labels' device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels are not class indices.

    Examples
    --------
    >>> t = teacher_logits(torch.tensor([0, 1]), 3, generator=torch.Generator().manual_seed(0))
    >>> tuple(t.shape), t.dtype
    ((2, 3), torch.float64)
    """
    labels = check_labels("labels", labels, C)
    n = labels.shape[0]
    mu = 2 * margin * torch.rand(n, 1, generator=generator, dtype=F64)
    z = torch.randn(n, C, generator=generator, dtype=F64)
    onehot = torch.nn.functional.one_hot(labels.cpu(), C).to(F64)
    k = torch.arange(C, dtype=F64)
    ring = torch.cos(2 * math.pi * (k[None, :] - labels.cpu()[:, None].to(F64)) / C)
    return (mu * onehot + structure * ring * (1 - onehot) + noise * z).to(labels.device)


@dataclass(frozen=True)
class Predictions:
    """Synthetic predictions (:func:`predictor`).

    Attributes
    ----------
    probs : torch.Tensor
        ``(n, C)``, float64, rows on the simplex.
    labels : torch.Tensor
        ``(n,)``, ``torch.long``.
    confidence : torch.Tensor
        Top-label confidences ``(n,)``, float64.
    """

    probs: torch.Tensor
    labels: torch.Tensor
    confidence: torch.Tensor


@validate_params(n=Integer(1, 10**8), C=Integer(2), gamma=Real(0.0, 100.0, lower_open=True),
                 conf_low=Real(0.0, 1.0, lower_open=True, upper_open=True))
def predictor(n: int, C: int = 10, gamma: float = 1.0, conf_low: float = 0.5,
              generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> Predictions:
    """A synthetic predictor whose accuracy at confidence ``c`` is ``c^γ``.

    Confidence ``c ~ U(conf_low, 1)`` on a uniformly drawn predicted class, the remaining ``1 - c``
    spread evenly over the other classes (so ``c`` is the maximum when ``c ≥ 1/C``); the label is
    the predicted class with probability ``c^γ``, otherwise a uniformly drawn other class.
    ``γ = 1`` is perfectly calibrated; ``γ > 1`` is over-confident by ``c - c^γ`` at every ``c``.

    Parameters
    ----------
    n : int
        Examples, in ``[1, 10⁸]``.
    C : int
        Classes, ≥ 2.
    gamma : float
        γ in ``(0, 100]``.
    conf_low : float
        Lowest confidence, in ``[1/C, 1)`` (declared in ``(0, 1)``, the lower end ``1/C``
        checked in the body).
    generator : torch.Generator, optional
        A CPU generator.
    device : torch.device or str
        Where the result lives.

    Returns
    -------
    Predictions

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    check_in_range("conf_low", conf_low, 1.0 / C, 1.0, upper_open=True)
    c = conf_low + (1 - conf_low) * torch.rand(n, generator=generator, dtype=F64)
    pred = torch.randint(0, C, (n,), generator=generator)
    correct = torch.rand(n, generator=generator, dtype=F64) < c**gamma
    shift = torch.randint(1, C, (n,), generator=generator)
    labels = torch.where(correct, pred, (pred + shift) % C)
    probs = ((1 - c) / (C - 1))[:, None].expand(n, C).clone()
    probs[torch.arange(n), pred] = c
    return Predictions(probs.to(device), labels.to(device), c.to(device))


@validate_params(gamma=Real(1.0, 100.0), conf_low=Real(0.0, 1.0, upper_open=True))
def calibration_gap(gamma: float, conf_low: float = 0.5) -> float:
    """Population calibration error ``E|c - c^γ|`` of :func:`predictor`, ``c ~ U(l, 1)``:
    ``(1/(1-l)) [ (1-l²)/2 - (1-l^{γ+1})/(γ+1) ]`` (the book's ``ece`` of the population).

    Since the gap never changes sign for ``γ ≥ 1`` (``c ≥ c^γ``), every binning of the
    population gives this same value.

    Parameters
    ----------
    gamma : float
        γ in ``[1, 100]``.
    conf_low : float
        ``l`` in ``[0, 1)``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an argument is outside its range.

    Examples
    --------
    >>> calibration_gap(1.0)  # calibrated
    0.0
    >>> round(calibration_gap(2.0, 0.0), 12)  # E(c − c²) over U(0, 1)
    0.166666666667
    """
    low = conf_low
    return ((1 - low**2) / 2 - (1 - low ** (gamma + 1)) / (gamma + 1)) / (1 - low)


@validate_params(n=Integer(1, 10**8), n_bins=Integer(1, 10**4),
                 conf_low=Real(0.0, 1.0, upper_open=True))
def ece_bias_normal(n: int, n_bins: int, conf_low: float = 0.5) -> float:
    """Expected binned ECE of the calibrated predictor (``γ = 1``) at sample size ``n``.

    Its population ECE is 0, so all of it is finite-sample bias. In bin ``b`` (probability
    ``p_b``), ``n_b (acc_b - conf_b) = Σ_i (1[correct_i] - c_i)`` is a sum of ``n_b`` independent
    zero-mean terms of variance ``v_b = E[c(1-c) | b]``; approximating it as normal,
    ``E|·| = sqrt(2 v_b / π) E[sqrt(n_b)]`` with ``n_b ~ Binomial(n, p_b)`` summed exactly, so
    ``E[ECE] ≈ Σ_b sqrt(2 v_b / π) E[sqrt(n_b)] / n`` (the book's ``ece-bias``). The normal
    approximation is the only one.

    Parameters
    ----------
    n : int
        Sample size, in ``[1, 10⁸]``.
    n_bins : int
        Bins, in ``[1, 10⁴]``.
    conf_low : float
        Lowest confidence, in ``[0, 1)``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    total = 0.0
    for b in range(n_bins):
        lo, hi = max(b / n_bins, conf_low), (b + 1) / n_bins
        if hi <= lo:
            continue
        p_b = (hi - lo) / (1 - conf_low)
        # E[c(1-c)] for c uniform on [lo, hi]
        v_b = (hi**2 - lo**2) / 2 / (hi - lo) - (hi**3 - lo**3) / 3 / (hi - lo)
        k = np.arange(n + 1)
        e_sqrt = float(np.sum(np.sqrt(k) * stats.binom.pmf(k, n, p_b)))
        total += math.sqrt(2 * v_b / math.pi) * e_sqrt / n
    return total
