"""The independent routes of the zhang2020 chapters (selfdistill.zhang2020.oracles)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close

from selfdistill.zhang2020 import metrics as mt
from selfdistill.zhang2020 import oracles as vz
from selfdistill.zhang2020 import synthetic as sy
from selfdistill.zhang2020 import targets as tg

F64 = torch.float64


def test_ece_replicates_match_library_ece():
    n, M, reps, gamma, seed = 300, 15, 4, 2.0, 11
    fast = vz.ece_replicates(n, M, reps, gamma, seed=seed)
    gen = torch.Generator().manual_seed(seed)  # redo the same draws as full probability rows
    c = 0.5 + 0.5 * torch.rand(reps, n, generator=gen, dtype=F64)
    correct = torch.rand(reps, n, generator=gen, dtype=F64) < c**gamma
    for r in range(reps):
        probs = torch.stack([c[r], 1 - c[r]], dim=1)
        labels = torch.where(correct[r], 0, 1)
        assert_close(fast[r], mt.ece(probs, labels, M), 1e-13)


def test_ece_bias_normal_matches_monte_carlo():
    # 20 bins, n = 400 (about 40 points per used bin): the normal approximation is within a few %
    mc = vz.ece_replicates(400, 20, 4000, 1.0, seed=3)
    predicted = sy.ece_bias_normal(400, 20)
    se = float(mc.std()) / np.sqrt(4000)
    assert abs(float(mc.mean()) - predicted) < 3 * se + 0.03 * predicted


@pytest.mark.parametrize("C", [3, 10, 100])
def test_newton_map_matches_closed_form(C):
    gen = torch.Generator().manual_seed(C)
    v = 0.2 + torch.rand(16, C, generator=gen, dtype=F64)
    gamma = 1 + 1.5 * v / v.sum(1, keepdim=True)
    labels = torch.randint(0, C, (16,), generator=gen)
    w = (torch.nn.functional.one_hot(labels, C) + gamma - 1).numpy()
    assert_close(vz.map_by_optimisation(w), tg.dirichlet_map(labels, gamma), 1e-9, 1e-12)


@pytest.mark.parametrize("call,name", [
    (lambda: sy.predictor(10, 10, gamma=0.0), "gamma"),
    (lambda: sy.predictor(10, 10, conf_low=0.05), "conf_low"),
    (lambda: sy.calibration_gap(0.5), "gamma"),
    (lambda: sy.ece_bias_normal(0, 10), "n"),
    (lambda: vz.ece_replicates(10, 0, 5), "n_bins"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=name):
        call()


@pytest.mark.parametrize("n,a,seed", [(8, 0.5, 0), (128, 3.0, 1), (1024, 20.0, 2)])
def test_order_statistics_mc_ranks_are_respected(n, a, seed):
    """Every repetition gives larger amounts to more confident examples (was the claim
    ``zhang2020.beta-ranks-respected`` of beta-smoothing: true by construction, since the sorted
    draws are matched to the sorted confidences, so a test of the implementation). Corners of the
    chapter's accepted n and a; ties cannot occur in float64 uniforms at these sizes."""
    mc = vz.order_statistics_mc(n, a, 50, seed)
    assert mc.ranks_respected
    assert bool((mc.mean.diff() > 0).all())  # the mean amount increases strictly with the rank
