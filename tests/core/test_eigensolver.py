"""The eigensolver routes (selfdistill.core.eigensolver) against torch.linalg.eigh, and their
choice.

Every route is a backward-stable LAPACK solver: its eigenvalues are exact for ``G + E`` with
``‖E‖₂ ≲ p(K) u ‖G‖₂``, so two routes' eigenvalues agree to about ``K u ‖G‖₂`` (Weyl), each
reconstructs ``G`` to that, and the eigenvectors agree up to sign; inside a cluster of equal
eigenvalues only the spanned subspace is defined, so the tests compare its projector, which
moves by ``‖E‖ / gap`` (Davis–Kahan).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import unit_roundoff

from selfdistill.core.eigensolver import (
    DEFAULT_ROUTE,
    ROUTE_ENV,
    ROUTES,
    resolve_route,
    symmetric_eigh,
)
from selfdistill.mobahi2020 import hilbert
from selfdistill.mobahi2020.kernels import ExponentialKernel

F64 = torch.float64
U = unit_roundoff(F64)
CONCRETE = ("torch", "numpy", "scipy")


@pytest.fixture(autouse=True)
def _no_route_env(monkeypatch):
    """The tests set the route themselves: a SELFDISTILL_EIGH of the caller's must not leak in."""
    monkeypatch.delenv(ROUTE_ENV, raising=False)


def exponential_gram(K: int) -> torch.Tensor:
    """The library's kind of matrix: exponential kernel ℓ = 0.1 on sorted points, divided by K."""
    gen = torch.Generator().manual_seed(K)
    x = torch.sort(torch.rand(K, generator=gen, dtype=F64)).values
    return hilbert.gram(ExponentialKernel(0.1), x)


def clustered(K: int = 60) -> tuple[torch.Tensor, torch.Tensor, list[slice]]:
    """``Q diag(λ) Qᵀ`` with eigenvalues 1 (×5), 2 (×1), 3 (×10), then distinct: clusters whose
    eigenvectors are defined only up to a rotation; returns G, λ and the clusters' slices."""
    gen = torch.Generator().manual_seed(7)
    Q, _ = torch.linalg.qr(torch.randn(K, K, generator=gen, dtype=F64))
    lam = torch.cat([torch.full((5,), 1.0, dtype=F64), torch.tensor([2.0], dtype=F64),
                     torch.full((10,), 3.0, dtype=F64),
                     torch.linspace(4.0, 10.0, K - 16, dtype=F64)])
    G = Q @ torch.diag(lam) @ Q.T
    G = (G + G.T) / 2
    clusters = [slice(0, 5), slice(5, 6), slice(6, 16)] + [slice(k, k + 1) for k in range(16, K)]
    return G, lam, clusters


@pytest.mark.parametrize("route", CONCRETE)
@pytest.mark.parametrize("K", [1, 2, 50, 300])
def test_routes_agree_with_torch(route: str, K: int) -> None:
    G = exponential_gram(K)
    d_ref, V_ref = torch.linalg.eigh(G)
    d, V = symmetric_eigh(G, route=route)
    norm = float(d_ref.abs().max())
    bound = max(K, 2) * U * norm  # K u ‖G‖₂: Weyl's bound for two backward-stable solvers
    assert d.dtype == F64 and V.dtype == F64 and d.shape == (K,) and V.shape == (K, K)
    assert bool((d[1:] >= d[:-1]).all()), "eigenvalues must be ascending"
    gap = float((d - d_ref).abs().max())
    assert gap <= bound, f"{route}: eigenvalues differ by {gap:.3e} > K u ‖G‖ = {bound:.3e}"
    recon = float((V @ torch.diag(d) @ V.T - G).abs().max())
    assert recon <= bound, f"{route}: ‖V diag(d) Vᵀ - G‖_max = {recon:.3e} > {bound:.3e}"
    ortho = float((V.T @ V - torch.eye(K, dtype=F64)).abs().max())
    assert ortho <= max(K, 2) * U, f"{route}: ‖VᵀV - I‖_max = {ortho:.3e}"
    # distinct, separated eigenvalues: each eigenvector agrees with torch's up to sign, the sine
    # of the angle ≤ ‖E‖ / gap (Davis–Kahan, ‖E‖ ≤ K u ‖G‖, ×10 for both solvers' errors), so
    # |cos| ≥ 1 - sin², less K u for rounding the dot product
    gaps = torch.diff(d_ref)
    sep = torch.full((K,), math.inf, dtype=F64)
    if K > 1:
        sep[:-1] = gaps
        sep[1:] = torch.minimum(sep[1:], gaps)
    cosines = (V * V_ref).sum(dim=0).abs()
    allowed = 1 - (10 * bound / sep).clamp(max=1) ** 2 - max(K, 2) * U
    assert bool((cosines >= allowed).all()), f"{route}: an eigenvector left its line"


@pytest.mark.parametrize("route", CONCRETE)
def test_clusters_span_the_same_subspaces(route: str) -> None:
    G, lam, clusters = clustered()
    K = G.shape[0]
    d_ref, V_ref = torch.linalg.eigh(G)
    d, V = symmetric_eigh(G, route=route)
    bound = K * U * float(lam.max())
    assert float((d - lam).abs().max()) <= bound
    assert float((d - d_ref).abs().max()) <= bound
    for sl in clusters:
        P, P_ref = V[:, sl] @ V[:, sl].T, V_ref[:, sl] @ V_ref[:, sl].T
        # gap to the neighbouring clusters ≥ 6 / (K - 17) ≈ 0.14: 10 K u ‖G‖ / 0.1 ~ 1e-11
        assert float((P - P_ref).abs().max()) <= 100 * bound, f"{route}: cluster {sl} moved"


@pytest.mark.parametrize("route", CONCRETE)
def test_float32_keeps_dtype_and_agrees(route: str) -> None:
    G = exponential_gram(40).to(torch.float32)
    d, V = symmetric_eigh(G, route=route)
    assert d.dtype == torch.float32 and V.dtype == torch.float32 and d.device == G.device
    d_ref = torch.linalg.eigh(G.double())[0]
    u32 = unit_roundoff(torch.float32)
    assert float((d.double() - d_ref).abs().max()) <= 40 * u32 * float(d_ref.max())


def test_auto_takes_the_documented_default_per_device() -> None:
    assert resolve_route("auto", "cpu") == DEFAULT_ROUTE["cpu"]
    assert resolve_route("auto", "cuda") == "torch" == DEFAULT_ROUTE["cuda"]
    assert resolve_route(None, "cpu") == DEFAULT_ROUTE["cpu"]  # env unset: auto
    assert set(DEFAULT_ROUTE.values()) <= set(CONCRETE)
    assert ROUTES == ("auto", *CONCRETE)


def _spy(monkeypatch) -> list[str]:
    """Record which library function each call of symmetric_eigh reaches."""
    import scipy.linalg

    calls: list[str] = []
    for module, attr, name in ((torch.linalg, "eigh", "torch"), (np.linalg, "eigh", "numpy"),
                               (scipy.linalg, "eigh", "scipy")):
        real = getattr(module, attr)

        def wrapped(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, attr, wrapped)
    return calls


@pytest.mark.parametrize("route", CONCRETE)
def test_environment_variable_forces_the_route_and_argument_wins(monkeypatch, route) -> None:
    calls = _spy(monkeypatch)
    G = exponential_gram(8)
    monkeypatch.setenv(ROUTE_ENV, route)
    symmetric_eigh(G)
    assert calls == [route]
    other = next(r for r in CONCRETE if r != route)
    symmetric_eigh(G, route=other)
    assert calls == [route, other]


def test_eigenbasis_goes_through_symmetric_eigh(monkeypatch) -> None:
    """hilbert.eigenbasis uses the device's route (failed when it called torch.linalg.eigh)."""
    calls = _spy(monkeypatch)
    G = exponential_gram(20)
    for route in CONCRETE:
        monkeypatch.setenv(ROUTE_ENV, route)
        basis = hilbert.eigenbasis(G)
        assert calls[-1] == route
        assert float((basis.V.T @ torch.diag(basis.d) @ basis.V - G).abs().max()) <= \
            20 * U * float(basis.d.max())
    monkeypatch.delenv(ROUTE_ENV)
    hilbert.eigenbasis(G)
    assert calls[-1] == DEFAULT_ROUTE["cpu"]


@pytest.mark.parametrize("route", CONCRETE)
@pytest.mark.parametrize("K", [11, 40])
def test_capped_rounds_are_the_start_of_the_full_run_on_every_route(monkeypatch, route, K):
    """Bit for bit, whichever eigenvectors the route returns (failed with the NumPy route when
    the engine formed all y_t in one batched product, whose last bit depended on the cap)."""
    from selfdistill.data import toy_sine
    from selfdistill.mobahi2020.rounds import self_distill

    monkeypatch.setenv(ROUTE_ENV, route)
    x, y = toy_sine() if K == 11 else (np.linspace(0, 1, K), np.cos(3 * np.linspace(0, 1, K)))
    x, y = torch.tensor(x, dtype=F64), torch.tensor(y, dtype=F64)
    basis = hilbert.eigenbasis(hilbert.gram(ExponentialKernel(0.1), x))
    eps = 0.03 * float(y.square().sum()) / K
    full = self_distill(basis, y, eps)
    assert full.n_rounds >= 3
    for cap in (1, 2):
        capped = self_distill(basis, y, eps, rounds=cap)
        assert torch.equal(capped.y, full.y[:cap + 1]), f"{route}: rounds={cap} differs"


@pytest.mark.parametrize("bad", ["lapack", "", "Torch", 3, None])
def test_bad_route_names_parameter_value_and_choices(bad) -> None:
    G = exponential_gram(4)
    if bad is None:
        symmetric_eigh(G, route=None)  # None means: read the environment (unset here)
        return
    if bad == "":
        bad = " "
    with pytest.raises(ValueError, match=r"route = .* is not accepted; choose one of "
                                         r"\['auto', 'torch', 'numpy', 'scipy'\]"):
        symmetric_eigh(G, route=bad)


def test_bad_environment_value_names_the_variable(monkeypatch) -> None:
    monkeypatch.setenv(ROUTE_ENV, "mkl" * 40)
    with pytest.raises(ValueError, match=rf"{ROUTE_ENV} = 'mklmkl.*… is not accepted") as err:
        symmetric_eigh(exponential_gram(4))
    shown = str(err.value).split(" = ", 1)[1].split(" is not accepted")[0]
    assert len(shown) == 80  # the 120-character value is cut to 80


@pytest.mark.parametrize("G, pattern", [
    (np.eye(3), r"G = ndarray is not accepted"),
    (torch.eye(3, dtype=torch.int64), r"G = a torch.int64 tensor is not accepted"),
    (torch.eye(3, dtype=torch.complex128), r"G = a torch.complex128 tensor"),
    (torch.ones(2, 3, 3, dtype=F64), r"G has shape \(2, 3, 3\) \(3 dimensions\)"),
    (torch.ones(2, 3, dtype=F64), r"G has shape \(2, 3\); accepted: square"),
    (torch.ones(0, 0, dtype=F64), r"G has shape \(0, 0\); accepted: square \(K, K\) with K ≥ 1"),
    (torch.tensor([[1.0, math.nan], [math.nan, 1.0]], dtype=F64), r"G has 2 non-finite"),
])
def test_bad_matrix_is_refused(G, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        symmetric_eigh(G, route="numpy")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("route", ROUTES)
def test_cuda_routes_stay_on_the_device_and_agree(route: str) -> None:
    G = exponential_gram(200)
    d_cpu = torch.linalg.eigh(G)[0]
    Gc = G.cuda()
    d, V = symmetric_eigh(Gc, route=route)
    assert d.device == Gc.device and V.device == Gc.device and d.dtype == F64
    bound = 200 * U * float(d_cpu.max())
    assert float((d.cpu() - d_cpu).abs().max()) <= bound
    assert float((V @ torch.diag(d) @ V.T - Gc).abs().max()) <= bound


def test_checked_eigh_is_the_route_without_the_second_pass(monkeypatch) -> None:
    """checked_eigh decomposes as symmetric_eigh does, by the same route, and reads G once less:
    the spectral engine's cost is the eigensolver's (issue 15, item 7)."""
    from selfdistill.core import eigensolver

    G = exponential_gram(30)
    for route in CONCRETE:
        d1, V1 = symmetric_eigh(G, route=route)
        d2, V2 = eigensolver.checked_eigh(G, route=route)
        assert torch.equal(d1, d2) and torch.equal(V1, V2)
    seen = []
    monkeypatch.setattr(eigensolver, "check_finite", lambda *a: seen.append(a))
    eigensolver.checked_eigh(G, route="numpy")
    assert not seen
    with pytest.raises(ValueError, match="route"):
        eigensolver.checked_eigh(G, route="lapack")
