"""The closed form of mobahi2020 (the book's closed-form, c-equation, c-bounds) against
independent routes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol, unit_roundoff

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.finite_difference import solve_discretised
from selfdistill.mobahi2020.greens_fit import IllConditionedWarning, fit_greens
from selfdistill.mobahi2020.hilbert import Eigenbasis, c_bounds, eigenbasis, gram, solve_c
from selfdistill.mobahi2020.kernels import (
    ExponentialKernel,
    GaussianKernel,
    Kernel,
    NeumannExponentialKernel,
)
from selfdistill.mobahi2020.oracles import c_by_bisection

F64 = torch.float64
U = unit_roundoff(F64)

# the 11-point toy problem of mobahi2020 §7 (x = 0, 0.1, ..., 1), from the library's one copy
X_TOY, Y_TOY = toy_sine()
THRESHOLD_TOY = float(np.sum(Y_TOY**2)) / len(Y_TOY)  # ||y||²/K = 0.5735...


def random_problem(seed: int, K: int = 15, columns: int | None = None):
    """Jittered random inputs in [0, 1], one per interval [k/K, (k+1)/K) and at least 0.2/K
    apart (so Gram matrices stay well conditioned), smooth targets plus noise."""
    rng = np.random.default_rng(seed)
    x = (np.arange(K) + rng.uniform(0.1, 0.9, K)) / K
    shape = (K,) if columns is None else (K, columns)
    phase = 0.0 if columns is None else np.arange(columns) / columns
    y = np.sin(2 * np.pi * (x[:, None] + phase)) if columns else np.sin(2 * np.pi * x)
    return x, y + 0.3 * rng.standard_normal(shape)


PROBLEMS = {
    "toy": (X_TOY, Y_TOY),
    "random": random_problem(20240601),
}


def threshold(y: np.ndarray) -> float:
    """``‖y‖² / K`` (Frobenius for vector outputs): the collapse threshold of ε."""
    return float(np.sum(np.asarray(y) ** 2)) / len(y)


def neumann_gram_by_hand(x: np.ndarray, length: float, lower: float, upper: float) -> np.ndarray:
    """``G[j, k] = g(x_j, x_k) / K`` from the textbook cosh formula, in NumPy (no library code)."""
    lo, hi = np.minimum.outer(x, x), np.maximum.outer(x, x)
    g = (
        np.cosh((lo - lower) / length)
        * np.cosh((upper - hi) / length)
        / (length * np.sinh((upper - lower) / length))
    )
    return g / len(x)


# --------------------------------------------------------------------------- (1) vs discretised


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("eps_fraction", [0.02, 0.1, 0.5])
def test_closed_form_matches_discretised_problem(problem, length, eps_fraction):
    x, y = PROBLEMS[problem]
    eps = eps_fraction * threshold(y)
    n_cells = 160
    discrete = solve_discretised(x, y, eps, length, 0.0, 1.0, n_cells)
    fit = fit_greens(NeumannExponentialKernel(length, 0.0, 1.0), x, y, eps, device="cpu")
    f_closed = fit(discrete.s).numpy()
    step = (discrete.h / length) ** 2
    # The scheme is second order in h/l. Measured over these cases (and five other seeds) at
    # n_cells = 160 and 320: max|Δf| / max|f| <= 0.023 (h/l)² and |Δc| / c <= 0.166 (h/l)²,
    # the same constants at both grids (so truly O(h²)). Bounds: 0.05 (h/l)² and 0.25 (h/l)².
    # A missing 1/K anywhere in G or g_x changes c by the factor K = 11 or 15, i.e. |Δc|/c ~ 10.
    f_error = float(np.max(np.abs(discrete.f - f_closed)) / np.max(np.abs(f_closed)))
    c_error = abs(discrete.c - fit.c) / fit.c
    assert f_error <= 0.05 * step, f"f: {f_error:.3e} > 0.05 (h/l)² = {0.05 * step:.3e}"
    assert c_error <= 0.25 * step, (
        f"c: closed form {fit.c!r}, discretised {discrete.c!r}: "
        f"relative {c_error:.3e} > 0.25 (h/l)² = {0.25 * step:.3e}"
    )


# --------------------------------------------------------------------------- (2) vs dense solve


def gram_by_hand(kernel: Kernel, x: np.ndarray) -> np.ndarray:
    """``g(x_j, x_k) / K`` from the kernel's formula written out here in NumPy."""
    K = len(x)
    diff = np.subtract.outer(x, x)
    if isinstance(kernel, NeumannExponentialKernel):
        return neumann_gram_by_hand(x, kernel.length, kernel.lower, kernel.upper)
    if isinstance(kernel, ExponentialKernel):
        return np.exp(-np.abs(diff) / kernel.length) / (2 * kernel.length) / K
    if isinstance(kernel, GaussianKernel):
        w = kernel.width
        return np.exp(-(diff**2) / (2 * w**2)) / math.sqrt(2 * math.pi * w**2) / K
    raise TypeError(kernel)


DENSE_KERNELS = [
    NeumannExponentialKernel(0.1, 0.0, 1.0),
    NeumannExponentialKernel(0.3, -0.5, 1.5),
    ExponentialKernel(0.2),
    GaussianKernel(0.08),
]


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("kernel", DENSE_KERNELS, ids=repr)
@pytest.mark.parametrize("eps_fraction", [0.05, 0.3])
def test_closed_form_matches_dense_solve(problem, kernel, eps_fraction):
    x, y = PROBLEMS[problem]
    K = len(x)
    eps = eps_fraction * threshold(y)
    fit = fit_greens(kernel, x, y, eps, device="cpu")

    G = torch.as_tensor(gram_by_hand(kernel, x), dtype=F64)
    # the library's Gram matrix is the same numbers (kernel formula, then the 1/K)
    assert_close(gram(kernel, torch.as_tensor(x, dtype=F64)), G, rtol=tol("roundoff"), what="G")
    system = fit.c * torch.eye(K, dtype=F64) + G
    alpha = torch.linalg.solve(system, torch.as_tensor(y, dtype=F64))
    x_new = torch.linspace(0.0, 1.0, 57, dtype=F64)
    g_x = kernel(x_new, torch.as_tensor(x, dtype=F64)) / K
    f_ref = g_x @ alpha

    # both routes are backward stable: relative differences up to ~K u cond(cI + G) in α,
    # and f = g_x α adds at most that times the size of the sum's terms (|g_x| |α|)
    cond = float(torch.linalg.cond(system))
    rtol_alpha = 10 * K * U * cond
    assert rtol_alpha < 1e-10, "test data should give a well-conditioned system"
    assert_close(fit.alpha, alpha, rtol=0.0, atol=rtol_alpha * float(alpha.abs().max()), what="α")
    scale = float((g_x.abs() @ alpha.abs()).max())
    assert_close(fit(x_new), f_ref, rtol=0.0, atol=rtol_alpha * scale, what="f(x_new)")
    # evaluating at the training inputs is G α
    assert_close(fit(x), fit.train_predictions(), rtol=0.0, atol=rtol_alpha * scale)

    # c solves c-equation with eigenvalues of the hand-built G from NumPy's eigensolver
    d, vectors = np.linalg.eigh(G.numpy())
    z = vectors.T @ y
    lhs = float(np.sum((fit.c * z / (fit.c + d)) ** 2))
    assert_close(lhs, K * eps, rtol=tol("constraint"), what="c-equation left side vs Kε")


# --------------------------------------------------------------------------- (3) active constraint


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("eps_fraction", [1e-3, 0.02, 0.1, 0.5, 0.99])
def test_constraint_is_active(problem, length, eps_fraction):
    x, y = PROBLEMS[problem]
    eps = eps_fraction * threshold(y)
    fit = fit_greens(NeumannExponentialKernel(length, 0.0, 1.0), x, y, eps, device="cpu")
    assert not fit.collapsed and math.isfinite(fit.c) and fit.c > 0
    assert_close(fit.training_error(), eps, rtol=tol("constraint"), what="training error vs ε")
    # computed independently of the library's training_error()
    residual = fit(x).numpy() - y
    assert_close(np.mean(residual**2), eps, rtol=tol("constraint"), what="mean residual² vs ε")


# --------------------------------------------------------------------------- (4) monotone, bounds


@pytest.mark.slow
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
def test_c_matches_bisection_increases_with_eps_and_respects_bounds(problem, length):
    x, y = PROBLEMS[problem]
    K = len(x)
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    eigenvalues = np.linalg.eigvalsh(neumann_gram_by_hand(x, length, 0.0, 1.0))
    d_min, d_max = float(eigenvalues[0]), float(eigenvalues[-1])
    kappa = d_max / d_min
    y_norm = math.sqrt(math.fsum(y**2))
    eps_values = np.geomspace(1e-4, 0.999, 25) * threshold(y)
    cs = []
    for eps in eps_values:
        c = fit_greens(kernel, x, y, float(eps), device="cpu").c
        # the reference root: plain bisection on the dense residual (no eigenbasis, no bracket)
        reference = c_by_bisection(kernel, x, y, float(eps), device="cpu")
        # rounding: K u (κ + ε*/(ε* - ε)) relative (see GreensFit.error_estimates), 10× headroom;
        # the 1% error of a broken bracket or a wrong branch is far outside it
        near = 1 / (1 - eps / threshold(y))
        assert_close(c, reference, rtol=10 * K * U * (kappa + near), what=f"c at ε = {eps:.4g}")
        # the reference root lies inside the bounds c-bounds, from NumPy's eigenvalues, and
        # strictly so: these Gram matrices have κ > 1 and targets not along one eigenvector
        r = y_norm / math.sqrt(K * eps)
        assert d_min / (r - 1) < reference < d_max / (r - 1), f"ε = {eps:.4g}"
        cs.append(c)
    assert all(b > a for a, b in zip(cs, cs[1:], strict=False)), f"c not increasing: {cs}"
    # derived: d log c / d log ε > 1/2 (Exercise 1 of the chapter), so every secant exceeds 1/2
    slopes = np.diff(np.log(cs)) / np.diff(np.log(eps_values))
    assert slopes.min() > 0.5, slopes


def test_c_bounds_reject_collapsed_problem():
    with pytest.raises(ValueError, match=r"the problem collapses, c is infinite"):
        c_bounds(torch.ones(3, dtype=F64), y_norm=1.0, K=3, eps=1.0 / 3)


# --------------------------------------------------------------------------- (5) collapse


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
# ‖y‖² itself carries a relative rounding error of about K u ~ 2e-15; 1e-13 above the threshold
# is well clear of it, so the collapse there must not depend on rounding
@pytest.mark.parametrize("factor", [1 + 1e-13, 1.5, 10.0, 1e6])
def test_collapse_above_threshold(problem, length, factor):
    x, y = PROBLEMS[problem]
    eps = factor * threshold(y)
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    fit = fit_greens(kernel, x, y, eps, device="cpu")
    assert fit.collapsed and fit.c == math.inf
    assert torch.count_nonzero(fit.alpha) == 0
    x_new = torch.linspace(0.0, 1.0, 101, dtype=F64)
    assert torch.count_nonzero(fit(x_new)) == 0, "collapsed fit must be exactly zero"
    # the zero function's training error is ‖y‖²/K <= ε
    assert_close(fit.training_error(), threshold(y), rtol=tol("roundoff"))


def smallest_collapsing_eps(y: np.ndarray) -> float:
    """The smallest float ε with fl(‖y‖²) <= fl(K ε), ‖y‖² the correctly rounded sum of the
    rounded squares as the library documents. At the threshold itself, fl(K · fl(‖y‖²/K)) may
    round either way."""
    K = len(y)
    y_sq = math.fsum(np.asarray(y, dtype=np.float64).ravel() ** 2)
    eps = y_sq / K
    while K * eps < y_sq:
        eps = float(np.nextafter(eps, math.inf))
    while K * float(np.nextafter(eps, 0.0)) >= y_sq:
        eps = float(np.nextafter(eps, 0.0))
    return eps


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("ulps_above", [0, 1])
def test_collapse_exactly_at_threshold(problem, length, ulps_above):
    # the zero function is feasible when ‖y‖² <= Kε, so at the threshold itself the fit is zero.
    # (A collapse test on ‖V y‖² instead of ‖y‖² fails here: the rotation changes the sum by
    # several ulps, e.g. +2.7e-15 for the toy data at l = 0.3, giving c ~ 1e15, not inf.)
    x, y = PROBLEMS[problem]
    eps = smallest_collapsing_eps(y)
    for _ in range(ulps_above):
        eps = float(np.nextafter(eps, math.inf))
    fit = fit_greens(NeumannExponentialKernel(length, 0.0, 1.0), x, y, eps, device="cpu")
    assert fit.c == math.inf, f"c = {fit.c!r} at ε = ‖y‖²/K"
    assert torch.count_nonzero(fit(torch.linspace(0.0, 1.0, 11, dtype=F64))) == 0
    # one ulp below is not collapsed (K ε < ‖y‖² in floating point)
    below = float(np.nextafter(smallest_collapsing_eps(y), 0.0))
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    # one ulp below, c ~ 1/u carries an O(1) relative error, and the fit says so
    with pytest.warns(IllConditionedWarning, match="estimated relative error of c"):
        assert not fit_greens(kernel, x, y, below, device="cpu").collapsed


@pytest.mark.parametrize("length", [0.05, 0.1, 0.3])
@pytest.mark.parametrize("delta", [1e-9, 1e-6, 1e-3])
def test_not_collapsed_just_below_threshold(length, delta):
    eps = (1 - delta) * THRESHOLD_TOY
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    if delta < 1e-7:  # c is then only good to about K u / δ > 1e-6 relative: the fit says so
        with pytest.warns(IllConditionedWarning, match="estimated relative error of c"):
            fit = fit_greens(kernel, X_TOY, Y_TOY, eps, device="cpu")
    else:
        fit = fit_greens(kernel, X_TOY, Y_TOY, eps, device="cpu")
    assert not fit.collapsed and math.isfinite(fit.c)
    assert float(fit(X_TOY).abs().max()) > 0
    assert_close(fit.training_error(), eps, rtol=tol("constraint"), what="training error vs ε")
    # near the threshold c ~ 1/δ, and rounding in ‖y‖² moves it by K u / δ relative (measured
    # 0.4 of that against 60-digit arithmetic, see test_conditioning); the bisection root on
    # the dense residual has the same sensitivity, so allow 10 K u (κ + 1/δ) between them
    reference = c_by_bisection(kernel, X_TOY, Y_TOY, eps, device="cpu")
    rtol = 10 * len(X_TOY) * U * (fit.basis.condition + 1 / delta)
    assert_close(fit.c, reference, rtol=rtol, what="c vs bisection")


# --------------------------------------------------------------------------- (6) κ = 1


@pytest.mark.parametrize("d_value", [1e-3, 0.7, 25.0])
@pytest.mark.parametrize("eps_fraction", [0.01, 0.3, 0.9])
def test_equal_eigenvalues_give_c_equal_d_over_r_minus_1(d_value, eps_fraction):
    K = 6
    rng = np.random.default_rng(7)
    q, _ = np.linalg.qr(rng.standard_normal((K, K)))
    basis = Eigenbasis(d=torch.full((K,), d_value, dtype=F64), V=torch.as_tensor(q.T))
    assert basis.condition == 1.0
    z = torch.as_tensor(rng.standard_normal(K))
    z_norm_sq = float((z**2).sum())
    eps = eps_fraction * z_norm_sq / K
    c = solve_c(basis, z, eps)
    r = math.sqrt(z_norm_sq) / math.sqrt(K * eps)
    # c = d/(r - 1) in closed form; the library evaluates the same expression, possibly with
    # ‖z‖² summed in another order (a few ulps), amplified by r/(r - 1) <= 11 here
    assert_close(c, d_value / (r - 1), rtol=16 * U * r / (r - 1), what="c vs d/(r-1)")
    # and, independently of that formula, it puts the dense residual on the budget:
    # ‖c (cI + G)⁻¹ y‖² = Kε with G = Vᵀ (d I) V built and solved densely, y = Vᵀ z
    V = torch.as_tensor(q.T)
    G = V.T @ (d_value * torch.eye(K, dtype=F64)) @ V
    y = V.T @ z
    residual = c * torch.linalg.solve(c * torch.eye(K, dtype=F64) + G, y)
    assert_close(float(residual.square().sum()), K * eps, rtol=tol("constraint"), what="Kε")


def test_equal_eigenvalues_from_a_narrow_gaussian():
    # width 1e-3 at spacing 0.1: the off-diagonal kernel values exp(-5000) underflow to 0, so
    # G = d I exactly with d = g(0)/K, and the fit shrinks every target by 1/r
    kernel = GaussianKernel(1e-3)
    K = len(X_TOY)
    G = gram(kernel, torch.as_tensor(X_TOY))
    d_value = 1 / (math.sqrt(2 * math.pi) * 1e-3 * K)
    assert torch.count_nonzero(G - torch.diag(torch.diagonal(G))) == 0
    eps = 0.2 * THRESHOLD_TOY
    fit = fit_greens(kernel, X_TOY, Y_TOY, eps, device="cpu")
    r = float(np.linalg.norm(Y_TOY)) / math.sqrt(K * eps)
    # d/(r - 1) with r - 1 ~ 1.2: ulp-level differences in ‖y‖ and d only
    assert_close(fit.c, d_value / (r - 1), rtol=tol("roundoff"), what="c vs d/(r-1)")
    assert_close(fit.train_predictions(), Y_TOY * (1 - 1 / r), rtol=tol("roundoff"), what="f(x_k)")


# --------------------------------------------------------------------------- (7) vector outputs


@pytest.mark.parametrize("length", [0.05, 0.3])
@pytest.mark.parametrize("eps_fraction", [0.05, 0.5])
def test_vector_outputs_share_one_c(length, eps_fraction):
    x, Y = random_problem(99, K=15, columns=3)
    K = len(x)
    eps = eps_fraction * threshold(Y)  # Frobenius: ‖Y‖_F² / K
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    fit = fit_greens(kernel, x, Y, eps, device="cpu")
    assert isinstance(fit.c, float) and fit.alpha.shape == (K, 3)
    # the Frobenius constraint is active
    residual = fit(x).numpy() - Y
    assert_close(np.sum(residual**2) / K, eps, rtol=tol("constraint"), what="‖F - Y‖_F²/K vs ε")
    assert_close(fit.training_error(), eps, rtol=tol("constraint"))
    # every column is (cI + G)⁻¹ y_col with the one shared c
    G = torch.as_tensor(neumann_gram_by_hand(x, length, 0.0, 1.0))
    system = fit.c * torch.eye(K, dtype=F64) + G
    alpha = torch.linalg.solve(system, torch.as_tensor(Y))
    rtol_alpha = 10 * K * U * float(torch.linalg.cond(system))
    assert_close(fit.alpha, alpha, rtol=0.0, atol=rtol_alpha * float(alpha.abs().max()))
    # the shared c differs from the per-column ones (so it is not just column 0's)
    per_column = [
        fit_greens(kernel, x, Y[:, j], float(np.mean((residual[:, j]) ** 2)), device="cpu").c
        for j in range(3)
    ]
    assert_close(np.array(per_column), fit.c, rtol=tol("solve"), what="per-column c")
    column_c = [fit_greens(kernel, x, Y[:, j], eps, device="cpu").c for j in range(3)]
    assert max(abs(c - fit.c) / fit.c for c in column_c) > 1e-3


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
@pytest.mark.parametrize("length", [0.05, 0.3])
def test_single_column_equals_scalar_fit(problem, length):
    x, y = PROBLEMS[problem]
    eps = 0.1 * threshold(y)
    kernel = NeumannExponentialKernel(length, 0.0, 1.0)
    scalar = fit_greens(kernel, x, y, eps, device="cpu")
    column = fit_greens(kernel, x, y[:, None], eps, device="cpu")
    # same numbers through a matrix-matrix instead of a matrix-vector product: a few ulps
    assert_close(column.c, scalar.c, rtol=tol("roundoff"), what="c")
    assert_close(column.alpha[:, 0], scalar.alpha, rtol=0.0,
                 atol=tol("roundoff") * float(scalar.alpha.abs().max()), what="α")
    x_new = torch.linspace(0.0, 1.0, 23, dtype=F64)
    assert column(x_new).shape == (23, 1) and scalar(x_new).shape == (23,)


# --------------------------------------------------------------------------- (8) errors


NEUMANN = NeumannExponentialKernel(0.1, 0.0, 1.0)


@pytest.mark.parametrize("eps", [0.0, -0.1, math.nan, math.inf, "small"])
def test_fit_rejects_bad_eps(eps):
    with pytest.raises(ValueError, match=r"^eps = .* \(0, inf\)"):
        fit_greens(NEUMANN, X_TOY, Y_TOY, eps, device="cpu")


def test_solve_c_rejects_bad_eps():
    basis = eigenbasis(gram(NEUMANN, torch.as_tensor(X_TOY)))
    with pytest.raises(ValueError, match=r"^eps = 0\.0 is outside"):
        solve_c(basis, basis.coords(torch.as_tensor(Y_TOY)), 0.0)


@pytest.mark.parametrize(
    ("x", "y", "pattern"),
    [
        (np.where(X_TOY == 0.5, np.nan, X_TOY), Y_TOY, r"^x has 1 non-finite entries"),
        (X_TOY, np.where(X_TOY == 0.5, np.nan, Y_TOY), r"^y has 1 non-finite entries"),
        (X_TOY, np.where(X_TOY == 0.5, np.inf, Y_TOY), r"^y has 1 non-finite entries"),
        (X_TOY, Y_TOY[:-1], r"^x has 11 rows but y has 10; they must match"),
        (X_TOY[:-1], Y_TOY[:, None], r"^x has 10 rows but y has 11"),
        (X_TOY[:, None, None], Y_TOY, r"^x has shape \(11, 1, 1\)"),
        (X_TOY, np.zeros((11, 2, 2)), r"^y has shape \(11, 2, 2\)"),
        (np.zeros(0), np.zeros(0), r"^x has no rows"),
        (["a"] * 11, Y_TOY, r"^x could not be read as a numeric array"),
        (np.array([0.0, 0.5, 0.5, 1.0]), np.ones(4), r"^G is not positive definite"),
        (np.array([0.2, 1.2]), np.ones(2), r"^x has points outside the kernel's domain"),
    ],
)
def test_fit_rejects_bad_data(x, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit_greens(NEUMANN, x, y, 0.01, device="cpu")


def test_fit_rejects_too_wide_gaussian():
    # width 1 at spacing 0.1: G is numerically singular (smallest eigenvalue ~ 1e-18 vs 0.36)
    with pytest.raises(ValueError, match=r"^G is not positive definite: smallest eigenvalue"):
        fit_greens(GaussianKernel(1.0), X_TOY, Y_TOY, 0.01, device="cpu")


def test_fit_rejects_unknown_device():
    with pytest.raises(ValueError, match=r"^device = 'tpu'"):
        fit_greens(NEUMANN, X_TOY, Y_TOY, 0.01, device="tpu")


@pytest.mark.parametrize(
    ("G", "pattern"),
    [
        (torch.ones(2, 3, dtype=F64), r"^G has shape \(2, 3\); accepted: a square \(n, n\) matrix"),
        (torch.ones(3, dtype=F64), r"^G has shape \(3,\) \(1 dimensions\)"),
        (torch.tensor([[1.0, 0.5], [0.4, 1.0]], dtype=F64), r"^G is not symmetric"),
        (torch.tensor([[1.0, math.nan], [math.nan, 1.0]], dtype=F64), r"^G has 2 non-finite"),
        (torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=F64), r"^G is not positive definite"),
        (torch.zeros(2, 2, dtype=F64), r"^G is not positive definite"),
    ],
)
def test_eigenbasis_rejects(G, pattern):
    with pytest.raises(ValueError, match=pattern):
        eigenbasis(G)


def test_eigenbasis_reconstructs_G():
    G = gram(NEUMANN, torch.as_tensor(X_TOY))
    basis = eigenbasis(G)
    assert bool((basis.d[1:] >= basis.d[:-1]).all()), "eigenvalues must be ascending"
    rebuilt = basis.V.T @ torch.diag(basis.d) @ basis.V
    # eigh is backward stable: ‖VᵀDV - G‖ <~ K u ‖G‖
    assert_close(rebuilt, G, rtol=0.0, atol=tol("roundoff") * float(G.abs().max()), what="VᵀDV")
    assert_close(basis.V @ basis.V.T, torch.eye(11, dtype=F64), rtol=0.0, atol=tol("roundoff"))


# --------------------------------------------------------------------------- device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_cuda_matches_cpu(problem):
    x, y = PROBLEMS[problem]
    eps = 0.1 * threshold(y)
    kernel = NeumannExponentialKernel(0.1, 0.0, 1.0)
    cpu = fit_greens(kernel, x, y, eps, device="cpu")
    gpu = fit_greens(kernel, x, y, eps, device="cuda")
    assert gpu.alpha.device.type == "cuda" and gpu.alpha.dtype == F64
    x_new = torch.linspace(0.0, 1.0, 41, dtype=F64)
    f_cpu, f_gpu = cpu(x_new), gpu(x_new).cpu()
    # two float64 eigensolvers: eigenvalues agree to K u d_max, and c, α, f then agree to a
    # small multiple of K u κ (κ <= 50 here), far inside tol("solve")
    assert cpu.basis.condition < 50
    assert_close(gpu.c, cpu.c, rtol=tol("solve"), what="c on CUDA vs CPU")
    assert_close(f_gpu, f_cpu, rtol=0.0, atol=tol("solve") * float(f_cpu.abs().max()), what="f")
    assert_close(gpu.training_error(), eps, rtol=tol("constraint"))
