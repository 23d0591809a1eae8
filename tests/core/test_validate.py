"""Argument validators, device resolution and seeding."""

from __future__ import annotations

import math
import random
import re

import numpy as np
import pytest
import torch

from selfdistill.core.device import VERIFY_DTYPE, as_tensor, resolve_device, seed_everything
from selfdistill.core.validate import (
    check_choice,
    check_finite,
    check_in_range,
    check_int,
    check_ndim,
    check_positive,
    check_same_length,
    format_range,
)

# --------------------------------------------------------------------------- format_range


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((0.0, math.inf, True, True), "(0, inf)"),
        ((1, 100, False, False), "[1, 100]"),
        ((-math.inf, 2.5, True, False), "(-inf, 2.5]"),
        ((0.0, 1.0, False, True), "[0, 1)"),
    ],
)
def test_format_range(args, text):
    assert format_range(*args) == text


# --------------------------------------------------------------------------- check_in_range


def test_check_in_range_returns_float_inside():
    value = check_in_range("alpha", 3, 0.0, 5.0)
    assert value == 3.0 and isinstance(value, float)
    # closed ends accept the end points, open ends reject them
    assert check_in_range("alpha", 0.0, 0.0, 1.0) == 0.0
    assert check_in_range("alpha", 1.0, 0.0, 1.0) == 1.0


@pytest.mark.parametrize(
    ("value", "lower", "upper", "lower_open", "upper_open", "interval"),
    [
        (-0.5, 0.0, 1.0, False, False, "[0, 1]"),
        (1.5, 0.0, 1.0, False, False, "[0, 1]"),
        (0.0, 0.0, 1.0, True, False, "(0, 1]"),
        (1.0, 0.0, 1.0, False, True, "[0, 1)"),
        (math.nan, -math.inf, math.inf, False, False, "[-inf, inf]"),
        (math.inf, 0.0, math.inf, True, True, "(0, inf)"),
    ],
)
def test_check_in_range_rejects_outside(value, lower, upper, lower_open, upper_open, interval):
    with pytest.raises(ValueError) as info:
        check_in_range(
            "alpha", value, lower, upper, lower_open=lower_open, upper_open=upper_open
        )
    message = str(info.value)
    assert "alpha" in message  # the parameter
    assert repr(value) in message  # the value it got
    assert interval in message  # the accepted range


@pytest.mark.parametrize("value", ["abc", None, [1.0, 2.0], object()])
def test_check_in_range_rejects_non_numbers(value):
    with pytest.raises(ValueError, match=r"^beta = .* is not a real number; accepted: \[0, 1\]$"):
        check_in_range("beta", value, 0.0, 1.0)


# --------------------------------------------------------------------------- check_positive


@pytest.mark.parametrize("value", [0.0, -1.0, -0.0, math.inf, math.nan, -math.inf])
def test_check_positive_rejects(value):
    with pytest.raises(ValueError) as info:
        check_positive("eps", value)
    message = str(info.value)
    assert message.startswith(f"eps = {value!r}")
    assert "(0, inf)" in message


@pytest.mark.parametrize("value", [1e-300, 0.5, 7, np.float64(2.0), torch.tensor(3.0)])
def test_check_positive_accepts(value):
    assert check_positive("eps", value) == float(value)


# --------------------------------------------------------------------------- check_int


def test_check_int_accepts_and_returns_int():
    assert check_int("n", 5, 0) == 5
    assert check_int("n", 0, 0, 3) == 0
    assert check_int("n", 3, 0, 3) == 3
    # NumPy integers are integers; the result is a plain int
    value = check_int("n", np.int64(7), 0)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize(
    ("value", "pattern"),
    [
        (2.0, r"^n_cells = 2\.0 is not an integer; accepted: integers in \[2, 100\]$"),
        (True, r"^n_cells = True is not an integer; accepted: integers in \[2, 100\]$"),
        ("3", r"^n_cells = '3' is not an integer; accepted: integers in \[2, 100\]$"),
        (1, r"^n_cells = 1 is outside the accepted range \[2, 100\]$"),
        (101, r"^n_cells = 101 is outside the accepted range \[2, 100\]$"),
    ],
)
def test_check_int_rejects(value, pattern):
    with pytest.raises(ValueError, match=pattern):
        check_int("n_cells", value, 2, 100)


def test_check_int_compares_large_integers_exactly():
    # integers above 2**53 are not all floats: a comparison through float() would accept
    # 2**53 + 1 <= 2**53 and reject 2**63 - 1 <= 2**63 - 1 (float(2**63 - 1) == 2**63)
    assert check_int("seed", 2**63 - 1, 0, 2**63 - 1) == 2**63 - 1
    with pytest.raises(ValueError, match=r"^n = 9007199254740993 is outside"):
        check_int("n", 2**53 + 1, 0, 2**53)
    with pytest.raises(ValueError, match=r"^n = 9007199254740991 is outside"):
        check_int("n", 2**53 - 1, 2**53)


def test_check_int_unbounded_above_reports_open_interval():
    expected = "seed = -1 is outside the accepted range [0, inf)"
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_int("seed", -1, 0)


# --------------------------------------------------------------------------- check_choice


def test_check_choice():
    assert check_choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError) as info:
        check_choice("mode", "z", ("a", "b"))
    assert str(info.value) == "mode = 'z' is not accepted; choose one of ['a', 'b']"


def test_check_choice_accepts_generators():
    # choices may be any iterable, consumed once; the message still lists them all
    with pytest.raises(ValueError, match=re.escape("choose one of [0, 1, 2]")):
        check_choice("k", 5, (i for i in range(3)))


# --------------------------------------------------------------------------- tensor checks


def test_check_finite():
    ok = torch.tensor([0.0, 1.0, -2.0])
    assert check_finite("x", ok) is ok
    bad = torch.tensor([0.0, math.nan, math.inf, -math.inf, 1.0])
    with pytest.raises(ValueError, match=r"^x has 3 non-finite entries \(NaN or inf\)"):
        check_finite("x", bad)


def test_check_ndim():
    t = torch.zeros(2, 3, 4)
    assert check_ndim("y", t, (3,)) is t
    with pytest.raises(ValueError) as info:
        check_ndim("y", t, (1, 2))
    message = str(info.value)
    assert message.startswith("y has shape (2, 3, 4) (3 dimensions)")
    assert "accepted numbers of dimensions: [1, 2]" in message


def test_check_same_length():
    check_same_length("x", torch.zeros(4), "y", torch.zeros(4, 2))
    with pytest.raises(ValueError) as info:
        check_same_length("x", torch.zeros(4), "y", torch.zeros(3, 2))
    message = str(info.value)
    assert message.startswith("x has 4 rows but y has 3; they must match")
    assert "(4,)" in message and "(3, 2)" in message


# --------------------------------------------------------------------------- device


def test_resolve_device_auto_and_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device().type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda")])
def test_resolve_device_cuda_unavailable_raises(device):
    with pytest.raises(ValueError, match=r"asks for CUDA but none is available"):
        resolve_device(device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_resolve_device_cuda_available():
    assert resolve_device("cuda").type == "cuda"


@pytest.mark.parametrize(
    ("device", "pattern"),
    [
        ("garbage", r"^device = 'garbage' is not a device; accepted: 'auto', 'cpu', 'cuda'"),
        ("", r"^device = '' is not a device"),
        (None, r"^device = None is not a device"),
        ("meta", r"^device = 'meta' is not supported; accepted: 'auto', 'cpu', 'cuda'$"),
        (torch.device("meta"), r"is not supported; accepted: 'auto', 'cpu', 'cuda'$"),
    ],
)
def test_resolve_device_rejects_garbage(device, pattern):
    with pytest.raises(ValueError, match=pattern):
        resolve_device(device)


def test_as_tensor_is_float64_and_reports_unreadable_input():
    t = as_tensor("x", [1, 2, 3], torch.device("cpu"))
    assert t.dtype == VERIFY_DTYPE == torch.float64
    assert t.device.type == "cpu"
    with pytest.raises(ValueError, match=r"^x could not be read as a numeric array"):
        as_tensor("x", ["a", "b"], torch.device("cpu"))


# --------------------------------------------------------------------------- seeding


def _draws(generator: torch.Generator):
    # the legacy global NumPy state is what seed_everything seeds, hence np.random.rand
    return (
        torch.rand(5),
        np.random.rand(5),  # noqa: NPY002
        random.random(),
        torch.rand(5, generator=generator),
    )


def test_seed_everything_repeats_draws():
    first = _draws(seed_everything(1234))
    second = _draws(seed_everything(1234))
    other = _draws(seed_everything(1235))
    assert torch.equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[2] == second[2]
    assert torch.equal(first[3], second[3])
    # a different seed gives different draws from every source
    assert not torch.equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])
    assert first[2] != other[2]
    assert not torch.equal(first[3], other[3])


def test_seed_everything_generator_matches_global_seed():
    generator = seed_everything(7)
    assert isinstance(generator, torch.Generator)
    assert torch.equal(torch.rand(4, generator=generator), torch.rand(4))


def test_seed_everything_largest_seed():
    # seed_everything documents seeds in [0, 2**63 - 1]; NumPy only takes 32-bit seeds, so the
    # largest one exercises the reduction modulo 2**32 too; it must be accepted and repeat
    big = 2**63 - 1
    seed_everything(big)
    a = (torch.rand(3), np.random.rand(3))  # noqa: NPY002
    seed_everything(big)
    b = (torch.rand(3), np.random.rand(3))  # noqa: NPY002
    assert torch.equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64, 1.5, True, "3", None])
def test_seed_everything_rejects(seed):
    with pytest.raises(ValueError, match=r"^seed = "):
        seed_everything(seed)
