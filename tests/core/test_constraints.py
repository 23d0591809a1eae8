"""The declarative constraints of selfdistill.core.validate: each refuses its bad values with a
message naming the parameter, and validate_params checks only what a call passes."""

from __future__ import annotations

import math

import pytest
import torch

from selfdistill.core.validate import (
    SEED_MAX,
    Integer,
    Optional,
    Options,
    Positive,
    Real,
    Seed,
    SymmetricMatrix,
    Tensor,
    check_symmetric,
    validate_params,
)

CONSTRAINTS = [Real(0.0, 1.0), Real(0.0, 1.0, lower_open=True, strict=True), Positive(),
               Integer(1, 10), Integer(0), Seed(), Options("a", "b"), Tensor((1, 2)),
               SymmetricMatrix(), Optional(Integer(2, 5)), Real(0.0, 1.0, allow_nan=True),
               Real(strict=True, allow_nan=True)]


@pytest.mark.parametrize("constraint", CONSTRAINTS, ids=repr)
def test_every_bad_value_is_refused_naming_the_parameter(constraint):
    assert constraint.bad_values()
    for bad in constraint.bad_values():
        with pytest.raises(ValueError, match="^the_param"):
            constraint("the_param", bad)


def test_good_values_pass_and_convert():
    assert Real(0, 1)("x", "0.5") == 0.5  # a string converts unless strict
    with pytest.raises(ValueError, match="not a real number"):
        Real(0, 1, strict=True)("x", "0.5")
    assert Integer(1)("n", 3) == 3
    assert Seed()("seed", SEED_MAX) == SEED_MAX
    assert Optional(Integer(1))("n", None) is None
    assert Options("a", "b")("o", "b") == "b"


def test_allow_nan_accepts_nan_and_nothing_else_new():
    """A measured value may be NaN (a claim on it fails); text, bools in strict mode and values
    outside the interval are still refused."""
    for nan in (math.nan, "nan", torch.tensor(math.nan)):
        assert math.isnan(Real(0.0, 1.0, allow_nan=True)("v", nan))
    assert math.isnan(Real(strict=True, allow_nan=True)("v", float("nan")))
    with pytest.raises(ValueError, match="^v = 'nan' is a str"):
        Real(strict=True, allow_nan=True)("v", "nan")
    with pytest.raises(ValueError, match="^v = 2"):
        Real(0.0, 1.0, allow_nan=True)("v", 2)
    with pytest.raises(ValueError, match="^v = nan"):
        Real(0.0, 1.0)("v", math.nan)
    assert math.nan not in Real(allow_nan=True).bad_values()


def test_validate_params_checks_only_what_the_call_passes():
    calls = []

    @validate_params(n=Integer(1, 3), x=Real(0.0, 1.0))
    def f(n, x=5.0):  # an out-of-range default is the library's business, not the caller's
        calls.append((n, x))
        return n

    assert f(2) == 2 and calls == [(2, 5.0)]
    with pytest.raises(ValueError, match=r"^n = 4 is outside the accepted range \[1, 3\]"):
        f(4)
    with pytest.raises(ValueError, match="^x = "):
        f(x=math.nan)  # refused before the missing n is noticed: the contract test relies on it
    assert set(f.__constraints__) == {"n", "x"}


def test_validate_params_refuses_unknown_names():
    with pytest.raises(TypeError, match="unknown parameters"):
        validate_params(m=Integer(1))(lambda n: n)


def test_symmetry_tolerance_is_rounding_of_n_term_sums():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(200, 30, dtype=torch.float64, generator=gen)
    G = X @ X.T  # symmetric up to rounding of 30-term sums
    assert check_symmetric("G", G) is G
    G32 = G.float()
    check_symmetric("G", G32 + 1e-7 * G32.abs().max() * torch.triu(torch.ones(200, 200), 1))
    with pytest.raises(ValueError, match="G is not symmetric"):
        check_symmetric("G", G + 1e-9 * G.abs().max() * torch.triu(torch.ones(200, 200,
                                                                               dtype=G.dtype), 1))


def test_one_label_check_accepts_every_integer_dtype_and_names_the_range():
    from selfdistill.core.validate import check_labels

    for dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        out = check_labels("labels", torch.tensor([0, 2, 1], dtype=dtype), 3, rows=3)
        assert out.dtype == torch.long
    for bad, match in [(torch.tensor([0.0, 1.0]), "dtype torch.float32"),
                       (torch.tensor([True, False]), "dtype torch.bool"),
                       (torch.tensor([[0, 1]]), "shape"),
                       (torch.tensor([0, 3]), r"ranges over \[0, 3\]; accepted: \[0, 2\]"),
                       ([0, 1], "dtype list")]:
        with pytest.raises(ValueError, match=match):
            check_labels("labels", bad, 3)
    with pytest.raises(ValueError, match="2 entries; accepted: 3"):
        check_labels("labels", torch.tensor([0, 1]), 3, rows=3)
