"""Synthetic predictors and the zhang2020 independent routes against other routes: the population
gap by quadrature, the vectorised Monte-Carlo ECE against the library's ECE replicate by replicate,
the Newton MAP against the closed form, the normal-approximation bias against brute Monte Carlo."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close
from scipy import integrate

from selfdistill.zhang2020 import metrics as mt
from selfdistill.zhang2020 import synthetic as sy

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


def test_teacher_logits_shape_and_device():
    labels = torch.tensor([0, 2, 1])
    t = sy.teacher_logits(labels, 4, generator=torch.Generator().manual_seed(0))
    assert t.shape == (3, 4) and t.dtype == F64


def test_teacher_structure_concentrates_the_spread():
    """With structure > 0 the non-target mass follows the ring (neighbours of y get more), and
    the spread is far from uniform; structure = 0 is the i.i.d. teacher, the same draws."""
    from selfdistill.zhang2020 import metrics as mt
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
