"""Spectral GD dynamics against dense matrix powers, matrix exponentials and Monte Carlo."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import assert_close, tol

from selfdistill.dong2019.dynamics import (
    early_stopping_risk,
    energy_profile,
    flow_residuals,
    gd_residuals,
    optimal_stopping_step,
    residual_factors,
    spectrum,
)
from selfdistill.dong2019.ntk import ntk_infinite

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def kernel(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=gen, dtype=F64)
    return ntk_infinite(X / X.norm(dim=1, keepdim=True))


def dense_power_residuals(H, r0, lr, ks):
    """``r ← r − ηHr`` iterated: the brute-force route (no eigen-decomposition)."""
    out, r, k = [], r0.clone(), 0
    for target in ks:
        while k < target:
            r, k = r - lr * (H @ r), k + 1
        out.append(r.clone())
    return torch.stack(out)


def test_spectrum_descending_and_reconstructs():
    H = kernel(30)
    spec = spectrum(H)
    assert bool((spec.values[:-1] >= spec.values[1:]).all())
    rebuilt = spec.vectors @ torch.diag(spec.values) @ spec.vectors.T
    assert_close(rebuilt, H, rtol=0, atol=tol("solve") * float(H.abs().max()))
    v = torch.randn(30, 2, dtype=F64)
    assert_close(spec.reconstruct(spec.coefficients(v)), v, rtol=0, atol=1e-13)


@pytest.mark.parametrize("lr_scale", [0.3, 1.0, 1.9])  # ηλ_max: monotone, at 1, oscillating
@pytest.mark.parametrize("cols", [None, 3])
def test_gd_residuals_match_iteration(lr_scale, cols):
    H = kernel(25, seed=1)
    spec = spectrum(H)
    lr = lr_scale / float(spec.values[0])
    r0 = torch.randn(25, dtype=F64) if cols is None else torch.randn(25, cols, dtype=F64)
    ks = [0, 1, 2, 7, 50, 400]
    predicted = gd_residuals(spec, r0, lr, ks)
    brute = dense_power_residuals(H, r0, lr, ks)
    # each iteration is backward stable (error ~ n u ‖r‖); over 400 contracting steps the errors
    # add up to ≲ 400 · 25 u ≈ 1e-12 relative to ‖r0‖
    assert_close(predicted, brute, rtol=0, atol=1e-11 * float(r0.abs().max()))
    assert_close(predicted[0], r0, rtol=0, atol=1e-14 * float(r0.abs().max()))


def test_residual_factors_signs_and_exact_step():
    values = torch.tensor([4.0, 1.0, 0.25], dtype=F64)
    f = residual_factors(values, 0.5, [0, 1, 3])  # 1 − ηλ = −1, 0.5, 0.875
    expected = torch.tensor([[1, 1, 1], [-1, 0.5, 0.875], [-1, 0.125, 0.875**3]], dtype=F64)
    assert_close(f, expected, rtol=tol("roundoff"))


@pytest.mark.parametrize("t", [0.0, 0.1, 1.0, 5.0])
def test_flow_matches_matrix_exponential(t):
    H = kernel(20, seed=2)
    r0 = torch.randn(20, dtype=F64)
    expected = torch.linalg.matrix_exp(-t * H) @ r0
    got = flow_residuals(spectrum(H), r0, [t])[0]
    assert_close(got, expected, rtol=0, atol=1e-12 * float(r0.abs().max()))


def test_flow_is_limit_of_small_steps():
    H = kernel(15, seed=3)
    spec = spectrum(H)
    r0 = torch.randn(15, dtype=F64)
    t, k = 2.0, 20000
    diff = (gd_residuals(spec, r0, t / k, [k])[0] - flow_residuals(spec, r0, [t])[0]).abs().max()
    # (1 − tλ/k)^k = e^{−tλ}(1 − tλ²·t/(2k) + …): error ~ t²λ_max² e^{−tλ}/(2k) ≲ 1e-3 ‖r0‖ here
    assert float(diff) < 1e-3 * float(r0.abs().max())


def dense_risk(H, y_star, M, mu, lr, k):
    """``E‖A y − y* + A e‖²`` with A = I − (I − ηH)^k by dense matrix powers; M = E eeᵀ."""
    n = H.shape[0]
    A = torch.eye(n, dtype=F64) - torch.linalg.matrix_power(torch.eye(n, dtype=F64) - lr * H, k)
    bias_vec = A @ y_star - y_star
    return float(bias_vec @ bias_vec + 2 * bias_vec @ (A @ mu) + torch.trace(A.T @ A @ M))


@pytest.mark.parametrize("rho", [0.0, 0.2, 0.45])
def test_risk_formula_matches_dense_expectation_for_flips(rho):
    n = 24
    H = kernel(n, seed=4)
    spec = spectrum(H)
    y_star = torch.sign(torch.randn(n, dtype=F64, generator=torch.Generator().manual_seed(9)))
    # sign flips at rate ρ: e_i = −2 y_i with probability ρ, so E e = −2ρ y*,
    # E eeᵀ = 4ρ(1−ρ) I + 4ρ² y* y*ᵀ, and E(v_iᵀe)² = 4ρ(1−ρ) + 4ρ²(v_iᵀy*)²
    M = 4 * rho * (1 - rho) * torch.eye(n, dtype=F64) + 4 * rho**2 * torch.outer(y_star, y_star)
    mu = -2 * rho * y_star
    second = 4 * rho * (1 - rho) + 4 * rho**2 * spec.coefficients(y_star).square()
    lr = 1.0 / float(spec.values[0])
    ks = [0, 1, 5, 30, 200]
    curve = early_stopping_risk(spec, y_star, second, lr, ks, noise_mean=mu)
    dense = torch.tensor([dense_risk(H, y_star, M, mu, lr, k) for k in ks], dtype=F64)
    assert_close(curve.total, dense, rtol=1e-10, atol=1e-12 * n)
    assert_close(curve.total[0], float(y_star @ y_star), rtol=tol("roundoff"))


@pytest.mark.slow
def test_risk_formula_matches_monte_carlo():
    n, sigma, draws = 20, 0.7, 20000
    H = kernel(n, seed=5)
    spec = spectrum(H)
    gen = torch.Generator().manual_seed(6)
    y_star = torch.randn(n, dtype=F64, generator=gen)
    lr, ks = 1.0 / float(spec.values[0]), [3, 40]
    noise = sigma * torch.randn(draws, n, dtype=F64, generator=gen)
    predicted = early_stopping_risk(spec, y_star, sigma**2, lr, ks).total
    for j, k in enumerate(ks):
        # u(k) − y* from u(0) = 0 on ỹ = y* + e, by dense iteration (batched over draws)
        r = dense_power_residuals(H, -(y_star[:, None] + noise.T), lr, [k])[0]  # u − ỹ
        err = (r + noise.T).square().sum(0)  # ‖u − y*‖² per draw
        sem = float(err.std()) / math.sqrt(draws)
        # the Monte Carlo mean is within 4 standard errors (probability of failure ~6e-5)
        assert abs(float(err.mean()) - float(predicted[j])) < 4 * sem


def test_optimal_stopping_matches_brute_force():
    n, sigma = 30, 0.8
    H = kernel(n, seed=7)
    spec = spectrum(H)
    gen = torch.Generator().manual_seed(8)
    y_star = spec.vectors[:, :3] @ torch.randn(3, dtype=F64, generator=gen) * 3  # smooth signal
    lr = 1.0 / float(spec.values[0])
    n_steps = 600
    k_star, risk_star = optimal_stopping_step(spec, y_star, sigma**2, lr, n_steps, chunk=97)
    A_powers = [torch.linalg.matrix_power(torch.eye(n, dtype=F64) - lr * H, k)
                for k in range(n_steps + 1)]
    brute = [float((P @ y_star).square().sum() + sigma**2 * ((torch.eye(n, dtype=F64) - P)
                    .square().sum())) for P in A_powers]
    k_brute = min(range(n_steps + 1), key=brute.__getitem__)
    assert 0 < k_star < n_steps, "the optimum is interior: bias falls, variance rises"
    assert k_star == k_brute
    assert_close(risk_star, brute[k_brute], rtol=1e-10)


def test_optimal_stopping_without_noise_is_last_step_and_pure_noise_first():
    H = kernel(10, seed=9)
    spec = spectrum(H)
    y_star = torch.randn(10, dtype=F64)
    lr = 1.0 / float(spec.values[0])
    assert optimal_stopping_step(spec, y_star, 0.0, lr, 50)[0] == 50
    assert optimal_stopping_step(spec, torch.zeros(10, dtype=F64), 1.0, lr, 50)[0] == 0
    # a flat curve (nothing to fit, no noise): every step ties, the earliest wins, across chunks
    assert optimal_stopping_step(spec, torch.zeros(10, dtype=F64), 0.0, lr, 50, chunk=7)[0] == 0


def test_energy_profile():
    H = kernel(40, seed=10)
    spec = spectrum(H)
    prof = energy_profile(spec, spec.vectors[:, 4] * 3)  # all energy in direction 5
    assert_close(prof[:4], 0.0, rtol=0, atol=1e-28)
    assert_close(prof[4:], 1.0, rtol=tol("roundoff"))
    noise = torch.randn(4000, 40, dtype=F64, generator=torch.Generator().manual_seed(11))
    profiles = torch.stack([energy_profile(spec, e) for e in noise[:400]])
    assert bool((profiles[:, 1:] >= profiles[:, :-1] - 1e-15).all())
    # the mean profile of isotropic noise is the diagonal j/n (sd of each entry ≲ 0.02/√400)
    j = torch.arange(1, 41, dtype=F64) / 40
    assert float((profiles.mean(0) - j).abs().max()) < 0.03
    two_cols = energy_profile(spec, torch.stack([spec.vectors[:, 0], spec.vectors[:, 1]], 1))
    assert_close(two_cols[:2], torch.tensor([0.5, 1.0], dtype=F64), rtol=tol("roundoff"))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: spectrum(torch.ones(3, 4, dtype=F64)), "square"),
        (lambda s: spectrum(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=F64)), "symmetric"),
        (lambda s: gd_residuals(s, torch.ones(5, dtype=F64), 0.1, [1]), "n = 6"),
        (lambda s: gd_residuals(s, torch.ones(6, dtype=F64), -0.1, [1]), "lr"),
        (lambda s: gd_residuals(s, torch.ones(6, dtype=F64), 0.1, [-1]), ">= 0"),
        (lambda s: gd_residuals(s, torch.ones(6, dtype=F64), 0.1, [1.5]), "integers"),
        (lambda s: flow_residuals(s, torch.ones(6, dtype=F64), [-1.0]), "times"),
        (lambda s: early_stopping_risk(s, torch.ones(6, dtype=F64), -1.0, 0.1, [1]), "noise"),
        (lambda s: early_stopping_risk(s, torch.ones(6, dtype=F64), torch.ones(5), 0.1, [1]),
         "noise_second"),
        (lambda s: optimal_stopping_step(s, torch.ones(6, dtype=F64), 1.0, 0.1, -1), "max_steps"),
        (lambda s: energy_profile(s, torch.zeros(6, dtype=F64)), "zero"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(spectrum(kernel(6)))


def test_spectrum_uses_the_one_symmetry_tolerance():
    """check_symmetric's rounding tolerance (64 n u max|H|), not the old 1e-10 relative: an
    asymmetry of 1e-11 is a wrong input; a Gram matrix X Xᵀ formed by a product passes."""
    H = kernel(6).clone()
    H[0, 1] += 1e-11 * float(H.abs().max())
    with pytest.raises(ValueError, match="H is not symmetric"):
        spectrum(H)
    X = torch.randn(50, 7, generator=torch.Generator().manual_seed(1), dtype=F64)
    assert spectrum(X @ X.T).size == 50


def _interior_condition(spec, y_star, sigma2, lr):
    """Both sides of Σ ηλ(2 − ηλ)(vᵀy*)² > σ² Σ (ηλ)², the condition R(1) < R(0)."""
    a = lr * spec.values
    b = spec.coefficients(y_star).square()
    return float((a * (2 - a) * b).sum()), float(sigma2 * a.square().sum())


@pytest.mark.parametrize("seed", range(6))
def test_interior_optimum_condition_against_brute_force(seed):
    """residual-dynamics' theorem, restated (was the claim dong2019.optimal-stopping-interior,
    which could not fail at ‖y*‖² = 60 against nσ² = 5.4): for σ > 0 and 0 < ηλ < 1 the risk
    approaches nσ² from below, so its minimiser is finite; and it is past step 0 exactly when some
    step beats R(0), which R(1) < R(0) (the condition) guarantees. Checked on both sides of the
    threshold σ_c² = Σ ηλ(2 − ηλ)b / Σ (ηλ)² by exhaustive search of the dense matrix powers."""
    n = 25
    spec = spectrum(kernel(n, seed=20 + seed))
    gen = torch.Generator().manual_seed(seed)
    y_star = spec.vectors[:, :4] @ torch.randn(4, dtype=F64, generator=gen)
    lr = 0.9 / float(spec.values[0])
    left, per_sigma2 = _interior_condition(spec, y_star, 1.0, lr)
    sigma_c2 = left / per_sigma2
    H = spec.vectors @ torch.diag(spec.values) @ spec.vectors.T
    step = torch.eye(n, dtype=F64) - lr * H
    for sigma2 in (0.5 * sigma_c2, 0.99 * sigma_c2, 1.01 * sigma_c2, 3 * sigma_c2):
        P, risks = torch.eye(n, dtype=F64), []
        for _ in range(3):
            risks.append(float((P @ y_star).square().sum()
                               + sigma2 * (torch.eye(n, dtype=F64) - P).square().sum()))
            P = step @ P
        assert (risks[1] < risks[0]) == (sigma2 < sigma_c2)
        # R(k) − nσ² = Σ q^k [q^k (b + σ²) − 2σ²] < 0 once every q_i^k < 2σ²/(b_i + σ²): a
        # finite step beats the limit nσ², so the minimiser is finite
        q = 1 - lr * spec.values
        b = spec.coefficients(y_star).square()
        ratio = (2 * sigma2 / (b + sigma2)).clamp(max=0.999)
        K = int(torch.ceil(torch.log(ratio) / torch.log(q)).max())
        late = early_stopping_risk(spec, y_star, sigma2, lr, [K, 2 * K]).total
        assert float(late.max()) < n * sigma2
        k_best, _ = optimal_stopping_step(spec, y_star, sigma2, lr, 2 * K)
        assert k_best < 2 * K and (k_best >= 1) == (min(
            float(early_stopping_risk(spec, y_star, sigma2, lr, range(0, 2 * K + 1)).total[1:]
                  .min()), n * sigma2) < risks[0])
