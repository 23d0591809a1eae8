"""Evaluation metrics of zhang2020: accuracy, NLL, calibration (ECE), reliability data, entropy,
confidence diversity and the spread of mass over the non-target classes.

Every function takes class probabilities ``probs`` of shape ``(N, C)`` (rows on the simplex; any
float dtype, any device; apply ``torch.softmax(logits, 1)`` first) and, where needed, integer
labels of shape ``(N,)`` (any integer dtype, same device;
:func:`~selfdistill.core.validate.check_labels`). Computations run in float64 and return
0-dimensional float64 tensors (or small dataclasses of tensors) on the input's device.

Binning convention (ECE, reliability data, confidence-diversity histogram): ``n_bins`` equal-width
bins on ``[0, 1]``, bin ``b`` is the half-open interval ``((b-1)/M, b/M]`` (the first one also
holds 0), as in Guo et al. (2017). The edges are ``b/M`` rounded to the nearest float64
(:func:`bin_edges`; a ``linspace`` misses some by one ulp), so a confidence exactly on an
edge, such as 0.55 with 20 bins, goes to the bin it closes. torchmetrics'
``MulticlassCalibrationError`` uses ``[(b-1)/M, b/M)`` instead, puts a confidence of exactly 1
in an extra bin of its own, and works in float32: the two agree except for confidences that
fall exactly on an edge ``b/M``.
zhang2020's released code uses ``n_bins = 20``; many papers use 15.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from selfdistill.core.validate import Integer, Options, check_labels, check_ndim, validate_params

__all__ = [
    "ece_float32_top_bin",
    "ConfidenceDiversity",
    "Reliability",
    "accuracy",
    "bin_edges",
    "bin_index",
    "confidence_diversity",
    "ece",
    "nll",
    "non_target_spread",
    "predictive_entropy",
    "reliability",
    "true_class_confidence",
]

F64 = torch.float64
#: rows of ``probs`` must sum to 1 within this (float16 rounding of a softmax is ~1e-3)
ROW_SUM_TOL = 1e-2
#: the number of equal-width bins
N_BINS = Integer(1, 10**6)


def _check_probs(probs: torch.Tensor) -> torch.Tensor:
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        raise ValueError(f"probs must be a floating-point torch.Tensor, got {type(probs)}")
    check_ndim("probs", probs, (2,))
    if probs.shape[1] < 2:
        raise ValueError(f"probs has shape {tuple(probs.shape)}; it needs C >= 2 classes")
    p = probs.detach().to(F64)
    if probs.shape[0] == 0:
        raise ValueError("probs has no rows")
    if not bool(torch.isfinite(p).all()) or float(p.min()) < 0:
        raise ValueError("probs must be finite and non-negative (pass softmax(logits), not logits)")
    worst = float((p.sum(dim=1) - 1).abs().max())
    if worst > ROW_SUM_TOL:
        raise ValueError(f"rows of probs must sum to 1; the worst is off by {worst:.3g} "
                         f"(pass softmax(logits), not logits)")
    return p


def _labels(labels: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    return check_labels("labels", labels, probs.shape[1], rows=probs.shape[0],
                        device=probs.device)


def true_class_confidence(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """True-class confidences ``c_i = p_{i, y_i}``.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.

    Returns
    -------
    torch.Tensor
        Shape ``(N,)``, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.
    """
    p = _check_probs(probs)
    labels = _labels(labels, probs)
    return p.gather(1, labels[:, None])[:, 0]


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose arg-max (first one on ties) is the label.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.

    Returns
    -------
    torch.Tensor
        0-dimensional, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.

    Examples
    --------
    >>> p = torch.tensor([[0.9, 0.1], [0.4, 0.6]], dtype=torch.float64)
    >>> float(accuracy(p, torch.tensor([0, 0])))
    0.5
    """
    p = _check_probs(probs)
    labels = _labels(labels, probs)
    return (p.argmax(dim=1) == labels).to(F64).mean()


def nll(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood ``-(1/N) Σ log p_{i, y_i}``.

    ``inf`` if some ``p_{i,y_i} = 0``; from logits, ``torch.nn.functional.cross_entropy`` is the
    more accurate route.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.

    Returns
    -------
    torch.Tensor
        0-dimensional, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.
    """
    return -torch.log(true_class_confidence(probs, labels)).mean()


def predictive_entropy(probs: torch.Tensor) -> torch.Tensor:
    """Entropy ``H(p_i) = -Σ_k p_ik log p_ik`` in nats per row (``0 log 0 = 0``).

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.

    Returns
    -------
    torch.Tensor
        Shape ``(N,)``, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex.
    """
    p = _check_probs(probs)
    return -torch.special.xlogy(p, p).sum(dim=1)


@validate_params(n_bins=N_BINS)
def bin_edges(n_bins: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """The ``M + 1`` bin edges ``b/M``, ``b = 0 … M``, each correctly rounded to float64 (an IEEE
    division ``b / M``, unlike ``linspace``, which misses some by one ulp).

    Parameters
    ----------
    n_bins : int
        Number ``M`` of equal-width bins, in ``[1, 10⁶]``.
    device : torch.device or str
        Where the edges live.

    Returns
    -------
    torch.Tensor
        Shape ``(M + 1,)``, float64.

    Raises
    ------
    ValueError
        If ``n_bins`` is not an integer in ``[1, 10⁶]``.

    Examples
    --------
    >>> bin_edges(4)
    tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000], dtype=torch.float64)
    """
    return torch.arange(n_bins + 1, dtype=F64, device=device) / n_bins


@validate_params(n_bins=N_BINS)
def bin_index(values: torch.Tensor, n_bins: int) -> torch.Tensor:
    """Bin of each value in ``[0, 1]`` among ``n_bins`` equal-width bins ``((b-1)/M, b/M]``
    (0-based; 0 also goes to the first bin).

    Parameters
    ----------
    values : torch.Tensor
        Any shape, real, every entry in ``[0, 1]``; any device.
    n_bins : int
        Number ``M`` of equal-width bins, in ``[1, 10⁶]``.

    Returns
    -------
    torch.Tensor
        Shape of ``values``, ``torch.long``, on its device.

    Raises
    ------
    ValueError
        If ``n_bins`` is out of range, or a value is NaN or outside ``[0, 1]`` (never clipped
        into an end bin).

    Examples
    --------
    >>> bin_index(torch.tensor([0.0, 0.25, 0.26, 1.0], dtype=torch.float64), 4)
    tensor([0, 0, 1, 3])
    """
    if not isinstance(values, torch.Tensor) or values.is_complex() or values.dtype == torch.bool:
        what = f"a {values.dtype} tensor" if isinstance(values, torch.Tensor) else type(
            values).__name__
        raise ValueError(f"values = {what} is not accepted; accepted: a real tensor in [0, 1]")
    v = values.detach().to(F64)
    outside = ~((v >= 0) & (v <= 1))  # NaN compares false: it is outside too
    if bool(outside.any()):
        first = float(v[outside].flatten()[0])
        raise ValueError(f"values has {int(outside.sum())} entries outside [0, 1] (NaN "
                         f"included), e.g. {first!r}; accepted: confidences in [0, 1]")
    edges = bin_edges(n_bins, v.device)
    return torch.bucketize(v, edges[1:-1], right=False)


@dataclass(frozen=True)
class Reliability:
    """Reliability-diagram data over ``M`` equal-width confidence bins (:func:`reliability`).

    Attributes
    ----------
    edges : torch.Tensor
        ``(M + 1,)``, float64.
    counts : torch.Tensor
        Examples per bin, ``(M,)``, float64.
    accuracy, confidence : torch.Tensor
        Mean correctness and mean confidence per bin, ``(M,)``, float64 (NaN in empty bins).
    """

    edges: torch.Tensor
    counts: torch.Tensor
    accuracy: torch.Tensor
    confidence: torch.Tensor

    @property
    def ece(self) -> torch.Tensor:
        """``Σ_b |B_b|/n |acc(B_b) - conf(B_b)|`` over the non-empty bins."""
        gap = torch.nan_to_num((self.accuracy - self.confidence).abs())
        return (self.counts / self.counts.sum() * gap).sum()


@validate_params(n_bins=N_BINS)
def reliability(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 20) -> Reliability:
    """Per-bin accuracy and confidence (confidence = max probability), for a reliability diagram.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.
    n_bins : int
        Number ``M`` of equal-width bins, in ``[1, 10⁶]``.

    Returns
    -------
    Reliability
        Float64 tensors on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.
    """
    p = _check_probs(probs)
    labels = _labels(labels, probs)
    pred = p.argmax(dim=1)  # first maximum on ties (and far faster on CPU than max(dim=1))
    conf = p.gather(1, pred[:, None])[:, 0]
    correct = (pred == labels).to(F64)
    idx = bin_index(conf, n_bins)
    counts = torch.zeros(n_bins, dtype=F64, device=p.device)
    counts.index_add_(0, idx, torch.ones_like(conf))
    acc_sum = torch.zeros_like(counts).index_add_(0, idx, correct)
    conf_sum = torch.zeros_like(counts).index_add_(0, idx, conf)
    edges = bin_edges(n_bins, p.device)
    return Reliability(edges, counts, acc_sum / counts, conf_sum / counts)


@validate_params(n_bins=N_BINS)
def ece(probs: torch.Tensor, labels: torch.Tensor, n_bins: int = 20) -> torch.Tensor:
    """Expected calibration error with ``n_bins`` equal-width bins (top-label, L1; the book's
    ``ece``): ``ECE = Σ_b |B_b|/n |acc(B_b) - conf(B_b)|`` with conf = max probability.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.
    n_bins : int
        Number of bins in ``[1, 10⁶]``; default 20 as in zhang2020's released code (15 in many
        papers).

    Returns
    -------
    torch.Tensor
        0-dimensional, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.

    Examples
    --------
    >>> p = torch.tensor([[0.9, 0.1], [0.9, 0.1]], dtype=torch.float64)
    >>> round(float(ece(p, torch.tensor([0, 1]), n_bins=10)), 6)  # confidence 0.9, accuracy 0.5
    0.4
    """
    return reliability(probs, labels, n_bins).ece


@dataclass(frozen=True)
class ConfidenceDiversity:
    """Confidence diversity of true-class confidences ``c_i = p_{i,y_i}``
    (:func:`confidence_diversity`). zhang2020's exact formula is not known to us; these are the
    book's two definitions.

    Attributes
    ----------
    entropy : torch.Tensor
        0-dimensional float64: entropy (nats) of the histogram of the ``c_i`` over ``n_bins``
        equal-width bins of ``[0, 1]``, ``-Σ_b f_b log f_b`` with ``f_b`` the fraction in bin
        ``b`` (0 when all ``c_i`` share a bin; at most ``log n_bins``).
    variance : torch.Tensor
        0-dimensional float64: population variance of the ``c_i``.
    n_bins : int
        The number of bins.
    """

    entropy: torch.Tensor
    variance: torch.Tensor
    n_bins: int


@validate_params(n_bins=N_BINS)
def confidence_diversity(probs: torch.Tensor, labels: torch.Tensor,
                         n_bins: int = 20) -> ConfidenceDiversity:
    """:class:`ConfidenceDiversity` of the true-class confidences of ``probs`` (a model's
    predictions or a batch of targets).

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.
    n_bins : int
        Number ``M`` of equal-width bins, in ``[1, 10⁶]``.

    Returns
    -------
    ConfidenceDiversity
        Float64 tensors on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.
    """
    c = true_class_confidence(probs, labels)
    idx = bin_index(c, n_bins)
    counts = torch.zeros(n_bins, dtype=F64, device=c.device).index_add_(0, idx, torch.ones_like(c))
    f = counts / counts.sum()
    return ConfidenceDiversity(-torch.special.xlogy(f, f).sum(), c.var(correction=0), n_bins)


@validate_params(reduction=Options("mean", "none"))
def non_target_spread(probs: torch.Tensor, labels: torch.Tensor,
                      reduction: str = "mean") -> torch.Tensor:
    """How evenly a row spreads its non-target mass: ``H(r_i) / log(C-1)`` with
    ``r_i = p_{i,-y_i} / (1 - p_{i,y_i})`` the renormalised non-target part, in ``[0, 1]``
    (1 = uniform, as label smoothing).

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 3``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.
    reduction : {"mean", "none"}
        ``"none"``: one value per row, NaN for rows with no non-target mass; ``"mean"``: the
        mean over the other rows.

    Returns
    -------
    torch.Tensor
        0-dimensional or ``(N,)``, float64, on the device of ``probs``.

    Raises
    ------
    ValueError
        If ``C < 3``, ``reduction`` is unknown, ``probs`` is not a table of rows on the simplex
        or the labels do not match it.
    """
    p = _check_probs(probs)
    labels = _labels(labels, probs)
    C = p.shape[1]
    if C < 3:
        raise ValueError(f"non_target_spread needs C >= 3 classes, got C = {C}")
    mask = torch.ones_like(p, dtype=torch.bool).scatter_(1, labels[:, None], False)
    rest = p[mask].view(-1, C - 1)
    total = rest.sum(dim=1, keepdim=True)
    r = rest / total
    spread = -torch.special.xlogy(r, r).sum(dim=1) / math.log(C - 1)
    spread = torch.where(total[:, 0] > 0, spread, torch.full_like(spread, float("nan")))
    return spread.nanmean() if reduction == "mean" else spread


@validate_params(n_bins=N_BINS)
def ece_float32_top_bin(probs: torch.Tensor, labels: torch.Tensor, n_bins: int) -> float:
    """:func:`selfdistill.zhang2020.metrics.ece` under torchmetrics' convention for confidences that
    are exactly 1 in float32: those examples form a bin of their own (torchmetrics bins float32
    confidences and puts 1.0 past the last edge); the rest are binned by the library. Used to
    compare the library with torchmetrics on trained models, whose top confidences often round
    to 1.0 in float32.

    Parameters
    ----------
    probs : torch.Tensor
        Shape ``(N, C)``, ``N ≥ 1``, ``C ≥ 2``, rows on the simplex (within ``ROW_SUM_TOL``),
        any float dtype and device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices in ``[0, C − 1]``, on the device of ``probs``.
    n_bins : int
        Number ``M`` of equal-width bins, in ``[1, 10⁶]``.

    Returns
    -------
    float
        The ECE under that convention.

    Raises
    ------
    ValueError
        If ``probs`` is not a finite table of rows on the simplex, or the labels do not match it.
    """
    _check_probs(probs)
    labels = _labels(labels, probs)
    conf = probs.max(1).values.float()
    top = conf == 1.0
    n, rest = probs.shape[0], ~top
    value = 0.0
    if bool(rest.any()):
        value += float(rest.sum()) / n * float(ece(probs[rest], labels[rest], n_bins))
    if bool(top.any()):
        acc = (probs[top].argmax(1) == labels[top]).double().mean()
        value += float(top.sum()) / n * float((acc - 1.0).abs())
    return value
