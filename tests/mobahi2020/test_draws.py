"""The batched rounds over many noise draws against the engine of record
(:func:`selfdistill.mobahi2020.rounds.self_distill`) and the errors by quadratic form against fits
evaluated
on the grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from selfdistill.data.toy import toy_sine
from selfdistill.mobahi2020.draws import batch_rounds, draw_study, filter_errors, sine_draws
from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import kernel_by_name
from selfdistill.mobahi2020.rounds import self_distill

F64 = torch.float64


@pytest.fixture(scope="module")
def toy():
    x, y = toy_sine()
    g = kernel_by_name("gaussian", 0.15)
    s = sine_draws(g, x, y, 0.5, 6, 3, grid_points=201)
    return x, y, g, s


@pytest.mark.parametrize("kernel, width, eps", [("gaussian", 0.15, 0.005),
                                                ("exponential", 0.1, 0.02),
                                                ("gaussian", 0.2, 0.002)])
def test_batch_rounds_match_the_engine_draw_by_draw(kernel, width, eps):
    x, y = toy_sine()
    g = kernel_by_name(kernel, width)
    s = sine_draws(g, x, y, 0.5, 5, 1)
    basis = eigenbasis(gram(g, torch.as_tensor(x, dtype=F64)))
    V = basis.V.numpy()
    B, c = batch_rounds(s.d, s.Z, eps)
    for i in range(5):
        rs = self_distill(basis, torch.as_tensor(V.T @ s.Z[i]), eps)
        n = rs.n_rounds
        assert np.isfinite(c[:, i]).sum() == n
        np.testing.assert_allclose(c[:n, i], rs.c.numpy(), rtol=1e-10)
        np.testing.assert_allclose(B[:n, i], rs.B.numpy(), rtol=1e-9, atol=1e-300)
        assert (B[n:, i] == 0).all()


def test_errors_by_quadratic_form_match_fits_on_the_grid(toy):
    x, y, g, s = toy
    x_t = torch.as_tensor(x, dtype=F64)
    basis = eigenbasis(gram(g, x_t))
    grid = torch.linspace(0, 1, 201, dtype=F64)
    g_grid = g(grid, x_t) / len(x)
    rs = self_distill(basis, torch.as_tensor(y), 0.005)
    B, _ = batch_rounds(s.d, s.z, 0.005)
    quad = filter_errors(s.H, s.truth, s.z, B)[:, 0]
    direct = [float((rs.predict(t, g_grid) - torch.sin(2 * torch.pi * grid)).square().mean())
              for t in range(rs.n_rounds)]
    np.testing.assert_allclose(quad, direct, rtol=1e-9)


def test_single_fit_is_round_zero_at_its_own_c(toy):
    *_, s = toy
    B, c = batch_rounds(s.d, s.Z, 0.005)
    one = filter_errors(s.H, s.truth, s.Z, s.d / (c[0][:, None] + s.d))
    np.testing.assert_allclose(one, filter_errors(s.H, s.truth, s.Z, B)[0], rtol=1e-12)
    shared = filter_errors(s.H, s.truth, s.Z, s.d / (0.1 + s.d), shared=True)
    np.testing.assert_allclose(
        shared, filter_errors(s.H, s.truth, s.Z, np.tile(s.d / (0.1 + s.d), (6, 1))))


def test_study_shapes_and_collapse(toy):
    *_, s = toy
    st = draw_study(s.d, s.H, s.truth, s.Z, np.array([0.005, 0.05]), np.geomspace(1e-4, 1, 7))
    assert st.single.shape == (7, 6) and len(st.sd) == 2
    assert st.sd_best().shape == (6,) and st.single_best().shape == (6,)
    assert (st.collapse[1] <= st.collapse[0]).all()  # a larger budget collapses sooner
    # after a draw's collapse its error is the zero function's, mean(truth²)
    T = st.sd[1].shape[0]
    for i in range(6):
        if st.collapse[1][i] < T:
            assert st.sd[1][-1, i] == pytest.approx(float(np.mean(s.truth**2)), rel=1e-12)


def test_bad_inputs(toy):
    *_, s = toy
    with pytest.raises(ValueError, match="Z has shape"):
        batch_rounds(s.d, s.Z[:, :3], 0.01)
    with pytest.raises(ValueError, match="eps"):
        batch_rounds(s.d, s.Z, 0.0)
    with pytest.raises(ValueError, match="draws"):
        sine_draws(kernel_by_name("gaussian", 0.15), *toy_sine(), 0.5, 1, 0)


def test_training_error_to_the_labels_rises_every_round(toy):
    """lem-train-rises (was the claim mobahi2020.example-training-error-rises): before collapse
    (1/K)‖y_0 − f_t(x)‖² = (1/K) Σ_k (1 − B_t[k])² z_{0,k}² rises strictly with t."""
    *_, s = toy
    B, c = batch_rounds(s.d, s.Z, 0.005)
    for i in range(s.Z.shape[0]):
        n = int(np.isfinite(c[:, i]).sum())
        train = (((1 - B[:n, i]) * s.Z[i]) ** 2).sum(1) / s.Z.shape[1]
        assert n >= 2 and (np.diff(train) > 0).all()
