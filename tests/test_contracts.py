"""One validation contract for every public function: a ValueError naming the argument, its value
and what is accepted, before any work; float32 and NumPy input converted as documented; complex
input refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from selfdistill.core.device import as_tensor, seed_everything
from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.finite_difference import solve_discretised
from selfdistill.mobahi2020.fit_studies import eps_sweep
from selfdistill.mobahi2020.greens_fit import fit_greens
from selfdistill.mobahi2020.hilbert import (
    Eigenbasis,
    c_bounds,
    collapse_threshold,
    collapses,
    eigenbasis,
    gram,
    solve_c,
)
from selfdistill.mobahi2020.kernels import (
    ExponentialKernel,
    GaussianKernel,
    NeumannExponentialKernel,
)
from selfdistill.mobahi2020.oracles import c_by_bisection, near_collapse_prediction

F64 = torch.float64
X, Y = toy_sine()
KERNEL = ExponentialKernel(0.1)
KERNELS = [ExponentialKernel(0.3), GaussianKernel(0.2), NeumannExponentialKernel(0.2, -1.0, 2.0)]


# --------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_kernels_convert_numpy_and_lists_to_float64(kernel):
    reference = kernel(torch.as_tensor(X), torch.as_tensor(X[:4]))
    for x, t in ((X, X[:4]), (list(X), list(X[:4])), (X, torch.as_tensor(X[:4]))):
        value = kernel(x, t)
        assert value.dtype == F64
        assert torch.equal(value, reference)
    # integer tensors are converted too
    assert kernel(torch.arange(3), torch.arange(2)).dtype == F64


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_kernels_keep_float32_tensors(kernel):
    x32 = torch.as_tensor(X, dtype=torch.float32)
    value = kernel(x32, x32)
    assert value.dtype == torch.float32
    # float32 rounding of the inputs and the arithmetic: ~1e-6 relative of the float64 values
    reference = kernel(x32.double(), x32.double())
    assert torch.allclose(value.double(), reference, rtol=1e-5, atol=1e-6 * float(reference.max()))


@pytest.mark.parametrize("kernel", KERNELS, ids=repr)
def test_kernels_refuse_complex_and_mixed_dtypes(kernel):
    with pytest.raises(ValueError, match=r"^x is complex; accepted: real numbers only"):
        kernel(X + 0j, X)
    with pytest.raises(ValueError, match=r"^t is complex"):
        kernel(torch.as_tensor(X), torch.as_tensor(X, dtype=torch.complex128))
    with pytest.raises(ValueError, match=r"^t is torch.float32 on cpu but x is torch.float64"):
        kernel(torch.as_tensor(X), torch.as_tensor(X, dtype=torch.float32))


# --------------------------------------------------------------------------- fit_greens


def test_fit_greens_converts_float32_to_float64():
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    fit32 = fit_greens(KERNEL, torch.as_tensor(x32), torch.as_tensor(y32), 0.05, "cpu")
    fit64 = fit_greens(KERNEL, x32.astype(np.float64), y32.astype(np.float64), 0.05, "cpu")
    assert fit32.alpha.dtype == F64 and fit32.x.dtype == F64
    assert fit32.c == fit64.c  # the same float64 numbers in, the same c out


@pytest.mark.parametrize(
    ("kernel", "x", "y", "pattern"),
    [
        (KERNEL, X + 0j, Y, r"^x is complex; accepted: real numbers only"),
        (KERNEL, X, torch.as_tensor(Y) * (1 + 1j), r"^y is complex"),
        ("exp", X, Y, r"^kernel = 'exp' is not a selfdistill.mobahi2020.kernels.Kernel"),
        (KERNEL, X, Y[:5], r"^x has 11 rows but y has 5; they must match"),
    ],
)
def test_fit_greens_refuses(kernel, x, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        fit_greens(kernel, x, y, 0.05, "cpu")


# --------------------------------------------------------------------------- c_bounds, solve_c


D = torch.tensor([0.5, 1.0, 2.0], dtype=F64)


@pytest.mark.parametrize(
    ("args", "kwargs", "pattern"),
    [
        ((D[:, None], 2.0, 3, 0.1), {}, r"^d has shape \(3, 1\)"),
        ((torch.tensor([0.5, -1.0, 2.0], dtype=F64), 2.0, 3, 0.1), {},
         r"^d has 1 non-positive eigenvalues"),
        ((torch.tensor([0.5, math.nan, 2.0], dtype=F64), 2.0, 3, 0.1), {}, r"^d has 1 non-finite"),
        ((D, 2.0, 4, 0.1), {}, r"^d has 3 eigenvalues but K = 4; they must match"),
        ((D, 2.0, 3.0, 0.1), {}, r"^K = 3\.0 is not an integer"),
        ((D, 2.0, 3, 0.0), {}, r"^eps = 0\.0 is outside the accepted range \(0, inf\)"),
        ((D, -2.0, 3, 0.1), {}, r"^y_norm = -2\.0 is outside the accepted range \[0, inf\)"),
        ((D, math.nan, 3, 0.1), {}, r"^y_norm = nan is outside"),
        ((D, 2.0, 3, 0.1), {"y_sq_norm": -4.0}, r"^y_sq_norm = -4\.0 is outside"),
        ((D, 0.1, 3, 0.1), {}, r"the problem collapses, c is infinite"),
    ],
)
def test_c_bounds_refuses(args, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        c_bounds(*args, **kwargs)


def test_c_bounds_accepts_numpy_eigenvalues():
    assert c_bounds(D.numpy(), 2.0, 3, 0.1) == c_bounds(D, 2.0, 3, 0.1)


BASIS = Eigenbasis(d=D, V=torch.eye(3, dtype=F64))


@pytest.mark.parametrize(
    ("basis", "z", "eps", "pattern"),
    [
        ("basis", torch.ones(3, dtype=F64), 0.1, r"^basis must be an Eigenbasis"),
        (BASIS, np.ones(3), 0.1, r"^z = ndarray is not accepted; accepted: a real torch tensor"),
        (BASIS, torch.ones(3, dtype=torch.complex128), 0.1,
         r"^z = a complex tensor is not accepted; accepted: a real torch tensor"),
        (BASIS, torch.ones(4, dtype=F64), 0.1, r"^z has 4 rows but basis.d has 3"),
        (BASIS, torch.ones(3, 1, 1, dtype=F64), 0.1, r"^z has shape \(3, 1, 1\)"),
        (BASIS, torch.tensor([1.0, math.inf, 0.0], dtype=F64), 0.1, r"^z has 1 non-finite"),
        (BASIS, torch.ones(3, dtype=F64), -0.1, r"^eps = -0\.1 is outside"),
    ],
)
def test_solve_c_refuses(basis, z, eps, pattern):
    with pytest.raises(ValueError, match=pattern):
        solve_c(basis, z, eps)


def test_solve_c_refuses_bad_y_sq_norm():
    with pytest.raises(ValueError, match=r"^y_sq_norm = nan is outside"):
        solve_c(BASIS, torch.ones(3, dtype=F64), 0.1, y_sq_norm=math.nan)


def test_gram_and_eigenbasis_refuse_non_kernels_and_complex():
    with pytest.raises(ValueError, match=r"^kernel = None is not"):
        gram(None, torch.as_tensor(X))
    with pytest.raises(ValueError, match=r"^G = a complex tensor is not accepted; "
                                         r"accepted: a real torch tensor of shape \(n, n\)"):
        eigenbasis(torch.eye(2, dtype=torch.complex128))


# --------------------------------------------------------------------------- verify


@pytest.mark.parametrize(
    ("eps", "pattern"),
    [
        (np.array([0.1, 0.0]), r"^eps\[1\] = 0\.0 is outside the accepted range \(0, inf\)"),
        (np.array([math.nan]), r"^eps\[0\] = nan is outside"),
        (np.ones((2, 2)), r"^eps has shape \(2, 2\); accepted: a 1-D array"),
        (np.array([]), r"^eps has shape \(0,\)"),
        (np.array([0.1 + 0j]), r"^eps is complex"),
    ],
)
def test_eps_sweep_refuses_bad_budgets(eps, pattern):
    with pytest.raises(ValueError, match=pattern):
        eps_sweep(KERNEL, X, Y, eps, "cpu")


@pytest.mark.parametrize("function", [eps_sweep, c_by_bisection, near_collapse_prediction])
def test_verify_functions_check_data_like_fit_greens(function):
    budget = np.array([0.1]) if function is eps_sweep else 0.1
    with pytest.raises(ValueError, match=r"^x has 11 rows but y has 10"):
        function(KERNEL, X, Y[:-1], budget, "cpu")
    with pytest.raises(ValueError, match=r"^y is complex"):
        function(KERNEL, X, Y + 1j, budget, "cpu")
    with pytest.raises(ValueError, match=r"^kernel = 1 is not"):
        function(1, X, Y, budget, "cpu")


def test_solve_discretised_converts_float32_and_tensors():
    x32, y32 = X.astype(np.float32), Y.astype(np.float32)
    a = solve_discretised(torch.as_tensor(x32), y32, 0.05, 0.1, 0.0, 1.0, 40)
    b = solve_discretised(x32.astype(np.float64), y32.astype(np.float64), 0.05, 0.1, 0.0, 1.0, 40)
    assert a.c == b.c and np.array_equal(a.f, b.f)


# --------------------------------------------------------------------------- collapse, seeds


@pytest.mark.filterwarnings("ignore::selfdistill.mobahi2020.greens_fit.IllConditionedWarning")
def test_collapse_threshold_has_one_home():
    # every route decides collapse with hilbert.collapses on the fsum of the squares: at one
    # ulp either side of the threshold they agree
    K = len(Y)
    at = collapse_threshold(Y)
    assert at == math.fsum(Y**2) / K
    for eps in (np.nextafter(at, 0), at, np.nextafter(at, 1)):
        eps = float(eps)
        expected = collapses(math.fsum(Y**2), K, eps)
        assert fit_greens(KERNEL, X, Y, eps, "cpu").collapsed == expected
        assert bool(np.isinf(eps_sweep(KERNEL, X, Y, np.array([eps]), "cpu").c[0])) == expected
        assert solve_discretised(X, Y, eps, 0.1, 0.0, 1.0, 20).collapsed == expected
        assert math.isinf(c_by_bisection(KERNEL, X, Y, eps, "cpu")) == expected


@pytest.mark.parametrize(
    ("args", "pattern"),
    [((-1.0, 3, 0.1), r"^y_sq_norm = -1\.0"), ((1.0, 0, 0.1), r"^K = 0 is outside"),
     ((1.0, 3, 0.0), r"^eps = 0\.0 is outside")],
)
def test_collapses_refuses(args, pattern):
    with pytest.raises(ValueError, match=pattern):
        collapses(*args)


@pytest.mark.parametrize("seed", [np.int64(3), np.int32(3), np.uint8(3)])
def test_seed_everything_accepts_numpy_integers(seed):
    seed_everything(seed)
    a = torch.rand(3)
    seed_everything(3)
    assert torch.equal(a, torch.rand(3))


def test_as_tensor_refuses_complex():
    with pytest.raises(ValueError, match=r"^v is complex; accepted: real numbers only"):
        as_tensor("v", np.array([1 + 2j]), torch.device("cpu"))
    with pytest.raises(ValueError, match=r"^v is complex"):
        as_tensor("v", torch.ones(2, dtype=torch.complex64), torch.device("cpu"))
