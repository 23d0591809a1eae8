"""Two-layer ReLU NTK: closed form vs quadrature and Monte Carlo; structured vs generic routes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol
from scipy.integrate import dblquad, quad

from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_empirical, ntk_infinite, ntk_two_layer

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def pair(theta: float, rx: float = 1.0, rz: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two points in the plane at angle θ with norms rx, rz (exact up to rounding of cos, sin)."""
    x = torch.tensor([[rx, 0.0]], dtype=F64)
    z = torch.tensor([[rz * math.cos(theta), rz * math.sin(theta)]], dtype=F64)
    return x, z


# ------------------------------------------------------------------- closed form vs quadrature


def quadrature_kernel(theta: float, rx: float, rz: float) -> tuple[float, float]:
    """E_w over w ~ N(0, I_2) of the two NTK terms, by numerical integration in polar coordinates.

    Never uses the closed form: the first term integrates the indicator product over the angle φ
    of w (the radius integrates to 1), the second the product of ReLUs over (r, φ), with density
    r e^{-r²/2} / (2π).
    """
    cos_t = math.cos(theta)
    breaks = sorted({(k * math.pi / 2 + s * theta) % (2 * math.pi) for k in (1, 3) for s in (0, 1)})

    def both_active(phi: float) -> float:
        return float(math.cos(phi) >= 0 and math.cos(phi - theta) >= 0)

    p_both, _ = quad(both_active, 0, 2 * math.pi, points=breaks, limit=200, epsabs=1e-13)
    first = rx * rz * cos_t * p_both / (2 * math.pi)

    def relus(r: float, phi: float) -> float:
        density = r * math.exp(-r * r / 2) / (2 * math.pi)
        return density * r * r * max(math.cos(phi), 0.0) * max(math.cos(phi - theta), 0.0)

    second = 0.0
    edges = [0.0, *breaks, 2 * math.pi]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):  # smooth on each piece
        piece, _ = dblquad(relus, lo, hi, 0.0, 40.0, epsabs=1e-13, epsrel=1e-12)
        second += piece
    return first, rx * rz * second


@pytest.mark.parametrize("theta", [0.0, 0.3, 1.0, math.pi / 2, 2.0, 3.0, math.pi])
@pytest.mark.parametrize(("rx", "rz"), [(1.0, 1.0), (0.5, 3.0)])
def test_closed_form_matches_quadrature(theta, rx, rz):
    x, z = pair(theta, rx, rz)
    first, second = quadrature_kernel(theta, rx, rz)
    # quad/dblquad asked for 1e-12 relative; 1e-9 leaves 1000× for their error estimates while a
    # wrong factor (π vs 2π, missing sin θ) errs by O(1); atol for entries that vanish (θ = π/2)
    got_first = float(ntk_infinite(x, z, layers="first"))
    got_both = float(ntk_infinite(x, z, layers="both"))
    assert_close(got_first, first, rtol=1e-9, atol=1e-12, what=f"first layer, θ={theta}")
    assert_close(got_both, first + second, rtol=1e-9, atol=1e-12, what=f"both layers, θ={theta}")


@pytest.mark.parametrize("theta", [1e-7, 1e-4, math.pi - 1e-7, math.pi - 1e-4])
def test_closed_form_accurate_near_parallel(theta):
    """Near θ = 0 and π plain arccos errs by ~1e-8 in θ; the kernel must stay at rounding level."""
    x, z = pair(theta)
    expected_first = math.cos(theta) * (math.pi - theta) / (2 * math.pi)
    expected_both = expected_first + (math.sin(theta) + (math.pi - theta) * math.cos(theta)) / (
        2 * math.pi
    )
    assert_close(ntk_infinite(x, z), expected_first, rtol=tol("roundoff"), what="first")
    assert_close(ntk_infinite(x, z, layers="both"), expected_both, rtol=tol("roundoff"))


def test_closed_form_unit_sphere_is_papers_formula():
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(30, 7, generator=gen, dtype=F64)
    X = X / X.norm(dim=1, keepdim=True)
    G = (X @ X.T).clamp(-1, 1)
    paper = G * (math.pi - torch.arccos(G)) / (2 * math.pi)
    # arccos loses ~√u ≈ 1e-8 in θ near the diagonal (there our Kahan branch is the better one)
    assert_close(ntk_infinite(X), paper, rtol=0, atol=1e-8, what="dong2019's H∞")
    assert_close(torch.diagonal(ntk_infinite(X)), 0.5, rtol=tol("roundoff"), what="diagonal")


def test_closed_form_zero_input_and_homogeneity():
    gen = torch.Generator().manual_seed(4)
    X = torch.randn(6, 4, generator=gen, dtype=F64)
    X[2] = 0.0
    for layers in ("first", "both"):
        H = ntk_infinite(X, layers=layers)
        assert torch.equal(H[2], torch.zeros(6, dtype=F64))
        # degree-1 homogeneity in each argument: H(cx, z) = c H(x, z) for c > 0
        assert_close(ntk_infinite(2.5 * X, X, layers=layers), 2.5 * H, rtol=tol("roundoff"))
        assert_close(H, H.T, rtol=0, atol=0, what="exact symmetry")
        assert float(torch.linalg.eigvalsh(H).min()) > -1e-12  # a Gram matrix


# ------------------------------------------------------------------------- Monte Carlo oracle


@pytest.mark.parametrize("layers", ["first", "both"])
def test_closed_form_is_monte_carlo_limit(layers):
    """Average the structured NTK over many random wide nets: E over w ~ N(0, I) -> H∞."""
    gen = torch.Generator().manual_seed(5)
    X = torch.randn(8, 5, generator=gen, dtype=F64)
    X[:4] = X[:4] / X[:4].norm(dim=1, keepdim=True)  # half on the sphere, half not
    n_nets, m = 8, 2**14
    mean = sum(
        ntk_two_layer(TwoLayerReLU(5, m, train_output=layers == "both", seed=s), X)
        for s in range(n_nets)
    ) / n_nets
    # each unit adds a term with standard deviation ≤ ‖x‖‖z‖ (first) or ≤ √3 ‖x‖‖z‖ (σσ, by
    # E(wᵀx)²(wᵀz)² ≤ 3‖x‖²‖z‖²); the mean over N = 8·2^14 units has sd ≤ that / √N ≈ 2.8e-3;
    # 5 sd: one of the 64 entries exceeds it with probability ~4e-5
    nn_ = X.norm(dim=1)
    sd = (1 + math.sqrt(3) * (layers == "both")) * torch.outer(nn_, nn_) / math.sqrt(n_nets * m)
    err = (mean - ntk_infinite(X, layers=layers)).abs()
    assert bool((err <= 5 * sd).all()), f"max err/sd = {float((err / sd).max()):.2f}"
    # and it is not trivially small: the fluctuation is really there (~1 sd on average)
    assert float((err / sd).mean()) > 0.05


# ----------------------------------------------------------- structured vs generic vs autograd


def autograd_ntk(model: torch.nn.Module, X: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """Per-sample gradients by plain ``torch.autograd.grad`` (no torch.func), contracted."""
    params = [p for p in model.parameters() if p.requires_grad]
    grad = torch.autograd.grad

    def grads(points):
        rows = []
        for x in points:
            out = model(x[None]).reshape(-1)
            per_out = [
                torch.cat([g.reshape(-1) for g in grad(o, params, retain_graph=True)])
                for o in out
            ]
            rows.append(torch.stack(per_out))
        return torch.stack(rows)  # (n, C, P)

    return torch.einsum("icp,jdp->ijcd", grads(X), grads(Z))


@pytest.mark.slow
@pytest.mark.parametrize("train_output", [False, True])
@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize(("n", "n2", "d", "m"), [(1, 1, 1, 2), (9, 5, 3, 64), (24, 24, 10, 500)])
def test_structured_equals_generic(train_output, symmetric, n, n2, d, m):
    gen = torch.Generator().manual_seed(n * 100 + m)
    X = torch.randn(n, d, generator=gen, dtype=F64) * 2
    Z = torch.randn(n2, d, generator=gen, dtype=F64)
    net = TwoLayerReLU(d, m, train_output=train_output, seed=m, symmetric=symmetric)
    fast = ntk_two_layer(net, X, Z)
    generic = ntk_empirical(net, X, Z, block_size=4)
    # sums of m·d (≤ 5000) products of O(1–10) numbers, in different orders: error ≲ m u |H| on
    # the largest entries, ≪ 1e-12 relative to max |H|
    scale = float(fast.abs().max())
    assert_close(generic, fast, rtol=0, atol=1e-12 * scale, what="generic vs structured")
    assert_close(autograd_ntk(net, X, Z)[:, :, 0, 0], fast, rtol=0, atol=1e-12 * scale)


def test_generic_multi_output_and_recompute_path():
    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    net = net.to(F64)
    X = torch.randn(7, 4, dtype=F64)
    Z = torch.randn(5, 4, dtype=F64)
    cached = ntk_empirical(net, X, Z, block_size=3)
    recomputed = ntk_empirical(net, X, Z, block_size=2, max_cache_bytes=1)
    assert cached.shape == (7, 5, 3, 3)
    expected = autograd_ntk(net, X, Z)
    assert_close(cached, expected, rtol=0, atol=1e-13 * float(expected.abs().max()))
    assert_close(recomputed, cached, rtol=0, atol=1e-13 * float(expected.abs().max()))
    net[0].weight.requires_grad_(False)  # only trained parameters count
    partial = ntk_empirical(net, X, Z)
    assert_close(partial, autograd_ntk(net, X, Z), rtol=1e-12, atol=1e-14)


def test_symmetric_net_is_zero_at_init_and_kernel_of_half_width():
    net = TwoLayerReLU(6, 40, seed=2, symmetric=True)
    half = TwoLayerReLU(6, 20, seed=2)
    X = torch.randn(11, 6, dtype=F64)
    assert torch.equal(net(X), torch.zeros(11, dtype=F64))
    # pairs (w, a), (w, -a) share the pattern: the kernel equals that of the 20 distinct units
    assert_close(ntk_two_layer(net, X), ntk_two_layer(half, X), rtol=tol("roundoff"), atol=1e-15)


def test_relu_gradient_convention_at_ties():
    """A pre-activation exactly 0 counts as active (1{z ≥ 0}), as the closed form integrates."""
    net = TwoLayerReLU(2, 1, seed=0)
    with torch.no_grad():
        net.W.copy_(torch.tensor([[1.0, 0.0]], dtype=F64))
    X = torch.tensor([[0.0, 1.0]], dtype=F64)  # wᵀx = 0
    assert float(ntk_two_layer(net, X)) == 1.0


def test_float32_close_to_float64():
    gen = torch.Generator().manual_seed(8)
    X = torch.randn(16, 5, generator=gen, dtype=F64)
    net64 = TwoLayerReLU(5, 256, seed=1, train_output=True)
    net32 = TwoLayerReLU(5, 256, seed=1, train_output=True, dtype=torch.float32)
    H64 = ntk_two_layer(net64, X)
    H32 = ntk_two_layer(net32, X.float())
    # float32 sums of 256 terms: ~256 u32 ≈ 2e-5 relative; patterns may flip on near-ties
    # (probability ~1e-6 per entry here), so compare at 1e-4 of the largest entry
    assert_close(H32, H64, rtol=0, atol=1e-4 * float(H64.abs().max()))
    assert_close(ntk_infinite(X.float()), ntk_infinite(X), rtol=0, atol=1e-5 * 5)


# ------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ntk_infinite(torch.ones(3, dtype=F64)), "dimensions"),
        (lambda: ntk_infinite(torch.ones(3, 2, dtype=F64), torch.ones(3, 4, dtype=F64)), r"\(n, 2"),
        (lambda: ntk_infinite(torch.ones(3, 2, dtype=F64), layers="second"), "layers"),
        (lambda: ntk_infinite(torch.ones(3, 2, dtype=torch.int64)), "floating"),
        (lambda: ntk_infinite(torch.full((2, 2), float("nan"), dtype=F64)), "non-finite"),
        (lambda: ntk_infinite(np.ones((2, 2))), "torch.Tensor"),
        (lambda: TwoLayerReLU(3, 5, symmetric=True), "even"),
        (lambda: TwoLayerReLU(0, 5), "d = 0"),
        (lambda: TwoLayerReLU(3, 0), "m = 0"),
        (lambda: ntk_two_layer(torch.nn.Linear(2, 1), torch.ones(2, 2)), "TwoLayerReLU"),
        (lambda: ntk_two_layer(TwoLayerReLU(3, 4), torch.ones(2, 2, dtype=F64)), r"\(n, 3\)"),
        (lambda: ntk_empirical(TwoLayerReLU(3, 4), torch.ones(2, 3), block_size=0), "block_size"),
        (
            lambda: ntk_empirical(torch.nn.Linear(2, 1).requires_grad_(False), torch.ones(2, 2)),
            "requires_grad",
        ),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    X = torch.randn(64, 8, dtype=F64)
    net = TwoLayerReLU(8, 512, seed=3, train_output=True)
    cpu = ntk_two_layer(net, X)
    gpu = ntk_two_layer(net.to("cuda"), X.cuda())
    assert_close(gpu, cpu, rtol=0, atol=1e-12 * float(cpu.abs().max()))
    assert_close(ntk_empirical(net, X.cuda()), cpu, rtol=0, atol=1e-12 * float(cpu.abs().max()))
    assert_close(ntk_infinite(X.cuda()), ntk_infinite(X), rtol=0, atol=1e-13)
