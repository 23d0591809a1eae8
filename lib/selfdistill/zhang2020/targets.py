"""Targets and losses of zhang2020: every method is a cross-entropy to a mixed target.

All functions take logits ``s`` of shape ``(N, C)`` (any float dtype, any device), integer labels
``y`` of shape ``(N,)`` (``torch.long``, on the same device) and return tensors on that device.
Each loss equals ``soft_cross_entropy(logits, m)`` for a target ``m`` whose rows sum to 1, so its
gradient with respect to the logits is ``(p - m) / N`` with ``p = softmax(s)``
(``reduction="mean"``).

Provenance (zhang2020): the losses and their defaults (α = 0.4, T = 4 for self-distillation; α =
0.6, a = 3, EMA decay 0.999 for Beta smoothing; label smoothing over the other classes) follow the
authors' released code as summarised in the book's notes; the Dirichlet MAP reading is the
paper's framing, derived here. Symbols: ``C`` classes (the paper's K), ``gamma`` the Dirichlet
concentration (the literature's α_i), ``ema_decay`` the EMA cap (the code's λ).
"""

from __future__ import annotations

import copy
from typing import Literal

import torch

from selfdistill.core.validate import (
    check_choice,
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    check_positive,
)

__all__ = [
    "EMA",
    "amortized_map_loss",
    "beta_order_statistics",
    "beta_smoothing_amounts",
    "beta_smoothing_loss",
    "beta_smoothing_target",
    "confidence_penalty_loss",
    "confidence_penalty_target",
    "convert_eps_ls",
    "dirichlet_map",
    "ema_decay_at",
    "label_smoothing_loss",
    "label_smoothing_target",
    "one_hot",
    "sd_loss",
    "sd_target",
    "smoothing_amount",
    "soft_cross_entropy",
    "teacher_probs",
]

Reduction = Literal["mean", "sum", "none"]
Smoothing = Literal["uniform", "others"]


# ---------------------------------------------------------------------------------------- checks
def _check_logits(name: str, logits: torch.Tensor) -> int:
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise ValueError(f"{name} must be a floating-point torch.Tensor, got {type(logits)}")
    check_ndim(name, logits, (2,))
    if logits.shape[1] < 2:
        raise ValueError(f"{name} has shape {tuple(logits.shape)}; it needs C >= 2 classes")
    check_finite(name, logits.detach())  # a NaN would turn every loss and target into NaN
    return logits.shape[1]


def _check_labels(labels: torch.Tensor, n: int, C: int, device: torch.device) -> None:
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        got = getattr(labels, "dtype", labels)
        raise ValueError(f"labels must be a torch.long tensor, got {got}")
    check_ndim("labels", labels, (1,))
    if labels.shape[0] != n:
        raise ValueError(f"labels has {labels.shape[0]} entries but the batch has {n} rows")
    if labels.device != device:
        raise ValueError(f"labels are on {labels.device} but the logits on {device}")
    if n and (int(labels.min()) < 0 or int(labels.max()) >= C):
        raise ValueError(f"labels must lie in [0, {C - 1}]; got [{int(labels.min())}, "
                         f"{int(labels.max())}]")


def _check_like(name: str, tensor: torch.Tensor, like: torch.Tensor) -> None:
    if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != tuple(like.shape):
        raise ValueError(f"{name} has shape {tuple(getattr(tensor, 'shape', ()))}; expected "
                         f"{tuple(like.shape)}")
    if tensor.device != like.device:
        raise ValueError(f"{name} is on {tensor.device} but the logits on {like.device}")


def _reduce(per_example: torch.Tensor, reduction: str) -> torch.Tensor:
    check_choice("reduction", reduction, ("mean", "sum", "none"))
    if reduction == "mean":
        return per_example.mean()
    return per_example.sum() if reduction == "sum" else per_example


# --------------------------------------------------------------------------------------- basics
def one_hot(labels: torch.Tensor, C: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """One-hot rows ``e_y``, shape ``(N, C)``, on the labels' device."""
    check_int("C", C, 2)
    if not isinstance(labels, torch.Tensor) or labels.ndim != 1:
        raise ValueError(f"labels must be a 1-d tensor, got {getattr(labels, 'shape', labels)}")
    _check_labels(labels, labels.shape[0], C, labels.device)
    return torch.nn.functional.one_hot(labels, C).to(dtype)


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor,
                       reduction: Reduction = "mean") -> torch.Tensor:
    """``CE(m, softmax(s)) = -Σ_k m_k log softmax(s)_k`` per row, then reduced.

    ``target`` (N, C) holds rows that sum to 1 (not checked: a trainer calls this every step);
    then the gradient with respect to ``s_i`` is ``p_i - m_i`` per example. ``logits`` and
    ``target`` must be finite (``ValueError`` naming which, else the loss would be NaN). CE and
    KL(m‖p) differ by the entropy ``H(m)``, a constant in ``s``. Gradients flow into ``target``
    too; detach it for a fixed teacher.
    """
    _check_logits("logits", logits)
    _check_like("target", target, logits)
    check_finite("target", target.detach())
    per_example = -(target * torch.log_softmax(logits, dim=1)).sum(dim=1)
    return _reduce(per_example, reduction)


def smoothing_amount(target: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Instance-specific smoothing ``ε_i = 1 - m_{i, y_i}``, shape ``(N,)``: the mass a target
    moves off the true class (zhang2020's decomposition; for SD ``ε_i = α (1 - q^T_{i, y_i})``)."""
    C = _check_logits("target", target)
    _check_labels(labels, target.shape[0], C, target.device)
    return 1 - target.gather(1, labels[:, None])[:, 0]


# ------------------------------------------------------------------------------ label smoothing
def convert_eps_ls(eps_ls: float, C: int, to: Smoothing) -> float:
    """Convert a label-smoothing weight between the two parameterisations.

    ``"uniform"``: ``(1-ε_u) e_y + ε_u 1/C``; ``"others"`` (zhang2020's released code): ``1-ε_o`` on
    ``y`` and ``ε_o/(C-1)`` on each other class. They agree when ``ε_o = ε_u (C-1)/C``. ``to`` names
    the parameterisation of the result; ``eps_ls`` is in the other one.
    """
    C = check_int("C", C, 2)
    check_choice("to", to, ("uniform", "others"))
    if to == "others":
        check_in_range("eps_ls", eps_ls, 0.0, 1.0)
        return eps_ls * (C - 1) / C
    check_in_range("eps_ls", eps_ls, 0.0, (C - 1) / C)
    return eps_ls * C / (C - 1)


def label_smoothing_target(labels: torch.Tensor, C: int, eps_ls: float,
                           kind: Smoothing = "others",
                           dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Label-smoothed targets, shape ``(N, C)``: ``kind="uniform"`` gives
    ``(1-ε) e_y + ε/C``; ``kind="others"`` (the released code) ``1-ε`` on ``y`` and ``ε/(C-1)``
    elsewhere."""
    check_in_range("eps_ls", eps_ls, 0.0, 1.0)
    check_choice("kind", kind, ("uniform", "others"))
    e = one_hot(labels, C, dtype)
    if kind == "uniform":
        return (1 - eps_ls) * e + eps_ls / C
    return (1 - eps_ls) * e + eps_ls / (C - 1) * (1 - e)


def label_smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, eps_ls: float,
                         kind: Smoothing = "others", reduction: Reduction = "mean") -> torch.Tensor:
    """Cross-entropy to :func:`label_smoothing_target`."""
    C = _check_logits("logits", logits)
    _check_labels(labels, logits.shape[0], C, logits.device)
    return soft_cross_entropy(logits, label_smoothing_target(labels, C, eps_ls, kind,
                                                             logits.dtype), reduction)


# --------------------------------------------------------------------------- self-distillation
def teacher_probs(teacher_logits: torch.Tensor, T: float = 4.0) -> torch.Tensor:
    """``q^T = softmax(t / T)``, detached (the teacher is fixed), shape ``(N, C)``."""
    _check_logits("teacher_logits", teacher_logits)
    check_positive("T", T)
    return torch.softmax(teacher_logits.detach() / T, dim=1)


def sd_target(labels: torch.Tensor, teacher_logits: torch.Tensor, alpha: float = 0.4,
              T: float = 4.0) -> torch.Tensor:
    """Self-distillation target ``m = (1-α) e_y + α softmax(t/T)``, shape ``(N, C)``."""
    C = _check_logits("teacher_logits", teacher_logits)
    check_in_range("alpha", alpha, 0.0, 1.0)
    _check_labels(labels, teacher_logits.shape[0], C, teacher_logits.device)
    q = teacher_probs(teacher_logits, T)
    return (1 - alpha) * one_hot(labels, C, q.dtype) + alpha * q


def sd_loss(logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
            alpha: float = 0.4, T: float = 4.0, reduction: Reduction = "mean") -> torch.Tensor:
    """``ℓ_SD = (1-α) CE(e_y, softmax(s)) + α CE(softmax(t/T), softmax(s))``.

    Only the teacher is softened and there is no ``T²`` factor (zhang2020's released code;
    defaults α = 0.4, T = 4). ``teacher_logits`` has the shape of ``logits`` and is detached.
    """
    _check_logits("logits", logits)
    _check_like("teacher_logits", teacher_logits, logits)
    return soft_cross_entropy(logits, sd_target(labels, teacher_logits, alpha, T), reduction)


# ------------------------------------------------------------------------- Dirichlet MAP reading
def _check_gamma(gamma: torch.Tensor, C: int, n: int, device: torch.device) -> None:
    if not isinstance(gamma, torch.Tensor) or tuple(gamma.shape) != (n, C):
        raise ValueError(f"gamma has shape {tuple(getattr(gamma, 'shape', ()))}; expected {(n, C)}")
    if gamma.device != device:
        raise ValueError(f"gamma is on {gamma.device} but the labels on {device}")
    if n and float(gamma.min()) < 1:
        raise ValueError(f"gamma must be >= 1 everywhere (interior mode); min is "
                         f"{float(gamma.min())!r}")


def dirichlet_map(labels: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Per-instance MAP of ``z_i`` under likelihood ``z_{i,y_i}`` and prior ``Dir(γ_i)``.

    The posterior is ``Dir(e_{y_i} + γ_i)``; its mode is
    ``z_i* = (e_{y_i} + γ_i - 1) / (1 + Σ_k (γ_ik - 1))``. ``gamma`` (N, C), every entry ≥ 1.
    With ``γ_i = 1 + β q^T_i`` this is the SD target with ``α = β/(1+β)``; with ``γ_i = 1 + β/C``
    it is uniform label smoothing with ``ε = β/(1+β)``.
    """
    if not isinstance(gamma, torch.Tensor) or gamma.ndim != 2:
        raise ValueError(f"gamma must be an (N, C) tensor, got {getattr(gamma, 'shape', gamma)}")
    _check_labels(labels, gamma.shape[0], gamma.shape[1], gamma.device)
    _check_gamma(gamma, gamma.shape[1], gamma.shape[0], gamma.device)
    w = one_hot(labels, gamma.shape[1], gamma.dtype) + gamma - 1
    return w / w.sum(dim=1, keepdim=True)


def amortized_map_loss(logits: torch.Tensor, labels: torch.Tensor, gamma: torch.Tensor,
                       reduction: Reduction = "mean") -> torch.Tensor:
    """Negative amortized MAP objective ``-Σ_k (e_{y_i,k} + γ_ik - 1) log softmax(s_i)_k``.

    Setting ``z_i = p_θ(x_i)`` in the per-instance log posterior. With ``γ_i = 1 + β q^T_i`` it
    equals ``(1+β) ℓ_SD`` at ``α = β/(1+β)``; its logit gradient is ``(1+β)(p - z*)``.
    """
    C = _check_logits("logits", logits)
    _check_labels(labels, logits.shape[0], C, logits.device)
    _check_gamma(gamma, C, logits.shape[0], logits.device)
    weights = one_hot(labels, C, logits.dtype) + gamma - 1
    return soft_cross_entropy(logits, weights, reduction)


# --------------------------------------------------------------------------- confidence penalty
def confidence_penalty_loss(logits: torch.Tensor, labels: torch.Tensor, beta: float,
                            reduction: Reduction = "mean") -> torch.Tensor:
    """``CE(e_y, p) - β H(p)`` with ``H(p) = -Σ p log p`` (Pereyra et al. 2017)."""
    C = _check_logits("logits", logits)
    _check_labels(labels, logits.shape[0], C, logits.device)
    check_in_range("beta", beta, 0.0, 10.0)
    logp = torch.log_softmax(logits, dim=1)
    entropy = -(logp.exp() * logp).sum(dim=1)
    ce = -logp.gather(1, labels[:, None])[:, 0]
    return _reduce(ce - beta * entropy, reduction)


def confidence_penalty_target(logits: torch.Tensor, labels: torch.Tensor,
                              beta: float) -> torch.Tensor:
    """The target ``m`` with ``∇_s [CE - βH] = p - m``: ``m = e_y - β p ⊙ (log p + H(p))``.

    It depends on ``p`` (returned detached); its rows sum to 1 since ``Σ p (log p + H) = 0``.
    """
    C = _check_logits("logits", logits)
    _check_labels(labels, logits.shape[0], C, logits.device)
    check_in_range("beta", beta, 0.0, 10.0)
    logp = torch.log_softmax(logits.detach(), dim=1)
    p = logp.exp()
    entropy = -(p * logp).sum(dim=1, keepdim=True)
    return one_hot(labels, C, logits.dtype) - beta * p * (logp + entropy)


# ------------------------------------------------------------------------------ Beta smoothing
def beta_order_statistics(k: torch.Tensor | int, n: int, a: float) -> torch.Tensor:
    """Mean of the ``k``-th smallest of ``n`` draws of ``Beta(a, 1)`` (CDF ``b^a``):
    ``Γ(k + 1/a) Γ(n + 1) / (Γ(k) Γ(n + 1 + 1/a))``, ``1 ≤ k ≤ n``, float64 (via ``lgamma``)."""
    n = check_int("n", n, 1)
    check_positive("a", a)
    k = torch.as_tensor(k, dtype=torch.float64)
    if bool(((k < 1) | (k > n) | (k != k.round())).any()):
        raise ValueError(f"k must hold integers in [1, {n}]")
    lg = torch.lgamma
    n_t = torch.tensor(float(n), dtype=torch.float64, device=k.device)
    return torch.exp(lg(k + 1 / a) + lg(n_t + 1) - lg(k) - lg(n_t + 1 + 1 / a))


def beta_smoothing_amounts(confidence: torch.Tensor, a: float = 3.0,
                           generator: torch.Generator | None = None) -> torch.Tensor:
    """Sorted ``Beta(a, 1)`` assignment, shape ``(N,)``: draw ``n`` values ``b`` (inverse CDF,
    ``b = u^{1/a}``), sort them ascending and give the ``k``-th smallest to the ``k``-th least
    confident example (ranking by ``confidence``, stable on ties). The model supplies only the
    ranking.

    ``generator`` must live on ``confidence``'s device (or be ``None``).
    """
    check_ndim("confidence", confidence, (1,))
    check_finite("confidence", confidence.detach())  # a NaN has no rank
    check_positive("a", a)
    n = confidence.shape[0]
    u = torch.rand(n, generator=generator, dtype=torch.float64, device=confidence.device)
    b_sorted = torch.sort(u ** (1 / a)).values
    order = torch.argsort(confidence.detach(), stable=True)
    b = torch.empty_like(b_sorted)
    b[order] = b_sorted
    return b


def beta_smoothing_target(labels: torch.Tensor, b: torch.Tensor, C: int,
                          alpha: float = 0.6) -> torch.Tensor:
    """Mixed target ``(1-α) e_y + α t_i`` with ``t_i`` = ``b_i`` on ``y_i`` and
    ``(1-b_i)/(C-1)`` on each other class; float64, shape ``(N, C)``. Smoothing amount
    ``ε_i = α (1 - b_i)``, spread uniformly over the other classes."""
    C = check_int("C", C, 2)
    check_in_range("alpha", alpha, 0.0, 1.0)
    check_ndim("b", b, (1,))
    _check_labels(labels, b.shape[0], C, b.device)
    e = one_hot(labels, C, torch.float64)
    b = b.detach().to(torch.float64)[:, None]
    t = b * e + (1 - b) / (C - 1) * (1 - e)
    return (1 - alpha) * e + alpha * t


def beta_smoothing_loss(logits: torch.Tensor, labels: torch.Tensor, ema_logits: torch.Tensor,
                        alpha: float = 0.6, a: float = 3.0,
                        generator: torch.Generator | None = None,
                        reduction: Reduction = "mean") -> torch.Tensor:
    """Beta smoothing (zhang2020, released code): ``(1-α) CE(e_y, p) + α CE(t, p)`` with ``t``
    from :func:`beta_smoothing_target`, ``b`` assigned by the EMA model's true-class confidence
    ``softmax(ema_logits)_{y}`` (``ema_logits`` same shape as ``logits``, detached). Defaults
    α = 0.6, a = 3."""
    C = _check_logits("logits", logits)
    _check_like("ema_logits", ema_logits, logits)
    _check_labels(labels, logits.shape[0], C, logits.device)
    conf = torch.softmax(ema_logits.detach(), dim=1).gather(1, labels[:, None])[:, 0]
    b = beta_smoothing_amounts(conf, a, generator)
    target = beta_smoothing_target(labels, b, C, alpha).to(logits.dtype)
    return soft_cross_entropy(logits, target, reduction)


def ema_decay_at(step: int, ema_decay: float = 0.999) -> float:
    """EMA momentum ``m = min(1 - 1/(step + 1), λ)`` for the step counter ``step``.

    The released code increments its counter *before* this formula, so its updates
    ``1, 2, 3, ...`` use ``step = 1, 2, 3, ...``: momenta 0.5, 0.667, 0.75, ...
    (:meth:`EMA.update` does the same). Until the cap, ``ema ← m ema + (1 - m) θ`` is then the
    running mean of the EMA model's own initial weights and the snapshots ``θ_1..θ_step``.
    """
    step = check_int("step", step, 0)
    check_in_range("ema_decay", ema_decay, 0.0, 1.0, upper_open=True)
    return min(1 - 1 / (step + 1), ema_decay)


class EMA:
    """Exponential moving average of a student's parameters, for Beta smoothing.

    ``ema = EMA(model_like_student, ema_decay=0.999)`` keeps ``ema.model`` (the module passed, or a
    deep copy with ``copy=True``); ``ema.update(student)`` first does ``step += 1`` and then
    applies ``p ← m p + (1-m) θ`` to every floating parameter with ``m = ema_decay_at(ema.step)``,
    as the released code does (its ``global_step += 1`` precedes the momentum): the first update
    uses m = 1/2, so the EMA model's own initialisation keeps weight ``1/(step + 1)``. Buffers
    (e.g. batch-norm statistics) are copied from the student; the released code leaves them, which
    does not change the EMA model's outputs there, since it only ever runs in train mode, where
    batch norm uses the batch's statistics.
    """

    def __init__(self, model: torch.nn.Module, ema_decay: float = 0.999, copy_model: bool = False):
        check_in_range("ema_decay", ema_decay, 0.0, 1.0, upper_open=True)
        self.model = copy.deepcopy(model) if copy_model else model
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.ema_decay = float(ema_decay)
        self.step = 0

    @torch.no_grad()
    def update(self, student: torch.nn.Module) -> float:
        """One EMA step from ``student``; returns the momentum ``m`` used."""
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
        """Model weights and step, for checkpoints."""
        return {"model": self.model.state_dict(), "step": self.step, "ema_decay": self.ema_decay}

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`."""
        self.model.load_state_dict(state["model"])
        self.step = int(state["step"])
        self.ema_decay = float(state["ema_decay"])
