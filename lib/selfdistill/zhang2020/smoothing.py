"""The smoothing baselines of zhang2020 as cross-entropies to mixed targets: the confidence
penalty (a target that depends on the prediction) and Beta smoothing (a ranked, instance-specific
amount) with its EMA teacher.

Conventions as in :mod:`selfdistill.zhang2020.targets` (logits ``(N, C)``, integer labels
``(N,)`` on the same device, reductions ``"mean"``, ``"sum"``, ``"none"``; the one soft
cross-entropy). Provenance (zhang2020's released code): Beta smoothing with α = 0.6, a = 3 and the
EMA cap λ = 0.999, its counter incremented before ``min(1 − 1/(step + 1), λ)``; the book's
``alpha_beta`` is the mixing weight α.
"""

from __future__ import annotations

import copy

import torch

from selfdistill.core.validate import (
    Integer,
    Options,
    Positive,
    Real,
    Tensor,
    validate_params,
)
from selfdistill.zhang2020.targets import (
    REDUCTIONS,
    UNIT,
    Reduction,
    _check_like,
    _check_logits,
    _cross_entropy,
    _labels,
    _reduce,
    one_hot,
)

__all__ = [
    "EMA",
    "beta_order_statistics",
    "beta_smoothing_amounts",
    "beta_smoothing_loss",
    "beta_smoothing_target",
    "confidence_penalty_loss",
    "confidence_penalty_target",
    "ema_decay_at",
]

EMA_DECAY = Real(0.0, 1.0, upper_open=True)


# --------------------------------------------------------------------------- confidence penalty
@validate_params(beta=Real(0.0, 10.0), reduction=Options(*REDUCTIONS))
def confidence_penalty_loss(logits: torch.Tensor, labels: torch.Tensor, beta: float,
                            reduction: Reduction = "mean") -> torch.Tensor:
    """Confidence penalty ``CE(e_y, p) - β H(p)`` with ``H(p) = -Σ p log p`` (Pereyra et al. 2017).

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    beta : float
        Penalty weight β in ``[0, 10]``.
    reduction : {"mean", "sum", "none"}
        Over the batch.

    Returns
    -------
    torch.Tensor
        0-dimensional (or ``(N,)``), the logits' dtype and device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels do not match the logits.
    """
    C = _check_logits("logits", logits)
    labels = _labels(labels, logits, C)
    logp = torch.log_softmax(logits, dim=1)
    entropy = -(logp.exp() * logp).sum(dim=1)
    ce = -logp.gather(1, labels[:, None])[:, 0]
    return _reduce(ce - beta * entropy, reduction)


@validate_params(beta=Real(0.0, 10.0))
def confidence_penalty_target(logits: torch.Tensor, labels: torch.Tensor,
                              beta: float) -> torch.Tensor:
    """The target ``m`` with ``∇_s [CE - βH] = p - m``: ``m = e_y - β p ⊙ (log p + H(p))``.

    It depends on ``p`` (returned detached); its rows sum to 1 since ``Σ p (log p + H) = 0``.

    Parameters
    ----------
    logits : torch.Tensor
        Shape ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    beta : float
        Penalty weight β in ``[0, 10]``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, the logits' dtype and device, no gradient.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels do not match the logits.
    """
    C = _check_logits("logits", logits)
    labels = _labels(labels, logits, C)
    logp = torch.log_softmax(logits.detach(), dim=1)
    p = logp.exp()
    entropy = -(p * logp).sum(dim=1, keepdim=True)
    return one_hot(labels, C, logits.dtype) - beta * p * (logp + entropy)


# ------------------------------------------------------------------------------ Beta smoothing
@validate_params(n=Integer(1), a=Positive())
def beta_order_statistics(k: torch.Tensor | int, n: int, a: float) -> torch.Tensor:
    """Mean of the ``k``-th smallest of ``n`` draws of ``Beta(a, 1)`` (CDF ``b^a``), the book's
    ``order-mean``: ``Γ(k + 1/a) Γ(n + 1) / (Γ(k) Γ(n + 1 + 1/a))``, via ``lgamma``.

    Parameters
    ----------
    k : int or torch.Tensor
        Ranks, integers in ``[1, n]`` (any shape; a tensor keeps its device).
    n : int
        Number of draws, ≥ 1.
    a : float
        Shape of ``Beta(a, 1)``, > 0.

    Returns
    -------
    torch.Tensor
        Shape of ``k``, float64.

    Raises
    ------
    ValueError
        If ``n < 1``, ``a ≤ 0`` or some ``k`` is not an integer in ``[1, n]``.

    Examples
    --------
    >>> round(float(beta_order_statistics(1, 1, 3.0)), 6)  # E b = a / (a + 1)
    0.75
    """
    k = torch.as_tensor(k, dtype=torch.float64)
    if bool(((k < 1) | (k > n) | (k != k.round())).any()):
        raise ValueError(f"k must hold integers in [1, {n}]")
    lg = torch.lgamma
    n_t = torch.tensor(float(n), dtype=torch.float64, device=k.device)
    return torch.exp(lg(k + 1 / a) + lg(n_t + 1) - lg(k) - lg(n_t + 1 + 1 / a))


@validate_params(confidence=Tensor((1,)), a=Positive())
def beta_smoothing_amounts(confidence: torch.Tensor, a: float = 3.0,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted ``Beta(a, 1)`` assignment: draw ``n`` values ``b`` (inverse CDF, ``b = u^{1/a}``),
    sort them ascending and give the ``k``-th smallest to the ``k``-th least confident example
    (ranking by ``confidence``, stable on ties). The model supplies only the ranking.

    Parameters
    ----------
    confidence : torch.Tensor
        Shape ``(N,)``, real, finite (a NaN has no rank); any device.
    a : float
        Shape of ``Beta(a, 1)``, > 0.
    generator : torch.Generator, optional
        On ``confidence``'s device; ``None`` uses the global generator.

    Returns
    -------
    torch.Tensor
        Shape ``(N,)``, float64, on ``confidence``'s device.

    Raises
    ------
    ValueError
        If ``confidence`` is not a finite 1-d tensor or ``a ≤ 0``.
    """
    n = confidence.shape[0]
    u = torch.rand(n, generator=generator, dtype=torch.float64, device=confidence.device)
    b_sorted = torch.sort(u ** (1 / a)).values
    order = torch.argsort(confidence.detach(), stable=True)
    b = torch.empty_like(b_sorted)
    b[order] = b_sorted
    return b


@validate_params(b=Tensor((1,)), C=Integer(2), alpha_beta=UNIT)
def beta_smoothing_target(labels: torch.Tensor, b: torch.Tensor, C: int,
                          alpha_beta: float = 0.6) -> torch.Tensor:
    """Mixed target ``(1-α_β) e_y + α_β t_i`` with ``t_i`` = ``b_i`` on ``y_i`` and
    ``(1-b_i)/(C-1)`` on each other class. Smoothing amount ``ε_i = α_β (1 - b_i)``, spread
    uniformly over the other classes.

    Parameters
    ----------
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on ``b``'s device.
    b : torch.Tensor
        Beta amounts ``(N,)`` in ``[0, 1]`` (:func:`beta_smoothing_amounts`), finite.
    C : int
        Number of classes, ≥ 2.
    alpha_beta : float
        Mixing weight α_β in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Shape ``(N, C)``, float64, on ``b``'s device, rows on the simplex.

    Raises
    ------
    ValueError
        If an argument is outside its range or the labels do not match ``b``.

    Examples
    --------
    >>> beta_smoothing_target(torch.tensor([0]), torch.tensor([0.5]), 3, 0.6)
    tensor([[0.7000, 0.1500, 0.1500]], dtype=torch.float64)
    """
    labels = _labels(labels, b, C)
    e = one_hot(labels, C, torch.float64)
    b = b.detach().to(torch.float64)[:, None]
    t = b * e + (1 - b) / (C - 1) * (1 - e)
    return (1 - alpha_beta) * e + alpha_beta * t


@validate_params(alpha_beta=UNIT, a=Positive(), reduction=Options(*REDUCTIONS))
def beta_smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, ema_logits: torch.Tensor,
                        alpha_beta: float = 0.6, a: float = 3.0,
                        generator: torch.Generator | None = None,
                        reduction: Reduction = "mean") -> torch.Tensor:
    """Beta smoothing (zhang2020, released code): ``(1-α_β) CE(e_y, p) + α_β CE(t, p)``.

    ``t`` comes from :func:`beta_smoothing_target`, with ``b`` assigned by the EMA model's
    true-class confidence ``softmax(ema_logits)_{y}`` (:func:`beta_smoothing_amounts`).
    Defaults α = 0.6, a = 3.

    Parameters
    ----------
    logits : torch.Tensor
        Student logits ``(N, C)``, floating, finite; any device.
    labels : torch.Tensor
        Shape ``(N,)``, integer class indices, on the logits' device.
    ema_logits : torch.Tensor
        The EMA model's logits, shape and device of ``logits``; detached.
    alpha_beta : float
        Mixing weight α_β in ``[0, 1]``.
    a : float
        Shape of ``Beta(a, 1)``, > 0.
    generator : torch.Generator, optional
        On the logits' device; draws the Beta values.
    reduction : {"mean", "sum", "none"}
        Over the batch.

    Returns
    -------
    torch.Tensor
        0-dimensional (or ``(N,)``), the logits' dtype and device.

    Raises
    ------
    ValueError
        If an argument is outside its range or the shapes or devices do not match.
    """
    C = _check_logits("logits", logits)
    _check_like("ema_logits", ema_logits, logits)
    labels = _labels(labels, logits, C)
    conf = torch.softmax(ema_logits.detach(), dim=1).gather(1, labels[:, None])[:, 0]
    b = beta_smoothing_amounts(conf, a, generator)
    target = beta_smoothing_target(labels, b, C, alpha_beta).to(logits.dtype)
    return _cross_entropy(logits, target, reduction)



@validate_params(step=Integer(0), ema_decay=EMA_DECAY)
def ema_decay_at(step: int, ema_decay: float = 0.999) -> float:
    """EMA momentum ``m = min(1 - 1/(step + 1), λ)`` for the step counter ``step``.

    The released code increments its counter *before* this formula, so its updates
    ``1, 2, 3, ...`` use ``step = 1, 2, 3, ...``: momenta 0.5, 0.667, 0.75, ...
    (:meth:`EMA.update` does the same). Until the cap, ``ema ← m ema + (1 - m) θ`` is then the
    running mean of the EMA model's own initial weights and the snapshots ``θ_1..θ_step``.

    Parameters
    ----------
    step : int
        The counter, ≥ 0.
    ema_decay : float
        The cap λ in ``[0, 1)``.

    Returns
    -------
    float
        The momentum ``m``.

    Raises
    ------
    ValueError
        If ``step < 0`` or ``ema_decay`` is outside ``[0, 1)``.

    Examples
    --------
    >>> ema_decay_at(1), ema_decay_at(3), ema_decay_at(10**6)
    (0.5, 0.75, 0.999)
    """
    return min(1 - 1 / (step + 1), ema_decay)


class EMA:
    """Exponential moving average of a student's parameters, for Beta smoothing.

    ``ema.update(student)`` first does ``step += 1`` and then applies ``p ← m p + (1-m) θ`` to
    every floating parameter with ``m = ema_decay_at(ema.step)``, as the released code does (its
    ``global_step += 1`` precedes the momentum): the first update uses m = 1/2, so the EMA model's
    own initialisation keeps weight ``1/(step + 1)``. Buffers (e.g. batch-norm statistics) are
    copied from the student; the released code leaves them, which does not change the EMA model's
    outputs there, since it only ever runs in train mode, where batch norm uses the batch's
    statistics.

    Parameters
    ----------
    model : torch.nn.Module
        A network of the student's architecture (on the student's device and dtype); it becomes
        ``ema.model`` (kept as is, or deep-copied with ``copy_model=True``), without gradients.
    ema_decay : float
        The cap λ in ``[0, 1)``.
    copy_model : bool
        Keep a deep copy of ``model`` instead of ``model`` itself.

    Raises
    ------
    ValueError
        If ``ema_decay`` is outside ``[0, 1)``.

    Examples
    --------
    >>> _ = torch.manual_seed(0)
    >>> ema = EMA(torch.nn.Linear(2, 1).double())
    >>> ema.update(torch.nn.Linear(2, 1).double()), ema.step
    (0.5, 1)
    """

    @validate_params(ema_decay=EMA_DECAY)
    def __init__(self, model: torch.nn.Module, ema_decay: float = 0.999, copy_model: bool = False):
        self.model = copy.deepcopy(model) if copy_model else model
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.ema_decay = float(ema_decay)
        self.step = 0

    @torch.no_grad()
    def update(self, student: torch.nn.Module) -> float:
        """One EMA step from ``student`` (same architecture, device and dtype).

        Returns
        -------
        float
            The momentum ``m`` used.

        Raises
        ------
        ValueError
            If the student's parameter list or shapes differ from the EMA model's.
        """
        m = ema_decay_at(self.step + 1, self.ema_decay)
        mine, theirs = list(self.model.parameters()), list(student.parameters())
        if len(mine) != len(theirs):
            raise ValueError("student and EMA model have different parameter lists")
        for p, q in zip(mine, theirs, strict=True):
            if p.shape != q.shape:
                raise ValueError(f"parameter shapes differ: {tuple(p.shape)} vs {tuple(q.shape)}")
            p.mul_(m).add_(q.detach(), alpha=1 - m)
        for b, c in zip(self.model.buffers(), student.buffers(), strict=True):
            b.copy_(c)
        self.step += 1  # the released code's counter, incremented before its momentum
        return m

    def state_dict(self) -> dict:
        """Model weights, step and cap, for checkpoints."""
        return {"model": self.model.state_dict(), "step": self.step, "ema_decay": self.ema_decay}

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.step = int(state["step"])
        self.ema_decay = float(state["ema_decay"])
