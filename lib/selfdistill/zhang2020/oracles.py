"""Independent routes for the zhang2020 chapters.

Each function recomputes something that :mod:`selfdistill.zhang2020.targets` or
:mod:`selfdistill.zhang2020.metrics` computes, by a route that does not share its code: a numerical
optimisation on the simplex (damped Newton on softmax logits) for the Dirichlet MAP, hand-derived
targets in NumPy against autograd gradients, Monte Carlo for Beta order statistics, an explicit
running mean for the EMA warm-up, and a vectorised Monte Carlo of the binned ECE over many
replicates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from selfdistill.core.validate import check_in_range, check_int
from selfdistill.zhang2020 import smoothing as sm
from selfdistill.zhang2020 import targets as tg
from selfdistill.zhang2020.metrics import bin_index

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


def map_by_optimisation(weights: np.ndarray, iters: int = 100) -> np.ndarray:
    """Maximise ``Σ_k w_ik log z_ik`` over the simplex, for every row ``i`` of ``weights`` (n, C).

    No closed form is used: ``z_i = softmax(u_i)`` maps free logits onto the simplex, and damped
    Newton steps minimise ``f(u) = W lse(u) - w·u`` (``W = Σ_k w_k``; gradient
    ``W softmax(u) - w``; Hessian ``W (diag p - p pᵀ)``, made invertible by adding ``W 11ᵀ/C``
    along the direction that leaves the softmax unchanged), all rows at once, from ``u = 0``:
    each step at most 4 per logit, Armijo backtracking while the gradient exceeds ``1e-6 W``,
    until it is below ``1e-12 W``. Meant for weights that are not tiny (``w_ik ≳ 1e-6 W``);
    SciPy's SLSQP, used by the unit tests, gives the same answer for small C.
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


def hand_targets(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, *,
                 alpha: float, T: float, eps_ls: float, beta: float, b: np.ndarray,
                 alpha_bs: float) -> dict[str, np.ndarray]:
    """The target ``m`` of every loss, derived by hand and built in NumPy (float64).

    ``b`` are the Beta-smoothing amounts (drawn by the caller, shape ``(N,)``). For the
    confidence penalty, ``m = e_y - β p (log p + H(p))`` from ``∂H/∂s_j = -p_j (log p_j + H)``.
    For the amortized objective with ``γ = 1 + β' q^T``, ``β' = α/(1-α)``, the gradient is
    ``(1+β')(p - m_SD)``, returned here divided by ``1+β'``.
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
        "Beta smoothing": (1 - alpha_bs) * e + alpha_bs * (b * e + (1 - b) / (C - 1) * (1 - e)),
    }


def gradient_check(logits: torch.Tensor, labels: torch.Tensor, teacher: torch.Tensor, *,
                   alpha: float, T: float, eps_ls: float, beta: float, a: float,
                   alpha_bs: float, seed: int) -> dict[str, float]:
    """Largest ``|∇_s L - (p - m)|`` per loss (``reduction="sum"``), autograd against
    :func:`hand_targets`; one entry per loss of :mod:`selfdistill.zhang2020.targets`."""
    check_in_range("alpha", alpha, 0.0, 1.0, upper_open=True)
    beta_map = alpha / (1 - alpha)
    gamma = 1 + beta_map * tg.teacher_probs(teacher, T)
    ema_conf = torch.softmax(teacher, 1).gather(1, labels[:, None])[:, 0]
    b = sm.beta_smoothing_amounts(ema_conf, a, torch.Generator(logits.device).manual_seed(seed))

    def bs(s):
        gen = torch.Generator(logits.device).manual_seed(seed)
        return sm.beta_smoothing_loss(s, labels, teacher, alpha_bs, a, gen, "sum")

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
                     b=b.cpu().numpy(), alpha_bs=alpha_bs)
    p = _softmax(logits.detach().cpu().numpy())
    errors = {}
    for name, loss in losses.items():
        s = logits.detach().clone().requires_grad_(True)
        loss(s).backward()
        errors[name] = float(np.abs(s.grad.cpu().numpy() - (p - m[name])).max())
    return errors


@dataclass(frozen=True)
class OrderStatisticsMC:
    """Monte Carlo of the sorted Beta assignment: per-rank mean and standard error (n,)."""

    mean: torch.Tensor
    stderr: torch.Tensor
    ranks_respected: bool


def order_statistics_mc(n: int, a: float, reps: int, seed: int,
                        device: torch.device | str = "cpu") -> OrderStatisticsMC:
    """Run :func:`~selfdistill.zhang2020.smoothing.beta_smoothing_amounts` ``reps`` times on random
    confidences; collect the amount given to the example of each confidence rank."""
    n = check_int("n", n, 2, 10**5)
    reps = check_int("reps", reps, 2, 10**6)
    gen = torch.Generator(device).manual_seed(seed)
    by_rank = torch.empty(reps, n, dtype=F64, device=device)
    respected = True
    for r in range(reps):
        conf = torch.rand(n, generator=gen, dtype=F64, device=device)
        b = sm.beta_smoothing_amounts(conf, a, gen)
        by_rank[r] = b[torch.argsort(conf)]
        respected &= bool((by_rank[r].diff() >= 0).all())
    return OrderStatisticsMC(by_rank.mean(0), by_rank.std(0) / math.sqrt(reps), respected)


def ema_warmup_check(ema_decay: float, steps: int, seed: int) -> tuple[float, float, int]:
    """Drive :class:`~selfdistill.zhang2020.smoothing.EMA` with ``steps`` random student snapshots.

    The released code's warm-up: update ``t = 1, 2, ...`` uses ``m = min(1 - 1/(t+1), λ)``, so
    while ``1 - 1/(t+1) ≤ λ`` the EMA is the mean of its own initial weights and the ``t``
    snapshots. Returns ``(largest deviation from that running mean, largest deviation from the
    capped recurrence m = λ afterwards, number of warm-up updates)``; the running mean and the
    recurrence are computed here from the stored snapshots.
    """
    check_in_range("ema_decay", ema_decay, 0.0, 1.0, upper_open=True)
    steps = check_int("steps", steps, 1, 10**6)
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


def log_offset_effect(logits: torch.Tensor, target: torch.Tensor,
                      delta: float = 1e-8) -> tuple[float, float]:
    """How much the released code's ``log(p + δ)`` moves a soft cross-entropy.

    The released loss, transcribed: ``-(m * log(softmax(s) + δ)).sum() / n``, against the library's
    :func:`selfdistill.zhang2020.targets.soft_cross_entropy` (``log_softmax``). ``logits`` and
    ``target`` (n, C) float64. Returns ``(|Δ loss| / loss, max |Δ ∇_s| / max |∇_s|)``. Since ``log(p
    + δ) − log p = log(1 + δ/p) ≤ δ/p``, the loss moves by at most ``mean_i Σ_k m_ik δ/p_ik``.
    """
    check_in_range("delta", delta, 0.0, 1e-2)
    grads, values = [], []
    for released in (False, True):
        s = logits.detach().clone().requires_grad_(True)
        if released:
            loss = -(target * torch.log(torch.softmax(s, 1) + delta)).sum() / s.shape[0]
        else:
            loss = tg.soft_cross_entropy(s, target)
        loss.backward()
        grads.append(s.grad)
        values.append(float(loss.detach()))
    return (abs(values[1] - values[0]) / values[0],
            float((grads[1] - grads[0]).abs().max() / grads[0].abs().max()))


def ece_replicates(n: int, n_bins: int, reps: int, gamma: float = 1.0, conf_low: float = 0.5,
                   seed: int = 0) -> torch.Tensor:
    """Binned ECE of ``reps`` independent samples of size ``n`` from the predictor of
    :func:`selfdistill.zhang2020.synthetic.predictor` (top-label confidence ``c ~ U(conf_low, 1)``,
    correct with probability ``c^γ``), all replicates at once; shape ``(reps,)``.

    Only the top label matters to the ECE, so the probability vectors are not built.
    """
    n = check_int("n", n, 1, 10**7)
    reps = check_int("reps", reps, 1, 10**6)
    gen = torch.Generator().manual_seed(seed)
    c = conf_low + (1 - conf_low) * torch.rand(reps, n, generator=gen, dtype=F64)
    correct = (torch.rand(reps, n, generator=gen, dtype=F64) < c**gamma).to(F64)
    idx = bin_index(c, n_bins) + n_bins * torch.arange(reps)[:, None]
    gap = torch.zeros(reps * n_bins, dtype=F64)
    gap.index_add_(0, idx.flatten(), (correct - c).flatten())
    return gap.view(reps, n_bins).abs().sum(1) / n
