"""Small data on the sphere, and the independent routes of verify_ntk."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import assert_close, tol

from selfdistill.data.sphere import clusterable_sphere, digits_sphere, labels_to_targets

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def test_clusterable_sphere_shapes_labels_and_seeds():
    X, y, cluster = clusterable_sphere(40, 6, 4, 0.3, seed=2)
    assert X.shape == (40, 6) and y.shape == (40,) and X.dtype == F64
    assert_close(X.norm(dim=1), 1.0, rtol=tol("roundoff"))
    assert torch.equal(y, torch.where(cluster % 2 == 1, 1.0, -1.0).to(F64))
    X2, _, _ = clusterable_sphere(40, 6, 4, 0.3, seed=2)
    assert torch.equal(X, X2)
    _, Y, _ = clusterable_sphere(30, 6, 3, 0.3, num_classes=3)
    assert Y.shape == (30, 3) and torch.equal(Y.sum(1), torch.ones(30, dtype=F64))
    # zero spread: every point is its cluster centre
    X0, _, c0 = clusterable_sphere(12, 5, 3, 0.0)
    assert_close(X0[c0 == 1] - X0[c0 == 1][0], 0.0, rtol=0, atol=1e-15)


def test_digits_sphere():
    X, y, labels = digits_sphere((8, 3))
    assert X.shape[1] == 64 and set(np.unique(labels)) == {3, 8}
    assert_close(X.norm(dim=1), 1.0, rtol=tol("roundoff"))
    assert torch.equal(y, torch.as_tensor(np.where(labels == 3, 1.0, -1.0)))  # classes[1] -> +1
    X10, Y10, labels10 = digits_sphere(tuple(range(10)), 20, seed=1)
    assert X10.shape == (200, 64) and Y10.shape == (200, 10)
    assert torch.equal(Y10.argmax(1), torch.as_tensor(labels10))
    assert np.all(np.bincount(labels10) == 20)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: clusterable_sphere(10, 3, 11), "n_clusters"),
        (lambda: clusterable_sphere(10, 3, 2, spread=-1), "spread"),
        (lambda: clusterable_sphere(10, 3, 2, num_classes=3), "num_classes"),
        (lambda: digits_sphere((1,)), "classes"),
        (lambda: digits_sphere((1, 1)), "classes"),
        (lambda: digits_sphere((1, 2), 200), "n_per_class"),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_labels_to_targets():
    assert labels_to_targets(np.array([0, 1, 1]), 2).tolist() == [-1.0, 1.0, 1.0]
    assert labels_to_targets(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]


# Moved from the anisotropic-information-retrieval chapter (issue 13 §2): these check the
# random-number generator and the orthonormality of eigh's basis, not AIR, so they are unit tests.
