"""The data-free sparsification bound of bt-sparsification and its ε → 0 limit, the sweep of the
weight ratio over ε, and the count of basis functions (never grows): unit tests of the algebra
that the chapter's claims rest on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel, GaussianKernel
from selfdistill.mobahi2020.rounds import ratio_bounds, self_distill
from selfdistill.mobahi2020.studies import (
    count_above,
    data_free_ratio_bound,
    data_free_ratio_limit,
    data_free_worst,
    final_alignment,
    ratio_sweep,
    top_alignment,
)

F64 = torch.float64


def _problem(kernel, K: int = 11, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = torch.tensor(np.linspace(0, 1, K), dtype=F64)
    y = torch.tensor(np.sin(2 * np.pi * x.numpy()) + 0.3 * rng.standard_normal(K), dtype=F64)
    G = gram(kernel, x)
    return y, G, eigenbasis(G)


def test_data_free_bound_is_phi_at_the_lower_bound_of_c():
    d_k, d_j, d_min, r0, t = 0.3, 0.9, 0.2, 7.5, 3
    cbar = d_min / (r0 - 1)
    phi = d_k / d_j * (cbar + d_j) / (cbar + d_k)
    assert data_free_ratio_bound(d_k, d_j, d_min, r0, t) == pytest.approx(phi ** (t + 1),
                                                                          rel=1e-14)
    # above the data-dependent bound for any c_0 ≥ c̄ (φ falls in c)
    for c0 in (cbar, 2 * cbar, 10 * cbar):
        assert ratio_bounds(d_k, d_j, c0, t)[1] <= data_free_ratio_bound(d_k, d_j, d_min, r0,
                                                                         t) * (1 + 1e-14)


def test_limit_near_interpolation():
    d_k, d_j, d_min = 0.3, 0.9, 0.2
    limit = data_free_ratio_limit(d_k, d_j, d_min)
    assert limit == pytest.approx(math.exp(d_min / d_j - d_min / d_k), rel=1e-15)
    gaps = [abs(data_free_ratio_bound(d_k, d_j, d_min, m + 1.0, m - 1) / limit - 1)
            for m in (10, 100, 1000, 10000)]
    assert all(a > b for a, b in zip(gaps, gaps[1:], strict=False))  # converges
    assert gaps[-1] < 1e-4
    # from above: (1 + a/m)^m / (1 + b/m)^m > e^{a−b} for a < b
    assert data_free_ratio_bound(d_k, d_j, d_min, 101.0, 99) > limit


def test_kappa_one_pair_and_bad_arguments():
    with pytest.raises(ValueError, match="d_min <= d_k < d_j"):
        data_free_ratio_bound(0.5, 0.5, 0.5, 3.0, 0)
    with pytest.raises(ValueError, match="r0"):
        data_free_ratio_bound(0.3, 0.9, 0.2, 1.0, 0)
    with pytest.raises(ValueError, match="t ="):
        data_free_ratio_bound(0.3, 0.9, 0.2, 3.0, -1)


@pytest.mark.parametrize("kernel", [ExponentialKernel(0.1), GaussianKernel(0.1)])
def test_bound_holds_on_the_rounds_and_worst_is_its_log_ratio(kernel):
    y, G, basis = _problem(kernel)
    K = len(y)
    eps = np.geomspace(1e-3, 0.3, 5) * float(y.square().sum()) / K
    d = basis.d.numpy()
    worst = data_free_worst(d, y, basis, eps)
    assert worst >= 1.0
    # brute force over every pair and round
    brute = math.inf
    for e in eps:
        B = self_distill(basis, y, float(e)).B.numpy()
        r0 = float(y.norm()) / math.sqrt(K * e)
        for t in range(B.shape[0]):
            for j in range(K):
                for k in range(j):
                    bound = data_free_ratio_bound(d[k], d[j], d[0], r0, t)
                    brute = min(brute, math.log(B[t, k] / B[t, j]) / math.log(bound))
    assert worst == pytest.approx(brute, rel=1e-9)


def test_worst_is_one_when_every_c_equals_its_lower_bound():
    # y along the d_min eigenvector (row 0 of V) attains c_0 = c̄ (lem-c-bounds), so round 0's
    # log ratio equals the bound's: the smallest is exactly 1 up to rounding
    y, G, basis = _problem(ExponentialKernel(0.2))
    y0 = 2.0 * basis.V[0] / basis.V[0].norm()
    K = len(y)
    eps = np.array([0.05 * float(y0.square().sum()) / K])
    worst = data_free_worst(basis.d.numpy(), y0, basis, eps)
    assert worst == pytest.approx(1.0, abs=1e-9)


def test_ratio_sweep_matches_the_rounds():
    y, G, basis = _problem(ExponentialKernel(0.1))
    K = len(y)
    eps = np.array([0.01, 0.1]) * float(y.square().sum()) / K
    s = ratio_sweep(basis, y, eps, 0, K - 1)
    for i, e in enumerate(eps):
        rs = self_distill(basis, y, float(e))
        ratio = (rs.B[:, 0] / rs.B[:, -1]).numpy()
        assert s.t_star[i] == rs.collapse_round
        assert s.last[i] == ratio[-1] and s.one_fit[i] == ratio[0]
        assert s.at_guaranteed[i] == ratio[math.ceil(s.r0[i] - 1) - 1]
    with pytest.raises(ValueError, match="eps"):
        ratio_sweep(basis, y, np.array([2.0 * float(y.square().sum()) / K]), 0, K - 1)


@pytest.mark.parametrize(("k", "j", "pattern"), [
    (0, "K", r"^j = \d+ is outside the accepted range \[0, \d+\]"),  # was an IndexError
    (-1, "K-1", r"^k = -1 is outside the accepted range \[0, inf\)"),  # was a silent wrap
    (0.0, "K-1", r"^k = 0\.0 is not an integer"),
])
def test_ratio_sweep_refuses_indices_outside_the_spectrum(k, j, pattern):
    y, _, basis = _problem(ExponentialKernel(0.1))
    K = len(y)
    j = {"K": K, "K-1": K - 1}[j]
    eps = np.array([0.01]) * float(y.square().sum()) / K
    with pytest.raises(ValueError, match=pattern):
        ratio_sweep(basis, y, eps, k, j)


@pytest.mark.parametrize("kernel", [ExponentialKernel(0.1), GaussianKernel(0.07)])
@pytest.mark.parametrize("tau", [0.2, 0.5, 0.8])
def test_count_never_grows(kernel, tau):
    y, G, basis = _problem(kernel)
    spec = self_distill(basis, y, 0.002 * float(y.square().sum()) / len(y))
    n = count_above(spec.B, tau).numpy()
    assert (np.diff(n) <= 0).all()


@pytest.mark.parametrize("kernel", [ExponentialKernel(0.1), GaussianKernel(0.2)])
@pytest.mark.parametrize("m", [1, 3])
def test_alignment_with_the_top_never_falls(kernel, m):
    """lem-sd-alignment (was the claim mobahi2020.rounds-align-with-top-eigenvectors)."""
    y, G, basis = _problem(kernel)
    spec = self_distill(basis, y, 0.01 * float(y.square().sum()) / len(y))
    rho = top_alignment(spec.y, basis, m).numpy()
    assert (np.diff(rho) >= -1e-12).all()


def test_final_alignment_is_the_last_rounds():
    y, G, basis = _problem(ExponentialKernel(0.3))
    eps = np.array([0.1, 0.001]) * float(y.square().sum()) / len(y)
    final, last = final_alignment(basis, y, eps, 2)
    for e, f, t in zip(eps, final, last, strict=True):
        spec = self_distill(basis, y, float(e))
        assert t == spec.n_rounds - 1
        assert f == pytest.approx(float(top_alignment(spec.y[t:t + 1], basis, 2)[0]), rel=1e-14)
    assert final[1] > final[0]
    with pytest.raises(ValueError, match="eps"):
        final_alignment(basis, y, np.array([10.0]), 2)
