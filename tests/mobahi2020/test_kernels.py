"""Kernels are the Green's functions of their regularisers (mobahi2020, Section 1)."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest
import torch
from helpers import RTOL_QUADRATURE, assert_close, tol, unit_roundoff
from scipy.integrate import quad

from selfdistill.mobahi2020.kernels import (
    ExponentialKernel,
    GaussianKernel,
    Kernel,
    NeumannExponentialKernel,
)

F64 = torch.float64
U = unit_roundoff(F64)


def t64(values) -> torch.Tensor:
    return torch.as_tensor(values, dtype=F64)


def profile(kernel: Kernel, t: float):
    """``x -> g(x, t)`` as a Python float function (for quad)."""
    t_tensor = t64([t])

    def g(x: float) -> float:
        return float(kernel(t64([x]), t_tensor)[0, 0])

    return g


# --------------------------------------------------------------------------- Fourier transforms


def fourier_transform(kernel: Kernel, omega: float, support: float) -> float:
    """``ĝ(ω) = ∫ g(x) e^{-iωx} dx = 2 ∫_0^∞ g(x) cos(ωx) dx`` for an even ``g``, by quad.

    ``support`` is where the integrand is negligible (``math.inf`` for QAWF, the Fourier-integral
    routine for slowly decaying integrands). IntegrationWarnings are turned into errors.
    """
    g = profile(kernel, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if omega == 0.0:
            value, _ = quad(g, 0.0, support, epsabs=1e-13, epsrel=1e-12, limit=200)
        elif math.isinf(support):
            value, _ = quad(g, 0.0, support, weight="cos", wvar=omega, epsabs=1e-13, limit=200)
        else:
            value, _ = quad(
                g, 0.0, support, weight="cos", wvar=omega, epsabs=1e-13, epsrel=1e-12, limit=200
            )
    return 2.0 * value


# ω · scale: up to 10 for the exponential (ĝ ≈ 1e-2 there) and 3 for the Gaussian (ĝ ≈ 1e-2);
# beyond that ĝ falls below what an absolute quadrature error of 1e-13 resolves to 1e-8 relative
@pytest.mark.parametrize("length", [0.3, 1.0, 2.0])
@pytest.mark.parametrize("omega_l", [0.0, 0.3, 1.0, 3.0, 10.0])
def test_exponential_kernel_is_greens_function_of_its_symbol(length, omega_l):
    kernel = ExponentialKernel(length)
    omega = omega_l / length
    transform = fourier_transform(kernel, omega, math.inf)
    expected = 1.0 / float(kernel.symbol(t64(omega)))
    assert_close(transform, expected, rtol=RTOL_QUADRATURE, what=f"ĝ({omega}), l={length}")
    # and the symbol is the documented 1 + l²ω² of u = 1 - l² d²/dx²
    assert_close(1.0 / expected, 1.0 + omega_l**2, rtol=tol("roundoff"), what="symbol")


@pytest.mark.parametrize("width", [0.2, 0.7, 1.5])
@pytest.mark.parametrize("omega_w", [0.0, 0.3, 1.0, 2.0, 3.0])
def test_gaussian_kernel_is_greens_function_of_its_symbol(width, omega_w):
    kernel = GaussianKernel(width)
    omega = omega_w / width
    # the integrand is below exp(-800) beyond 40 widths: truncation is far below roundoff
    transform = fourier_transform(kernel, omega, 40.0 * width)
    expected = 1.0 / float(kernel.symbol(t64(omega)))
    assert_close(transform, expected, rtol=RTOL_QUADRATURE, what=f"ĝ({omega}), σ={width}")


def test_gaussian_kernel_in_two_dimensions_is_a_product():
    # (2πσ²)^{-d/2} normalisation: the d = 2 kernel is the product of two d = 1 kernels, so its
    # Fourier transform is the product of two 1-D transforms, 1/exp(σ²|ω|²/2)
    kernel = GaussianKernel(0.4)
    x = t64([[0.1, -0.3], [0.5, 0.2], [-0.7, 0.9]])
    t = t64([[0.0, 0.0], [0.3, -0.4]])
    both = kernel(x, t)
    product = kernel(x[:, 0], t[:, 0]) * kernel(x[:, 1], t[:, 1])
    assert_close(both, product, rtol=tol("roundoff"), what="2-D Gaussian vs product")
    omega = t64([1.2, -0.5])
    symbol_2d = kernel.symbol(torch.linalg.vector_norm(omega))
    symbol_product = kernel.symbol(omega[0]) * kernel.symbol(omega[1])
    assert_close(symbol_2d, symbol_product, rtol=tol("roundoff"), what="2-D symbol")


def test_neumann_kernel_has_no_whole_line_symbol():
    with pytest.raises(NotImplementedError, match="NeumannExponentialKernel"):
        NeumannExponentialKernel(0.1, 0.0, 1.0).symbol(t64(1.0))


# --------------------------------------------------------------------------- Neumann BVP


NEUMANN_CASES = [
    # (length, lower, upper, source t)
    (0.1, 0.0, 1.0, 0.37),
    (0.3, 0.0, 1.0, 0.8),
    (1.0, -2.0, 1.5, -1.1),
    (0.05, 0.0, 1.0, 0.5),
]


@pytest.mark.parametrize(("length", "lower", "upper", "t"), NEUMANN_CASES)
def test_neumann_kernel_solves_the_ode_away_from_the_source(length, lower, upper, t):
    kernel = NeumannExponentialKernel(length, lower, upper)
    h = 0.01 * length
    # nodes at least 2h from the source and from the ends
    x = torch.linspace(lower + 2 * h, upper - 2 * h, 401, dtype=F64)
    x = x[(x - t).abs() > 2 * h]
    g = kernel(torch.stack([x - h, x, x + h], dim=1).reshape(-1), t64([t])).reshape(-1, 3)
    second = (g[:, 0] - 2 * g[:, 1] + g[:, 2]) / h**2
    residual = g[:, 1] - length**2 * second
    # Taylor: D²g = g'' + h² g''''/12 + ..., and g'''' = g/l⁴ away from t, so the residual is
    # -(h/l)² g / 12 · (1 + O((h/l)²)); roundoff in D² adds about 4u g (l/h)²
    ratio = (h / length) ** 2
    truncation = ratio / 12 * (1 + ratio)
    bound = (truncation + 8 * U / ratio) * g[:, 1].abs()
    worst = float((residual.abs() / bound).max())
    assert worst <= 1.0, f"g - l² g'' residual exceeds its O(h²) bound by a factor {worst:.3g}"
    # the O(h²) term really is the leading one: residual / g = -(h/l)²/12 (1 + (h/l)²/30 + ...),
    # and roundoff adds 48u (l/h)⁴ relative: 3e-6 + 5e-7 < 1e-5
    assert_close(residual / g[:, 1], -ratio / 12, rtol=1e-5, what="residual / g")


@pytest.mark.parametrize(("length", "lower", "upper", "t"), NEUMANN_CASES)
def test_neumann_kernel_derivative_jumps_by_minus_one_over_l_squared(length, lower, upper, t):
    kernel = NeumannExponentialKernel(length, lower, upper)
    h = 0.01 * length
    g0, gp1, gp2, gm1, gm2 = kernel(t64([t, t + h, t + 2 * h, t - h, t - 2 * h]), t64([t]))[:, 0]
    # second-order one-sided differences on each side of the kink
    right = (-3 * g0 + 4 * gp1 - gp2) / (2 * h)
    left = (3 * g0 - 4 * gm1 + gm2) / (2 * h)
    jump = float(right - left)
    # each one-sided error is h² g'''/3 = (h/l)² g'/3 with |g'| = g tanh(.)/l <= g/l on either
    # side, so the jump is off by at most 2(h/l)²/3 · (g l)/l²; g l <= coth(S) in general and
    # <= 1.5 in these cases, giving the relative bound (h/l)²; roundoff 4u g/h is ~1e-12 of 1/l²
    assert float(g0 * length) <= 1.5
    assert_close(jump, -1.0 / length**2, rtol=(h / length) ** 2, what="g'(t+) - g'(t-)")


@pytest.mark.parametrize(("length", "lower", "upper", "t"), NEUMANN_CASES)
def test_neumann_kernel_has_free_ends(length, lower, upper, t):
    kernel = NeumannExponentialKernel(length, lower, upper)
    h = 0.01 * length
    nodes = t64([lower, lower + h, lower + 2 * h, upper, upper - h, upper - 2 * h])
    g = kernel(nodes, t64([t]))[:, 0]
    slope_lower = float((-3 * g[0] + 4 * g[1] - g[2]) / (2 * h))
    slope_upper = float((3 * g[3] - 4 * g[4] + g[5]) / (2 * h))
    # g is A cosh((x - a)/l) near a: the one-sided difference of g'(a) = 0 is exact up to
    # O((h/l)³) · g/l (the h² g''' term vanishes with g'''(a) = 0), and roundoff is 8u g/h.
    # The natural scale of g' is g/l, so (h/l)² · g/l is a strict bound that a nonzero slope
    # (e.g. a whole-line kernel: |g'| = g/l) misses by a factor (l/h)² = 1e4
    for slope, value in ((slope_lower, g[0]), (slope_upper, g[3])):
        assert abs(slope) <= (h / length) ** 2 * float(value) / length


def test_neumann_kernel_matches_its_cosh_formula():
    # the overflow-free evaluation equals the textbook cosh form where the latter is safe
    length, lower, upper = 0.4, -0.5, 1.5
    kernel = NeumannExponentialKernel(length, lower, upper)
    x = np.linspace(lower, upper, 9)
    t = np.array([lower, 0.1, 0.77, upper])
    lo, hi = np.minimum.outer(x, t), np.maximum.outer(x, t)
    expected = (
        np.cosh((lo - lower) / length)
        * np.cosh((upper - hi) / length)
        / (length * np.sinh((upper - lower) / length))
    )
    # cosh/sinh of arguments <= 5 and a handful of products: a few tens of u
    assert_close(kernel(t64(x), t64(t)), expected, rtol=tol("roundoff"), what="cosh form")


def test_neumann_kernel_does_not_overflow_on_long_intervals():
    # (b - a)/l = 2000: cosh and sinh would overflow, the kernel must not
    kernel = NeumannExponentialKernel(0.01, 0.0, 20.0)
    x = t64([0.0, 10.0, 20.0])
    g = kernel(x, x)
    assert bool(torch.isfinite(g).all())
    # at an end, g(a, a) = coth(S)/l -> 1/l; in the middle the whole-line value 1/(2l)
    assert_close(torch.diagonal(g), t64([100.0, 50.0, 100.0]), rtol=tol("roundoff"))


# --------------------------------------------------------------------------- whole-line limit


@pytest.mark.parametrize("length", [0.1, 0.5])
@pytest.mark.parametrize("margin", [1.0, 2.0, 4.0, 6.0])
def test_neumann_kernel_tends_to_whole_line_kernel(length, margin):
    half = margin * length
    whole = ExponentialKernel(length)
    q = math.exp(-2 * half / length)
    # on [-P, P] at the centre, exactly: g_N / g_E - 1 = (1 + q)² / (1 - q²) - 1 = 2q / (1 - q)
    neumann = NeumannExponentialKernel(length, -half, half)
    centre = t64([0.0])
    excess = float(neumann(centre, centre)[0, 0] / whole(centre, centre)[0, 0]) - 1
    # the difference of two O(1) numbers: absolute roundoff <~ 4u, i.e. relative 4u / q
    assert_close(excess, 2 * q / (1 - q), rtol=8 * U / q, what="g_N/g_E - 1 at the centre")

    # data on [P, P + 1] inside [0, 1 + 2P]: every pair is at distance >= P from both ends, and
    # 0 <= g_N/g_E - 1 = (1 + e^{-2α})(1 + e^{-2β})/(1 - e^{-2S}) - 1 <= (1 + q)²/(1 - e^{-2S}) - 1
    neumann = NeumannExponentialKernel(length, 0.0, 1.0 + 2 * half)
    x = torch.linspace(half, half + 1.0, 7, dtype=F64)
    ratio = neumann(x, x) / whole(x, x) - 1
    q_span = math.exp(-2 * (1.0 + 2 * half) / length)
    assert float(ratio.min()) >= -4 * U
    assert float(ratio.max()) <= (1 + q) ** 2 / (1 - q_span) - 1 + 4 * U
    # the bound is nearly attained at the data's end points (α = P/l): it is not vacuous
    assert float(ratio.max()) >= q


def test_neumann_kernel_difference_decays_like_exp_minus_2p_over_l():
    # the excess at the centre divided by e^{-2P/l} is 2/(1 - q) -> 2 as P grows
    length = 0.2
    centre = t64([0.0])
    whole = float(ExponentialKernel(length)(centre, centre)[0, 0])
    scaled = []
    for margin in (2.0, 3.0, 4.0, 5.0):
        half = margin * length
        g = float(NeumannExponentialKernel(length, -half, half)(centre, centre)[0, 0])
        scaled.append((g / whole - 1) / math.exp(-2 * margin))
    # 2/(1 - e^{-2m}) for m = 2..5 lies in [2, 2.04]; relative roundoff 4u e^{2m} <= 1e-11
    assert_close(np.array(scaled), 2.0, rtol=0.02 + 1e-11, what="excess / e^{-2P/l}")
    assert all(a > b for a, b in zip(scaled, scaled[1:], strict=False))


# --------------------------------------------------------------------------- structure


KERNELS = [
    ExponentialKernel(0.2),
    NeumannExponentialKernel(0.2, 0.0, 1.0),
    GaussianKernel(0.1),
]


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: type(k).__name__)
def test_kernels_are_symmetric_and_positive_definite(kernel):
    rng = np.random.default_rng(20240601)
    x = t64(np.sort(rng.uniform(0.0, 1.0, 15)))
    gram = kernel(x, x)
    assert gram.shape == (15, 15)
    # g(x, t) = g(t, x) is computed by symmetric formulas: bitwise equal
    assert torch.equal(gram, gram.T)
    eigenvalues = torch.linalg.eigvalsh(gram)
    # distinct points: strictly positive, and clearly above the eigensolver's error K u |G|
    floor = 15 * U * float(eigenvalues.max())
    assert float(eigenvalues.min()) > 100 * floor, (
        f"smallest eigenvalue {float(eigenvalues.min()):.3e} not clearly positive"
    )
    # off-diagonal kernel values are the swapped-argument ones
    assert torch.equal(kernel(x[:4], x[4:9]), kernel(x[4:9], x[:4]).T)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: type(k).__name__)
def test_kernel_shapes(kernel):
    x = t64([0.1, 0.4, 0.9])
    t = t64([0.2, 0.3])
    expected = kernel(x, t)
    assert expected.shape == (3, 2) and expected.dtype == F64
    # (n,) and (n, 1) inputs are the same points
    assert torch.equal(kernel(x[:, None], t), expected)
    assert torch.equal(kernel(x, t[:, None]), expected)
    assert torch.equal(kernel(x[:, None], t[:, None]), expected)
    # dtype follows the inputs
    assert kernel(x.float(), t.float()).dtype == torch.float32


def test_gaussian_kernel_in_d_dimensions():
    kernel = GaussianKernel(0.5)
    x = t64([[0.0, 0.0, 0.0], [0.3, -0.2, 0.1]])
    t = t64([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.3, -0.2, 0.1], [0.1, 0.1, 0.1]])
    g = kernel(x, t)
    assert g.shape == (2, 4)
    norm = (2 * math.pi * 0.25) ** 1.5
    assert_close(g[0, 0], 1 / norm, rtol=tol("roundoff"))
    assert_close(g[0, 1], math.exp(-3 / 0.5) / norm, rtol=tol("roundoff"))
    assert_close(g[1, 2], 1 / norm, rtol=tol("roundoff"))


NEUMANN_UNIT = NeumannExponentialKernel(1.0, 0.0, 1.0)
ONE_POINT = t64([0.5])


@pytest.mark.parametrize(
    ("kernel", "x", "t", "pattern"),
    [
        (ExponentialKernel(1.0), torch.zeros(2, 2, dtype=F64), ONE_POINT,
         r"has shape \(2, 2\); this kernel is defined for 1-dimensional inputs"),
        (NEUMANN_UNIT, torch.zeros(3, 2, dtype=F64), ONE_POINT, r"has shape \(3, 2\); .*1-dim"),
        (ExponentialKernel(1.0), torch.zeros(2, 1, 1, dtype=F64), ONE_POINT,
         r"has shape \(2, 1, 1\) \(3 dimensions\); accepted numbers of dimensions: \[1, 2\]"),
        (GaussianKernel(1.0), torch.zeros(2, 1, 1, dtype=F64), ONE_POINT,
         r"has shape \(2, 1, 1\) \(3 dimensions\)"),
        (GaussianKernel(1.0), torch.tensor(0.5, dtype=F64), ONE_POINT,
         r"has shape \(\) \(0 dimensions\)"),
        (ExponentialKernel(1.0), t64([0.0, math.nan]), ONE_POINT, r"has 1 non-finite entries"),
        (GaussianKernel(1.0), t64([[0.0, math.inf]]), t64([[0.0, 0.0]]), r"has 1 non-finite"),
        (NEUMANN_UNIT, t64([-math.inf]), ONE_POINT, r"has 1 non-finite entries"),
        (NEUMANN_UNIT, t64([0.5, 1.0 + 1e-12]), ONE_POINT,
         r"has points outside the kernel's domain \[0, 1\]$"),
        (NEUMANN_UNIT, t64([-1e-300, 0.5]), ONE_POINT, r"has points outside .* \[0, 1\]$"),
    ],
)
def test_kernel_input_errors(kernel, x, t, pattern):
    with pytest.raises(ValueError, match="^x " + pattern):
        kernel(x, t)
    # the second argument is checked the same way, under its own name
    with pytest.raises(ValueError, match="^t " + pattern):
        kernel(t, x)


def test_gaussian_kernel_dimension_mismatch():
    kernel = GaussianKernel(1.0)
    with pytest.raises(ValueError, match=r"^t has shape \(3, 3\); .* 2-dimensional inputs"):
        kernel(torch.zeros(2, 2, dtype=F64), torch.zeros(3, 3, dtype=F64))


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "wide"])
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (ExponentialKernel, "length"),
        (GaussianKernel, "width"),
        (lambda v: NeumannExponentialKernel(v, 0.0, 1.0), "length"),
    ],
)
def test_kernel_parameter_errors(make, name, bad):
    with pytest.raises(ValueError, match=rf"^{name} = {re.escape(repr(bad))} .*\(0, inf\)"):
        make(bad)


@pytest.mark.parametrize(("lower", "upper"), [(1.0, 1.0), (1.0, 0.0), (0.0, math.nan)])
def test_neumann_kernel_rejects_empty_interval(lower, upper):
    with pytest.raises(ValueError, match=r"^upper = .* outside the accepted range \("):
        NeumannExponentialKernel(0.1, lower, upper)


def test_kernels_are_frozen():
    kernel = ExponentialKernel(1.0)
    with pytest.raises(AttributeError):
        kernel.length = 2.0  # type: ignore[misc]
