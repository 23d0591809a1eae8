"""The generations experiment in the released regime and the synthetic diversity teachers, at
tiny sizes: row structure, the released conventions (ties to the last epoch, matched label
smoothing), and the teachers' designed properties (equal mean entropy, equal diversity)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import TINY_TRAINING

from selfdistill.training.loop import train
from selfdistill.zhang2020 import diversity_teachers as dt
from selfdistill.zhang2020 import generations as zr
from selfdistill.zhang2020 import metrics as mt

CPU = torch.device("cpu")
torch.set_num_threads(1)


def test_matched_eps_ls_is_the_mean_beta_amount():
    a, alpha = 3.0, 0.6
    b = np.random.default_rng(0).beta(a, 1, 400_000)
    assert zr.matched_eps_ls(alpha, a) == pytest.approx(float(np.mean(alpha * (1 - b))),
                                                        abs=5e-4)
    with pytest.raises(ValueError, match="alpha_beta"):
        zr.matched_eps_ls(1.5, a)


@pytest.mark.slow
def test_generations_regime_rows(digits):
    rows = zr.generations_regime(TINY_TRAINING, digits, 2, 2, n_bins=10)
    methods = ["ce", "sd-1", "sd-2", "ls", "beta"]
    assert [r["method"] for r in rows] == methods * 2
    for r in rows:
        assert 0 <= r["acc"] <= 1 and 0 <= r["train_acc"] <= 1
        assert 0 <= r["diversity"] <= np.log(10) + 1e-12
    a, b = zr.paired(rows, "acc", "sd-1", "ce")
    assert a.shape == b.shape == (2,)
    with pytest.raises(ValueError, match="method"):
        zr.paired(rows, "acc", "cp", "ce")


def test_ties_last_keeps_the_later_epoch(digits):
    cfg = replace(TINY_TRAINING, epochs=6, lr=1e-9)  # the weights barely move: every epoch ties
    first, last = (train(cfg, digits, ties=t) for t in ("first", "last"))
    accs = [h["val_acc"] for h in first.history]
    assert len(set(accs)) == 1
    assert first.best_epoch == 1 and last.best_epoch == 6
    with pytest.raises(ValueError, match="ties"):
        train(cfg, digits, ties="middle")


def test_teachers_match_entropy_and_diversity(digits):
    teachers = dt.make_teachers(digits)
    y = digits.y_train
    d = {k: dt.describe_teacher(q, y, 1.0) for k, q in teachers.items()}
    assert d["flat"]["entropy"] == pytest.approx(d["diverse"]["entropy"], abs=1e-9)
    assert d["flat"]["diversity"] == 0.0
    assert d["diverse"]["diversity"] > 1.0
    assert d["shifted"]["diversity"] == pytest.approx(d["diverse"]["diversity"], abs=1e-12)
    assert d["shifted"]["entropy"] > d["diverse"]["entropy"] + 0.3
    for q in teachers.values():  # right on every training example, rows on the simplex
        assert torch.equal(q.argmax(1), y)
        assert float((q.sum(1) - 1).abs().max()) < 1e-12
    spread = dt.class_spread(digits.x_train, y, 10)
    assert float(spread.diagonal().abs().max()) == 0.0
    assert float(mt.non_target_spread(teachers["diverse"], y)) < 0.9  # structured, not uniform


@pytest.mark.slow
def test_student_accuracy_rows(digits):
    teachers = dt.make_teachers(digits)
    rows = dt.student_accuracy(TINY_TRAINING, digits, teachers, (1.0, 4.0), 2)
    assert len(rows) == 2 * (1 + 2 * 3)
    a, b = dt.accuracy_pairs(rows, "diverse", "flat", 4.0)
    assert a.shape == b.shape == (2,)


@pytest.mark.parametrize("call, name", [
    (lambda d: dt.make_teachers(d, c_low=0.4), "c_low"),
    (lambda d: dt.make_teachers(d, shift=0.3), "shift"),
    (lambda d: dt.make_teachers(d, c_low=0.95, c_high=0.9), "c_low"),  # the order, in the body
    (lambda d: dt.make_teachers(d, c_high=1.0), r"^c_high = 1\.0 is outside"),  # declared only
    (lambda d: dt.accuracy_pairs([], "diverse", "flat", -1.0), r"^T = -1\.0 is outside"),
    (lambda d: dt.make_teachers(d, width=0.0), "width"),
    (lambda d: dt.student_accuracy(TINY_TRAINING, d, {}, (0.0,), 1), "temperatures"),
    (lambda d: dt.student_accuracy(TINY_TRAINING, d, {"x": torch.ones(3, 10) / 10}, (1.0,), 1),
     "teachers"),
    (lambda d: dt.describe_teacher(torch.ones(3, 10) / 10, torch.zeros(3, dtype=torch.long),
                                   -1.0), "T"),
    (lambda d: zr.generations_regime(TINY_TRAINING, d, 0), "seeds"),
    (lambda d: zr.sd_objective(1.5, 4.0), "alpha"),
    (lambda d: zr.describe(torch.nn.Linear(64, 10), d, 4.0, 1), "n_bins"),
])
def test_bad_arguments_name_the_parameter(digits, call, name):
    with pytest.raises(ValueError, match=name):
        call(digits)
