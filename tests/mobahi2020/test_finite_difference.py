"""The independent discretised solve of constrained-problem, and the convergence-order estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol, unit_roundoff

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.finite_difference import convergence_order, solve_discretised
from selfdistill.mobahi2020.greens_fit import fit_greens
from selfdistill.mobahi2020.kernels import NeumannExponentialKernel

U = unit_roundoff(torch.float64)

# the 11-point toy problem of mobahi2020 §7 (x = 0, 0.1, ..., 1), from the library's one copy
X_TOY, Y_TOY = toy_sine()
THRESHOLD_TOY = float(np.sum(Y_TOY**2)) / len(Y_TOY)


def random_data(seed: int = 31, K: int = 13):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 1.0, K))
    return x, np.cos(3 * x) + 0.2 * rng.standard_normal(K)


# --------------------------------------------------------------------------- convergence_order


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("constant", [1e-3, 1.0, 42.0])
def test_convergence_order_recovers_exponent(p, constant):
    h = 0.1 / 2.0 ** np.arange(6)
    err = constant * h**p
    # exact power-law data: the least-squares slope is p up to the roundoff of the logs
    # (|log| <= 30, error ~ u · 30 per point), i.e. ~1e-14 absolute
    assert convergence_order(h, err) == pytest.approx(p, abs=1e-12)
    # lists are accepted too, and two points suffice
    assert convergence_order(list(h[:2]), list(err[:2])) == pytest.approx(p, abs=1e-12)


def test_convergence_order_is_least_squares_slope():
    # local slopes 1, 2, 4 (end-to-end slope 7/3): the least-squares slope of log err on log h
    # is Σ (t - t̄)(e - ē) / Σ (t - t̄)² = 11.5 / 5 = 2.3
    log_h = np.array([0.0, -1.0, -2.0, -3.0])
    log_err = np.array([0.0, -1.0, -3.0, -7.0])
    assert convergence_order(np.exp(log_h), np.exp(log_err)) == pytest.approx(2.3, abs=1e-12)


@pytest.mark.parametrize(
    ("h", "err", "pattern"),
    [
        ([0.1, 0.05, 0.025], [1.0, 0.25], "equal length"),  # lengths differ
        ([0.1], [1.0], "equal length ≥ 2"),  # fewer than two points
        ([], [], "equal length ≥ 2"),
        ([[0.1, 0.05]], [0.1, 0.05], "equal length"),  # shapes differ
        ([0.1, 0.0], [1.0, 0.5], "positive"),  # h not positive
        ([0.1, -0.05], [1.0, 0.5], "positive"),
        ([0.1, 0.05], [1.0, 0.0], "positive"),  # err not positive
        ([0.1, 0.05], [1.0, -0.5], "positive"),
    ],
)
def test_convergence_order_rejects_bad_input(h, err, pattern):
    with pytest.raises(ValueError, match=rf"^h and err must be .*{pattern}"):
        convergence_order(h, err)


def test_convergence_order_rejects_equal_steps():
    # equal step sizes leave the slope undefined: refused, not nan
    with pytest.raises(ValueError, match="two different spacings"):
        convergence_order([0.1, 0.1, 0.1], [1.0, 0.5, 0.25])


@pytest.mark.parametrize(
    ("h", "err"),
    [
        ([0.1, 0.05], [1.0, math.nan]),
        ([0.1, math.nan], [1.0, 0.25]),
        ([0.1, 0.05], [math.inf, 0.25]),
        ([math.inf, 0.05], [1.0, 0.25]),
    ],
)
def test_convergence_order_rejects_non_finite_input(h, err):
    # NaN slips through "<= 0" tests; a nan order (or LAPACK's LinAlgError) must not come back
    with np.errstate(all="ignore"), pytest.raises(ValueError, match=r"^h and err must be .*finite"):
        convergence_order(np.array(h), np.array(err))


# --------------------------------------------------------------------------- collapse


@pytest.mark.parametrize("factor", [1.0, 1 + 1e-12, 2.0, 100.0])
@pytest.mark.parametrize("y_shape", ["vector", "matrix"])
def test_solve_discretised_collapses_to_zero(factor, y_shape):
    y = Y_TOY if y_shape == "vector" else np.stack([Y_TOY, -0.5 * Y_TOY], axis=1)
    threshold = float(np.sum(y**2)) / len(y)
    # ε = fl(‖y‖²)/K times factor: the library compares ‖y‖² with Kε directly; K·fl(S/K) may
    # round one ulp below S, so the exact-threshold case is taken one ulp up
    eps = float(np.nextafter(factor * threshold, math.inf))
    solution = solve_discretised(X_TOY, y, eps, 0.1, 0.0, 1.0, 80)
    assert solution.collapsed and solution.c == math.inf
    assert solution.f.shape == (81,) + y.shape[1:]
    assert np.count_nonzero(solution.f) == 0
    assert solution.training_error == pytest.approx(threshold, rel=tol("roundoff"))
    assert_close(solution.s, np.linspace(0.0, 1.0, 81), rtol=0.0, atol=tol("roundoff"))


EDGE_X = np.array([0.003, 0.25, 0.5, 0.75, 0.997])  # inside the first and last cells


@pytest.mark.parametrize("n_cells", [20, 40, 160])
@pytest.mark.parametrize("data", ["toy", "random", "edge"])
def test_grid_has_every_data_point_as_a_node(n_cells, data):
    if data == "edge":
        x, y, lower, upper = EDGE_X, np.cos(3 * EDGE_X), 0.0, 1.0
    else:
        x, y = (X_TOY, Y_TOY) if data == "toy" else random_data()
        lower, upper = -0.2, 1.3
    solution = solve_discretised(x, y, 0.1 * float(np.mean(y**2)), 0.1, lower, upper, n_cells)
    s, h = solution.s, solution.h
    assert solution.n_cells == n_cells
    assert h == pytest.approx((upper - lower) / n_cells, rel=tol("roundoff"))
    assert s[0] == lower and s[-1] == upper
    assert np.all(np.diff(s) > 0), "nodes must be strictly increasing"
    assert np.isin(x, s).all(), "every data point must be a node, exactly"
    assert solution.f.shape == s.shape
    cells = np.diff(s)
    # the ends and the data split [lower, upper] into pieces; a piece of length L gets
    # ceil(L / h) equal cells, so every cell is at most h and at least min(h/2, L)
    # a cell is a difference of two node coordinates, each rounded to u·max|s|: allow 4 u·max|s|
    slack = 4 * U * max(abs(lower), abs(upper))
    gaps = np.diff(np.concatenate([[lower], np.sort(x), [upper]]))
    assert cells.min() >= min(h / 2, gaps.min()) - slack
    assert cells.max() <= h + slack


def test_solve_discretised_just_below_threshold_is_not_collapsed():
    eps = (1 - 1e-6) * THRESHOLD_TOY
    solution = solve_discretised(X_TOY, Y_TOY, eps, 0.1, 0.0, 1.0, 80)
    assert not solution.collapsed and math.isfinite(solution.c)
    assert np.abs(solution.f).max() > 0


# --------------------------------------------------------------------------- active constraint


@pytest.mark.parametrize("data", ["toy", "random"])
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("eps_fraction", [0.01, 0.1, 0.5, 0.95])
@pytest.mark.parametrize("n_cells", [40, 160, 640])
def test_solve_discretised_training_error_equals_eps(data, length, eps_fraction, n_cells):
    x, y = (X_TOY, Y_TOY) if data == "toy" else random_data()
    eps = eps_fraction * float(np.sum(y**2)) / len(y)
    solution = solve_discretised(x, y, eps, length, 0.0, 1.0, n_cells)
    assert not solution.collapsed and 0 < solution.c < math.inf
    assert solution.h == pytest.approx(1.0 / n_cells, rel=tol("roundoff"))
    # recomputed here by linear interpolation, not by the library
    independent = float(np.mean((np.interp(x, solution.s, solution.f) - y) ** 2))
    # Brent's root in log c is found to ~4u, but each evaluation of the constraint carries the
    # roundoff of the banded solve, amplified by its condition number ~ (l/h)² (stiffness l²/h
    # over mass h). Measured: <= 2 u (1 + (l/h)²) relative; allowed 16 u (1 + (l/h)²)
    rtol = 16 * U * (1 + (length / solution.h) ** 2)
    assert_close(solution.training_error, eps, rtol=rtol, what="returned training error vs ε")
    assert_close(independent, eps, rtol=rtol, what="recomputed training error vs ε")
    # the returned value is the error of the returned f: the same K squares, summed in another
    # order at most
    assert_close(solution.training_error, independent, rtol=tol("roundoff"), what="returned")


def test_solve_discretised_vector_outputs():
    Y = np.stack([Y_TOY, np.cos(4 * X_TOY)], axis=1)
    eps = 0.1 * float(np.sum(Y**2)) / len(Y)
    solution = solve_discretised(X_TOY, Y, eps, 0.1, 0.0, 1.0, 160)
    assert solution.f.shape == (161, 2)
    fitted = np.stack([np.interp(X_TOY, solution.s, solution.f[:, j]) for j in range(2)], axis=1)
    rtol = 16 * U * (1 + (0.1 * 160) ** 2)  # as in the scalar test
    assert_close(np.sum((fitted - Y) ** 2) / len(Y), eps, rtol=rtol, what="Frobenius constraint")
    # a single column is the scalar problem
    scalar = solve_discretised(X_TOY, Y_TOY, 0.1 * THRESHOLD_TOY, 0.1, 0.0, 1.0, 160)
    column = solve_discretised(X_TOY, Y_TOY[:, None], 0.1 * THRESHOLD_TOY, 0.1, 0.0, 1.0, 160)
    # identical arithmetic up to the root finder's last steps: c to its rtol (4u) times the
    # constraint's conditioning; f then follows c
    assert_close(column.c, scalar.c, rtol=1e-12, what="c")
    assert_close(column.f[:, 0], scalar.f, rtol=0.0, atol=1e-12 * np.abs(scalar.f).max())


# --------------------------------------------------------------------------- observed order


@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("eps_fraction", [0.02, 0.5])
def test_observed_order_is_two_on_toy_problem(length, eps_fraction):
    eps = eps_fraction * THRESHOLD_TOY
    fit = fit_greens(NeumannExponentialKernel(length, 0.0, 1.0), X_TOY, Y_TOY, eps, device="cpu")
    grids = [40 * 2**j for j in range(6)]  # the data x_k = k/10 are nodes of every grid
    h, f_err, c_err, cs = [], [], [], []
    for n_cells in grids:
        solution = solve_discretised(X_TOY, Y_TOY, eps, length, 0.0, 1.0, n_cells)
        h.append(solution.h)
        f_err.append(np.abs(solution.f - fit(solution.s).numpy()).max())
        c_err.append(abs(solution.c - fit.c) / fit.c)
        cs.append(solution.c)
    h = np.array(h)
    # over the finer grids (n_cells >= 80) the errors against the closed form fall like h²:
    # measured orders 1.997 to 2.000 for f and c; the coarsest grid (h/l up to 0.5) is still
    # pre-asymptotic (1.95), hence j >= 1; the roundoff floor (~1e-12) is far below the errors
    assert convergence_order(h[1:], np.array(f_err[1:])) == pytest.approx(2.0, abs=0.05)
    assert convergence_order(h[1:], np.array(c_err[1:])) == pytest.approx(2.0, abs=0.05)
    # the same without the closed form: successive differences of c fall like h² too
    steps = np.abs(np.diff(cs))
    assert convergence_order(h[1:-1], steps[1:]) == pytest.approx(2.0, abs=0.05)


# --------------------------------------------------------------------------- errors


GOOD = {
    "x": X_TOY,
    "y": Y_TOY,
    "eps": 0.05,
    "length": 0.1,
    "lower": 0.0,
    "upper": 1.0,
    "n_cells": 40,
}


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        ({"eps": 0.0}, r"^eps = 0\.0 is outside the accepted range \(0, inf\)"),
        ({"eps": -1.0}, r"^eps = -1\.0 is outside"),
        ({"eps": math.nan}, r"^eps = nan is outside"),
        ({"length": 0.0}, r"^length = 0\.0 is outside the accepted range \(0, inf\)"),
        ({"length": math.inf}, r"^length = inf is outside"),
        ({"upper": 0.0}, r"^upper = 0\.0 is outside the accepted range \(0, inf\)"),
        # declared finite (the declaration's range); its relation to lower checked in the body
        ({"upper": math.inf}, r"^upper = inf is outside the accepted range \(-inf, inf\)"),
        ({"upper": math.nan}, r"^upper = nan is outside the accepted range \(-inf, inf\)"),
        ({"lower": math.nan}, r"^lower = nan is outside the accepted range \(-inf, inf\)"),
        ({"upper": -1.0}, r"^upper = -1\.0 is outside"),
        ({"n_cells": 1}, r"^n_cells = 1 is outside the accepted range \[2, 100000000\]"),
        ({"n_cells": 40.0}, r"^n_cells = 40\.0 is not an integer"),
        ({"n_cells": 10**9}, r"^n_cells = 1000000000 is outside"),
        ({"x": X_TOY[:, None]}, r"^x has shape \(11, 1\); accepted: \(K,\) with K ≥ 1"),
        ({"x": np.zeros(0), "y": np.zeros(0)}, r"^x has shape \(0,\); accepted"),
        ({"y": Y_TOY[:-1]}, r"^x has 11 rows but y has 10; they must match"),
        ({"y": np.zeros((11, 2, 2))}, r"^y has shape \(11, 2, 2\); accepted: \(K,\) or \(K, C\)"),
        ({"y": np.where(X_TOY == 0.5, np.nan, Y_TOY)}, r"^y has 1 non-finite entries"),
        ({"x": np.where(X_TOY == 0.5, np.inf, X_TOY)}, r"^x has 1 non-finite entries"),
        ({"y": Y_TOY + 1j}, r"^y is complex; accepted: real numbers only"),
        ({"x": ["a"] * 11}, r"^x could not be read as a numeric array"),
        ({"x": X_TOY + 0.01}, r"^x has points outside \[lower, upper\] = \[0, 1\]"),
        ({"lower": 0.05}, r"^x has points outside \[lower, upper\] = \[0\.05, 1\]"),
    ],
)
def test_solve_discretised_rejects_bad_arguments(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        solve_discretised(**{**GOOD, **changes})
