"""Metrics against independent routes: ECE against torchmetrics and a brute-force loop, the bin
edge conventions explicitly, accuracy and NLL against scikit-learn, entropies against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from helpers import assert_close, tol
from scipy import stats
from sklearn.metrics import accuracy_score, log_loss
from torchmetrics.classification import MulticlassCalibrationError

from selfdistill.zhang2020 import metrics as mt
from selfdistill.zhang2020.metrics import ece_float32_top_bin

F64 = torch.float64
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def predictions(seed: int, N: int, C: int, scale: float = 2.0):
    gen = torch.Generator().manual_seed(seed)
    probs = torch.softmax(scale * torch.randn(N, C, generator=gen, dtype=F64), dim=1)
    labels = torch.randint(0, C, (N,), generator=gen)
    return probs, labels


def ece_loop(probs: np.ndarray, labels: np.ndarray, n_bins: int) -> float:
    """Brute force: one pass per bin, bins (lo, hi] with 0 in the first, as plain Python."""
    conf, pred = probs.max(1), probs.argmax(1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [i for i in range(len(conf)) if (lo < conf[i] <= hi) or (b == 0 and conf[i] == 0)]
        if members:
            acc = sum(pred[i] == labels[i] for i in members) / len(members)
            avg = sum(conf[i] for i in members) / len(members)
            total += len(members) / len(conf) * abs(acc - avg)
    return total


GRID = [(0, 50, 2, 5), (1, 500, 10, 15), (2, 2000, 10, 20), (3, 300, 100, 7), (4, 1000, 3, 1)]


@pytest.mark.parametrize("seed,N,C,n_bins", GRID)
def test_ece_matches_torchmetrics(seed, N, C, n_bins):
    probs, labels = predictions(seed, N, C)
    oracle = MulticlassCalibrationError(num_classes=C, n_bins=n_bins, norm="l1")
    # torchmetrics bins in float32 (rounding ~6e-8 per term): 1e-6 absolute covers it; no
    # confidence of these random softmaxes sits on an edge b/M, where the conventions differ
    assert_close(mt.ece(probs, labels, n_bins), float(oracle(probs.float(), labels)), 0, 1e-6)


@pytest.mark.parametrize("seed,N,C,n_bins", GRID)
def test_ece_matches_brute_force(seed, N, C, n_bins):
    probs, labels = predictions(seed, N, C)
    loop = ece_loop(probs.numpy(), labels.numpy(), n_bins)
    assert_close(mt.ece(probs, labels, n_bins), loop, tol("roundoff"), 1e-15)


def test_bin_edges_are_right_closed():
    values = torch.tensor([0.0, 0.25, 0.2500001, 0.5, 0.75, 1.0], dtype=F64)
    assert mt.bin_index(values, 4).tolist() == [0, 0, 1, 1, 2, 3]
    assert mt.bin_index(values, 1).tolist() == [0] * 6


def test_edge_convention_differs_from_torchmetrics_only_on_edges():
    # confidence exactly 0.5 with 2 bins: ours puts it in (0, 0.5], torchmetrics in [0.5, 1)
    probs = torch.tensor([[0.5, 0.5], [0.9, 0.1], [0.6, 0.4]], dtype=F64)
    labels = torch.tensor([1, 0, 1])
    ours = mt.reliability(probs, labels, 2)
    assert ours.counts.tolist() == [1.0, 2.0]
    assert_close(ours.ece, (1 / 3) * 0.5 + (2 / 3) * abs(0.5 - 0.75), tol("roundoff"))
    theirs = MulticlassCalibrationError(num_classes=2, n_bins=2)(probs.float(), labels)
    assert_close(theirs, abs(1 / 3 - (0.5 + 0.9 + 0.6) / 3), 1e-6)  # all three in [0.5, 1)


def test_perfect_and_worst_calibration():
    C = 4
    labels = torch.arange(8) % C
    onehot = torch.nn.functional.one_hot(labels, C).to(F64)
    assert float(mt.ece(onehot, labels, 15)) == 0.0
    assert float(mt.ece(onehot, (labels + 1) % C, 15)) == 1.0


@pytest.mark.parametrize("seed,N,C", [(0, 100, 2), (1, 400, 10), (2, 50, 100)])
def test_accuracy_and_nll_match_sklearn(seed, N, C):
    probs, labels = predictions(seed, N, C)
    y_pred = probs.argmax(1).numpy()
    assert_close(mt.accuracy(probs, labels), accuracy_score(labels.numpy(), y_pred), 1e-15)
    sk = log_loss(labels.numpy(), probs.numpy(), labels=list(range(C)))
    assert_close(mt.nll(probs, labels), sk, 1e-12)


def test_entropies_match_scipy():
    probs, labels = predictions(5, 64, 10)
    assert_close(mt.predictive_entropy(probs), stats.entropy(probs.numpy(), axis=1), 1e-13)
    spread = mt.non_target_spread(probs, labels, reduction="none").numpy()
    for i in range(len(labels)):
        rest = np.delete(probs[i].numpy(), int(labels[i]))
        assert_close(spread[i], stats.entropy(rest) / math.log(9), 1e-13)
    onehot = torch.nn.functional.one_hot(labels, 10).to(F64)
    assert_close(mt.predictive_entropy(onehot), 0.0, 0, 0)


def test_non_target_spread_extremes():
    C, labels = 5, torch.tensor([0, 1, 2])
    uniform = torch.full((3, C), 1 / C, dtype=F64)
    assert_close(mt.non_target_spread(uniform, labels), 1.0, tol("roundoff"))
    peaked = torch.tensor([[0.7, 0.3, 0, 0, 0], [0.2, 0.8, 0, 0, 0], [0, 0, 1.0, 0, 0]], dtype=F64)
    spread = mt.non_target_spread(peaked, labels, reduction="none")
    assert spread[:2].tolist() == [0.0, 0.0] and math.isnan(float(spread[2]))
    assert float(mt.non_target_spread(peaked, labels)) == 0.0


@pytest.mark.parametrize("n_bins", [1, 5, 20, 100])
def test_confidence_diversity(n_bins):
    probs, labels = predictions(3, 1000, 10)
    c = probs[torch.arange(1000), labels].numpy()
    div = mt.confidence_diversity(probs, labels, n_bins)
    assert_close(div.variance, np.var(c), 1e-12)
    counts = np.array([sum((b / n_bins < x <= (b + 1) / n_bins) or (b == 0 and x == 0) for x in c)
                       for b in range(n_bins)])
    assert_close(div.entropy, stats.entropy(counts / counts.sum()), 1e-12, 1e-15)
    constant = torch.full((10, 4), 0.25, dtype=F64)  # every c_i = 1/4: one bin, no spread
    same = mt.confidence_diversity(constant, torch.arange(10) % 4, n_bins)
    assert float(same.entropy) == 0.0 and float(same.variance) == 0.0


def test_confidence_diversity_uniform_over_bins_is_log_m():
    M = 8
    c = (torch.arange(M, dtype=F64) + 0.5) / M
    probs = torch.stack([c, 1 - c], dim=1)
    div = mt.confidence_diversity(probs, torch.zeros(M, dtype=torch.long), M)
    assert_close(div.entropy, math.log(M), tol("roundoff"))


@pytest.mark.parametrize("call,name", [
    (lambda p, y: mt.ece(p, y, 0), "n_bins"),
    (lambda p, y: mt.ece(p * 2, y), "probs"),
    (lambda p, y: mt.ece(torch.log(p), y), "probs"),
    (lambda p, y: mt.ece(p, y[:3]), "labels"),
    (lambda p, y: mt.accuracy(p, y.float()), "labels"),
    (lambda p, y: mt.nll(p, y + 10), "labels"),
    (lambda p, y: mt.non_target_spread(p[:, :2] / p[:, :2].sum(1, keepdim=True), y % 2), "C >= 3"),
    (lambda p, y: mt.predictive_entropy(p[0]), "probs"),
])
def test_bad_arguments_name_the_parameter(call, name):
    probs, labels = predictions(0, 10, 4)
    with pytest.raises(ValueError, match=name):
        call(probs, labels)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_any_integer_label_dtype_gives_the_long_result(dtype):
    """One label check (core.validate.check_labels): every integer dtype is a class index."""
    probs, labels = predictions(2, 50, 4)
    for fn in (mt.accuracy, mt.nll, mt.ece, mt.true_class_confidence):
        assert torch.equal(fn(probs, labels.to(dtype)), fn(probs, labels))


@CUDA
def test_cuda_matches_cpu():
    probs, labels = predictions(1, 500, 10)
    dev = torch.device("cuda")
    for fn in (mt.ece, mt.accuracy, mt.nll):
        assert_close(fn(probs.to(dev), labels.to(dev)), fn(probs, labels), 1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ece_convention_helper_matches_torchmetrics(seed):
    g = torch.Generator().manual_seed(seed)
    logits = 30 * torch.randn(400, 10, generator=g, dtype=torch.float64)  # many 1.0 in float32
    probs, labels = torch.softmax(logits, 1), torch.randint(0, 10, (400,), generator=g)
    assert bool((probs.max(1).values.float() == 1).any())
    oracle = MulticlassCalibrationError(num_classes=10, n_bins=15, norm="l1")
    assert ece_float32_top_bin(probs, labels, 15) == pytest.approx(
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
    assert ece_float32_top_bin(probs, labels, 10) == pytest.approx(oracle, abs=1e-6)
    assert oracle == pytest.approx((40 * 0.04 + 4 * 1.0) / 44, abs=1e-6)
