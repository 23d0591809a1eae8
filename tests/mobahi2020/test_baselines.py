"""The tuned-baselines engine: every arm against refitting it from scratch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.kernel_ridge import KernelRidge

from selfdistill.dong2019.ntk import ntk_infinite
from selfdistill.mobahi2020 import baselines
from selfdistill.mobahi2020.baselines import (
    Grids,
    compare_arms,
    gd_filters,
    picks_better,
    ridge_filters,
    sd_round_filters,
    toy_design,
)
from selfdistill.mobahi2020.hilbert import eigenbasis
from selfdistill.mobahi2020.rounds import self_distill


@pytest.fixture(scope="module")
def toy():
    return toy_design("exponential", 0.15, draws=4, seed=3)


def _basis(G):
    d, W = np.linalg.eigh(G)
    return d, W.T


@pytest.mark.parametrize("kernel, width", [("gaussian", 0.15), ("exponential", 0.15)])
def test_sd_filters_equal_the_rounds_engine(kernel, width):
    design = toy_design(kernel, width, draws=3, seed=5)
    d, V = _basis(design.G)
    K = d.size
    eps = (design.Y ** 2).sum(1, keepdims=True) / K * np.array([[0.003, 0.05, 0.5, 0.95]])
    B, live = sd_round_filters(d, design.Y @ V.T, eps, 60)
    basis = eigenbasis(torch.tensor(design.G))
    for i in range(3):
        for j in range(4):
            run = self_distill(basis, torch.tensor(design.Y[i]), float(eps[i, j]))
            n = run.n_rounds
            assert live[i, j].sum() == n and not live[i, j, n:].any()
            np.testing.assert_allclose(B[i, j, :n], run.B.numpy(), rtol=0, atol=1e-11)
            assert not B[i, j, n:].any()  # collapsed rounds are the zero function


def test_ridge_arm_equals_scikit_learn_kernel_ridge(toy):
    d, V = _basis(toy.G)
    for c in (1e-4, 1e-2, 0.3):
        filt = ridge_filters(d, np.array([c]))[0]
        ours = toy.g_test @ V.T @ (filt / d * (V @ toy.Y[0]))
        ref = KernelRidge(alpha=c, kernel="precomputed").fit(toy.G, toy.Y[0])
        np.testing.assert_allclose(ours, ref.predict(toy.g_test), rtol=1e-9, atol=1e-12)


def test_gd_arm_equals_iterated_gradient_descent(toy):
    d, V = _basis(toy.G)
    eta, y = 1 / d[-1], toy.Y[1]
    alpha = np.zeros_like(y)
    steps = np.array([1, 7, 50, 400])
    filters = gd_filters(d, steps, rounds=2)
    done = 0
    for k, s in enumerate(steps):
        for _ in range(s - done):
            alpha += eta * (y - toy.G @ alpha)  # GD on ½‖Gα − y‖² in function space
        done = s
        ours = toy.g_test @ V.T @ (filters[0, k] / d * (V @ y))
        np.testing.assert_allclose(ours, toy.g_test @ alpha, rtol=1e-9, atol=1e-12)
    # a second round fits the first round's training outputs: the product filter
    first = V.T @ (filters[0, 1] * (V @ y))
    second = V.T @ (filters[0, 1] * (V @ first))
    np.testing.assert_allclose(V.T @ (filters[1, 1] * (V @ y)), second, atol=1e-12)


def test_oracle_is_never_worse_than_honest_and_runs_are_repeatable(toy):
    grids = Grids(c_rel=np.logspace(-6, 0, 7), eps_rel=np.array([0.01, 0.3]),
                  steps=np.array([1, 10, 100]), gd_rounds=2, max_rounds=10)
    a = compare_arms(toy, folds=3, grids=grids)
    b = compare_arms(toy, folds=3, grids=grids)
    for arm in baselines.ARMS:
        assert (a.oracle[arm] <= a.honest[arm] + 1e-15).all()
        np.testing.assert_array_equal(a.honest[arm], b.honest[arm])
    share = picks_better(a, "sd", "ridge")
    assert share.shape == (4,) and set(np.unique(share)) <= {0.0, 1.0}


@pytest.mark.parametrize("call, message", [
    (lambda d: compare_arms(d, folds=1), "folds"),
    (lambda d: compare_arms(d, folds=99), "folds"),
    (lambda d: compare_arms(d, seed=-1), "seed"),
    (lambda d: picks_better(compare_arms(d, grids=Grids(max_rounds=2)), "sd", "lasso"), "lasso"),
    (lambda d: toy_design(draws=0), "draws"),
    (lambda d: toy_design(noise=-1), "noise"),
    (lambda d: baselines.digits_design(ntk_infinite, "NTK", flip=0.6), "flip"),
])
def test_bad_input_is_refused_with_its_name(toy, call, message):
    with pytest.raises(ValueError, match=message):
        call(toy)
