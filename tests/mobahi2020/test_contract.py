"""The validation contract of mobahi2020 and data.toy, beyond the common tests: the kernels'
declared fields, and the refusals added with the contract (each accepted before it). The walk of
every declared constraint is ``tests/test_contract_walk.py``; the oracles' declarations and their
independence are ``tests/test_oracle_checks.py`` and ``tests/test_oracles_independent.py``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import selfdistill.data.toy as toy
import selfdistill.mobahi2020 as pkg
from selfdistill.core.validate import SEED_MAX
from selfdistill.mobahi2020 import baselines, draws, oracles, studies
from selfdistill.mobahi2020.hilbert import eigenbasis, gram
from selfdistill.mobahi2020.kernels import ExponentialKernel, NeumannExponentialKernel

F64 = torch.float64


@pytest.mark.parametrize("cls", [ExponentialKernel, NeumannExponentialKernel, pkg.GaussianKernel,
                                 pkg.ToleranceConfig])
def test_dataclass_fields_are_declared(cls):
    names = {f.name for f in dataclasses.fields(cls)}
    assert set(cls.__constraints__) <= names and cls.__constraints__


# --------------------------------------------------------------------------- new refusals


def test_eigenbasis_uses_the_one_symmetry_tolerance():
    # an asymmetry of 1e-13 relative passed the old absolute tolerance 1e-12 at K = 2; the one
    # tolerance is 64 · K · u · max|G| ≈ 1.4e-14 here
    G = torch.tensor([[1.0, 0.5], [0.5 + 1e-13, 1.0]], dtype=F64)
    with pytest.raises(ValueError, match=r"^G is not symmetric"):
        eigenbasis(G)
    # a product V diag(d) Vᵀ, asymmetric by rounding only, is accepted
    V = torch.linalg.qr(torch.randn(40, 40, dtype=F64,
                                    generator=torch.Generator().manual_seed(0)))[0]
    eigenbasis(V @ torch.diag(torch.linspace(1, 2, 40, dtype=F64)) @ V.T)


def test_dense_routes_refuse_asymmetric_matrices():
    G = torch.tensor([[1.0, 0.5], [0.4, 1.0]], dtype=F64)
    for call in (lambda: oracles.dense_round_filter(G, [1.0]),
                 lambda: oracles.refit_rounds(G, torch.ones(2, dtype=F64), 0.1),
                 lambda: oracles.empirical_rademacher(G, 1.0)):
        with pytest.raises(ValueError, match=r"^(G|kernel_matrix) is not symmetric"):
            call()


def test_gram_accepts_what_the_kernels_accept():
    g = ExponentialKernel(1.0)
    assert torch.equal(gram(g, [0.0, 1.0]), gram(g, torch.tensor([0.0, 1.0], dtype=F64)))
    with pytest.raises(ValueError, match=r"^kernel = None is not"):
        gram(None, [0.0, 1.0])


@pytest.mark.parametrize("call", [
    lambda: toy.noisy_sine(5, 0.1, SEED_MAX + 1),
    lambda: toy.jittered_sine(5, SEED_MAX + 1),
    lambda: baselines.toy_design(draws=2, seed=SEED_MAX + 1),
    lambda: draws.sine_draws(ExponentialKernel(0.1), np.linspace(0, 1, 4), np.zeros(4), 0.1, 2,
                             SEED_MAX + 1),
])
def test_seeds_stop_at_seed_max(call):
    # before: 2⁶³ − 1, which scikit-learn's random_state and NumPy's legacy seeding refuse
    with pytest.raises(ValueError, match=rf"^seed = {SEED_MAX + 1} is outside .*{SEED_MAX}\]"):
        call()


def test_top_alignment_refuses_m_zero():
    # before: m = 0 selected every eigenvector (z[:, -0:]) and returned 1.0
    basis = eigenbasis(torch.eye(3, dtype=F64))
    with pytest.raises(ValueError, match=r"^m = 0 is outside the accepted range \[1, inf\)"):
        studies.top_alignment(torch.ones(1, 3, dtype=F64), basis, 0)


@pytest.mark.parametrize(("omegas", "pattern"), [
    ([[0.0, 1.0]], r"^omegas has shape \(1, 2\)"),
    ([], r"^omegas has shape \(0,\)"),
    ([math.nan], r"^omegas has shape \(1,\) with 1 non-finite"),
    ([1j], r"^omegas is complex"),
])
def test_green_identity_error_refuses_bad_frequencies(omegas, pattern):
    with pytest.raises(ValueError, match=pattern):
        oracles.green_identity_error(ExponentialKernel(0.3), omegas)


def test_tolerance_config_constraints_name_the_field():
    # declared once, as data, and checked with the ``cfg.`` prefix
    bad = pkg.ToleranceConfig(lr=-1.0)
    with pytest.raises(ValueError, match=r"^cfg\.lr = -1\.0 is outside the accepted range"):
        pkg.tolerance_rounds(bad, None, 1, 1)

