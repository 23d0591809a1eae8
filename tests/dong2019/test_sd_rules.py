"""Self-distillation rules and schedules: endpoints, reductions at α = 0, and by-hand values."""

from __future__ import annotations

import pytest
import torch

from selfdistill.dong2019.sd_rules import (
    Adaptive,
    Constant,
    LinearRamp,
    WarmupRamp,
    hard_labels,
    hard_target,
    noisy_accuracy,
    recursive_target,
    rule_target,
    soft_target,
)


def _data(n: int = 50, c: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    y = torch.nn.functional.one_hot(torch.randint(0, c, (n,), generator=g), c).double()
    p = torch.randn(n, c, generator=g, dtype=torch.float64)
    return y, p


@pytest.mark.parametrize("rule", ["A", "B", "C"])
def test_alpha_zero_gives_the_plain_labels(rule):
    y, p = _data()
    assert torch.equal(rule_target(rule, y, y, p, 0.0), y)


def test_rule_target_is_each_rule_by_hand():
    """Away from α = 0 and with previous targets unlike the labels, the three rules differ."""
    y, p = _data()
    previous = torch.softmax(p.flip(0), 1)
    alpha = 0.3
    hard = torch.nn.functional.one_hot(p.argmax(1), 4).double()
    expected = {"A": 0.7 * y + 0.3 * p, "B": 0.7 * y + 0.3 * hard, "C": 0.7 * previous + 0.3 * p}
    for rule, value in expected.items():
        assert torch.allclose(rule_target(rule, y, previous, p, alpha), value, atol=1e-15), rule


def test_alpha_one_gives_the_predictions():
    y, p = _data()
    assert torch.equal(soft_target(y, p, 1.0), p)
    assert torch.equal(recursive_target(y, p, 1.0), p)
    hard = hard_target(y, p, 1.0)
    assert torch.equal(hard.argmax(1), p.argmax(1)) and torch.equal(hard.sum(1), torch.ones(50))


def test_rules_by_hand():
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    p = torch.tensor([[0.2, 0.6], [0.9, 0.1]], dtype=torch.float64)
    assert torch.allclose(soft_target(y, p, 0.25), torch.tensor([[0.8, 0.15], [0.225, 0.775]],
                                                                dtype=torch.float64))
    assert torch.allclose(hard_target(y, p, 0.25), torch.tensor([[0.75, 0.25], [0.25, 0.75]],
                                                                dtype=torch.float64))
    twice = recursive_target(recursive_target(y, p, 0.5), p, 0.5)  # ŷ = ¼ ỹ + ¾ p
    assert torch.allclose(twice, 0.25 * y + 0.75 * p)


def test_single_output_uses_the_sign():
    p = torch.tensor([-0.3, 0.0, 2.0], dtype=torch.float64)
    assert torch.equal(hard_labels(p), torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    y = torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64)
    assert noisy_accuracy(p, y) == pytest.approx(1 / 3)
    assert torch.equal(hard_target(y, p, 1.0), hard_labels(p))


def test_schedules_at_their_endpoints():
    assert Constant(0.3)(0) == 0.3 and Constant(0.3)(10_000) == 0.3
    ramp = LinearRamp(0.8, 10)
    assert ramp(0) == 0.0 and ramp(5) == pytest.approx(0.4) and ramp(10) == 0.8 and ramp(99) == 0.8
    warm = WarmupRamp(warmup=5, ramp=4, alpha_max=1.0)
    assert [warm(t) for t in (0, 5, 6, 9, 50)] == [0.0, 0.0, 0.25, 1.0, 1.0]
    adaptive = Adaptive(warmup=2, alpha_max=0.9)
    assert adaptive(1) == 0.0 and adaptive(2, 0.5) == 0.5 and adaptive(3, 0.95) == 0.9


def test_bad_arguments_are_refused():
    y, p = _data()
    for bad in (lambda: Constant(1.2), lambda: LinearRamp(0.5, 0), lambda: WarmupRamp(-1, 3),
                lambda: soft_target(y, p, -0.1), lambda: soft_target(y, p[:, :3], 0.5),
                lambda: Adaptive()(3), lambda: rule_target("D", y, y, p, 0.1)):
        with pytest.raises(ValueError):
            bad()
