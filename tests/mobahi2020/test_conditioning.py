"""Where the bounds on c are attained, the ends of the ε range, and ill-conditioning.

References: the closed form ``c = d_k / (r - 1)`` for targets along one eigenvector, plain bisection
on the dense residual (:func:`selfdistill.mobahi2020.oracles.c_by_bisection`), and the root of
``c-equation`` in 50-digit arithmetic (mpmath), from a Gram matrix evaluated in 50 digits.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
import torch
from helpers import assert_close, unit_roundoff

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.greens_fit import WARN_RELATIVE_ERROR, IllConditionedWarning, fit_greens
from selfdistill.mobahi2020.hilbert import Eigenbasis, solve_c
from selfdistill.mobahi2020.kernels import (
    ExponentialKernel,
    GaussianKernel,
    NeumannExponentialKernel,
)
from selfdistill.mobahi2020.oracles import c_by_bisection

F64 = torch.float64
U = unit_roundoff(F64)
X, Y = toy_sine()
K = len(X)
THRESHOLD = math.fsum(Y**2) / K


def gram_numpy(kernel, x: np.ndarray) -> np.ndarray:
    """``g(x_j, x_k) / K`` written out in NumPy (no library code)."""
    diff = np.subtract.outer(x, x)
    if isinstance(kernel, NeumannExponentialKernel):
        a, b, ell = kernel.lower, kernel.upper, kernel.length
        lo, hi = np.minimum.outer(x, x), np.maximum.outer(x, x)
        g = np.cosh((lo - a) / ell) * np.cosh((b - hi) / ell) / (ell * np.sinh((b - a) / ell))
    elif isinstance(kernel, ExponentialKernel):
        g = np.exp(-np.abs(diff) / kernel.length) / (2 * kernel.length)
    else:
        g = np.exp(-(diff**2) / (2 * kernel.width**2)) / math.sqrt(2 * math.pi * kernel.width**2)
    return g / len(x)


# --------------------------------------------------------------------------- bounds attained

ALIGNED_KERNELS = [ExponentialKernel(0.1), ExponentialKernel(1.0),
                   NeumannExponentialKernel(0.3, 0.0, 1.0), GaussianKernel(0.08)]


@pytest.mark.parametrize("kernel", ALIGNED_KERNELS, ids=repr)
@pytest.mark.parametrize("which", ["bottom", "top"])
@pytest.mark.parametrize("eps_fraction", [0.01, 0.3, 0.9])
@pytest.mark.parametrize("size", [0.5, 1.0, 3.7])
def test_targets_along_an_eigenvector_attain_the_bound(kernel, which, eps_fraction, size):
    # y = v_k: only z_k ≠ 0, so c-equation reads (c/(c + d_k))² r² = 1, i.e. c = d_k/(r - 1)
    d, V = np.linalg.eigh(gram_numpy(kernel, X))
    k = 0 if which == "bottom" else K - 1
    y = size * V[:, k]
    eps = eps_fraction * math.fsum(y**2) / K
    fit = fit_greens(kernel, X, y, eps, device="cpu")
    r = 1 / math.sqrt(eps_fraction)
    expected = d[k] / (r - 1)
    # NumPy's and torch's eigenvalues differ by ~K u d_max (K u κ relative for d_min), and the
    # other z_j are rounding-size; near the threshold c inherits K u / (1 - ε/ε*): 10× that
    kappa = d[-1] / d[0]
    rtol = 10 * K * U * (kappa + 1 / (1 - eps_fraction))
    assert_close(fit.c, expected, rtol=rtol, what=f"c on the {which} bound")
    # the other bound is far away (κ > 1.5 here): the test tells the two ends apart
    other = d[K - 1 - k] / (r - 1)
    assert abs(other - expected) / expected > 0.5


@pytest.mark.parametrize("k", [0, 1, 3])
@pytest.mark.parametrize("size", np.linspace(0.5, 3.0, 11))
@pytest.mark.parametrize("eps_fraction", [0.05, 0.5, 0.95])
def test_solve_c_on_an_exact_eigenvector(k, size, eps_fraction):
    # z = size · e_k exactly: the root is on a bracket end (k = 0 lower, k = 3 upper) or, for
    # k = 1, strictly inside; the bracket-end branches of solve_c are taken here
    d = torch.tensor([0.2, 0.5, 1.3, 4.0], dtype=F64)
    basis = Eigenbasis(d=d, V=torch.eye(4, dtype=F64))
    z = torch.zeros(4, dtype=F64)
    z[k] = size
    eps = eps_fraction * size**2 / 4
    c = solve_c(basis, z, eps)
    r = 1 / math.sqrt(eps_fraction)
    # c = d_k / (r - 1) to a few ulps amplified by r/(r - 1) (≤ 40 here)
    assert_close(c, float(d[k]) / (r - 1), rtol=64 * U * r / (r - 1), what="c")


# --------------------------------------------------------------------------- 50-digit reference


def mp_gram(kernel, x: np.ndarray) -> mpmath.matrix:
    n = len(x)
    G = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            dx = abs(mpmath.mpf(float(x[i])) - mpmath.mpf(float(x[j])))
            if isinstance(kernel, ExponentialKernel):
                g = mpmath.exp(-dx / kernel.length) / (2 * mpmath.mpf(kernel.length))
            else:
                w = mpmath.mpf(kernel.width)
                g = mpmath.exp(-dx**2 / (2 * w**2)) / mpmath.sqrt(2 * mpmath.pi * w**2)
            G[i, j] = g / n
    return G


def mp_reference(kernel, x: np.ndarray, y: np.ndarray, eps: float, alpha: np.ndarray):
    """The exact c (50 digits, G evaluated in 50 digits) and the exact training error of the
    float64 coefficients ``alpha`` (f = G α evaluated in 50 digits)."""
    with mpmath.workdps(50):
        G = mp_gram(kernel, x)
        E, Q = mpmath.eigsy(G)
        z = Q.T * mpmath.matrix([float(v) for v in y])
        n = len(x)
        target = n * mpmath.mpf(eps)

        def excess(c):
            return mpmath.fsum((c * z[i] / (c + E[i])) ** 2 for i in range(n)) - target

        lo, hi = mpmath.log(mpmath.mpf("1e-40")), mpmath.log(mpmath.mpf("1e40"))
        for _ in range(200):  # bisection in log c: 2^-200 of the bracket, far below 1e-50
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if excess(mpmath.exp(mid)) < 0 else (lo, mid)
        c = mpmath.exp((lo + hi) / 2)
        f = G * mpmath.matrix([float(a) for a in alpha])
        error = mpmath.fsum((f[i] - float(y[i])) ** 2 for i in range(n)) / n
        return float(c), float(error)


CONDITIONING_CASES = {
    # κ, ε: the estimates must bound the errors; large κ with small ε must warn
    "exp-default": (ExponentialKernel(0.1), X, 0.05, False),
    "gauss-kappa-1e9-eps-small": (GaussianKernel(0.3), X, 1e-4 * THRESHOLD, True),
    "gauss-kappa-1e9-eps-large": (GaussianKernel(0.3), X, 0.05, False),
    "near-duplicate-inputs": (ExponentialKernel(0.1), np.where(np.arange(K) == 5, 0.4 + 1e-12, X),
                              1e-4, True),
    "tiny-eps": (ExponentialKernel(0.1), X, 1e-24, True),
}


@pytest.mark.parametrize("case", sorted(CONDITIONING_CASES))
def test_error_estimates_bound_the_error_and_warn(case):
    kernel, x, eps, warns = CONDITIONING_CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_greens(kernel, x, Y, eps, device="cpu")
    flagged = [w for w in caught if issubclass(w.category, IllConditionedWarning)]
    assert bool(flagged) == warns, [str(w.message) for w in caught]
    estimates = fit.error_estimates()
    assert (max(estimates.values()) > WARN_RELATIVE_ERROR) == warns
    c_exact, error_exact = mp_reference(kernel, x, Y, eps, fit.alpha.numpy())
    # the estimates are upper estimates of the true rounding errors
    assert abs(fit.c - c_exact) / c_exact <= estimates["c"], (fit.c, c_exact, estimates)
    assert abs(fit.training_error() - error_exact) / eps <= estimates["training_error"]
    assert abs(error_exact - eps) / eps <= estimates["training_error"] + estimates["c"]


@pytest.mark.parametrize("delta", [1e-3, 1e-6, 1e-9, 1e-12])
def test_near_threshold_c_against_50_digits(delta):
    kernel = ExponentialKernel(0.1)
    eps = (1 - delta) * THRESHOLD
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_greens(kernel, X, Y, eps, device="cpu")
    # c ≈ 2 yᵀGy / (‖y‖² - Kε) inherits the rounding of ‖y‖² amplified by 1/δ
    warned = any(issubclass(w.category, IllConditionedWarning) for w in caught)
    assert warned == (K * U / delta > WARN_RELATIVE_ERROR)
    c_exact, _ = mp_reference(kernel, X, Y, eps, fit.alpha.numpy())
    error = abs(fit.c - c_exact) / c_exact
    assert error <= fit.error_estimates()["c"]
    assert fit.error_estimates()["c"] <= 30 * K * U / delta  # and the estimate is not vacuous


# --------------------------------------------------------------------------- tiny ε


@pytest.mark.parametrize("eps", [1e-300, 1e-100, 1e-40])
def test_eps_below_float64_resolution_is_refused(eps):
    with pytest.raises(ValueError, match=r"^eps = .* is below what float64 resolves.*accepted: "
                                         r"eps ≥ about 4 u² κ² ‖y‖²"):
        fit_greens(ExponentialKernel(0.1), X, Y, eps, device="cpu")


@pytest.mark.parametrize("eps", [1e-12, 1e-8, 1e-6])
def test_small_eps_matches_bisection_without_warning(eps):
    kernel = ExponentialKernel(0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllConditionedWarning)
        fit = fit_greens(kernel, X, Y, eps, device="cpu")
    reference = c_by_bisection(kernel, X, Y, eps, device="cpu")
    # small c ≪ d_min: c ∝ √ε and both routes are accurate to K u κ
    assert_close(fit.c, reference, rtol=10 * K * U * fit.basis.condition, what="c")
    residual = fit(X).numpy() - Y
    gap = abs(np.mean(residual**2) - eps) / eps
    assert gap <= fit.error_estimates()["training_error"]
