"""Spectral filters and the equivalent kernel (mobahi2020 §4–5) against independent routes.

The rounds here come from refits from scratch (``fit_greens`` on the previous round's predictions),
never from a spectral engine; the filter diagonal ``B_t`` is read off the dense product of the
rounds' solves. Checks: dense solves vs eigenbasis formulas, scikit-learn's kernel ridge vs the
equivalent kernel, a brute-force grid of dense single fits vs :func:`best_single_fit`, exact
enumeration vs Monte Carlo for the Rademacher complexity.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close
from sklearn.kernel_ridge import KernelRidge

from selfdistill.data.toy import noisy_sine, toy_sine
from selfdistill.mobahi2020.greens_fit import fit_greens
from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel, GaussianKernel, kernel_by_name
from selfdistill.mobahi2020.oracles import (
    dense_equivalent,
    dense_filters,
    dense_round_filter,
    dense_single_fits,
    empirical_rademacher,
)
from selfdistill.mobahi2020.rounds import self_distill
from selfdistill.mobahi2020.spectral import (
    EquivalentKernel,
    best_single_fit,
    filter_diagonal,
    filter_distance,
    filter_predict,
    matched_single_fit,
    pair_ratio,
    rounds_below_ratio,
    single_fit_filter,
)

F64 = torch.float64
X_TOY, Y_TOY = toy_sine()
KERNELS = {"exp-0.2": ExponentialKernel(0.2), "gauss-0.1": GaussianKernel(0.1)}


def refit_rounds(kernel, x, y, eps, rounds):
    """Self-distillation by refitting from scratch: the list of fits, stopping at collapse."""
    fits, targets = [], torch.as_tensor(y, dtype=F64)
    for _ in range(rounds):
        fit = fit_greens(kernel, x, targets, eps, "cpu")
        fits.append(fit)
        if fit.collapsed:
            break
        targets = fit.train_predictions()
    return fits


def setup(kernel_name="exp-0.2", eps=0.01, rounds=4):
    kernel = KERNELS[kernel_name]
    x = torch.as_tensor(X_TOY, dtype=F64)
    G = gram(kernel, x)
    basis = eigenbasis(G)
    z0 = basis.coords(torch.as_tensor(Y_TOY, dtype=F64))
    fits = refit_rounds(kernel, X_TOY, Y_TOY, eps, rounds)
    cs = [f.c for f in fits]
    P = dense_round_filter(G, cs)
    B = torch.diagonal(basis.V @ P @ basis.V.T).clone()
    return kernel, x, G, basis, z0, fits, cs, B


# --------------------------------------------------------------------------- filters and ratios


@pytest.mark.parametrize("kernel_name", list(KERNELS))
def test_dense_filter_is_diagonal_in_eigenbasis_and_matches_refits(kernel_name):
    _, x, G, basis, z0, fits, cs, B = setup(kernel_name)
    P = dense_round_filter(G, cs)
    VPV = basis.V @ P @ basis.V.T
    off = (VPV - torch.diag(torch.diagonal(VPV))).abs().max()
    # products of commuting solves with cond(G) <~ 50: rounding ~ 1e-13 on O(1) entries
    assert float(off) < 1e-12
    assert_close(P @ torch.as_tensor(Y_TOY, dtype=F64), fits[-1].train_predictions(), 1e-11,
                 atol=1e-12, what="dense product vs last refit's predictions")
    expected = torch.ones_like(basis.d)
    for c in cs:
        expected = expected * single_fit_filter(basis.d, c)
    assert_close(B, expected, 1e-11, what="B_t = Π A(c_i)")


def test_single_fit_filter_limits_and_validation():
    d = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    assert torch.equal(single_fit_filter(d, math.inf), torch.zeros(3, dtype=F64))
    assert torch.equal(single_fit_filter(d, 0.0), torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="c = -1"):
        single_fit_filter(d, -1.0)


def test_pair_ratio_decreases_and_stays_above_eigenvalue_ratio():
    d_k, d_j = 0.3, 2.0
    cs = np.geomspace(1e-6, 1e6, 400)
    phi = pair_ratio(d_k, d_j, cs)
    assert np.all(np.diff(phi) < 0)
    assert np.all(phi > d_k / d_j)
    assert pair_ratio(d_k, d_j, 0.0) == pytest.approx(1.0, rel=1e-15)
    assert pair_ratio(d_k, d_j, 1e12) == pytest.approx(d_k / d_j, rel=1e-11)
    with pytest.raises(ValueError, match="d_j"):
        pair_ratio(2.0, 0.3, 1.0)


@pytest.mark.parametrize("eps", [0.002, 0.01])
def test_rounds_ratio_is_product_of_phis_and_crosses_when_predicted(eps):
    _, _, _, basis, _, _, cs, B = setup("exp-0.2", eps, rounds=40)
    cs = [c for c in cs if math.isfinite(c)]  # the ratio is defined up to the collapse
    assert len(cs) >= 3
    d = basis.d.numpy()
    j, k = len(d) - 1, len(d) - 2  # the two largest eigenvalues: the slowest pair to separate
    for t in range(1, len(cs)):
        Bt = np.prod([d / (c + d) for c in cs[: t + 1]], axis=0)
        ratio = Bt[k] / Bt[j]
        product = np.prod([pair_ratio(d[k], d[j], c) for c in cs[: t + 1]])
        assert ratio == pytest.approx(product, rel=1e-12)
        assert (d[k] / d[j]) ** (t + 1) <= ratio * (1 + 1e-12)
        assert ratio <= pair_ratio(d[k], d[j], cs[0]) ** (t + 1) * (1 + 1e-12)
    t_star = rounds_below_ratio(d[k], d[j], cs[0])
    phi0 = pair_ratio(d[k], d[j], cs[0])
    assert phi0 ** (t_star + 1) < d[k] / d[j] <= phi0**t_star
    if t_star < len(cs):
        Bt = np.prod([d / (c + d) for c in cs[: t_star + 1]], axis=0)
        assert Bt[k] / Bt[j] < d[k] / d[j]


# --------------------------------------------------------------------------- best single fit


def brute_force_single_fits(G, y, target, cs):
    """Distance of the dense single fit G (cI + G)⁻¹ y to ``target`` for every c of a grid."""
    eye = torch.eye(G.shape[0], dtype=F64)
    systems = torch.as_tensor(cs, dtype=F64)[:, None, None] * eye + G  # batched dense solves
    pred = (G @ torch.linalg.solve(systems, y.expand(len(cs), -1)[..., None]))[..., 0]
    return (pred - target).norm(dim=1).numpy()


@pytest.mark.parametrize("kernel_name", list(KERNELS))
@pytest.mark.parametrize("eps", [0.005, 0.02])
def test_best_single_fit_against_brute_force_grid(kernel_name, eps):
    _, x, G, basis, z0, fits, cs, B = setup(kernel_name, eps, rounds=3)
    y = torch.as_tensor(Y_TOY, dtype=F64)
    target = fits[-1].train_predictions()
    best = best_single_fit(basis.d, z0, B)
    grid = np.geomspace(1e-5, 1e3, 3000) * float(basis.d.max())
    brute = brute_force_single_fits(G, y, target, grid)
    # the routine's optimum is at least as good as every grid point (up to rounding 1e-12)...
    assert best.distance <= brute.min() * (1 + 1e-10) + 1e-13
    # ...and a grid with steps of 0.6% in c gets within O(step²) of it in distance
    assert brute.min() <= best.distance * (1 + 1e-3) + 1e-12
    assert best.distance == pytest.approx(
        float((G @ torch.linalg.solve(best.c * torch.eye(11, dtype=F64) + G, y) - target).norm()),
        rel=1e-9)
    assert best.relative == pytest.approx(best.distance / float(target.norm()), rel=1e-12)
    if len(cs) > 1:
        assert best.relative > 1e-4  # several rounds are not one fit


def test_best_single_fit_recovers_round_zero():
    _, _, _, basis, z0, _, cs, _ = setup("gauss-0.1", 0.01, rounds=1)
    best = best_single_fit(basis.d, z0, single_fit_filter(basis.d, cs[0]))
    assert best.c == pytest.approx(cs[0], rel=1e-5)
    assert best.relative < 1e-8


def test_matched_single_fit_has_the_same_training_error():
    kernel, x, G, basis, z0, fits, cs, B = setup("exp-0.2", 0.01, rounds=3)
    matched = matched_single_fit(basis, z0, B)
    y = torch.as_tensor(Y_TOY, dtype=F64)
    err_t = float((fits[-1].train_predictions() - y).square().mean())
    refit = fit_greens(kernel, X_TOY, Y_TOY, err_t, "cpu")
    assert matched.c == pytest.approx(refit.c, rel=1e-12)
    assert refit.c > cs[0]  # a larger ε means a larger c
    assert matched.distance == pytest.approx(
        float((refit.train_predictions() - fits[-1].train_predictions()).norm()), rel=1e-9)
    assert matched.distance >= best_single_fit(basis.d, z0, B).distance * (1 - 1e-12)
    assert filter_distance(basis.d, z0, B, matched.c) == pytest.approx(matched.distance)


# --------------------------------------------------------------------------- equivalent kernel


@pytest.mark.parametrize("kernel_name", list(KERNELS))
@pytest.mark.parametrize("rounds", [1, 3])
def test_equivalent_kernel_against_dense_route_and_sklearn(kernel_name, rounds):
    kernel, x, G, basis, z0, fits, cs, B = setup(kernel_name, 0.01, rounds)
    eq = EquivalentKernel(basis, B)
    grid = torch.linspace(-0.2, 1.2, 57, dtype=F64)
    g_new = kernel(grid, x) / 11
    G_dense, cross_dense = dense_equivalent(G, cs, g_new)
    scale = float(G_dense.abs().max())
    # solves with cond(I - P) and cond(G) <~ 1e3: allow 1e-10 relative to the largest entry
    assert_close(eq.gram, G_dense, 0, atol=1e-10 * scale, what="G† eigen vs dense")
    assert_close(eq.cross(g_new), cross_dense, 0, atol=1e-10 * scale, what="g†_x eigen vs dense")
    assert_close(eq.value(G, G), 11 * eq.gram, 1e-9, atol=1e-10 * 11 * scale,
                 what="g†(x_j, x_k) = K G†[j, k]")
    krr = KernelRidge(alpha=11.0, kernel="precomputed").fit(11 * G_dense.numpy(), Y_TOY)
    f_sklearn = krr.predict(11 * cross_dense.numpy())
    f_refit = fits[-1](grid)
    assert_close(f_sklearn, f_refit, 0, atol=1e-9 * float(f_refit.abs().max()),
                 what="KRR with g† on y0 vs the refit f_t")
    assert_close(eq.predict(g_new, z0), f_refit, 0, atol=1e-11 * float(f_refit.abs().max()))
    alpha = krr.dual_coef_
    norm_sq_dual = float(alpha @ (11 * G_dense.numpy()) @ alpha)
    assert eq.norm_sq(z0) == pytest.approx(norm_sq_dual, rel=1e-9)
    assert eq.trace == pytest.approx(float(torch.trace(G_dense)), rel=1e-10)


def test_rademacher_exact_below_bound_and_monte_carlo_agrees():
    _, _, G, basis, z0, _, cs, B = setup("exp-0.2", 0.01, 2)
    eq = EquivalentKernel(basis, B)
    radius = math.sqrt(eq.norm_sq(z0))
    exact, _ = empirical_rademacher(11 * eq.gram, radius)
    bound = eq.rademacher_bound(radius)
    assert 0 < exact <= bound
    assert exact >= bound / math.sqrt(2)  # Khintchine–Kahane: E|S| ≥ (E S²)^{1/2}/√2
    gen = torch.Generator().manual_seed(7)
    mc, se = empirical_rademacher(11 * eq.gram, radius, n_samples=20000, generator=gen)
    assert abs(mc - exact) < 5 * se
    # identity kernel: σᵀσ = K exactly, so R = ρ/√K and the bound is attained
    ident, _ = empirical_rademacher(torch.eye(6, dtype=F64), 2.0)
    assert ident == pytest.approx(2.0 / math.sqrt(6), rel=1e-14)


def test_equivalent_kernel_validation():
    _, _, _, basis, z0, _, _, B = setup("exp-0.2", 0.01, 1)
    with pytest.raises(ValueError, match="B has entries"):
        EquivalentKernel(basis, torch.ones(11, dtype=F64))
    with pytest.raises(ValueError, match="B has shape"):
        EquivalentKernel(basis, B[:5])
    eq = EquivalentKernel(basis, B)
    with pytest.raises(ValueError, match="g_new has shape"):
        eq.cross(torch.zeros(3, 4, dtype=F64))
    with pytest.raises(ValueError, match="radius"):
        eq.rademacher_bound(-1.0)
    with pytest.raises(ValueError, match="n_grid"):
        best_single_fit(basis.d, z0, B, n_grid=2)


def test_collapsed_filter_gives_zero_kernel():
    _, _, _, basis, z0, _, _, _ = setup("exp-0.2", 0.01, 1)
    eq = EquivalentKernel(basis, torch.zeros(11, dtype=F64))
    assert eq.trace == 0.0 and eq.norm_sq(z0) == 0.0
    assert best_single_fit(basis.d, z0, torch.zeros(11, dtype=F64)).c == math.inf


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    _, x, G, basis, z0, _, cs, B = setup("gauss-0.1", 0.01, 2)
    eq = EquivalentKernel(basis, B)
    dev = torch.device("cuda")
    from selfdistill.mobahi2020.hilbert import Eigenbasis

    eq_gpu = EquivalentKernel(Eigenbasis(basis.d.to(dev), basis.V.to(dev)), B.to(dev))
    assert_close(eq_gpu.gram, eq.gram, 1e-12, atol=1e-12)
    assert eq_gpu.norm_sq(z0.to(dev)) == pytest.approx(eq.norm_sq(z0), rel=1e-12)
    G_gpu, _ = dense_equivalent(G.to(dev), cs, (G @ torch.eye(11, dtype=F64)).to(dev))
    assert_close(G_gpu, eq.gram, 0, atol=1e-10 * float(eq.gram.abs().max()))


def test_filter_predict_gives_single_fit_and_round():
    kernel, x, G, basis, z0, fits, cs, B = setup("exp-0.2", 0.01, 2)
    grid = torch.linspace(0, 1, 33, dtype=F64)
    g_new = kernel(grid, x) / 11
    assert_close(filter_predict(basis, g_new, z0, B), fits[-1](grid), 1e-11,
                 atol=1e-13, what="f_t from its filter vs the refit")
    one = fit_greens(kernel, X_TOY, Y_TOY, 0.01, "cpu")
    assert_close(filter_predict(basis, g_new, z0, single_fit_filter(basis.d, one.c)),
                 one(grid), 1e-11, atol=1e-13, what="A(c0) vs the first fit")
    with pytest.raises(ValueError, match="P has shape"):
        filter_diagonal(basis, torch.zeros(3, 3, dtype=F64))


def test_kernel_by_name_and_noisy_sine():
    assert kernel_by_name("exponential", 0.3) == ExponentialKernel(0.3)
    assert kernel_by_name("gaussian", 0.1) == GaussianKernel(0.1)
    with pytest.raises(ValueError, match=r"^name = 'laplace' is not accepted; choose one of "
                                         r"\['exponential', 'gaussian'\]"):
        kernel_by_name("laplace", 0.1)
    x, y = noisy_sine(9, 0.5, 3)
    x2, y2 = noisy_sine(9, 0.5, 3)
    assert np.array_equal(y, y2) and x.shape == (9,) and x[0] == 0 and x[-1] == 1
    resid = y - np.sin(2 * np.pi * x)
    assert_close(resid, 0.5 * np.random.default_rng(3).standard_normal(9), 0, atol=1e-15)
    with pytest.raises(ValueError, match="noise"):
        noisy_sine(9, -1.0, 3)


def test_dense_helpers_match_refits_and_engine_filters():
    kernel, x, G, basis, z0, fits, cs, B = setup("gauss-0.1", 0.01, 3)
    rows = dense_filters(G, cs, basis)
    assert rows.shape == (len(cs), 11)
    assert_close(rows[-1], B, 1e-12, what="last row is B_t")
    expected = torch.ones_like(basis.d)
    for t, c in enumerate(cs):
        expected = expected * single_fit_filter(basis.d, c)
        assert_close(rows[t], expected, 1e-10, what=f"B_{t}")
    y = torch.as_tensor(Y_TOY, dtype=F64)
    preds = dense_single_fits(G, y, np.array([cs[0], cs[1]]))
    assert_close(preds[0], fits[0].train_predictions(), 1e-11, atol=1e-13)
    with pytest.raises(ValueError, match="cs must be positive"):
        dense_single_fits(G, y, np.array([0.0]))


@pytest.mark.parametrize("kernel_name", list(KERNELS))
def test_equivalent_trace_falls_every_round(kernel_name):
    """The trace of G†_t falls strictly every round (was the chapter claim
    mobahi2020.equivalent-trace-falls: it holds by construction, B/(1 − B) grows in B)."""
    _, _, G, basis, _, _, cs, _ = setup(kernel_name, 0.01, 4)
    run = self_distill(basis, torch.as_tensor(Y_TOY), 0.01)
    trace = [EquivalentKernel(basis, run.B[t]).trace for t in range(run.n_rounds)]
    assert all(b < a * (1 - 1e-9) for a, b in zip(trace, trace[1:], strict=False))
    dense = [float(torch.trace(dense_equivalent(G, cs[: t + 1],
                                                G)[0])) for t in range(len(cs))]
    assert all(b < a for a, b in zip(dense, dense[1:], strict=False))
