"""Full-batch GD: hand-derived gradients, exact kernel dynamics of a linear model, NTK regime."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import assert_close

from selfdistill.dong2019.dynamics import gd_residuals, spectrum
from selfdistill.dong2019.gd import train_full_batch_gd
from selfdistill.dong2019.ntk import TwoLayerReLU, ntk_two_layer

F64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def data(n=12, d=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=gen, dtype=F64)
    return X / X.norm(dim=1, keepdim=True), torch.randn(n, generator=gen, dtype=F64)


def test_one_step_matches_hand_gradient():
    X, y = data()
    net = TwoLayerReLU(4, 32, seed=1, train_output=True)
    W0, a0 = net.W.detach().clone(), net.a.detach().clone()
    lr = 0.3
    hist = train_full_batch_gd(net, X, y, lr, 1)
    # ∂/∂w_r ½Σ(u_i − y_i)² = (1/√m) Σ_i (u_i − y_i) a_r 1{w_rᵀx_i ≥ 0} x_i; ∂/∂a_r: σ(w_rᵀx_i)/√m
    pre = X @ W0.T
    u = torch.relu(pre) @ a0 / math.sqrt(32)
    r = u - y
    gW = ((r[:, None] * (pre >= 0)) * a0).T @ X / math.sqrt(32)
    ga = torch.relu(pre).T @ r / math.sqrt(32)
    assert_close(net.W, W0 - lr * gW, rtol=0, atol=1e-15)
    assert_close(net.a, a0 - lr * ga, rtol=0, atol=1e-15)
    assert_close(hist.outputs[0], u, rtol=0, atol=1e-15)
    assert_close(hist.losses[0], float(r @ r) / 2, rtol=1e-14)
    assert list(hist.steps) == [0, 1]


@pytest.mark.parametrize("cols", [None, 3])
def test_linear_model_follows_kernel_dynamics_exactly(cols):
    """f(x) = θᵀx is linear in θ: GD on it IS kernel GD with H = XXᵀ, at every step."""
    X, _ = data(n=10, d=6, seed=2)
    gen = torch.Generator().manual_seed(3)
    y = torch.randn(10, generator=gen, dtype=F64) if cols is None else torch.randn(
        10, cols, generator=gen, dtype=F64)
    model = torch.nn.Linear(6, cols or 1, bias=False).to(F64)
    torch.nn.init.normal_(model.weight, generator=gen)
    net = model if cols else torch.nn.Sequential(model, torch.nn.Flatten(0))
    H = X @ X.T
    spec = spectrum((H + H.T) / 2)
    lr = 1.5 / float(spec.values[0])
    u0 = net(X).detach()
    hist = train_full_batch_gd(net, X, y, lr, 60, record_every=7)
    assert list(hist.steps) == [0, 7, 14, 21, 28, 35, 42, 49, 56, 60]
    predicted = gd_residuals(spec, u0 - y, lr, hist.steps.tolist())
    assert_close(hist.outputs - y, predicted, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_wide_net_follows_ntk_dynamics_better_as_width_grows():
    X, y = data(n=16, d=5, seed=4)
    errors = []
    for m in (256, 4096):
        net = TwoLayerReLU(5, m, seed=5, symmetric=True)
        spec = spectrum(ntk_two_layer(net, X))
        lr = 1.0 / float(spec.values[0])
        hist = train_full_batch_gd(net, X, y, lr, 200, record_every=50)
        pred = gd_residuals(spec, -y, lr, hist.steps.tolist())
        errors.append(float((hist.outputs - y - pred).norm(dim=1).max() / y.norm()))
    # lazy training: the kernel moves by O(1/√m), so the deviation shrinks ~ 4× for 16× width;
    # require at least 2×, and small in absolute terms at the larger width
    assert errors[1] < errors[0] / 2, errors
    assert errors[1] < 0.05, errors


def test_target_fn_and_eval_outputs():
    X, y = data(seed=6)
    Xe = torch.randn(5, 4, dtype=F64)
    a = TwoLayerReLU(4, 64, seed=7)
    b = TwoLayerReLU(4, 64, seed=7)
    other = 2 * y
    h1 = train_full_batch_gd(a, X, other, 0.1, 5, X_eval=Xe)
    seen = []

    def fn(k, u):
        seen.append(k)
        return other

    h2 = train_full_batch_gd(b, X, y, 0.1, 5, X_eval=Xe, target_fn=fn)
    assert seen == [0, 1, 2, 3, 4]
    assert torch.equal(h1.outputs, h2.outputs) and torch.equal(h1.eval_outputs, h2.eval_outputs)
    assert h2.eval_outputs.shape == (6, 5)
    assert torch.equal(h2.targets[1], other)


def test_cross_entropy_gradient():
    gen = torch.Generator().manual_seed(8)
    X = torch.randn(7, 3, generator=gen, dtype=F64)
    Y = torch.softmax(torch.randn(7, 4, generator=gen, dtype=F64), dim=1)
    model = torch.nn.Linear(3, 4, bias=False).to(F64)
    W0 = model.weight.detach().clone()
    train_full_batch_gd(model, X, Y, 0.2, 1, loss="ce")
    # ∂/∂W of −Σ y log softmax(WX) is (softmax − y)ᵀ X
    grad = (torch.softmax(X @ W0.T, dim=1) - Y).T @ X
    assert_close(model.weight, W0 - 0.2 * grad, rtol=0, atol=1e-15)


def test_divergence_raises():
    X, y = data()
    with pytest.raises(FloatingPointError, match="lr"):
        train_full_batch_gd(TwoLayerReLU(4, 64, seed=0, train_output=True), X, y * 1e3, 1e3, 200)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(lr=0.0), "lr"),
        (dict(steps=-1), "steps"),
        (dict(record_every=0), "record_every"),
        (dict(loss="hinge"), "loss"),
        (dict(y=torch.ones(3, dtype=F64)), "y has shape"),
        (dict(loss="ce"), "ce"),
        (dict(X_eval=torch.ones(2, 3, dtype=F64)), "X_eval"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    X, y = data()
    args = dict(model=TwoLayerReLU(4, 8), X=X, y=y, lr=0.1, steps=1) | kwargs
    with pytest.raises(ValueError, match=match):
        train_full_batch_gd(**args)
