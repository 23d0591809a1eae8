"""Independent routes for the zhang2020 chapters.

Each function recomputes something that :mod:`selfdistill.zhang2020.targets` or
:mod:`selfdistill.zhang2020.metrics` computes, by a route that does not share its code: a numerical
optimisation on the simplex (damped Newton on softmax logits) for the Dirichlet MAP, hand-derived
targets in NumPy against autograd gradients, Monte Carlo for Beta order statistics, an explicit
running mean for the EMA warm-up, and a vectorised Monte Carlo of the binned ECE over many
replicates (binned by ``ceil(c M)``, not by the library's ``bin_index``).

:data:`CHECKS` names, for each function here, the library functions it is an independent route
for; none of them is called by it. Two functions are harnesses rather than routes and check
nothing by that rule: :func:`gradient_check` differentiates the library's losses by autograd
against :func:`hand_targets` (the route), and :func:`ema_warmup_check` drives the library's
:class:`~selfdistill.zhang2020.smoothing.EMA` against the running mean it computes itself; both
must call what they compare. :func:`log_offset_effect` measures the released code's ``log(p + δ)``
against the one soft cross-entropy, which it calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import (
    Integer,
    Positive,
    Real,
    Seed,
    Tensor,
    validate_params,
)
from selfdistill.training.objectives import soft_cross_entropy
from selfdistill.zhang2020 import smoothing as sm
from selfdistill.zhang2020 import targets as tg

__all__ = [
    "ece_replicates",
    "ema_warmup_check",
    "log_offset_effect",
    "gradient_check",
    "hand_targets",
    "map_by_optimisation",
    "order_statistics_mc",
]

F64 = torch.float64

_TG, _SM = "selfdistill.zhang2020.targets.", "selfdistill.zhang2020.smoothing."
#: for each function here, the library functions it is an independent route for (it calls none)
CHECKS: dict[str, tuple[str, ...]] = {
    "map_by_optimisation": (_TG + "dirichlet_map",),
    "hand_targets": (_TG + "label_smoothing_target", _TG + "sd_target",
                     _SM + "confidence_penalty_target", _SM + "beta_smoothing_target",
                     _TG + "label_smoothing_loss", _TG + "sd_loss", _TG + "amortized_map_loss",
                     _SM + "confidence_penalty_loss", _SM + "beta_smoothing_loss"),
    "gradient_check": (),  # the harness: autograd of the losses against hand_targets
    "order_statistics_mc": (_SM + "beta_order_statistics",),
    "ema_warmup_check": (),  # the harness: drives EMA against its own running mean
    "log_offset_effect": (),  # a measurement of the released code's log(p + δ)
    "ece_replicates": ("selfdistill.zhang2020.metrics.ece",
                       "selfdistill.zhang2020.synthetic.ece_bias_normal",
                       "selfdistill.zhang2020.synthetic.calibration_gap"),
}


@validate_params(iters=Integer(1))
def map_by_optimisation(weights: np.ndarray, iters: int = 100) -> np.ndarray:
    """Maximise ``Σ_k w_ik log z_ik`` over the simplex, for every row ``i`` of ``weights``: the
    independent route for the book's ``map-target``.

    No closed form is used: ``z_i = softmax(u_i)`` maps free logits onto the simplex, and damped
    Newton steps minimise ``f(u) = W lse(u) - w·u`` (``W = Σ_k w_k``; gradient
    ``W softmax(u) - w``; Hessian ``W (diag p - p pᵀ)``, made invertible by adding ``W 11ᵀ/C``
    along the direction that leaves the softmax unchanged), all rows at once, from ``u = 0``:
    each step at most 4 per logit, Armijo backtracking while the gradient exceeds ``1e-6 W``,
    until it is below ``1e-12 W``. Meant for weights that are not tiny (``w_ik ≳ 1e-6 W``);
    SciPy's SLSQP, used by the unit tests, gives the same answer for small C.

    Parameters
    ----------
    weights : numpy.ndarray
        Non-negative weights ``(n, C)`` (or ``(C,)``), not all zero in a row.
    iters : int
        Newton steps at most, ≥ 1.

    Returns
    -------
    numpy.ndarray
        The maximisers ``(n, C)``, float64, rows on the simplex.

    Raises
    ------
    ValueError
        If ``iters < 1``.

    Examples
    --------
    >>> map_by_optimisation(np.array([[1.0, 3.0]])).round(8).tolist()
    [[0.25, 0.75]]
    """
    w = torch.as_tensor(np.atleast_2d(weights), dtype=F64)
    W = w.sum(1, keepdim=True)
    n, C = w.shape
    flat = torch.ones(C, C, dtype=F64) / C

    def f(u):
        return W[:, 0] * torch.logsumexp(u, 1) - (w * u).sum(1)

    u = torch.zeros(n, C, dtype=F64)
    for _ in range(iters):
        p = torch.softmax(u, 1)
        g = W * p - w
        if float((g.abs() / W).max()) < 1e-12:
            break
        H = W[:, :, None] * (torch.diag_embed(p) - p[:, :, None] * p[:, None, :] + flat)
        d = -torch.linalg.solve(H, g[:, :, None])[:, :, 0]
        d = d * (4 / d.abs().amax(1, keepdim=True)).clamp(max=1)  # at most 4 per logit and step
        step, f0, slope = torch.ones(n, 1, dtype=F64), f(u), (g * d).sum(1)
        far = (g.abs() / W).amax(1) > 1e-6  # near the optimum f is flat to rounding: full steps
        for _ in range(30):  # halve the step of rows where f does not decrease enough
            bad = far & (f(u + step * d) > f0 + 1e-4 * step[:, 0] * slope)
            if not bool(bad.any()):
                break
            step[bad] /= 2
        u = u + step * d
    return torch.softmax(u, 1).numpy()


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@validate_params(alpha=Real(0.0, 1.0), T=Positive(), eps_ls=Real(0.0, 1.0),
                 beta=Real(0.0, 10.0), alpha_beta=Real(0.0, 1.0))
def hand_targets(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, *,
                 alpha: float, T: float, eps_ls: float, beta: float, b: np.ndarray,
                 alpha_beta: float) -> dict[str, np.ndarray]:
    """The target ``m`` of every loss, derived by hand and built in NumPy (float64): the logit
    gradient of each loss is ``p − m`` (the book's ``grad-p-minus-m``).

    For the confidence penalty, ``m = e_y - β p (log p + H(p))`` from
    ``∂H/∂s_j = -p_j (log p_j + H)``. For the amortized objective with ``γ = 1 + β' q^T``,
    ``β' = α/(1-α)``, the gradient is ``(1+β')(p - m_SD)``, returned here divided by ``1+β'``.

    Parameters
    ----------
    logits, teacher : torch.Tensor
        Student and teacher logits ``(N, C)`` (copied to NumPy).
    labels : torch.Tensor
        ``(N,)`` integer class indices.
    alpha, T : float
        Self-distillation weight in ``[0, 1]`` and temperature in ``(0, inf)``.
    eps_ls : float
        Label-smoothing weight, in ``[0, 1]``.
    beta : float
        Confidence-penalty weight, in ``[0, 10]``.
    b : numpy.ndarray
        The Beta-smoothing amounts ``(N,)``, drawn by the caller.
    alpha_beta : float
        Beta smoothing's mixing weight, in ``[0, 1]``.

    The ranges are those of the library's losses this route checks.

    Returns
    -------
    dict of str to numpy.ndarray
        One ``(N, C)`` target per loss, keyed by its name.

    Raises
    ------
    ValueError
        If a weight or ``T`` is outside its range.
    """
    s, t, y = (v.detach().cpu().numpy() for v in (logits, teacher, labels))
    C = s.shape[1]
    e = np.eye(C)[y]
    p, q = _softmax(s), _softmax(t / T)
    logp = np.log(p)
    H = -(p * logp).sum(1, keepdims=True)
    b = np.asarray(b, dtype=np.float64)[:, None]
    return {
        "cross-entropy": e,
        "label smoothing (uniform)": (1 - eps_ls) * e + eps_ls / C,
        "label smoothing (others)": (1 - eps_ls) * e + eps_ls / (C - 1) * (1 - e),
        "self-distillation": (1 - alpha) * e + alpha * q,
        "amortized MAP / (1+β)": (1 - alpha) * e + alpha * q,
        "confidence penalty": e - beta * p * (logp + H),
        "Beta smoothing": (1 - alpha_beta) * e
        + alpha_beta * (b * e + (1 - b) / (C - 1) * (1 - e)),
    }


@validate_params(alpha=Real(0.0, 1.0, upper_open=True), T=Positive(), eps_ls=Real(0.0, 1.0),
                 beta=Real(0.0, 10.0), a=Positive(), alpha_beta=Real(0.0, 1.0), seed=Seed())
def gradient_check(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, *,
                   alpha: float, T: float, eps_ls: float, beta: float, a: float,
                   alpha_beta: float, seed: int) -> dict[str, float]:
    """Largest ``|∇_s L - (p - m)|`` per loss (``reduction="sum"``), autograd against
    :func:`hand_targets`; one entry per loss of :mod:`selfdistill.zhang2020.targets` and
    :mod:`selfdistill.zhang2020.smoothing`.

    Parameters
    ----------
    logits, teacher : torch.Tensor
        Student and teacher logits ``(N, C)``, float64, one device; the teacher also plays the
        EMA model of Beta smoothing.
    labels : torch.Tensor
        ``(N,)`` integer class indices, on that device.
    alpha : float
        Self-distillation weight in ``[0, 1)`` (the amortized objective needs ``α < 1``).
    T : float
        Temperature, in ``(0, inf)``.
    eps_ls : float
        Label-smoothing weight, in ``[0, 1]``.
    beta : float
        Confidence-penalty weight, in ``[0, 10]``.
    a : float
        Beta smoothing's shape, in ``(0, inf)``.
    alpha_beta : float
        Beta smoothing's mixing weight, in ``[0, 1]``.
    seed : int
        Seeds the Beta draws, in ``[0, SEED_MAX]``.

    Returns
    -------
    dict of str to float
        The largest absolute error per loss.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    beta_map = alpha / (1 - alpha)
    gamma = 1 + beta_map * tg.teacher_probs(teacher, T)
    ema_conf = torch.softmax(teacher, 1).gather(1, labels[:, None])[:, 0]
    b = sm.beta_smoothing_amounts(ema_conf, a, torch.Generator(logits.device).manual_seed(seed))

    def bs(s):
        gen = torch.Generator(logits.device).manual_seed(seed)
        return sm.beta_smoothing_loss(s, labels, teacher, alpha_beta, a, gen, "sum")

    losses = {
        "cross-entropy": lambda s: torch.nn.functional.cross_entropy(s, labels, reduction="sum"),
        "label smoothing (uniform)": lambda s: tg.label_smoothing_loss(s, labels, eps_ls,
                                                                       "uniform", "sum"),
        "label smoothing (others)": lambda s: tg.label_smoothing_loss(s, labels, eps_ls,
                                                                      "others", "sum"),
        "self-distillation": lambda s: tg.sd_loss(s, labels, teacher, alpha, T, "sum"),
        "amortized MAP / (1+β)": lambda s: tg.amortized_map_loss(s, labels, gamma, "sum")
        / (1 + beta_map),
        "confidence penalty": lambda s: sm.confidence_penalty_loss(s, labels, beta, "sum"),
        "Beta smoothing": bs,
    }
    m = hand_targets(logits, labels, teacher, alpha=alpha, T=T, eps_ls=eps_ls, beta=beta,
                     b=b.cpu().numpy(), alpha_beta=alpha_beta)
    p = _softmax(logits.detach().cpu().numpy())
    errors = {}
    for name, loss in losses.items():
        s = logits.detach().clone().requires_grad_(True)
        loss(s).backward()
        errors[name] = float(np.abs(s.grad.cpu().numpy() - (p - m[name])).max())
    return errors


@dataclass(frozen=True)
class OrderStatisticsMC:
    """Monte Carlo of the sorted Beta assignment (:func:`order_statistics_mc`).

    Attributes
    ----------
    mean, stderr : torch.Tensor
        Per-rank mean and standard error, float64 ``(n,)``.
    ranks_respected : bool
        Whether every repetition gave larger amounts to more confident examples.
    """

    mean: torch.Tensor
    stderr: torch.Tensor
    ranks_respected: bool


@validate_params(n=Integer(2, 10**5), a=Positive(), reps=Integer(2, 10**6), seed=Seed())
def order_statistics_mc(n: int, a: float, reps: int, seed: int,
                        device: torch.device | str = "cpu") -> OrderStatisticsMC:
    """Run :func:`~selfdistill.zhang2020.smoothing.beta_smoothing_amounts` ``reps`` times on random
    confidences; collect the amount given to the example of each confidence rank: the Monte
    Carlo route for the book's ``order-mean``.

    Parameters
    ----------
    n : int
        Examples per draw, in ``[2, 10⁵]``.
    a : float
        Shape of ``Beta(a, 1)``, > 0.
    reps : int
        Repetitions, in ``[2, 10⁶]``.
    seed : int
        Seeds one generator on ``device``, in ``[0, SEED_MAX]``.
    device : torch.device or str
        Where the draws run.

    Returns
    -------
    OrderStatisticsMC

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    gen = torch.Generator(device).manual_seed(seed)
    by_rank = torch.empty(reps, n, dtype=F64, device=device)
    respected = True
    for r in range(reps):
        conf = torch.rand(n, generator=gen, dtype=F64, device=device)
        b = sm.beta_smoothing_amounts(conf, a, gen)
        by_rank[r] = b[torch.argsort(conf)]
        respected &= bool((by_rank[r].diff() >= 0).all())
    return OrderStatisticsMC(by_rank.mean(0), by_rank.std(0) / math.sqrt(reps), respected)


@validate_params(ema_decay=Real(0.0, 1.0, upper_open=True), steps=Integer(1, 10**6),
                 seed=Seed())
def ema_warmup_check(ema_decay: float, steps: int, seed: int) -> tuple[float, float, int]:
    """Drive :class:`~selfdistill.zhang2020.smoothing.EMA` with ``steps`` random student snapshots.

    The released code's warm-up: update ``t = 1, 2, ...`` uses ``m = min(1 - 1/(t+1), λ)``, so
    while ``1 - 1/(t+1) ≤ λ`` the EMA is the mean of its own initial weights and the ``t``
    snapshots. Returns ``(largest deviation from that running mean, largest deviation from the
    capped recurrence m = λ afterwards, number of warm-up updates)``; the running mean and the
    recurrence are computed here from the stored snapshots.

    Parameters
    ----------
    ema_decay : float
        The cap λ in ``[0, 1)``.
    steps : int
        Updates, in ``[1, 10⁶]``.
    seed : int
        Seeds the snapshots, in ``[0, SEED_MAX]``.

    Returns
    -------
    tuple of (float, float, int)
        As above.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    gen = torch.Generator().manual_seed(seed)
    student = torch.nn.Linear(4, 3).double()
    ema = sm.EMA(torch.nn.Linear(4, 3).double(), ema_decay)
    total = torch.cat([p.detach().flatten() for p in ema.model.parameters()]).clone()
    warm_error, capped_error, expected, warm = 0.0, 0.0, None, 0
    for t in range(1, steps + 1):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn(p.shape, generator=gen, dtype=F64))
        theta = torch.cat([p.detach().flatten() for p in student.parameters()])
        ema.update(student)
        mine = torch.cat([p.flatten() for p in ema.model.parameters()])
        total += theta
        if 1 - 1 / (t + 1) <= ema_decay:
            warm, expected = t, total / (t + 1)
            warm_error = max(warm_error, float((mine - expected).abs().max()))
        else:
            expected = ema_decay * expected + (1 - ema_decay) * theta
            capped_error = max(capped_error, float((mine - expected).abs().max()))
    return warm_error, capped_error, warm


@validate_params(logits=Tensor((2,)), target=Tensor((2,)), delta=Real(0.0, 1e-2))
def log_offset_effect(logits: torch.Tensor, target: torch.Tensor,
                      delta: float = 1e-8) -> tuple[float, float]:
    """How much the released code's ``log(p + δ)`` moves a soft cross-entropy.

    The released loss, transcribed: ``-(m * log(softmax(s) + δ)).sum() / n``, against the one
    soft cross-entropy :func:`selfdistill.training.objectives.soft_cross_entropy`
    (``log_softmax``). Since ``log(p + δ) − log p = log(1 + δ/p) ≤ δ/p``, the loss moves by at
    most ``mean_i Σ_k m_ik δ/p_ik``.

    Parameters
    ----------
    logits, target : torch.Tensor
        ``(n, C)``, float64, one device; ``target`` rows on the simplex.
    delta : float
        The offset δ in ``[0, 10⁻²]``.

    Returns
    -------
    tuple of (float, float)
        ``(|Δ loss| / loss, max |Δ ∇_s| / max |∇_s|)``.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    grads, values = [], []
    for released in (False, True):
        s = logits.detach().clone().requires_grad_(True)
        if released:
            loss = -(target * torch.log(torch.softmax(s, 1) + delta)).sum() / s.shape[0]
        else:
            loss = soft_cross_entropy(s, target)
        loss.backward()
        grads.append(s.grad)
        values.append(float(loss.detach()))
    return (abs(values[1] - values[0]) / values[0],
            float((grads[1] - grads[0]).abs().max() / grads[0].abs().max()))


@validate_params(n=Integer(1, 10**7), n_bins=Integer(1, 10**6), reps=Integer(1, 10**6),
                 gamma=Real(0.0, 100.0, lower_open=True), conf_low=Real(0.0, 1.0, upper_open=True),
                 seed=Seed())
def ece_replicates(n: int, n_bins: int, reps: int, gamma: float = 1.0, conf_low: float = 0.5,
                   seed: int = 0) -> torch.Tensor:
    """Binned ECE of ``reps`` independent samples of size ``n`` from the predictor of
    :func:`selfdistill.zhang2020.synthetic.predictor` (top-label confidence ``c ~ U(conf_low, 1)``,
    correct with probability ``c^γ``), all replicates at once: the Monte Carlo route for the
    book's ``ece`` and ``ece-bias``.

    Only the top label matters to the ECE, so the probability vectors are not built. A
    confidence ``c`` goes to bin ``ceil(c M)`` (1-based; ``c = 0`` to bin 1): the bins
    ``((b−1)/M, b/M]`` of :func:`selfdistill.zhang2020.metrics.bin_index`, by another route
    (the two can differ only for a ``c`` within an ulp of an edge).

    Parameters
    ----------
    n : int
        Sample size, in ``[1, 10⁷]``.
    n_bins : int
        Bins ``M``, in ``[1, 10⁶]``.
    reps : int
        Replicates, in ``[1, 10⁶]``.
    gamma : float
        Over-confidence exponent γ in ``(0, 100]``.
    conf_low : float
        Lowest confidence in ``[0, 1)``.
    seed : int
        Seeds one CPU generator, in ``[0, SEED_MAX]``.

    Returns
    -------
    torch.Tensor
        ``(reps,)``, float64, CPU.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    gen = torch.Generator().manual_seed(seed)
    c = conf_low + (1 - conf_low) * torch.rand(reps, n, generator=gen, dtype=F64)
    correct = (torch.rand(reps, n, generator=gen, dtype=F64) < c**gamma).to(F64)
    b = (torch.ceil(c * n_bins).long() - 1).clamp(0, n_bins - 1)  # 0-based
    idx = b + n_bins * torch.arange(reps)[:, None]
    gap = torch.zeros(reps * n_bins, dtype=F64)
    gap.index_add_(0, idx.flatten(), (correct - c).flatten())
    return gap.view(reps, n_bins).abs().sum(1) / n
