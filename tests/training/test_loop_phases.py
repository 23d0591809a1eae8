"""What the phases of train() promise, pinned one by one (issue 15 split train into setup, epoch,
evaluation and checkpoint): the shuffling generator's seed, the hooks an objective gets, the
best-epoch rule for ties."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from selfdistill.data.classification import load_dataset
from selfdistill.training.loop import TrainConfig, train
from selfdistill.training.models import build_model
from selfdistill.training.objectives import CrossEntropy

CPU = torch.device("cpu")
torch.set_num_threads(1)
SMALL = TrainConfig(model="mlp", dataset="digits-vec", epochs=2, batch_size=64, width=8,
                    momentum=0.0, weight_decay=0.0, schedule="constant", lr=0.2, seed=5)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits-vec", CPU, seed=0, train_size=128)


def test_two_epochs_of_minibatches_equal_hand_written_sgd(digits):
    """Mini-batches of a permutation drawn from a generator seeded ``seed + 1``, one fresh
    permutation per epoch, the last partial batch dropped."""
    cfg = replace(SMALL, batch_size=50)  # 128 examples: two batches an epoch, 28 dropped
    result = train(cfg, digits, progress=False)
    torch.manual_seed(cfg.seed)
    model = build_model("mlp", (64,), 10, cfg.width, cfg.depth)
    generator = torch.Generator().manual_seed(cfg.seed + 1)
    for _ in range(cfg.epochs):
        perm = torch.randperm(128, generator=generator)
        for b in range(2):
            index = perm[b * 50:(b + 1) * 50]
            loss = F.cross_entropy(model(digits.x_train[index]), digits.y_train[index])
            grads = torch.autograd.grad(loss, list(model.parameters()))
            with torch.no_grad():
                for p, g in zip(model.parameters(), grads, strict=True):
                    p -= cfg.lr * g
    for p, q in zip(model.parameters(), result.model.parameters(), strict=True):
        torch.testing.assert_close(q, p, rtol=1e-5, atol=1e-6)


class _Counting(CrossEntropy):
    def __init__(self):
        self.started, self.steps = [], []

    def start_epoch(self, epoch, predict):
        self.started.append((epoch, tuple(predict().shape)))

    def after_step(self, model, batch):
        self.steps.append((batch.epoch, batch.step, tuple(batch.index.shape)))


def test_the_objective_gets_every_hook_in_order(digits):
    objective = _Counting()
    train(replace(SMALL, epochs=3), digits, objective, progress=False)
    assert objective.started == [(e, (128, 10)) for e in range(3)]
    assert objective.steps == [(s // 2, s, (64,)) for s in range(6)]


@pytest.mark.parametrize(("ties", "best"), [("first", 1), ("last", 3)])
def test_ties_of_the_best_validation_accuracy(digits, ties, best):
    """With a step too small to change any prediction every epoch ties: ``first`` keeps epoch 1,
    ``last`` the last epoch."""
    result = train(replace(SMALL, epochs=3, lr=1e-12), digits, ties=ties, progress=False)
    assert len({h["val_acc"] for h in result.history}) == 1
    assert result.best_epoch == best
