"""Edge cases at the bounds (issue 14 §8): the collapse threshold ± one ulp, exact ECE bin edges,
the positive-definiteness floor ``K u d_max``, and Beta smoothing's ranking on ties."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

from selfdistill.mobahi2020.greens_fit import fit_greens
from selfdistill.mobahi2020.hilbert import (
    collapse_threshold,
    collapses,
    eigenbasis,
    gram,
    squared_norm,
)
from selfdistill.mobahi2020.kernels import ExponentialKernel
from selfdistill.mobahi2020.oracles import refit_rounds
from selfdistill.mobahi2020.rounds import self_distill
from selfdistill.zhang2020.metrics import bin_edges, bin_index, reliability
from selfdistill.zhang2020.smoothing import beta_smoothing_amounts

F64 = torch.float64
U = 2.0**-53  # unit roundoff of float64


# ------------------------------------------------------------- collapse threshold ± one ulp
def _at_threshold(seed: int, columns: int | None = None):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(3, 12))
    x = np.sort(rng.uniform(0, 1, K))
    y = rng.normal(size=K if columns is None else (K, columns))
    threshold = collapse_threshold(y)
    return x, y, [np.nextafter(threshold, 0.0), threshold, np.nextafter(threshold, np.inf)]


def test_collapses_at_the_threshold_and_one_ulp_either_side():
    # ‖y‖² = 4, K = 4: Kε = 4 exactly at ε = 1, one rounding either side of it off the grid
    y = np.array([1.0, -1.0, 1.0, 1.0])
    assert squared_norm(y) == 4.0 and collapse_threshold(y) == 1.0
    assert collapses(4.0, 4, 1.0)  # the zero function meets the budget exactly: collapse
    assert collapses(4.0, 4, np.nextafter(1.0, 2.0))
    assert not collapses(4.0, 4, np.nextafter(1.0, 0.0))
    basis = eigenbasis(gram(ExponentialKernel(0.3), torch.tensor([0.0, 0.3, 0.6, 0.9])))
    # one ulp below: round 0 fits with a huge c, and its fit (‖y_1‖ ≈ 0) collapses at round 1
    for eps, expected in [(1.0, 0), (np.nextafter(1.0, 2.0), 0), (np.nextafter(1.0, 0.0), 1)]:
        got = self_distill(basis, torch.tensor(y), eps, rounds=1).collapse_round
        assert got == expected, (eps, got)
        refit = refit_rounds(basis.V.T @ torch.diag(basis.d) @ basis.V, torch.tensor(y), eps,
                             rounds=1).collapse_round
        assert refit == expected, (eps, refit)


@pytest.mark.slow
@pytest.mark.parametrize("columns", [None, 3])
def test_all_routes_decide_collapse_alike_at_the_threshold(columns):
    # at ε = ‖y‖²/K and one ulp either side, fit_greens, self_distill and refit_rounds must
    # agree with the one home hilbert.collapses (before: 13 % disagreed, and refit_rounds raised
    # SciPy's bracket error in 0.3 % of trials)
    kernel = ExponentialKernel(0.3)
    decided = []
    for seed in range(120):
        x, y, budgets = _at_threshold(seed, columns)
        G = gram(kernel, torch.tensor(x))
        basis = eigenbasis(G)
        for eps in budgets:
            expected = collapses(squared_norm(y), len(y), eps)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # near the threshold c is ill-conditioned
                greens = fit_greens(kernel, x, y, eps, device="cpu").collapsed
            spectral = self_distill(basis, torch.tensor(y), eps, rounds=2)
            refit = refit_rounds(G, torch.tensor(y), eps, rounds=2)
            got = (greens, spectral.collapse_round == 0, refit.collapse_round == 0)
            assert got == (expected,) * 3, (seed, float(eps).hex(), got)
            if not expected:
                assert math.isfinite(float(refit.c[0])) and float(refit.c[0]) > 0
                assert math.isfinite(float(spectral.c[0])) and float(spectral.c[0]) > 0
            decided.append(expected)
    assert any(decided) and not all(decided)  # both sides of the threshold were exercised


def test_refit_rounds_just_above_the_threshold_returns_the_bracket_end():
    # r_0 - 1 at rounding level: the residual at c_hi rounds to ≤ Kε for some seeds; the root is
    # then not resolved beyond c_hi, which is returned (not SciPy's sign error)
    kernel = ExponentialKernel(0.3)
    for seed in range(60):
        x, y, budgets = _at_threshold(seed)
        eps = budgets[0]
        if collapses(squared_norm(y), len(y), eps):
            continue
        G = gram(kernel, torch.tensor(x))
        result = refit_rounds(G, torch.tensor(y), eps, rounds=1)
        y1 = result.y[1]
        # the fit is shrunk toward 0 by c → ∞: ‖y_1‖ ≪ ‖y_0‖, the training error ≈ ‖y_0‖²/K
        assert float(y1.norm()) < 1e-6 * float(np.linalg.norm(y))


# ----------------------------------------------------------------------- ECE bin edges
def _oracle_bin(v: float, M: int) -> int:
    """0-based bin of v in ((b-1)/M, b/M], the edges b/M rounded to nearest float64, compared in
    exact rational arithmetic."""
    exact = Fraction(v)
    for b in range(1, M + 1):
        if exact <= Fraction(float(Fraction(b, M))):
            return b - 1
    raise AssertionError(v)


@pytest.mark.parametrize("M", [10, 15, 20, 25, 50, 100])
def test_a_confidence_on_an_edge_goes_to_the_bin_it_closes(M):
    on = [float(Fraction(b, M)) for b in range(M + 1)]  # b/M correctly rounded
    below = [np.nextafter(v, -1.0) for v in on[1:]]
    above = [np.nextafter(v, 2.0) for v in on[:-1]]
    values = on + below + above
    got = bin_index(torch.tensor(values, dtype=F64), M).tolist()
    expected = [_oracle_bin(v, M) for v in values]
    assert got == expected
    assert got[:M + 1] == [0] + list(range(M))  # b/M itself closes bin b (0 opens bin 1)
    assert torch.equal(bin_edges(M), torch.tensor(on, dtype=F64))


@pytest.mark.slow
@pytest.mark.parametrize("M", [10, 15, 20, 25, 50, 100])
def test_bins_of_random_confidences_match_exact_arithmetic(M):
    values = torch.rand(2000, generator=torch.Generator().manual_seed(M), dtype=F64)
    got = bin_index(values, M).tolist()
    assert got == [_oracle_bin(v, M) for v in values.tolist()]
    # away from the edges the bin is ceil(M v) - 1 in exact arithmetic
    assert got == [max(math.ceil(Fraction(v) * M) - 1, 0) for v in values.tolist()]


@pytest.mark.parametrize("M,value,b", [(20, 0.55, 11), (25, 0.56, 14), (25, 0.68, 17),
                                       (50, 0.56, 28), (50, 0.68, 34), (100, 0.81, 81)])
def test_reliability_counts_the_issue_edges_in_their_own_bin(M, value, b):
    probs = torch.tensor([[value, 1 - value]], dtype=F64)
    rel = reliability(probs, torch.tensor([0]), M)
    assert int(rel.counts.argmax()) == b - 1 and float(rel.counts.sum()) == 1


# ------------------------------------------------------------ positive-definiteness floor
@pytest.mark.parametrize("K", [2, 11, 40])
def test_pd_floor_is_exactly_K_u_d_max(K):
    floor = K * U  # d_max = 1: exact in binary
    at = torch.ones(K, dtype=F64)
    at[0] = floor
    with pytest.raises(ValueError, match=r"^G is not positive definite"):
        eigenbasis(torch.diag(at))
    above = at.clone()
    above[0] = np.nextafter(floor, 1.0)
    assert float(eigenbasis(torch.diag(above)).d[0]) == above[0]


def test_pd_floor_needs_the_factor_K():
    # K = 11, κ ≈ 1e15: d_min = 1e-15 lies below K u d_max = 1.2e-15 (refused) but above
    # u d_max = 1.1e-16 (what the floor would be without K)
    d = torch.ones(11, dtype=F64)
    d[0] = 1e-15
    with pytest.raises(ValueError, match=r"^G is not positive definite: smallest eigenvalue "
                                         r"1\.000e-15 ≤ 1\.221e-15"):
        eigenbasis(torch.diag(d))
    Q, _ = torch.linalg.qr(torch.randn(11, 11, generator=torch.Generator().manual_seed(0),
                                       dtype=F64))
    rotated = Q @ torch.diag(d) @ Q.T
    with pytest.raises(ValueError, match=r"^G is not positive definite"):
        eigenbasis((rotated + rotated.T) / 2)


# ------------------------------------------------------------------ Beta smoothing ties
def test_beta_smoothing_ranks_ties_by_position():
    # many ties: the k-th smallest Beta draw goes to the k-th least confident example, ties in
    # the order they appear (a stable sort); an unstable sort reorders the tied examples
    gen = torch.Generator().manual_seed(0)
    confidence = torch.tensor([0.1, 0.5, 0.9], dtype=F64)[torch.randint(0, 3, (3000,),
                                                                      generator=gen)]
    b = beta_smoothing_amounts(confidence, 3.0, torch.Generator().manual_seed(1))
    order = np.lexsort((np.arange(3000), confidence.numpy()))  # by confidence, then position
    assert bool((torch.diff(b[torch.from_numpy(order)]) >= 0).all())
    # all tied: the Beta draws are handed out in increasing order of position
    b_equal = beta_smoothing_amounts(torch.full((500,), 0.7), 3.0,
                                     torch.Generator().manual_seed(2))
    assert bool((torch.diff(b_equal) >= 0).all())
