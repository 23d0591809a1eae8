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
from torchmetrics.classification import MulticlassCalibrationError

from selfdistill import experiments
from selfdistill.data import load_dataset
from selfdistill.objectives import CrossEntropy
from selfdistill.train import train

CPU = torch.device("cpu")
torch.set_num_threads(1)


def test_deep_rounds_rows(digits):
    rows = experiments.deep_rounds(replace(TINY_TRAINING, epochs=1), digits, 2, 2)
    assert [(r["seed"], r["round"]) for r in rows] == [(s, t) for s in range(2) for t in range(2)]
    for r in rows:
        assert 0 < r["train_mse"] < 1 and 0 <= r["test_acc"] <= 1 and r["output_norm"] > 0


def test_noisy_label_arms_rows(digits):
    rows = experiments.noisy_label_arms(replace(TINY_TRAINING, epochs=3), digits, "pair", 0.4, 1,
                                        warmup=1, ramp=1)
    assert [r["arm"] for r in rows] == ["ce", "distil", "sd-A", "sd-B", "sd-C"]
    assert all(len(r["test"]) == 3 and len(r["corrupt"]) == 3 for r in rows)
    assert abs(rows[0]["realised_rate"] - 0.4) < 0.15
    with pytest.raises(ValueError, match="noise"):
        experiments.noisy_label_arms(TINY_TRAINING, digits, "uniform", 0.4, 1)


def test_noisy_label_arms_converged_teacher(digits):
    rows = experiments.noisy_label_arms(replace(TINY_TRAINING, epochs=3), digits, "symmetric",
                                        0.4, 1, warmup=1, ramp=1, rules=("B",),
                                        teachers=("best", "last"))
    assert [r["arm"] for r in rows] == ["ce", "distil", "distil-last", "sd-B"]
    with pytest.raises(ValueError, match="teachers"):
        experiments.noisy_label_arms(TINY_TRAINING, digits, "pair", 0.4, 1, teachers=("first",))
    with pytest.raises(ValueError, match="rules"):
        experiments.noisy_label_arms(TINY_TRAINING, digits, "pair", 0.4, 1, rules=("D",))


def test_summarise_against_numpy():
    rows = [{"g": "a", "v": 1.0}, {"g": "b", "v": 5.0}, {"g": "a", "v": 3.0}]
    out = experiments.summarise(rows, "g", ("v",))
    assert out["a"]["v"] == pytest.approx((2.0, np.std([1, 3], ddof=1), 1.0))
    assert list(out) == ["a", "b"] and out["b"]["v"][1] == 0.0


def test_interrupted_run_difference_is_zero(tmp_path, digits):
    check = experiments.interrupted_run_difference(replace(TINY_TRAINING, epochs=3), digits,
                                                   CrossEntropy, 1, tmp_path)
    assert check == {"max_weight_difference": 0.0, "histories_equal": 1.0, "resumed_from": 1.0}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_convention_helper_matches_torchmetrics(seed):
    g = torch.Generator().manual_seed(seed)
    logits = 30 * torch.randn(400, 10, generator=g, dtype=torch.float64)  # many 1.0 in float32
    probs, labels = torch.softmax(logits, 1), torch.randint(0, 10, (400,), generator=g)
    assert bool((probs.max(1).values.float() == 1).any())
    oracle = MulticlassCalibrationError(num_classes=10, n_bins=15, norm="l1")
    assert experiments.ece_float32_top_bin(probs, labels, 15) == pytest.approx(
        float(oracle(probs, labels)), abs=1e-6)


def test_ece_convention_helper_where_the_conventions_differ():
    # 40 correct examples at confidence 0.96 (under-confident last bin) and 4 wrong ones whose
    # top probability is 1.0 in float32: binned together they partly cancel, torchmetrics does not
    probs = torch.full((44, 3), 0.02, dtype=torch.float64)
    probs[:, 0] = 0.96
    probs[40:] = torch.tensor([1 - 2e-9, 1e-9, 1e-9], dtype=torch.float64)
    labels = torch.zeros(44, dtype=torch.int64)
    labels[40:] = 1
    oracle = float(MulticlassCalibrationError(num_classes=3, n_bins=10, norm="l1")(probs, labels))
    assert experiments.ece_float32_top_bin(probs, labels, 10) == pytest.approx(oracle, abs=1e-6)
    assert oracle == pytest.approx((40 * 0.04 + 4 * 1.0) / 44, abs=1e-6)


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
    cfg = replace(experiments.PAPER[chapter], epochs=1, batch_size=16, width=4)
    result = train(cfg, data)
    assert cfg.augment and len(result.history) == 1


def test_paper_configuration_of_generations_builds_resnet34():
    from selfdistill.models import build_model

    cfg = experiments.PAPER["generations"]
    model = build_model(cfg.model, (3, 32, 32), 100, width=4)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 100)


def test_paper_scale_without_data_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("SELFDISTILL_DATA", str(tmp_path))
    with pytest.raises(ValueError, match="scale = 'paper' needs cifar10.*SELFDISTILL_DATA"):
        experiments.book_or_paper("deep-rounds", "paper", CPU, TINY_TRAINING, 0)
    with pytest.raises(ValueError, match="scale"):
        experiments.book_or_paper("deep-rounds", "huge", CPU, TINY_TRAINING, 0)
