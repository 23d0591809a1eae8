"""The side-by-side studies behind the chapter, at the corners of its accepted parameter ranges."""

from __future__ import annotations

import numpy as np
import pytest

from selfdistill.data import toy_sine
from selfdistill.kernels import ExponentialKernel
from selfdistill.verify import cells_for, convergence_study, domain_study, eps_sweep

X, Y = toy_sine()


@pytest.mark.parametrize("length", [0.02, 0.1, 1.0])  # the chapter accepts ℓ in [0.02, 1]
@pytest.mark.parametrize("padding", [0.1, 2.0])  # and P in [0.1, 2]
def test_second_order_across_accepted_ranges(length, padding):
    study = convergence_study(X, Y, 0.05, length, -padding, 1 + padding,
                              cells_for(length, 1 + 2 * padding), 8, "cpu")
    order_f, order_c = study.order()
    # nested grids: measured |p - 2| ≤ 4e-4 at these corners; the chapter's claim allows 0.01
    assert abs(order_f - 2) <= 0.01 and abs(order_c - 2) <= 0.01
    # the chapter's bound (h/ℓ)² on the finest grid, with its margin of ≥ 5 measured here
    assert study.err_f[-1] <= (study.h[-1] / length) ** 2 / 5
    assert study.err_c[-1] <= (study.h[-1] / length) ** 2 / 5


def test_cells_for_sets_grids_relative_to_length():
    assert cells_for(0.1, 2.0) == 80 and cells_for(1.0, 1.2) == 5
    with pytest.raises(ValueError, match="length"):
        cells_for(0.0, 1.0)


def test_convergence_study_refuses_a_collapsed_problem():
    with pytest.raises(ValueError, match="collapses"):
        convergence_study(X, Y, 1.0, 0.1, -0.5, 1.5, 80, 3, "cpu")


def test_eps_sweep_marks_collapse_and_brackets_c():
    threshold = float(np.mean(Y**2))
    sweep = eps_sweep(ExponentialKernel(0.1), X, Y, np.array([0.1, 0.9, 1.1]) * threshold, "cpu")
    assert np.isfinite(sweep.c[:2]).all() and np.isinf(sweep.c[2])
    assert (sweep.lower[:2] <= sweep.c[:2]).all() and (sweep.c[:2] <= sweep.upper[:2]).all()
    assert np.isnan(sweep.lower[2]) and sweep.collapse_eps == pytest.approx(threshold, rel=1e-14)


def test_domain_study_decays_at_the_image_rate():
    length = 0.1
    paddings = np.array([0.3, 0.6])
    diff = domain_study(X, Y, 0.05, length, paddings, "cpu")
    rate = np.log(diff[0] / diff[1]) / (paddings[1] - paddings[0])
    assert rate == pytest.approx(2 / length, rel=0.02)  # images decay like e^{-2P/ℓ}


def test_eps_sweep_and_fit_decide_collapse_alike_at_the_threshold():
    from selfdistill.hilbert import fit_greens

    kernel = ExponentialKernel(0.3)
    for data_seed in range(5):
        y = np.random.default_rng(data_seed).normal(size=X.size)
        # ε at ‖y‖²/K and one rounding step either side, where summation order decides (the
        # two routes must agree and must not raise), and 1e-12 either side, where it does not
        at = float(np.sum(y**2)) / X.size
        budgets = np.array([at * (1 - 1e-12), np.nextafter(at, 0), at, np.nextafter(at, 1),
                            at * (1 + 1e-12)])
        sweep = eps_sweep(kernel, X, y, budgets, "cpu")
        fits = [fit_greens(kernel, X, y, e, "cpu") for e in budgets]
        assert [bool(np.isinf(c)) for c in sweep.c] == [f.collapsed for f in fits]
        assert not fits[0].collapsed and fits[-1].collapsed
        finite = np.isfinite(sweep.c)
        assert (sweep.lower[finite] <= sweep.c[finite]).all()
        assert (sweep.c[finite] <= sweep.upper[finite]).all()
