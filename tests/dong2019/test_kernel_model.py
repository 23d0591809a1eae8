"""Kernel-model distillation: closed forms against step-by-step simulation."""

from __future__ import annotations

import pytest
import torch

from selfdistill.data.noise import binary_flip
from selfdistill.data.sphere import clusterable_sphere
from selfdistill.dong2019.kernel_model import (
    cluster_averages,
    converged_student,
    distill_closed_form,
    kernel_gd,
    kernel_sd,
    margin,
    soft_sd_closed_form,
)
from selfdistill.dong2019.ntk import ntk_infinite
from selfdistill.dong2019.sd_rules import Constant, LinearRamp, WarmupRamp, soft_target


def _problem(n=25, m=7, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + m, d, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    y = torch.sin(3 * x[:n, 0]) + 0.3 * torch.randn(n, generator=g, dtype=torch.float64)
    H = ntk_infinite(x[:n])
    return H, ntk_infinite(x[n:], x[:n]), y


@pytest.mark.parametrize("steps,rounds", [(0, 1), (1, 1), (7, 1), (30, 3), (200, 2)])
def test_rounds_closed_form_matches_iteration(steps, rounds):
    H, Kx, y = _problem()
    lr = 1.0 / float(torch.linalg.eigvalsh(H)[-1])
    targets = y
    for _ in range(rounds):  # each round: fresh student from 0 on the previous training outputs
        run = kernel_gd(H, lambda t, u, tg=targets: tg, lr, steps, Kx)
        targets = run.u[-1]
    u, f = distill_closed_form(H, Kx, y, lr, steps, rounds)
    # the closed form divides by λ (cond(H) ~ 1e2 here): errors ~ cond · steps · u ≪ 1e-10
    assert torch.allclose(u, run.u[-1], atol=1e-10) and torch.allclose(f, run.f, atol=1e-10)


def test_converged_student_is_the_teacher():
    H, Kx, y = _problem()
    lr = 1.0 / float(torch.linalg.eigvalsh(H)[-1])
    teacher = kernel_gd(H, lambda t, u: y, lr, 15, Kx)
    student = converged_student(H, Kx, teacher.u[-1])
    assert torch.allclose(student, teacher.f, atol=1e-10)


@pytest.mark.parametrize("schedule", [Constant(0.0), Constant(0.7), LinearRamp(0.9, 10),
                                      WarmupRamp(5, 5, 1.0)])
def test_soft_sd_is_gd_on_a_rescaled_clock(schedule):
    H, _, y = _problem()
    lr = 1.5 / float(torch.linalg.eigvalsh(H)[-1])
    run = kernel_sd(H, y, lr, 40, "A", schedule)
    closed = soft_sd_closed_form(H, y, lr, run.alphas.tolist())
    assert torch.allclose(closed, run.u, atol=1e-12)
    # the same by direct targets, without kernel_sd's bookkeeping
    direct = kernel_gd(H, lambda t, u: soft_target(y, u, float(run.alphas[t])), lr, 40)
    assert torch.allclose(direct.u, run.u, atol=1e-14)


def test_hard_sd_reaches_the_truth_on_clusters_and_early_stopping_does_not():
    x, y, cluster = clusterable_sphere(160, 20, 4, 0.1, seed=0)
    noisy = binary_flip(y, 0.2, torch.Generator().manual_seed(0))
    H = ntk_infinite(x)
    lr = 1.0 / float(torch.linalg.eigvalsh(H)[-1])
    plain = kernel_gd(H, lambda t, u: noisy.noisy, lr, 300)
    best = (plain.u - y).norm(dim=1).min()
    predicted = (cluster_averages(noisy.noisy, cluster) - y).norm()
    assert abs(float(best / predicted) - 1) < 0.1  # cluster averages, up to leakage
    hard = kernel_sd(H, noisy.noisy, lr, 300, "B", WarmupRamp(10, 10, 1.0))
    assert float((hard.u[-1] - y).norm()) < 0.1 * float(best)
    assert margin(hard.u[-1], y) > 0.9 > margin(plain.u[-1], y)


def test_arguments_are_checked():
    H, Kx, y = _problem()
    with pytest.raises(ValueError, match="lr"):
        kernel_gd(H, lambda t, u: y, 10.0, 3)
    with pytest.raises(ValueError, match="square"):
        kernel_gd(H[:3], lambda t, u: y, 0.1, 3)
    values, cluster = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 1, 0])
    assert torch.equal(cluster_averages(values, cluster), torch.tensor([2.5, 2.0, 2.5]))
    with pytest.raises(ValueError, match="cluster"):
        cluster_averages(values, cluster[:2])
