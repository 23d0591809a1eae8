"""Studies over the self-distillation rounds (mobahi2020, §3–§4): sweeps of ε and basis counts.

The chapters ``sd-rounds``, ``bt-sparsification`` and ``collapse-bound`` call these; the engine
itself is :mod:`selfdistill.rounds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .hilbert import Eigenbasis
from .rounds import collapse_bounds, refit_rounds, self_distill
from .validate import check_in_range, check_ndim, check_positive

__all__ = ["CollapseSweep", "collapse_sweep", "count_above", "sparsity_sweep", "top_alignment"]


def count_above(b: torch.Tensor, tau: float) -> torch.Tensor:
    """Basis functions whose weight is at least ``τ`` times the largest: ``#{k: b_k ≥ τ max b}``.

    Relative to the largest weight because ``B_t`` shrinks as a whole every round. For the
    diagonals of ``B_t`` this count never grows from one round to the next: by thm-bt-ratio every
    ratio ``B_t[k]/B_t[top]`` falls. ``b`` of shape ``(..., K)``, ``τ`` in ``(0, 1]``; returns
    ``(...)``.
    """
    tau = check_in_range("tau", tau, 0.0, 1.0, lower_open=True)
    check_ndim("b", b, (1, 2))
    return (b >= tau * b.max(dim=-1, keepdim=True).values).sum(-1)


def top_alignment(y: torch.Tensor, basis: Eigenbasis, m: int = 1) -> torch.Tensor:
    """``cos²`` between each ``y_t`` (rows of ``y``, shape ``(n, K)``) and the span of the ``m``
    eigenvectors of largest eigenvalue: ``Σ_{top m} z_k² / ‖z‖²``. Returns ``(n,)``."""
    check_ndim("y", y, (2,))
    z = y @ basis.V.T.to(y.device)
    return z[:, -m:].square().sum(1) / z.square().sum(1)


@dataclass(frozen=True)
class CollapseSweep:
    """Collapse rounds over a sweep of ε (arrays of the sweep's length, NumPy float64/int).

    ``count`` the collapse round ``t⋆`` (= number of non-collapsed rounds); ``r0``;
    ``lower_notes`` ``(r0 − 1)/κ``; ``lower`` ``⌈r0 − 1⌉``; ``upper`` ``⌈κ(r0 − 1)⌉``;
    ``steps`` the per-round drops ``r_t − r_{t+1}`` of every ε, concatenated.
    """

    eps: np.ndarray
    r0: np.ndarray
    count: np.ndarray
    lower_notes: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    kappa: float
    steps: np.ndarray


def collapse_sweep(G: torch.Tensor, y0: torch.Tensor, eps: np.ndarray, kappa: float, *,
                   basis: Eigenbasis | None = None) -> CollapseSweep:
    """Run every ε of a sweep to collapse and record ``t⋆`` with its bounds.

    With ``basis`` the spectral engine runs; without it the refit route (dense solves, no
    eigendecomposition). ``kappa`` is ``d_max/d_min``, given by the caller so that the bounds can
    come from an eigensolver other than the one under test.
    """
    eps = np.asarray(eps, dtype=np.float64)
    check_positive("kappa", kappa)
    K = y0.shape[0]
    sq = float(y0.square().sum())
    counts, r0s, steps = [], [], []
    for e in eps:
        e = check_positive("eps", float(e))
        if basis is None:
            ys = refit_rounds(G, y0, e)
            y, t_star = ys.y, ys.collapse_round
        else:
            rs = self_distill(basis, y0, e)
            y, t_star = rs.y, rs.collapse_round
        r = y.flatten(1).norm(dim=1).cpu().numpy() / np.sqrt(K * e)
        counts.append(t_star)
        r0s.append(np.sqrt(sq / (K * e)))
        steps.append(r[:-1] - r[1:])
    bounds = [collapse_bounds(r0, kappa) for r0 in r0s]
    return CollapseSweep(
        eps=eps, r0=np.array(r0s), count=np.array(counts),
        lower_notes=np.array([b.lower_notes for b in bounds]),
        lower=np.array([b.lower for b in bounds]), upper=np.array([b.upper for b in bounds]),
        kappa=float(kappa), steps=np.concatenate(steps) if steps else np.zeros(0))


def sparsity_sweep(basis: Eigenbasis, y0: torch.Tensor, eps: np.ndarray, tau: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """For each ε: the rounds before collapse ``t⋆`` and ``count_above(B_{t⋆−1}, τ)``, the
    count at the last non-collapsed round (``K`` where round 0 already collapses)."""
    rounds, counts = [], []
    for e in np.asarray(eps, dtype=np.float64):
        rs = self_distill(basis, y0, float(e))
        rounds.append(rs.collapse_round)
        last = rs.B[-1] if rs.n_rounds else torch.ones_like(basis.d)
        counts.append(int(count_above(last, tau)))
    return np.array(rounds), np.array(counts)
