"""Metrics and the objectives' argument checks: labels through the one check_labels."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from selfdistill.training.evaluation import evaluate, predict_logits
from selfdistill.training.objectives import EpochTargets, soft_cross_entropy

torch.set_num_threads(1)


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 3)


def test_evaluate_against_torch_formulas():
    model, x = _model(), torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], dtype=torch.int32)  # any integer dtype
    out = evaluate(model, x, y)
    logits = model(x).detach()
    assert out["acc"] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert out["nll"] == pytest.approx(float(F.cross_entropy(logits, y.long())), rel=1e-6)
    onehot = F.one_hot(y.long(), 3).float()
    assert out["mse"] == pytest.approx(float(((logits - onehot) ** 2).mean()), rel=1e-6)


@pytest.mark.parametrize(("y", "match"), [
    (torch.zeros(10), r"^y has dtype torch.float32; accepted: a tensor of integer class indices"),
    (torch.zeros(9, dtype=torch.long), r"^y has 9 entries; accepted: 10, one per row"),
    (torch.full((10,), 3), r"^y ranges over \[3, 3\]; accepted: \[0, 2\] for 3 classes"),
])
def test_evaluate_refuses_bad_labels(y, match):
    with pytest.raises(ValueError, match=match):
        evaluate(_model(), torch.zeros(10, 4), y)


def test_predict_logits_refuses_bad_arguments():
    with pytest.raises(ValueError, match=r"^chunk = 0 is outside the accepted range \[1, inf\)"):
        predict_logits(_model(), torch.zeros(3, 4), chunk=0)
    with pytest.raises(ValueError, match=r"^x has shape \(4,\) \(1 dimensions\)"):
        predict_logits(_model(), torch.zeros(4))


def test_soft_cross_entropy_of_uniform_targets_and_refusals():
    value = soft_cross_entropy(torch.zeros(2, 5), torch.full((2, 5), 0.2))
    assert float(value) == pytest.approx(math.log(5))
    with pytest.raises(ValueError, match=r"^logits has shape \(2, 5\) but targets has shape "
                                         r"\(2, 4\); they must match"):
        soft_cross_entropy(torch.zeros(2, 5), torch.zeros(2, 4))


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(y=torch.tensor([0, 3])), r"^y ranges over \[0, 3\]; accepted: \[0, 2\]"),
    (dict(y=torch.tensor([0.0, 1.0])), r"^y has dtype torch.float32"),
    (dict(warmup=-1), r"^warmup = -1 is outside the accepted range \[0, inf\)"),
    (dict(num_classes=1), r"^num_classes = 1 is outside the accepted range \[2, inf\)"),
])
def test_epoch_targets_refuses(kwargs, match):
    args = dict(rule=lambda *a: a[1], y=torch.tensor([0, 2]), num_classes=3, name="rule")
    with pytest.raises(ValueError, match=match):
        EpochTargets(**{**args, **kwargs})
