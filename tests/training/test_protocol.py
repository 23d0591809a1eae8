"""The chapters' experiment functions at tiny sizes, the paper-scale configurations on generated
CIFAR-format files (the GPU path exercised on the CPU), and the ECE convention helper against
torchmetrics."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import TINY_TRAINING

from selfdistill.data.classification import load_dataset
from selfdistill.training import protocol
from selfdistill.training.loop import train
from selfdistill.training.objectives import CrossEntropy

CPU = torch.device("cpu")
torch.set_num_threads(1)


def test_summarise_against_numpy():
    rows = [{"g": "a", "v": 1.0}, {"g": "b", "v": 5.0}, {"g": "a", "v": 3.0}]
    out = protocol.summarise(rows, "g", ("v",))
    assert out["a"]["v"] == pytest.approx((2.0, np.std([1, 3], ddof=1), 1.0))
    assert list(out) == ["a", "b"] and out["b"]["v"][1] == 0.0


def test_interrupted_run_difference_is_zero(tmp_path, digits):
    check = protocol.interrupted_run_difference(replace(TINY_TRAINING, epochs=3), digits,
                                                   CrossEntropy, 1, tmp_path)
    assert check == {"max_weight_difference": 0.0, "histories_equal": 1.0, "resumed_from": 1.0}


def _cifar10_folder(root, n=16):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    table = {"folder": folder.name}
    for file in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": rng.integers(0, 10, n).tolist()}
        (folder / file).write_bytes(pickle.dumps(entry))
        table[file] = hashlib.md5((folder / file).read_bytes()).hexdigest()  # noqa: S324
    return table


@pytest.mark.parametrize("chapter", ["deep-rounds", "noisy-labels-deep"])
def test_paper_configurations_run_tiny_on_cpu(tmp_path, chapter):
    table = _cifar10_folder(tmp_path)
    data = load_dataset("cifar10", CPU, root=tmp_path, checksums=table, val_fraction=0.1)
    cfg = replace(protocol.PAPER[chapter], epochs=1, batch_size=16, width=4)
    result = train(cfg, data)
    assert cfg.augment and len(result.history) == 1


def test_paper_configuration_of_generations_builds_resnet34():
    from selfdistill.training.models import build_model

    cfg = protocol.PAPER["generations"]
    model = build_model(cfg.model, (3, 32, 32), 100, width=4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)


def test_paper_scale_without_data_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFDISTILL_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="scale = 'paper' needs cifar10.*SELFDISTILL_DATA"):
        protocol.book_or_paper("deep-rounds", "paper", CPU, TINY_TRAINING, 0)
    with pytest.raises(ValueError, match="scale"):
        protocol.book_or_paper("deep-rounds", "huge", CPU, TINY_TRAINING, 0)
    with pytest.raises(ValueError, match=r"^chapter = 'no-such-chapter' is not accepted; choose "
                                         r"one of \['deep-rounds', 'generations', "):
        protocol.book_or_paper("no-such-chapter", "paper", CPU, TINY_TRAINING, 0)


def test_seed_range_counts_seeds():
    assert list(protocol.seed_range(2)) == [0, 1]
    with pytest.raises(ValueError, match=r"^seeds = 101 is outside the accepted range \[1, 100\]"):
        protocol.seed_range(101)
