"""The side-by-side studies behind the chapter, at the corners of its accepted parameter ranges."""

from __future__ import annotations

import numpy as np
import pytest

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.fit_studies import cells_for, convergence_study, domain_study, eps_sweep
from selfdistill.mobahi2020.greens_fit import fit_greens
from selfdistill.mobahi2020.kernels import ExponentialKernel
from selfdistill.mobahi2020.oracles import c_by_bisection, near_collapse_prediction

X, Y = toy_sine()


@pytest.mark.slow
@pytest.mark.parametrize("length", [0.02, 0.1, 1.0])  # the chapter accepts ℓ in [0.02, 1]
@pytest.mark.parametrize("padding", [0.1, 2.0])  # and P in [0.1, 2]
def test_second_order_across_accepted_ranges(length, padding):
    study = convergence_study(X, Y, 0.05, length, -padding, 1 + padding,
                              cells_for(length, 1 + 2 * padding), 8, "cpu")
    order_f, order_c = study.order()
    # nested grids: measured |p - 2| ≤ 1.7e-3 at these corners; the chapter's claim allows 0.01
    assert abs(order_f - 2) <= 0.005 and abs(order_c - 2) <= 0.005
    # the chapter's bounds 0.25 (h/ℓ)² and (h/ℓ)² on the finest grid hold with a margin of ≥ 5
    # (measured constants ≤ 0.023 and ≤ 0.13)
    step = (study.h[-1] / length) ** 2
    assert study.err_f[-1] <= 0.05 * step
    assert study.err_c[-1] <= 0.2 * step


def test_cells_for_sets_grids_relative_to_length():
    assert cells_for(0.1, 2.0) == 80 and cells_for(1.0, 1.2) == 5
    with pytest.raises(ValueError, match="length"):
        cells_for(0.0, 1.0)


def test_convergence_study_refuses_a_collapsed_problem():
    with pytest.raises(ValueError, match="collapses"):
        convergence_study(X, Y, 1.0, 0.1, -0.5, 1.5, 80, 3, "cpu")


def test_eps_sweep_marks_collapse_and_matches_bisection():
    threshold = float(np.mean(Y**2))
    kernel = ExponentialKernel(0.1)
    sweep = eps_sweep(kernel, X, Y, np.array([0.1, 0.9, 1.1]) * threshold, "cpu")
    assert np.isfinite(sweep.c[:2]).all() and np.isinf(sweep.c[2])
    # the bisection root (no bracket from the bounds) lies inside the sweep's bounds, and the
    # sweep's c equals it to rounding: K u (κ + ε*/(ε* - ε)) ≤ 2e-14 here, allowed 1e-13
    reference = np.array([c_by_bisection(kernel, X, Y, e, "cpu") for e in sweep.eps[:2]])
    assert (sweep.lower[:2] < reference).all() and (reference < sweep.upper[:2]).all()
    np.testing.assert_allclose(sweep.c[:2], reference, rtol=1e-13)
    assert np.isnan(sweep.lower[2]) and sweep.collapse_eps == pytest.approx(threshold, rel=1e-14)


@pytest.mark.parametrize("length", [0.02, 0.1, 1.0])
def test_near_collapse_prediction_is_first_order(length):
    # the fit at (1 - δ) ε* agrees with (‖y‖² - Kε) G y / (2 yᵀGy) to O(δ): halving δ halves
    # the deviation (ratio 2 ± 5%), and the deviation is below 2δ at these ℓ
    kernel = ExponentialKernel(length)
    threshold = float(np.mean(Y**2))
    deviations = []
    for delta in (2e-3, 1e-3):
        eps = (1 - delta) * threshold
        fit = fit_greens(kernel, X, Y, eps, "cpu")
        predicted = near_collapse_prediction(kernel, X, Y, eps, "cpu")
        deviations.append(float((fit(X) - predicted).abs().max() / predicted.abs().max()))
        assert deviations[-1] <= 2 * delta
    assert deviations[0] / deviations[1] == pytest.approx(2.0, rel=0.05)


def test_domain_study_decays_at_the_image_rate():
    length = 0.1
    paddings = np.array([0.3, 0.6])
    diff = domain_study(X, Y, 0.05, length, paddings, "cpu")
    rate = np.log(diff[0] / diff[1]) / (paddings[1] - paddings[0])
    # images decay like e^{-2P/ℓ}; the next images (e^{-4P/ℓ} ≈ e^{-12} here) move it < 1e-3
    assert rate == pytest.approx(2 / length, rel=1e-3)


# c ~ 1/δ there
@pytest.mark.filterwarnings("ignore::selfdistill.mobahi2020.greens_fit.IllConditionedWarning")
def test_eps_sweep_and_fit_decide_collapse_alike_at_the_threshold():
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
        # near the threshold c ~ 1/δ is only good to K u / δ ~ 1e-3 (δ = 1e-12): still finite
        assert (sweep.c[finite] > 0).all()
