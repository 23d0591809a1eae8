"""The one digits loader and the one ±1 label convention (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from selfdistill.data import classification, digits, sphere
from selfdistill.data.digits import (
    LOW_DIGITS,
    N_DIGITS,
    binary_split,
    load_digits_arrays,
    signed_labels,
)

LIB = Path(digits.__file__).resolve().parents[1]


def test_the_loader_reads_once_and_shares_read_only_arrays(monkeypatch):
    import sklearn.datasets

    calls = []
    real = sklearn.datasets.load_digits

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sklearn.datasets, "load_digits", counting)
    load_digits_arrays.cache_clear()
    try:
        classification.load_dataset("digits-vec", torch.device("cpu"))
        sphere.digits_sphere((3, 8))
        binary_split(60, seed=1)
        images, labels = load_digits_arrays()
    finally:
        load_digits_arrays.cache_clear()  # later tests read the real function again
    assert len(calls) == 1
    assert images.shape == (N_DIGITS, 64) and labels.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        images[0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        labels[0] = 1


def test_the_arrays_are_scikit_learns():
    from sklearn.datasets import load_digits

    data = load_digits()
    images, labels = load_digits_arrays()
    assert np.array_equal(images, data.data) and np.array_equal(labels, data.target)


def test_only_the_digits_module_reads_scikit_learns_digits():
    readers = {str(p.relative_to(LIB)) for p in LIB.rglob("*.py")
               if re.search(r"\bload_digits\(", p.read_text(encoding="utf-8"))}
    assert readers == {"data/digits.py"}


def test_the_one_sign_convention():
    assert signed_labels(np.array([0, 1, 2]), (1,)).tolist() == [-1.0, 1.0, -1.0]
    assert signed_labels(np.arange(10), LOW_DIGITS).tolist() == [1.0] * 5 + [-1.0] * 5
    assert signed_labels(torch.tensor([4, 5]), LOW_DIGITS).dtype == np.float64
    # the sphere's two-class targets are the same rule with class index 1 positive
    idx = np.array([1, 0, 0, 1])
    assert np.array_equal(sphere.labels_to_targets(idx, 2), signed_labels(idx, (1,)))
    _, y, labels = sphere.digits_sphere((8, 3))
    assert np.array_equal(y.numpy(), signed_labels(labels, (3,)))


@pytest.mark.parametrize(("labels", "positive", "match"), [
    (np.array([0.5, 1.0]), (1,), r"^labels = array\(\[0\.5, 1\. \]\) has shape \(2,\) and dtype "
                                 r"float64; accepted: a 1-D array of integer labels"),
    (np.zeros((2, 2), dtype=int), (1,), r"^labels = .* has shape \(2, 2\)"),
    (np.array([0, 1]), (), r"^positive = \(\) is empty"),
])
def test_signed_labels_refuses(labels, positive, match):
    with pytest.raises(ValueError, match=match):
        signed_labels(labels, positive)


def test_binary_split_centres_by_the_training_mean_and_is_seeded():
    a = binary_split(200, seed=3, n_test=50)
    b = binary_split(200, seed=3, n_test=50)
    c = binary_split(200, seed=4, n_test=50)
    assert all(torch.equal(getattr(a, k), getattr(b, k)) for k in ("x_train", "y_test"))
    assert not torch.equal(a.x_train, c.x_train)
    assert a.x_train.shape == (200, 64) and a.x_test.shape == (50, 64)
    assert torch.allclose(a.x_train.norm(dim=1), torch.ones(200, dtype=torch.float64))
    # an independent route: shuffle, centre by the training rows, normalise, in NumPy
    images, labels = load_digits_arrays()
    order = np.random.default_rng(3).permutation(N_DIGITS)
    x = images[order] - images[order][:200].mean(0)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert np.allclose(a.x_train.numpy(), x[:200], rtol=0, atol=1e-14)
    assert np.allclose(a.x_test.numpy(), x[200:250], rtol=0, atol=1e-14)
    assert np.array_equal(a.y_train.numpy(), np.where(labels[order][:200] < 5, 1.0, -1.0))
    assert binary_split(100, seed=0).x_test.shape[0] == N_DIGITS - 100  # default: the rest


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(n_train=10, seed=0), r"^n_train = 10 is outside the accepted range \[50, 1500\]"),
    (dict(n_train=100, seed=-1), r"^seed = -1 is outside the accepted range \[0, 4294967295\]"),
    (dict(n_train=1500, seed=0, n_test=298), r"^n_test = 298 is outside the accepted range "
                                             r"\[1, 297\]"),
])
def test_binary_split_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        binary_split(**kwargs)
