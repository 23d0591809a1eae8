"""Targets and losses of zhang2020 against independent routes: autograd against hand-derived
gradients p - m (targets built here in NumPy), the Dirichlet MAP against a constrained numerical
optimisation on the simplex (scipy SLSQP), Beta order statistics against quadrature and Monte
Carlo, the EMA against an explicit running mean."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol
from scipy import integrate, optimize, stats

from selfdistill.zhang2020 import smoothing as sm
from selfdistill.zhang2020 import targets as tg

F64 = torch.float64
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def batch(seed: int, N: int, C: int, scale: float = 3.0):
    gen = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(N, C, generator=gen, dtype=F64)
    teacher = scale * torch.randn(N, C, generator=gen, dtype=F64)
    labels = torch.randint(0, C, (N,), generator=gen)
    return logits, teacher, labels


def np_onehot(labels: torch.Tensor, C: int) -> np.ndarray:
    return np.eye(C)[labels.numpy()]


def np_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def logit_grad(loss_fn, logits: torch.Tensor) -> torch.Tensor:
    s = logits.clone().requires_grad_(True)
    loss_fn(s).backward()
    return s.grad


GRID = [(0, 1, 2), (1, 7, 3), (2, 32, 10), (3, 64, 100)]


@pytest.mark.parametrize("seed,N,C", GRID)
def test_soft_cross_entropy_gradient_is_p_minus_m(seed, N, C):
    logits, teacher, _ = batch(seed, N, C)
    m = torch.as_tensor(np_softmax(teacher.numpy()))
    grad = logit_grad(lambda s: tg._cross_entropy(s, m, "sum"), logits)
    assert_close(grad, np_softmax(logits.numpy()) - m.numpy(), tol("roundoff"), 1e-15)
    grad_mean = logit_grad(lambda s: tg._cross_entropy(s, m, "mean"), logits)
    assert_close(grad_mean, grad / N, tol("roundoff"), 1e-16)


@pytest.mark.parametrize("seed,N,C", GRID)
def test_every_reduction_is_the_one_soft_cross_entropy(seed, N, C):
    """The losses use training's soft cross-entropy: "mean" is it, bit for bit; "none" is it per
    row, the same sum -Σ m log softmax(s) as written out here; "sum" adds those rows."""
    from selfdistill.training.objectives import soft_cross_entropy

    logits, teacher, _ = batch(seed, N, C)
    m = torch.softmax(teacher, 1)
    rows = -(m * torch.log_softmax(logits, 1)).sum(1)
    assert torch.equal(tg._cross_entropy(logits, m, "mean"), soft_cross_entropy(logits, m))
    assert torch.equal(tg._cross_entropy(logits, m, "none"), rows)
    assert torch.equal(tg._cross_entropy(logits, m, "sum"), rows.sum())


@pytest.mark.parametrize("seed,N,C", GRID)
@pytest.mark.parametrize("eps_ls", [0.0, 0.1, 0.5])
def test_label_smoothing_gradients(seed, N, C, eps_ls):
    logits, _, labels = batch(seed, N, C)
    e, p = np_onehot(labels, C), np_softmax(logits.numpy())
    by_hand = {"uniform": (1 - eps_ls) * e + eps_ls / C,
               "others": (1 - eps_ls) * e + eps_ls / (C - 1) * (1 - e)}
    for kind, m in by_hand.items():
        grad = logit_grad(lambda s, k=kind: tg.label_smoothing_loss(s, labels, eps_ls, k, "sum"),
                          logits)
        assert_close(grad, p - m, tol("roundoff"), 1e-15, what=kind)


@pytest.mark.parametrize("C", [2, 3, 10, 100])
@pytest.mark.parametrize("eps_u", [0.0, 0.05, 0.3, 0.5])
def test_convert_eps_ls_gives_the_same_target(C, eps_u):
    labels = torch.arange(C)
    eps_o = tg.convert_eps_ls(eps_u, C, to="others")
    uniform = tg.label_smoothing_target(labels, C, eps_u, "uniform")
    others = tg.label_smoothing_target(labels, C, eps_o, "others")
    assert_close(others, uniform, tol("roundoff"), 1e-16)
    assert_close(tg.convert_eps_ls(eps_o, C, to="uniform"), eps_u, tol("roundoff"), 1e-16)


@pytest.mark.parametrize("seed,N,C", GRID)
@pytest.mark.parametrize("alpha,T", [(0.4, 4.0), (0.0, 1.0), (1.0, 0.5), (0.7, 20.0)])
def test_sd_loss_value_and_gradient(seed, N, C, alpha, T):
    logits, teacher, labels = batch(seed, N, C)
    e, p = np_onehot(labels, C), np_softmax(logits.numpy())
    q = np_softmax(teacher.numpy() / T)
    logp = np.log(p)
    value = np.mean(-(1 - alpha) * (e * logp).sum(1) - alpha * (q * logp).sum(1))
    assert_close(tg.sd_loss(logits, labels, teacher, alpha, T), value, tol("roundoff"))
    grad = logit_grad(lambda s: tg.sd_loss(s, labels, teacher, alpha, T, "sum"), logits)
    assert_close(grad, p - ((1 - alpha) * e + alpha * q), tol("roundoff"), 1e-15)


def test_sd_defaults_are_the_released_code():
    logits, teacher, labels = batch(0, 5, 4)
    assert_close(tg.sd_loss(logits, labels, teacher),
                 tg.sd_loss(logits, labels, teacher, alpha=0.4, T=4.0), 0.0)


def slsqp_map(weights: np.ndarray) -> np.ndarray:
    """Maximise Σ w_k log z_k on the simplex by SLSQP (no closed form used)."""
    C = len(weights)
    res = optimize.minimize(
        lambda z: -np.sum(weights * np.log(z)), np.full(C, 1 / C),
        jac=lambda z: -weights / z, method="SLSQP", bounds=[(1e-12, 1)] * C,
        constraints=[{"type": "eq", "fun": lambda z: z.sum() - 1, "jac": lambda z: np.ones(C)}],
        options={"ftol": 1e-15, "maxiter": 500})
    assert res.success, res.message
    return res.x


@pytest.mark.parametrize("seed", range(6))
def test_dirichlet_map_matches_numerical_optimisation(seed):
    rng = np.random.default_rng(seed)
    C = [2, 3, 5, 10, 12, 4][seed]
    gamma = 1 + rng.exponential(2.0, size=(3, C))
    labels = torch.as_tensor(rng.integers(0, C, 3))
    z = tg.dirichlet_map(labels, torch.as_tensor(gamma))
    for i in range(3):
        weights = np_onehot(labels, C)[i] + gamma[i] - 1
        # SLSQP stops at ftol 1e-15 on the objective: the maximiser is then known to ~sqrt(1e-15)
        assert_close(z[i], slsqp_map(weights), 1e-5, 1e-7, what=f"row {i}")


@pytest.mark.parametrize("seed,N,C", GRID)
@pytest.mark.parametrize("beta", [0.1, 2 / 3, 5.0])
def test_teacher_prior_gives_sd_scaled(seed, N, C, beta):
    logits, teacher, labels = batch(seed, N, C)
    T, alpha = 4.0, beta / (1 + beta)
    gamma = 1 + beta * torch.as_tensor(np_softmax(teacher.numpy() / T))
    amortized = tg.amortized_map_loss(logits, labels, gamma)
    assert_close(amortized, (1 + beta) * tg.sd_loss(logits, labels, teacher, alpha, T),
                 tol("roundoff"))
    z = tg.dirichlet_map(labels, gamma)
    assert_close(z, tg.sd_target(labels, teacher, alpha, T), tol("roundoff"), 1e-16)
    grad = logit_grad(lambda s: tg.amortized_map_loss(s, labels, gamma, "sum"), logits)
    assert_close(grad, (1 + beta) * (np_softmax(logits.numpy()) - z.numpy()),
                 tol("roundoff"), 1e-14)


@pytest.mark.parametrize("C", [2, 10, 100])
@pytest.mark.parametrize("beta", [0.0, 0.25, 4.0])
def test_uniform_prior_gives_label_smoothing(C, beta):
    labels = torch.arange(C) % C
    z = tg.dirichlet_map(labels, torch.full((C, C), 1 + beta / C, dtype=F64))
    assert_close(z, tg.label_smoothing_target(labels, C, beta / (1 + beta), "uniform"),
                 tol("roundoff"), 1e-16)


@pytest.mark.parametrize("seed,N,C", GRID)
@pytest.mark.parametrize("beta", [0.0, 0.1, 1.0])
def test_confidence_penalty_gradient(seed, N, C, beta):
    logits, _, labels = batch(seed, N, C)
    p = np_softmax(logits.numpy())
    logp, e = np.log(p), np_onehot(labels, C)
    H = -(p * logp).sum(1, keepdims=True)
    by_hand = p - e + beta * p * (logp + H)  # dH/ds_j = -p_j (log p_j + H)
    grad = logit_grad(lambda s: sm.confidence_penalty_loss(s, labels, beta, "sum"), logits)
    assert_close(grad, by_hand, tol("roundoff"), 1e-14)
    m = sm.confidence_penalty_target(logits, labels, beta)
    assert_close(grad, torch.softmax(logits, 1) - m, tol("roundoff"), 1e-14)
    assert_close(m.sum(1), 1.0, tol("roundoff"))


def mean_order_statistic_quad(k: int, n: int, a: float) -> float:
    """E[X_(k)] for X ~ Beta(a, 1) by quadrature of the order-statistic density."""
    log_c = math.lgamma(n + 1) - math.lgamma(k) - math.lgamma(n - k + 1)

    def density(x):
        F = x**a
        return math.exp(log_c) * F ** (k - 1) * (1 - F) ** (n - k) * a * x ** (a - 1)

    return integrate.quad(lambda x: x * density(x), 0, 1, epsabs=1e-13, epsrel=1e-12)[0]


@pytest.mark.parametrize("n,a", [(1, 3.0), (5, 3.0), (20, 0.6), (128, 3.0), (50, 1.0)])
def test_beta_order_statistics_closed_form_vs_quadrature(n, a):
    ks = sorted({k for k in (1, 2, (n + 1) // 2, n) if k <= n})
    closed = sm.beta_order_statistics(torch.tensor(ks), n, a)
    quad = [mean_order_statistic_quad(k, n, a) for k in ks]
    assert_close(closed, quad, 1e-8)  # quadrature asked for 1e-12; lgamma sums lose ~1e-13


@pytest.mark.slow
@pytest.mark.parametrize("n,a", [(8, 3.0), (64, 0.5)])
def test_beta_smoothing_amounts_sorted_order_statistics_monte_carlo(n, a):
    gen = torch.Generator().manual_seed(7)
    reps = 4000
    conf = torch.rand(n, generator=gen, dtype=F64)
    draws = torch.stack([sm.beta_smoothing_amounts(conf, a, gen) for _ in range(reps)])
    rank = torch.argsort(torch.argsort(conf))  # 0-based rank of each example
    by_rank = torch.empty_like(draws)
    by_rank[:, rank] = draws
    assert bool((by_rank.diff(dim=1) >= 0).all())  # least confident gets the smallest b
    mean, se = by_rank.mean(0), by_rank.std(0) / math.sqrt(reps)
    closed = sm.beta_order_statistics(torch.arange(1, n + 1), n, a)
    assert float(((mean - closed).abs() / se).max()) < 4.5  # max of n |z| scores, 4.5σ
    pooled = draws.flatten().numpy()
    assert stats.kstest(pooled, stats.beta(a, 1).cdf).pvalue > 1e-3


def test_beta_smoothing_ties_are_stable():
    conf = torch.zeros(6, dtype=F64)
    b = sm.beta_smoothing_amounts(conf, 3.0, torch.Generator().manual_seed(0))
    assert bool((b.diff() >= 0).all())


@pytest.mark.parametrize("alpha,a", [(0.6, 3.0), (0.0, 1.0), (1.0, 0.5)])
def test_beta_smoothing_loss_gradient(alpha, a):
    logits, ema_logits, labels = batch(5, 40, 7)
    C = 7
    b = sm.beta_smoothing_amounts(torch.softmax(ema_logits, 1)[torch.arange(40), labels], a,
                                  torch.Generator().manual_seed(3)).numpy()[:, None]
    e = np_onehot(labels, C)
    m = (1 - alpha) * e + alpha * (b * e + (1 - b) / (C - 1) * (1 - e))
    grad = logit_grad(lambda s: sm.beta_smoothing_loss(
        s, labels, ema_logits, alpha, a, torch.Generator().manual_seed(3), "sum"), logits)
    assert_close(grad, np_softmax(logits.numpy()) - m, tol("roundoff"), 1e-15)
    assert_close(tg.smoothing_amount(torch.as_tensor(m), labels), alpha * (1 - b[:, 0]),
                 tol("roundoff"), 1e-15)


def test_ema_is_running_mean_then_capped():
    """The released code's warm-up: update t (1-based) uses m = min(1 - 1/(t + 1), λ), so until
    the cap the EMA is the mean of its initial weights and the t snapshots."""
    torch.manual_seed(0)
    student = torch.nn.Linear(3, 2).double()
    ema = sm.EMA(torch.nn.Linear(3, 2).double(), ema_decay=0.9)
    snapshots = [torch.cat([p.detach().flatten().clone() for p in ema.model.parameters()])]
    momenta = []
    for _ in range(12):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(torch.randn_like(p))
        snapshots.append(torch.cat([p.detach().flatten().clone() for p in student.parameters()]))
        momenta.append(ema.update(student))
        mine = torch.cat([p.flatten() for p in ema.model.parameters()])
        if ema.step <= 9:  # 1 - 1/(t+1) <= 0.9 up to the 9th update
            assert_close(mine, torch.stack(snapshots).mean(0), tol("roundoff"), 1e-14)
    assert momenta[:3] == pytest.approx([0.5, 2 / 3, 0.75], abs=1e-15)
    expected = torch.stack(snapshots[:10]).mean(0)
    for s in snapshots[10:]:
        expected = 0.9 * expected + 0.1 * s
    assert_close(mine, expected, tol("roundoff"), 1e-14)


def test_ema_matches_released_update_loop():
    """The released loop, transcribed: global_step += 1 before alpha_now."""
    torch.manual_seed(1)
    student, ema_init = torch.nn.Linear(4, 3).double(), torch.nn.Linear(4, 3).double()
    ref = [p.detach().clone() for p in ema_init.parameters()]
    ema, global_step = sm.EMA(ema_init, ema_decay=0.99), 0
    for _ in range(150):
        with torch.no_grad():
            for p in student.parameters():
                p.add_(0.1 * torch.randn_like(p))
        ema.update(student)
        global_step += 1
        alpha_now = min(1 - 1 / (global_step + 1), 0.99)
        for r, p in zip(ref, student.parameters(), strict=True):
            r.mul_(alpha_now).add_(p.detach(), alpha=1 - alpha_now)
    for r, p in zip(ref, ema.model.parameters(), strict=True):
        assert torch.equal(r, p)


@pytest.mark.parametrize("step,expected", [(0, 0.0), (1, 0.5), (3, 0.75), (999, 0.999),
                                           (10**6, 0.999)])
def test_ema_decay_at(step, expected):
    assert sm.ema_decay_at(step, 0.999) == pytest.approx(expected, abs=1e-15)


def test_float32_and_shapes():
    logits, teacher, labels = batch(1, 9, 5)
    loss = tg.sd_loss(logits.float(), labels, teacher.float(), reduction="none")
    assert loss.shape == (9,) and loss.dtype == torch.float32


@pytest.mark.parametrize("call,name", [
    (lambda s, t, y: tg.sd_loss(s, y, t, alpha=1.5), "alpha"),
    (lambda s, t, y: tg.sd_loss(s, y, t, T=0.0), "T"),
    (lambda s, t, y: tg.sd_loss(s, y, t[:, :3]), "teacher_logits"),
    (lambda s, t, y: tg.sd_loss(s, y[:3], t), "labels"),
    (lambda s, t, y: tg.sd_loss(s, y + 10, t), "labels"),
    (lambda s, t, y: tg.label_smoothing_loss(s, y, -0.1), "eps_ls"),
    (lambda s, t, y: tg.label_smoothing_loss(s, y, 0.1, kind="all"), "kind"),
    (lambda s, t, y: tg.sd_loss(s, y, t, reduction="avg"), "reduction"),
    (lambda s, t, y: tg.amortized_map_loss(s, y, torch.full_like(t, math.nan)), "gamma"),
    (lambda s, t, y: tg.sd_loss(s, y.float(), t), "labels"),
    (lambda s, t, y: tg.dirichlet_map(y, torch.full_like(t, 0.5)), "gamma"),
    (lambda s, t, y: sm.beta_smoothing_loss(s, y, t, a=-1.0), "a"),
    (lambda s, t, y: tg.convert_eps_ls(0.95, 10, to="uniform"), "eps_ls"),
    (lambda s, t, y: tg.convert_eps_ls(1.5, 10, to="others"), r"^eps_ls = 1\.5 .*\[0, 1\]"),
    (lambda s, t, y: sm.EMA(torch.nn.Linear(2, 2), ema_decay=1.0), "ema_decay"),
    (lambda s, t, y: sm.beta_order_statistics(0, 5, 3.0), "k"),
])
def test_bad_arguments_name_the_parameter(call, name):
    logits, teacher, labels = batch(0, 6, 5)
    with pytest.raises(ValueError, match=name):
        call(logits, teacher, labels)


@CUDA
def test_cuda_matches_cpu():
    logits, teacher, labels = batch(2, 32, 10)
    dev = torch.device("cuda")
    cpu = tg.sd_loss(logits, labels, teacher)
    gpu = tg.sd_loss(logits.to(dev), labels.to(dev), teacher.to(dev))
    assert_close(gpu, cpu, 1e-12)
    gen = torch.Generator(device=dev).manual_seed(0)
    bs = sm.beta_smoothing_loss(logits.to(dev), labels.to(dev), teacher.to(dev), generator=gen)
    assert bool(torch.isfinite(bs))
