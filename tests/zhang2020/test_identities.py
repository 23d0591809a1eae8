"""zhang2020 identities moved from the chapters' ledgers to unit tests (issue 13 §2).

Each compares two implementations of the same algebra, so its measured value is rounding, which
differs between CPUs: a unit test over a grid, not a claim. Formerly the claims
``zhang2020.amortized-gradient-is-scaled-sd``, ``uniform-prior-is-label-smoothing``,
``gradients-are-p-minus-m`` (amortized-map), ``sd-decomposition``,
``sd-spread-follows-teacher`` and ``diversity-ordering-any-bins`` (confidence-diversity).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from selfdistill.training.objectives import soft_cross_entropy
from selfdistill.zhang2020 import metrics as mt
from selfdistill.zhang2020 import oracles as verify_zhang
from selfdistill.zhang2020 import targets as tg
from selfdistill.zhang2020.synthetic import teacher_logits

F64 = torch.float64


def batch(seed: int, N: int, C: int, margin: float = 3.0):
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, C, (N,), generator=gen)
    teacher = teacher_logits(labels, C, margin, generator=gen)
    logits = 2 * torch.randn(N, C, generator=gen, dtype=F64)
    return logits, labels, teacher


def np_softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("seed, C, alpha, T", [(0, 10, 0.4, 4.0), (1, 3, 0.9, 1.0),
                                               (2, 100, 0.2, 8.0)])
def test_amortized_gradient_is_scaled_sd(seed, C, alpha, T):
    logits, labels, teacher = batch(seed, 64, C)
    beta = alpha / (1 - alpha)
    gamma = 1 + beta * tg.teacher_probs(teacher, T)

    def grad(fn):
        s = logits.clone().requires_grad_(True)
        fn(s).backward()
        return s.grad

    g_map = grad(lambda s: tg.amortized_map_loss(s, labels, gamma))
    g_sd = grad(lambda s: tg.sd_loss(s, labels, teacher, alpha, T))
    assert float((g_map - (1 + beta) * g_sd).abs().max() / g_map.abs().max()) < 1e-14


@pytest.mark.parametrize("C, beta", [(3, 0.1), (10, 0.667), (100, 5.0)])
def test_uniform_prior_is_released_label_smoothing(C, beta):
    labels = torch.arange(2 * C) % C
    z = tg.dirichlet_map(labels, torch.full((2 * C, C), 1 + beta / C, dtype=F64))
    eps_o = tg.convert_eps_ls(beta / (1 + beta), C, to="others")
    onehot = np.eye(C)[labels.numpy()]
    by_hand = (1 - eps_o) * onehot + eps_o / (C - 1) * (1 - onehot)
    assert np.abs(z.numpy() - by_hand).max() < 1e-15


@pytest.mark.parametrize("seed, C", [(0, 10), (1, 3), (2, 100)])
def test_every_loss_has_gradient_p_minus_m(seed, C):
    logits, labels, teacher = batch(seed, 64, C)
    errors = verify_zhang.gradient_check(logits, labels, teacher, alpha=0.4, T=4.0, eps_ls=0.1,
                                         beta=0.1, a=3.0, alpha_beta=0.6, seed=seed)
    assert len(errors) == 7
    assert max(errors.values()) < 1e-14


GOOD_SETTINGS = dict(alpha=0.4, T=4.0, eps_ls=0.1, beta=0.1, alpha_beta=0.6)


@pytest.mark.parametrize("change", [
    {"alpha": 1.5}, {"T": 0.0}, {"eps_ls": -0.1}, {"beta": -1.0}, {"beta": 11.0},
    {"alpha_beta": 1.5},
])
def test_hand_targets_refuses_settings_the_losses_refuse(change):
    # the route is pure NumPy, so its declaration is its only check (it computed targets off
    # the simplex for α > 1 before); its ranges are those of the losses it checks
    logits, labels, teacher = batch(0, 8, 4)
    (name, value), = change.items()
    with pytest.raises(ValueError, match=rf"^{name} = {value} is outside the accepted range"):
        verify_zhang.hand_targets(logits, labels, teacher, **{**GOOD_SETTINGS, **change},
                                  b=np.full(8, 0.5))


@pytest.mark.parametrize("seed, C, alpha, T", [(0, 10, 0.4, 4.0), (3, 5, 0.9, 1.0)])
def test_sd_decomposition(seed, C, alpha, T):
    _, labels, teacher = batch(seed, 512, C)
    m = tg.sd_target(labels, teacher, alpha, T).numpy()
    q = np_softmax(teacher.numpy() / T)
    y = labels.numpy()
    eps = tg.smoothing_amount(torch.as_tensor(m), labels).numpy()
    assert np.abs(eps - alpha * (1 - q[np.arange(len(y)), y])).max() < 1e-14
    others = ~np.eye(C, dtype=bool)[y]
    assert np.abs(m[others] - alpha * q[others]).max() < 1e-14


@pytest.mark.parametrize("T", [1.0, 4.0])
def test_sd_spread_follows_teacher(T):
    C = 10
    _, labels, teacher = batch(5, 1024, C)
    m = tg.sd_target(labels, teacher, 0.4, T)
    q = np_softmax(teacher.numpy() / T)
    rest = q[~np.eye(C, dtype=bool)[labels.numpy()]].reshape(-1, C - 1)
    expected = np.mean(stats.entropy(rest, axis=1) / np.log(C - 1))
    assert abs(float(mt.non_target_spread(m, labels)) - expected) < 1e-12
    ls = tg.label_smoothing_target(labels, C, 0.1)
    assert abs(float(mt.non_target_spread(ls, labels)) - 1.0) < 1e-12


@pytest.mark.parametrize("n_bins", [5, 20, 100])
def test_constant_smoothing_has_zero_diversity(n_bins):
    labels = torch.arange(300) % 10
    div = mt.confidence_diversity(tg.label_smoothing_target(labels, 10, 0.1), labels, n_bins)
    assert float(div.entropy) == 0.0
    assert float(div.variance) < 1e-30


@pytest.mark.parametrize("ema_decay", [0.9, 0.99])
def test_ema_warmup_is_the_released_running_mean(ema_decay):
    """Formerly the claim zhang2020.ema-warmup-running-mean: the library's EMA against the
    running mean (initial weights included) and the capped recurrence, from stored snapshots."""
    warm_error, capped_error, warm = verify_zhang.ema_warmup_check(ema_decay, 300, 0)
    assert warm == round(1 / (1 - ema_decay)) - 1
    assert max(warm_error, capped_error) < 1e-11


def test_log_offset_effect_is_below_its_bound():
    logits, labels, _ = batch(0, 256, 100)
    m = tg.label_smoothing_target(labels, 100, 0.1)
    rel_loss, rel_grad = verify_zhang.log_offset_effect(1.5 * logits, m)
    p = torch.softmax(1.5 * logits, 1)
    bound = float((m * 1e-8 / p).sum(1).mean() / soft_cross_entropy(1.5 * logits, m))
    assert 0 < rel_loss <= bound * (1 + 1e-6)
    assert rel_grad > 1e-2  # classes with p << 1e-8 stop receiving gradient
    mild = 0.3 * logits  # every p ≥ 1e-4: the gradient moves by O(δ/p) only
    assert float(torch.softmax(mild, 1).min()) > 1e-4
    assert verify_zhang.log_offset_effect(mild, m)[1] < 1e-3
