"""The kernel-model controls of dong2019 (teacher control, hard-SD grid) and the trained-kernel
AIR study, against closed forms and limiting cases."""

from __future__ import annotations

import pytest
import torch
from helpers import assert_close

from selfdistill.data.sphere import clusterable_sphere
from selfdistill.dong2019.kernel_controls import HardSDCase, hard_sd_grid, teacher_control
from selfdistill.dong2019.oracles import kernel_motion

pytestmark = pytest.mark.usefixtures("one_thread")


def test_teacher_control_student_of_the_early_teacher_is_the_teacher():
    # the lemma of distillation-early-stopping: the converged student (Cholesky) reproduces the
    # simulated teacher's test error at its stop; the converged teacher's student interpolates
    c = teacher_control(2, 0.2, n_train=40, n_test=50, steps=60)
    assert_close(c.early, c.teacher, rtol=1e-9)
    assert c.stop.shape == (2,) and bool((c.stop >= 0).all())
    assert bool((c.converged > c.early).all())


def test_teacher_control_without_noise_never_stops_before_the_end_is_near():
    # with ρ → 0 there is nothing to memorise: the converged student is as good as the stopped one
    # up to the oracle's choice, so their gap is far smaller than with flips
    clean = teacher_control(1, 1e-9, n_train=40, n_test=50, steps=200, seed=3)
    noisy = teacher_control(1, 0.3, n_train=40, n_test=50, steps=200, seed=3)
    assert float(clean.converged - clean.early) < 0.2 * float(noisy.converged - noisy.early)


def test_hard_sd_grid_reaches_truth_without_flips_and_records_conditions():
    cases = hard_sd_grid(1, [1e-9, 0.3], [0.1], warmup=4, n_clusters=4, per_cluster=10,
                         epochs=200)
    assert [c.rho for c in cases] == [1e-9, 0.3]
    clean = cases[0]
    assert isinstance(clean, HardSDCase) and clean.max_rate == 0.0 and clean.signs_right
    assert clean.conditions and clean.margin > 0.9


def test_hard_sd_case_conditions_property():
    base = dict(seed=0, rho=0.2, spread=0.1, ratio=0.01, margin=0.99)
    assert HardSDCase(max_rate=0.4, signs_right=True, **base).conditions
    assert not HardSDCase(max_rate=0.5, signs_right=True, **base).conditions
    assert not HardSDCase(max_rate=0.1, signs_right=False, **base).conditions


def test_kernel_motion_shrinks_with_width_and_checks_inputs():
    X, y, _ = clusterable_sphere(40, 8, 4, 0.5, seed=1)
    small, large = kernel_motion(X, y, (16, 1024), 100, 2)
    assert 0 < large.motion < small.motion
    assert 0 <= small.share_init <= 1 and 0 <= large.share_trained <= 1
    with pytest.raises(ValueError, match="y has shape"):
        kernel_motion(X, y[:5], (16,), 10, 2)
    with pytest.raises(ValueError, match="k"):
        kernel_motion(X, y, (16,), 10, 0)
    # k ≥ 1 is declared; its upper end n (the number of inputs) is the body's
    with pytest.raises(ValueError, match=r"^k = 41 is outside the accepted range \[1, 40\]"):
        kernel_motion(X, y, (16,), 10, 41)


@pytest.mark.parametrize("call, match", [
    (lambda: teacher_control(1, 0.5), "rho"),
    (lambda: teacher_control(0, 0.2), "seeds"),
    (lambda: teacher_control(2, 0.2, seed=2**32 - 1), "seed"),
    (lambda: hard_sd_grid([0], [0.2], [0.1]), "seeds"),
    (lambda: hard_sd_grid(1, [0.6], [0.1]), "rhos"),
    (lambda: hard_sd_grid(1, [0.2], [-1.0]), "spreads"),
    (lambda: hard_sd_grid(1, [0.2], [0.1], warmup=0), "warmup"),
    # epochs ≥ 3 is declared; epochs ≥ 2 warmup + 1 is the body's relation
    (lambda: hard_sd_grid(1, [0.2], [0.1], warmup=4, epochs=8), r"^epochs = 8 .*\[9, inf\)"),
])
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_seeds_count_from_seed():
    """seeds is a count: seeds seed, seed + 1, …; one draw from seed 1 is the second of two
    draws from seed 0."""
    both = teacher_control(2, 0.2, n_train=30, n_test=20, steps=30)
    second = teacher_control(1, 0.2, n_train=30, n_test=20, steps=30, seed=1)
    assert torch.equal(both.early[1:], second.early) and torch.equal(both.stop[1:], second.stop)
    cases = hard_sd_grid(2, [0.2], [0.1], warmup=2, n_clusters=2, per_cluster=5, epochs=6)
    later = hard_sd_grid(1, [0.2], [0.1], warmup=2, n_clusters=2, per_cluster=5, epochs=6, seed=1)
    assert [c.seed for c in cases] == [0, 1] and cases[1] == later[0]
