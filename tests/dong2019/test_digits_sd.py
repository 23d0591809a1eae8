"""The batched digits trainer against the shared trainer (autograd) one run at a time."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfdistill.data.noise import binary_flip
from selfdistill.dong2019.digits_sd import digits_binary, train_noisy_arms
from selfdistill.dong2019.gd import train_full_batch_gd
from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_infinite
from selfdistill.dong2019.sd_rules import Adaptive, WarmupRamp, noisy_accuracy, rule_target


def test_split_is_normalised_and_seeded():
    a, b = digits_binary(100, 3, n_test=50), digits_binary(100, 3, n_test=50)
    assert torch.equal(a.x_train, b.x_train) and a.x_test.shape == (50, 64)
    assert torch.allclose(a.x_train.norm(dim=1), torch.ones(100, dtype=torch.float64))
    assert set(a.y_train.tolist()) == {-1.0, 1.0}
    with pytest.raises(ValueError, match="n_train"):
        digits_binary(10, 0)


@pytest.mark.parametrize("schedule", [WarmupRamp(3, 4, 1.0), Adaptive(2, 0.9)])
def test_batched_runs_equal_the_shared_trainer(schedule):
    arms, epochs, width, seed = ("plain", "A", "B", "C"), 12, 16, 4
    h = train_noisy_arms(0.3, 1, arms, schedule, width, epochs, 80, 1.5, n_test=40,
                         dtype=torch.float64, seed=seed)
    split = digits_binary(80, seed, n_test=40)
    flips = binary_flip(split.y_train, 0.3, torch.Generator().manual_seed(10_000 + seed))
    lr = 1.5 / float(torch.linalg.eigvalsh(ntk_infinite(split.x_train))[-1])
    for k, arm in enumerate(arms):
        state = {"prev": flips.noisy}

        def fn(t, u, arm=arm, state=state):
            alpha = schedule(t, noisy_accuracy(u, flips.noisy)) if t else 0.0
            state["prev"] = rule_target(arm, flips.noisy, state["prev"], u, alpha)
            return state["prev"]

        net = TwoLayerReLU(64, width, seed=seed, symmetric=True)
        run = train_full_batch_gd(net, split.x_train, flips.noisy, lr, epochs,
                                  X_eval=split.x_test, target_fn=None if arm == "plain" else fn)
        acc = (torch.where(run.eval_outputs >= 0, 1.0, -1.0) == split.y_test).double().mean(1)
        # epoch 0: f ≡ 0 up to rounding, whose sign differs between the two summation orders
        np.testing.assert_allclose(h.test_acc[k, 1:], acc.numpy()[1:], atol=1e-12)


def test_cpu_threads_restores_the_thread_count():
    from selfdistill.core.device import cpu_threads

    before = torch.get_num_threads()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n"):
        with cpu_threads(0):
            pass
