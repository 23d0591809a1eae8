"""Self-distillation rounds (mobahi2020 §2–§4): the spectral engine against independent routes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol, unit_roundoff

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.hilbert import Eigenbasis, eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel, GaussianKernel
from selfdistill.mobahi2020.oracles import refit_rounds
from selfdistill.mobahi2020.rounds import (
    collapse_bounds,
    effective_count,
    ratio_bounds,
    self_distill,
    self_distill_fixed_c,
)

F64 = torch.float64
U = unit_roundoff(F64)


def problem(K: int, seed: int = 0, columns: int | None = None):
    """Toy data for K = 11, else jittered inputs in [0, 1] (one per cell, ≥ 0.2/K apart, so the
    Gram matrix stays well conditioned) and noisy sine targets."""
    if K == 11 and columns is None:
        x, y = toy_sine()
    else:
        rng = np.random.default_rng(seed)
        x = (np.arange(K) + rng.uniform(0.1, 0.9, K)) / K
        shape = (K,) if columns is None else (K, columns)
        y = np.sin(2 * np.pi * x)[:, None] if columns else np.sin(2 * np.pi * x)
        y = y + 0.3 * rng.standard_normal(shape)
    return torch.tensor(x, dtype=F64), torch.tensor(y, dtype=F64)


KERNELS = {"exp-0.1": ExponentialKernel(0.1), "exp-0.3": ExponentialKernel(0.3),
           "gauss-0.03": GaussianKernel(0.03), "gauss-0.1": GaussianKernel(0.1)}
# gauss-0.1 is positive definite in float64 only for the 11 toy points (κ ≈ 50); gauss-0.03 has
# κ ≈ 1.02 there (almost κ = 1) and κ ≈ 2e3 for 40 points
GRID = [(k, K, frac) for k in KERNELS for K in (11, 40) for frac in (0.3, 0.03, 0.003)
        if not (k == "gauss-0.1" and K == 40)]


def setup(kernel: str, K: int, frac: float, columns: int | None = None):
    x, y = problem(K, columns=columns)
    G = gram(KERNELS[kernel], x)
    eps = frac * float(y.square().sum()) / K  # a fraction of the collapse threshold ‖y‖²/K
    return x, y, G, eigenbasis(G), eps


@pytest.mark.parametrize("kernel, K, frac", GRID)
def test_spectral_matches_refit_round_by_round(kernel, K, frac):
    _, y, G, basis, eps = setup(kernel, K, frac)
    spec, refit = self_distill(basis, y, eps), refit_rounds(G, y, eps)
    assert spec.collapse_round == refit.collapse_round
    # both root-finds stop at ~4u in c; y_t carries rounding of order K u per round, and c_t
    # amplifies a relative error of y_t by ≲ r_t/(r_t − 1), large only next to collapse. Over
    # this grid (≤ 24 rounds, κ ≤ 2e3) the largest gaps measured were 1.1e-13 in c and 3e-15
    # (relative to max|y_0|) in y: bounds 1e-12 and 3e-14 leave ~10×, while a wrong A_t, a
    # swapped index convention or a lost round errs by O(1)
    assert_close(spec.c, refit.c, rtol=1e-12, what="c_t")
    scale = float(y.abs().max())
    assert_close(spec.y, refit.y, rtol=0, atol=3e-14 * scale, what="y_t")


@pytest.mark.parametrize("kernel, K, frac", GRID[::2])
def test_each_round_sits_on_its_constraint(kernel, K, frac):
    _, y, G, basis, eps = setup(kernel, K, frac)
    spec = self_distill(basis, y, eps)
    gaps = (spec.y[:-1] - spec.y[1:]).square().sum(1) / K  # dense differences, not (E3)
    assert_close(gaps, eps, rtol=tol("constraint"), what="(1/K)‖y_t − y_{t+1}‖²")
    norms = spec.norms()
    assert bool((norms[1:] < norms[:-1]).all()) and bool((spec.c[1:] > spec.c[:-1]).all())
    assert float(norms[-1]) ** 2 <= K * eps < float(norms[-2]) ** 2


@pytest.mark.parametrize("kernel, K, frac", GRID)
def test_collapse_count_and_per_round_steps_within_bounds(kernel, K, frac):
    _, y, _, basis, eps = setup(kernel, K, frac)
    spec = self_distill(basis, y, eps)
    r, kappa = spec.r().numpy(), spec.kappa
    b = collapse_bounds(float(r[0]), kappa)
    assert b.lower_notes <= b.lower <= spec.collapse_round <= b.upper
    steps = r[:-1] - r[1:]  # r_t − r_{t+1} ∈ [1/κ, 1] (triangle inequality and its converse)
    slack = 1e-12 * r[:-1]
    assert bool((steps >= 1 / kappa - slack).all()) and bool((steps <= 1 + slack).all())


def test_kappa_one_count_is_exact():
    K, d = 7, 0.3
    basis = Eigenbasis(d=torch.full((K,), d, dtype=F64), V=torch.eye(K, dtype=F64))
    y = torch.tensor(np.random.default_rng(3).standard_normal(K), dtype=F64)
    for r0 in (1.5, 2.25, 4.7, 9.01, 17.6):  # away from integers, where rounding decides
        eps = float(y.square().sum()) / (K * r0**2)
        spec = self_distill(basis, y, eps)
        b = collapse_bounds(r0, 1.0)
        assert spec.collapse_round == b.lower == b.upper == math.ceil(r0 - 1)
        steps = torch.arange(spec.n_rounds + 1, dtype=F64)
        assert_close(spec.r(), r0 - steps, rtol=0, atol=1e-13 * r0)


@pytest.mark.parametrize("kernel", ["exp-0.1", "exp-0.3", "gauss-0.03"])
def test_aligned_eigenvector_attains_lower_bound(kernel):
    _, _, _, basis, _ = setup(kernel, 40, 0.1)
    y = 2.0 * basis.V[-5]  # targets along one eigenvector: every round shrinks by exactly √(Kε)
    for r0 in (3.4, 12.6):
        eps = float(y.square().sum()) / (40 * r0**2)
        spec = self_distill(basis, y, eps)
        assert spec.collapse_round == collapse_bounds(r0, spec.kappa).lower == math.ceil(r0 - 1)
        steps = torch.arange(spec.n_rounds + 1, dtype=F64)
        assert_close(spec.r(), r0 - steps, rtol=0, atol=1e-12 * r0)


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_pairwise_ratio_bounds(kernel):
    _, y, _, basis, eps = setup(kernel, 11, 0.003)
    spec = self_distill(basis, y, eps)
    d = basis.d.tolist()
    for t in range(spec.n_rounds):
        for j in range(11):
            for k in range(j):  # d_k < d_j
                lo, hi = ratio_bounds(d[k], d[j], float(spec.c[0]), t)
                ratio = float(spec.B[t, k] / spec.B[t, j])
                assert lo * (1 - 1e-12) <= ratio <= hi * (1 + 1e-12)
                if t == 0:  # the upper bound is attained at round 0: ratio = φ(c_0)
                    assert abs(ratio / hi - 1) <= 1e-12


def test_predictions_match_refit_and_the_B_form():
    x, y, G, basis, eps = setup("exp-0.1", 40, 0.01)
    kernel = KERNELS["exp-0.1"]
    spec, refit = self_distill(basis, y, eps), refit_rounds(G, y, eps)
    grid = torch.linspace(-0.2, 1.2, 57, dtype=F64)
    cross = kernel(grid, x) / 40
    z0 = basis.coords(y)
    # |y| ≤ 1.6, K = 40 well-conditioned sums: rounding ~1e-15; 1e-13 allows the rounds' drift
    for t in range(spec.n_rounds):
        assert_close(spec.predict(t, cross), cross @ refit.alpha[t], rtol=0, atol=1e-13)
        b_form = cross @ (basis.V.T @ (spec.B[t] / basis.d * z0))  # (E6)
        assert_close(spec.predict(t, cross), b_form, rtol=0, atol=1e-13)
        assert_close(spec.predict(t, G), spec.fit_at(t), rtol=0, atol=1e-13)


@pytest.mark.parametrize("kernel", ["exp-0.1", "gauss-0.03"])
def test_vector_targets(kernel):
    _, Y, G, basis, eps = setup(kernel, 40, 0.01, columns=3)
    spec, refit = self_distill(basis, Y, eps), refit_rounds(G, Y, eps)
    assert spec.y.shape == (spec.n_rounds + 1, 40, 3) and spec.A.shape == (spec.n_rounds, 40)
    assert spec.collapse_round == refit.collapse_round
    assert_close(spec.c, refit.c, rtol=1e-12, what="shared c_t")  # as for scalar targets
    assert_close(spec.y, refit.y, rtol=0, atol=3e-14 * float(Y.abs().max()), what="Y_t")
    single = self_distill(basis, Y[:, :1], eps)  # one column: the same as scalar targets
    scalar = self_distill(basis, Y[:, 0], eps)
    assert_close(single.c, scalar.c, rtol=tol("roundoff"))


def test_fixed_c_is_a_matrix_power():
    x, y, G, basis, _ = setup("exp-0.1", 40, 0.1)
    c, rounds = 0.05, 6
    spec = self_distill_fixed_c(basis, y, c, rounds)
    assert spec.collapse_round is None and spec.n_rounds == rounds
    P = G @ torch.linalg.inv(c * torch.eye(40, dtype=F64) + G)  # dense, no eigenbasis
    for t in range(rounds + 1):
        assert_close(spec.y[t], torch.linalg.matrix_power(P, t) @ y, rtol=0, atol=1e-12)
    a = basis.d / (c + basis.d)
    assert_close(spec.B[-1], a**rounds, rtol=tol("roundoff"))


def test_rounds_cap_and_errors_past_collapse():
    _, y, G, basis, eps = setup("exp-0.1", 11, 0.03)
    full = self_distill(basis, y, eps)
    N = full.collapse_round
    assert N >= 3
    with pytest.raises(ValueError, match=f"collapse round {N}"):
        full.fit_at(N)
    with pytest.raises(ValueError, match=f"collapse round {N}"):
        full.predict(N + 2, G)
    capped = self_distill(basis, y, eps, rounds=2)
    assert capped.n_rounds == 2 and capped.collapse_round is None
    assert_close(capped.y, full.y[:3], rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"accepted integers in \[0, 1\]"):
        capped.fit_at(2)
    beyond = self_distill(basis, y, eps, rounds=N + 5)
    assert beyond.n_rounds == N and beyond.collapse_round == N
    zero = self_distill(basis, y, 2 * float(y.square().mean()))  # collapses at round 0
    assert zero.collapse_round == 0 and zero.n_rounds == 0 and zero.B.shape == (0, 11)


@pytest.mark.parametrize("call, message", [
    (lambda b, y: self_distill(b, y, 0.0), r"eps = 0.0 is outside the accepted range \(0, inf\)"),
    (lambda b, y: self_distill(b, y, -1), "eps"),
    (lambda b, y: self_distill(b, y, 0.1, rounds=-1), "rounds = -1 is outside"),
    (lambda b, y: self_distill(b, y, 0.1, rounds=2.5), "rounds = 2.5 is not an integer"),
    (lambda b, y: self_distill(b, y[:5], 0.1), "first dimension must be K = 11"),
    (lambda b, y: self_distill_fixed_c(b, y, 0.0, 3), r"c = 0.0 is outside .*\(0, inf\)"),
    (lambda b, y: self_distill_fixed_c(b, y, 0.1, -2), "rounds = -2"),
    (lambda b, y: refit_rounds(torch.ones(3, 4, dtype=F64), y, 0.1),
     r"^G has shape \(3, 4\); accepted: a square \(n, n\) matrix"),
    (lambda b, y: refit_rounds(torch.tensor([[1.0, 0.5], [0.4, 1.0]], dtype=F64), y[:2], 0.1),
     r"^G is not symmetric"),
    (lambda b, y: collapse_bounds(3.0, 0.5), r"kappa = 0.5 .*\[1, inf\)"),
    (lambda b, y: ratio_bounds(2.0, 1.0, 0.1, 0), "must be below"),
    (lambda b, y: effective_count(-torch.ones(3)), "negative"),
])
def test_invalid_arguments_are_named(call, message):
    _, y, _, basis, _ = setup("exp-0.1", 11, 0.1)
    with pytest.raises(ValueError, match=message):
        call(basis, y)


def test_effective_count():
    b = torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.2, 0.2, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=F64)
    assert_close(effective_count(b), torch.tensor([3.0, 2.0, 1.0], dtype=F64), rtol=tol("roundoff"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x, y, G, basis, eps = setup("gauss-0.03", 40, 0.003)
    cpu = self_distill(basis, y, eps)
    gpu_basis = eigenbasis(G.cuda())
    gpu = self_distill(gpu_basis, y.cuda(), eps)
    assert gpu.y.is_cuda and gpu.collapse_round == cpu.collapse_round
    # two different eigensolvers: the same c_t to the accuracy of the eigenvalues
    # (K u κ ~ 40 · 1e-16 · 5e1 ≈ 2e-13 relative) accumulated over the rounds
    assert_close(gpu.c, cpu.c, rtol=1e-10)
    assert_close(gpu.y.cpu(), cpu.y, rtol=0, atol=1e-11)
    assert_close(refit_rounds(G.cuda(), y.cuda(), eps).y.cpu(), cpu.y, rtol=0, atol=1e-11)


def test_refit_bracket_at_kappa_one():
    """With G = dI the bound ĝ ≥ d_max is attained: the refit's bracket must still hold."""
    K, d = 9, 0.1
    G = d * torch.eye(K, dtype=F64)
    y = torch.tensor(np.random.default_rng(5).standard_normal(K), dtype=F64)
    for r0 in (1.3, 2.7, 8.2):
        eps = float(y.square().sum()) / (K * r0**2)
        refit = refit_rounds(G, y, eps)
        assert refit.collapse_round == math.ceil(r0 - 1)
        assert_close(refit.c, d / (r0 - 1 - torch.arange(refit.collapse_round, dtype=F64)),
                     rtol=1e-13, what="c_t = d/(r_t − 1) at κ = 1")
