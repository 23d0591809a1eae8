"""The kernel-model identities of the dong2019 chapters, as unit tests at the chapters' settings.

These were claims of ``notebooks/distillation-early-stopping.md``
(``dong2019.kernel-gd-closed-form``, ``converged-student-equals-teacher``,
``rounds-multiply-filters``) and
``notebooks/noisy-label-self-distillation.md`` (``dong2019.soft-sd-rescaled-clock``). Each is an
algebraic identity (a geometric series, ``H⁻¹H = I``, a product of commuting filters, a rescaled
step) checked against a step-by-step simulation of the same model, with a value at rounding
level: a test of the implementation, not a statement about the world (issue 13's rule). The
setting is each chapter's (NTK of points on the unit sphere, η = 1/λ_max), over the corners of
its accepted parameters and a few data seeds; :mod:`tests.dong2019.test_kernel_model` checks the
same identities on a small problem with other step sizes and schedules.
"""

from __future__ import annotations

import pytest
import torch

from selfdistill.data.noise import binary_flip
from selfdistill.data.sphere import clusterable_sphere
from selfdistill.dong2019 import (
    WarmupRamp,
    converged_student,
    distill_closed_form,
    kernel_gd,
    kernel_sd,
    ntk_infinite,
    soft_sd_closed_form,
)

F64 = torch.float64


def _early_stopping_problem(n: int, dim: int, seed: int):
    """The distillation-early-stopping chapter's data: n training and 50 test points on the
    sphere, targets sign(x₀) plus noise, the infinite-width NTK, η = 1/λ_max."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + 50, dim, generator=g, dtype=F64)
    x = x / x.norm(dim=1, keepdim=True)
    X, X_test = x[:n], x[n:]
    y = torch.sign(X[:, 0]) + 0.5 * torch.randn(n, generator=g, dtype=F64)
    H, Kx = ntk_infinite(X), ntk_infinite(X_test, X)
    lam = torch.linalg.eigvalsh(H)
    assert float(lam[-1] / lam[0]) < 100  # the condition the tolerances below assume
    return H, Kx, y, 1 / float(lam[-1])


# (n, dim, teacher steps): the corners of the chapter's accepted n, dim and teacher_steps
CORNERS = [(15, 8, 3), (20, 10, 10), (30, 16, 40), (30, 8, 40), (15, 16, 3)]


@pytest.mark.parametrize("n,dim,steps", CORNERS)
@pytest.mark.parametrize("seed", [0, 1])
def test_kernel_gd_is_the_spectral_filter(n, dim, steps, seed):
    """Iterated kernel GD from zero equals the closed form k(x, X) H⁻¹[I − (I − ηH)^k] y.

    The closed form divides by λ (condition < 100) after an eigensolve: ~1e-14 relative; 1e-12
    leaves room, while k ± 1 steps errs by ~1e-2.
    """
    H, Kx, y, lr = _early_stopping_problem(n, dim, seed)
    teacher = kernel_gd(H, lambda t, u: y, lr, steps, Kx)
    _, f_closed = distill_closed_form(H, Kx, y, lr, steps)
    assert float((f_closed - teacher.f).norm() / teacher.f.norm()) <= 1e-12


@pytest.mark.parametrize("n,dim,steps", CORNERS)
@pytest.mark.parametrize("seed", [0, 1])
def test_converged_student_is_the_early_stopped_teacher(n, dim, steps, seed):
    """A student solved to convergence (Cholesky) on the teacher's training outputs is the
    iterated teacher at the test points (the chapter's lemma): a solve with condition < 100 is
    accurate to ~1e-14; 1e-12 leaves room, a student of the raw labels differs by O(1)."""
    H, Kx, y, lr = _early_stopping_problem(n, dim, seed)
    teacher = kernel_gd(H, lambda t, u: y, lr, steps, Kx)
    student = converged_student(H, Kx, teacher.u[-1])
    assert float((student - teacher.f).norm() / teacher.f.norm()) <= 1e-12
    # not vacuous: a student of the raw labels differs by far more than the tolerance (it is
    # closest at 40 steps in 16 dimensions, where the filter passes almost everything)
    raw = converged_student(H, Kx, y)
    assert float((raw - teacher.f).norm() / teacher.f.norm()) > 1e-8


@pytest.mark.parametrize("n,dim,steps", CORNERS)
@pytest.mark.parametrize("rounds", [2, 5])
def test_rounds_of_early_stopped_students_multiply_the_filters(n, dim, steps, rounds):
    """j rounds of students stopped after k steps give V diag(φ_k(λ)^j) Vᵀ y at the training
    points: an eigensolve and a few hundred float64 steps, ~1e-14; 1e-12 leaves room, while a
    single filter (j = 1) differs by 3e-4 to O(1e-1)."""
    H, Kx, y, lr = _early_stopping_problem(n, dim, 0)
    targets = y
    for _ in range(rounds):
        run = kernel_gd(H, lambda t, u, tg=targets: tg, lr, steps, Kx)
        targets = run.u[-1]
    u_rounds, _ = distill_closed_form(H, Kx, y, lr, steps, rounds)
    assert float((u_rounds - run.u[-1]).norm() / run.u[-1].norm()) <= 1e-12
    # not vacuous: one round's filter differs by far more than the tolerance (least, ~3e-4, at
    # 40 steps in 16 dimensions)
    u_one, _ = distill_closed_form(H, Kx, y, lr, steps, 1)
    assert float((u_one - run.u[-1]).norm() / run.u[-1].norm()) > 1e-8


# (flip rate, clusters, points per cluster, warm-up): corners of the chapter's accepted values
CLOCK_CORNERS = [(0.2, 6, 50, 8), (0.1, 4, 30, 6), (0.25, 10, 80, 12)]


@pytest.mark.parametrize("rho,n_clusters,per_cluster,warmup", CLOCK_CORNERS)
@pytest.mark.parametrize("seed", [0, 3])
def test_soft_sd_is_gd_on_the_rescaled_clock(rho, n_clusters, per_cluster, warmup, seed):
    """Rule A simulated step by step (targets rebuilt from the outputs at every epoch) equals the
    closed form 1 − Π_t(1 − η(1 − α_t)λ) over the noisy-label chapter's 600 epochs.

    Each of 600 float64 steps on O(1) outputs adds ~1e-16: at most ~1e-13; bound 1e-12. A wrong
    clock (η for η(1 − α_t)) errs by O(1) once α_t > 0.
    """
    n = n_clusters * per_cluster
    x, y_star, _ = clusterable_sphere(n, 20, n_clusters, 0.1, seed=seed)
    noisy = binary_flip(y_star, rho, torch.Generator().manual_seed(seed)).noisy
    H = ntk_infinite(x)
    lr = 1 / float(torch.linalg.eigvalsh(H)[-1])
    run = kernel_sd(H, noisy, lr, 600, "A", WarmupRamp(warmup, warmup, 1.0))
    alphas = run.alphas.tolist()
    closed = soft_sd_closed_form(H, noisy, lr, alphas)
    assert float((closed - run.u).abs().max()) <= 1e-12
    plain_clock = soft_sd_closed_form(H, noisy, lr, [0.0] * len(alphas))
    assert float((plain_clock - run.u).abs().max()) > 1e-2
