"""The independent routes of the dong2019 chapters (selfdistill.dong2019.oracles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol

from selfdistill.data.sphere import clusterable_sphere
from selfdistill.dong2019.dynamics import energy_profile, spectrum
from selfdistill.dong2019.ntk import ntk_infinite
from selfdistill.dong2019.oracles import (
    angular_quadrature,
    direction_moments,
    linear_noise_draws,
    sign_flip_noise,
    top_energy_lanczos,
)

F64 = torch.float64


@pytest.mark.parametrize("theta", [0.0, 0.7, math.pi / 2, 2.5, math.pi])
def test_angular_quadrature_hand_values(theta):
    # hand-evaluated integrals: the arc has length π − θ; ∫cosφcos(φ−θ) over it is
    # ((π−θ)cosθ + sinθ)/2
    first = math.cos(theta) * (math.pi - theta) / (2 * math.pi)
    second = ((math.pi - theta) * math.cos(theta) + math.sin(theta)) / math.pi / 2
    assert_close(angular_quadrature(theta), first, rtol=1e-9, atol=1e-13)
    assert_close(angular_quadrature(theta, "both"), first + second, rtol=1e-9, atol=1e-13)


def test_lanczos_share_matches_dense():
    X, y, _ = clusterable_sphere(80, 8, 4, 0.5, seed=0)
    H = ntk_infinite(X)
    assert_close(top_energy_lanczos(H, y, 4), energy_profile(spectrum(H), y)[3], rtol=1e-9)
    # k ≥ 1 is declared; its upper end n − 1 is the body's
    with pytest.raises(ValueError, match=r"^k = 80 is outside the accepted range \[1, 79\]"):
        top_energy_lanczos(H, y, 80)


def test_flip_noise_and_moments():
    gen = torch.Generator().manual_seed(0)
    y = torch.where(torch.arange(30) % 2 == 0, 1.0, -1.0).to(F64)
    e = sign_flip_noise(y, 0.25, 20000, gen)
    assert set(torch.unique(e * y).tolist()) <= {0.0, -2.0}
    assert abs(float((e != 0).to(F64).mean()) - 0.25) < 0.005  # sd 0.0007
    V = torch.linalg.qr(torch.randn(30, 30, dtype=F64, generator=gen)).Q
    mean, sem = direction_moments(V, e, center=-0.5 * y)
    assert np.max(np.abs(mean - 0.75) / sem) < 5  # 4ρ(1−ρ) = 0.75


def test_linear_noise_draws_match_closed_form():
    X, y, _ = clusterable_sphere(20, 5, 2, 0.5)
    H = ntk_infinite(X)
    noise = torch.randn(3, 20, dtype=F64)
    risks = linear_noise_draws(H, y, noise, 0.1, 50)
    A = torch.eye(20, dtype=F64) - torch.linalg.matrix_power(torch.eye(20, dtype=F64) - 0.1 * H, 50)
    direct = ((A @ (y[:, None] + noise.T)) - y[:, None]).square().sum(0)
    assert_close(risks[:, -1], direct, rtol=1e-11)
    assert_close(risks[:, 0], float(y @ y), rtol=tol("roundoff"))


def test_gaussian_noise_is_flat_along_the_ntk_eigenvectors():
    gen = torch.Generator().manual_seed(0)
    X, _, _ = clusterable_sphere(120, 20, 4, 0.5, seed=0)
    V = spectrum(ntk_infinite(X)).vectors
    sigma = 0.5
    draws = sigma * torch.randn(4000, 120, generator=gen, dtype=F64)
    mean, sem = direction_moments(V, draws)
    # each MC mean is ~normal; over 120 directions |z| > 5 has probability ~1e-4, while a
    # non-orthonormal basis (e.g. V scaled by λ) gives |z| in the hundreds
    assert np.max(np.abs(mean - sigma**2) / sem) < 5
    mean_bad, sem_bad = direction_moments(V * 1.1, draws)
    assert np.max(np.abs(mean_bad - sigma**2) / sem_bad) > 5


@pytest.mark.parametrize("rho", [0.1, 0.3])
def test_sign_flip_noise_has_mean_minus_two_rho_y(rho):
    gen = torch.Generator().manual_seed(1)
    _, y, _ = clusterable_sphere(120, 20, 4, 0.5, seed=0)
    draws = sign_flip_noise(y, rho, 4000, gen)
    target = -2 * rho * y
    shift = float((draws.mean(0) - target).norm() / target.norm())
    # relative MC error √((1−ρ)/(ρN)) in expectation; 4× fails with negligible probability,
    # while a mean of −ρy* (a wrong factor) errs by 0.5
    assert shift < 4 * math.sqrt((1 - rho) / (rho * 4000))


def test_width_study_takes_a_count_of_seeds_and_bounds_the_net_seeds():
    from selfdistill.dong2019.oracles import width_study

    X, _, _ = clusterable_sphere(12, 4, 2, 0.5, seed=0)
    study = width_study(X, ntk_infinite(X), [64, 1024], seeds=3, seed=1)
    assert study.errors.shape == (2, 3)
    assert study.rms[1] < study.rms[0]  # wider nets are closer to the limit
    with pytest.raises(ValueError, match="seeds"):
        width_study(X, ntk_infinite(X), [64], seeds=0)
    # the study's seed is refused before any net is built (seed·10⁶ would pass SEED_MAX)
    with pytest.raises(ValueError, match=r"^seed = 4295 is outside"):
        width_study(X, ntk_infinite(X), [64], seeds=1, seed=4295)

