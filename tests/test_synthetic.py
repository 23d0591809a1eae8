"""Synthetic predictors and the zhang2020 independent routes against other routes: the population
gap by quadrature, the vectorised Monte-Carlo ECE against the library's ECE replicate by replicate,
the Newton MAP against the closed form, the normal-approximation bias against brute Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from scipy import integrate

from selfdistill import metrics as mt
from selfdistill import synthetic as sy
from selfdistill import targets as tg
from selfdistill import verify_zhang as vz

F64 = torch.float64


@pytest.mark.parametrize("gamma,low", [(1.0, 0.5), (2.0, 0.5), (5.0, 0.5), (1.5, 0.2)])
def test_calibration_gap_matches_quadrature(gamma, low):
    quad = integrate.quad(lambda c: abs(c - c**gamma) / (1 - low), low, 1, epsrel=1e-12)[0]
    assert_close(sy.calibration_gap(gamma, low), quad, 1e-10, 1e-14)


@pytest.mark.parametrize("gamma", [1.0, 3.0])
def test_predictor_accuracy_and_confidence(gamma):
    gen = torch.Generator().manual_seed(0)
    pred = sy.predictor(200_000, 10, gamma, generator=gen)
    conf = pred.probs.max(1).values
    assert_close(conf, pred.confidence, 0.0)
    assert_close(pred.probs.sum(1), 1.0, 1e-14)
    acc = float(mt.accuracy(pred.probs, pred.labels))
    expected = 2 * (1 - 0.5 ** (gamma + 1)) / (gamma + 1)  # E c^γ, c ~ U(1/2, 1)
    assert abs(acc - expected) < 5 * np.sqrt(0.25 / 200_000)


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


def test_teacher_logits_shape_and_device():
    labels = torch.tensor([0, 2, 1])
    t = sy.teacher_logits(labels, 4, generator=torch.Generator().manual_seed(0))
    assert t.shape == (3, 4) and t.dtype == F64


def test_teacher_structure_concentrates_the_spread():
    """With structure > 0 the non-target mass follows the ring (neighbours of y get more), and
    the spread is far from uniform; structure = 0 is the i.i.d. teacher, the same draws."""
    from selfdistill import metrics as mt

    C, N = 10, 4000
    labels = torch.arange(N) % C
    t0 = sy.teacher_logits(labels, C, generator=torch.Generator().manual_seed(1))
    t2 = sy.teacher_logits(labels, C, generator=torch.Generator().manual_seed(1), structure=2.0)
    ring = torch.cos(2 * torch.pi * (torch.arange(C) - labels[:, None]).to(F64) / C)
    assert_close(t2 - t0, 2.0 * ring * (1 - torch.nn.functional.one_hot(labels, C)), 0, 1e-12)
    p0, p2 = torch.softmax(t0, 1), torch.softmax(t2, 1)
    neighbour, opposite = (labels + 1) % C, (labels + C // 2) % C
    assert float(p2[torch.arange(N), neighbour].mean()) > 5 * float(
        p2[torch.arange(N), opposite].mean())
    assert float(mt.non_target_spread(p2, labels)) < float(mt.non_target_spread(p0, labels)) - 0.1
    with pytest.raises(ValueError, match="structure"):
        sy.teacher_logits(labels, C, structure=-1.0)


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
