"""Deep rounds trained to a fixed tolerance (mobahi2020's ε for networks): each round stops at
the first epoch within ε of its own targets, a target already within ε of zero collapses the
round, and the rows' measurements agree with a recomputation from the returned models' outputs."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from helpers import TINY_TRAINING

from selfdistill.data.classification import load_dataset
from selfdistill.mobahi2020 import deep as tr
from selfdistill.mobahi2020.deep import deep_rounds

CPU = torch.device("cpu")
SMALL = tr.ToleranceConfig(eps=0.02, noise=0.3, lr=2.0, width=16, max_epochs=400)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits-vec", CPU, seed=0, train_size=64)


@pytest.mark.slow
def test_every_round_stops_at_the_first_epoch_within_eps(digits, one_thread):
    target = F.one_hot(digits.y_train, 10).float()
    model, epochs, reached = tr._fit(SMALL, digits, target, 5)
    assert reached and epochs > 0
    with torch.no_grad():
        assert float(F.mse_loss(model(digits.x_train), target)) <= SMALL.eps
    # one epoch fewer from the same seed does not reach it
    short, _, ok = tr._fit(replace(SMALL, max_epochs=epochs - 1), digits, target, 5)
    assert not ok
    with torch.no_grad():
        assert float(F.mse_loss(short(digits.x_train), target)) > SMALL.eps


def test_round_zero_starts_from_the_zero_function(digits, one_thread):
    target = F.one_hot(digits.y_train, 10).float()
    model, _, _ = tr._fit(replace(SMALL, max_epochs=1), digits, target, 5)
    fresh, epochs, _ = tr._fit(replace(SMALL, eps=0.5), digits, target, 5)
    assert epochs == 0  # ‖y‖²/(KC) = 0.1 ≤ 0.5: the zero function is within ε
    with torch.no_grad():
        assert float(fresh(digits.x_train).abs().max()) == 0.0


def test_collapse_when_the_targets_are_within_eps_of_zero(digits, one_thread):
    rows = tr.tolerance_rounds(replace(SMALL, eps=0.11), digits, 2, 1)
    assert [r["epochs"] for r in rows] == [0, 0]
    assert rows[0]["shrink"] == 0.0 and rows[0]["mse_labels"] == pytest.approx(0.1)


@pytest.mark.slow
def test_rows_and_noise(digits, one_thread):
    rows = tr.tolerance_rounds(SMALL, digits, 3, 2)
    assert len(rows) == 6 and all(r["reached"] for r in rows)
    assert {r["seed"] for r in rows} == {0, 1}
    assert all(0.1 < r["noise_rate"] < 0.55 for r in rows)  # 64 draws of rate 0.3
    first = [r for r in rows if r["round"] == 0]
    # round 0 fits the noisy labels within ε: its MSE to them is at most ε
    assert all(r["mse_labels"] <= SMALL.eps for r in first)
    # the seeds draw different noise
    assert first[0]["noise_rate"] != first[1]["noise_rate"] or \
        first[0]["test_acc"] != first[1]["test_acc"]
    clean = tr.tolerance_rounds(replace(SMALL, noise=0.0), digits, 1, 1)
    assert clean[0]["noise_rate"] == 0.0 and clean[0]["mse_labels"] == clean[0]["mse_clean"]


@pytest.mark.parametrize("field, value", [("eps", 0.0), ("noise", 0.95), ("lr", -1.0),
                                          ("batch_size", -1), ("max_epochs", 0),
                                          ("dtype", "float16")])
def test_bad_settings_name_the_parameter(digits, field, value):
    with pytest.raises(ValueError, match=f"cfg.{field}"):
        tr.tolerance_rounds(replace(SMALL, **{field: value}), digits, 2, 1)


def test_bad_rounds_and_scale(digits):
    with pytest.raises(ValueError, match="rounds"):
        tr.tolerance_rounds(SMALL, digits, 0, 1)
    with pytest.raises(ValueError, match="scale"):
        tr.setup("huge", SMALL, CPU, 0, 64)


@pytest.mark.slow
def test_float64_and_mini_batches_reach_the_tolerance(digits, one_thread):
    rows = tr.tolerance_rounds(replace(SMALL, dtype="float64"), digits, 2, 1)
    assert all(r["reached"] for r in rows) and rows[0]["mse_labels"] <= SMALL.eps
    mini = tr.tolerance_rounds(replace(SMALL, batch_size=16, lr=0.5), digits, 1, 1)
    assert mini[0]["reached"] and mini[0]["mse_labels"] <= SMALL.eps


def test_deep_rounds_rows(digits):
    rows = deep_rounds(replace(TINY_TRAINING, epochs=1), digits, 2, 2)
    assert [(r["seed"], r["round"]) for r in rows] == [(s, t) for s in range(2) for t in range(2)]
    for r in rows:
        assert 0 < r["train_mse"] < 1 and 0 <= r["test_acc"] <= 1 and r["output_norm"] > 0
