"""Noise models against Binomial confidence bounds and Monte-Carlo transition matrices."""

from __future__ import annotations

import pytest
import torch

from selfdistill.data.noise import (
    binary_flip,
    binomial_interval,
    convert_symmetric_rate,
    empirical_transition,
    pair_flip,
    pair_transition,
    symmetric_noise,
    symmetric_transition,
)

N = 200_000
# Monte-Carlo tolerance for one transition entry: the count in a row of ~N/C draws is Binomial,
# standard error <= sqrt(0.25 / (N/C)) ~ 2.2e-3 for C = 10; 5 standard errors leaves room for the
# largest of 100 entries (a Bonferroni-sized margin), while a wrong convention errs by >= rate/C.
C = 10
MC_TOL = 5 * (0.25 / (N / C)) ** 0.5


def _labels(n: int = N, c: int = C, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("convention", ["other", "any"])
@pytest.mark.parametrize("rate", [0.0, 0.2, 0.4, 0.8, 1.0])
def test_symmetric_transition_by_monte_carlo(convention, rate):
    noisy = symmetric_noise(_labels(), rate, C, torch.Generator().manual_seed(7), convention)
    T = symmetric_transition(rate, C, convention)
    assert torch.allclose(T.sum(1), torch.ones(C, dtype=torch.float64))
    assert (empirical_transition(noisy, C) - T).abs().max() <= MC_TOL


@pytest.mark.parametrize("rate", [0.0, 0.4, 1.0])
def test_pair_transition_by_monte_carlo(rate):
    noisy = pair_flip(_labels(), rate, C, torch.Generator().manual_seed(3))
    T = pair_transition(rate, C)
    assert T[C - 1, 0] == rate and T[0, 1] == rate  # k -> k+1 mod C, including the wrap-around
    assert (empirical_transition(noisy, C) - T).abs().max() <= MC_TOL


@pytest.mark.parametrize("convention,rate", [("other", 0.2), ("other", 0.4), ("any", 0.4),
                                             ("any", 0.8)])
def test_realised_flip_rate_within_binomial_interval(convention, rate):
    flip = rate if convention == "other" else rate * (C - 1) / C
    lo, hi = binomial_interval(N, flip, 0.999)
    for seed in range(5):
        noisy = symmetric_noise(_labels(), rate, C, torch.Generator().manual_seed(seed), convention)
        assert lo <= noisy.realised_rate <= hi
        assert bool((noisy.corrupted == (noisy.noisy != noisy.clean)).all())


def test_binary_flip_rate_and_values():
    y = torch.where(_labels(c=2) == 1, 1.0, -1.0).double()
    lo, hi = binomial_interval(N, 0.3)
    noisy = binary_flip(y, 0.3, torch.Generator().manual_seed(0))
    assert lo <= noisy.realised_rate <= hi
    assert torch.equal(noisy.noisy[noisy.corrupted], -y[noisy.corrupted])
    assert torch.equal(noisy.noisy[~noisy.corrupted], y[~noisy.corrupted])


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.9])
def test_conversion_gives_the_same_matrix(rate):
    other = convert_symmetric_rate(rate, C, source="any")
    assert torch.allclose(symmetric_transition(rate, C, "any"),
                          symmetric_transition(other, C, "other"), atol=1e-15)
    assert convert_symmetric_rate(other, C, source="other") == pytest.approx(rate, abs=1e-15)


def test_the_seed_makes_it_repeatable_and_labels_are_checked():
    a = symmetric_noise(_labels(1000), 0.4, C, torch.Generator().manual_seed(5))
    b = symmetric_noise(_labels(1000), 0.4, C, torch.Generator().manual_seed(5))
    assert torch.equal(a.noisy, b.noisy)
    with pytest.raises(ValueError, match="rate"):
        symmetric_noise(_labels(10), 1.5, C, torch.Generator())
    with pytest.raises(ValueError, match="labels range"):
        symmetric_noise(torch.tensor([0, 10]), 0.1, C, torch.Generator())
    with pytest.raises(ValueError, match="convention"):
        symmetric_noise(_labels(10), 0.1, C, torch.Generator(), "others")
    with pytest.raises(ValueError, match="rate"):
        convert_symmetric_rate(0.95, C, source="other")
    for rate in (-0.1, 1.1):  # a rate is a probability in either convention
        for source in ("any", "other"):
            with pytest.raises(ValueError, match=r"^rate = .* range \[0, 1\]"):
                convert_symmetric_rate(rate, C, source=source)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_labels_stay_on_cuda():
    noisy = symmetric_noise(_labels(100).cuda(), 0.4, C, torch.Generator().manual_seed(0))
    assert noisy.noisy.is_cuda and noisy.corrupted.is_cuda
